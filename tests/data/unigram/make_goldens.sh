#!/bin/sh
# make_goldens.sh - regenerates this folder's goldens with the real Hugging
# Face `tokenizers` (../shared/ref/tokenizers/tokenize_unigram.js, through the
# binding tests/tokdiff installs): the tokenizer variants of make_variants.py on
# the public cases, the public stress lines and extra.txt (single texts, 512
# tokens) and the cases as pairs. A maintainer tool: make test reads the
# committed output (tests/test_unigram.c) and runs the po lines live
# (tests/cli_tokdiff.sh).
#   sh tests/data/unigram/make_goldens.sh [SHARED_REF]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ref=$(cd "${1:-$here/../../../../shared/ref}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/make_variants.py" "$ref/tokenizers" "$work"
export NODE_PATH="$here/../../tokdiff/node_modules"
for v in bytefallback albert nfkc-roberta; do
    tj="$work/unigram-$v/tokenizer.json"
    node "$ref/tokenizers/tokenize_unigram.js" "$tj" "$ref/cases.txt" 512 > "$here/tok-unigram-$v-cases-512.jsonl"
    node "$ref/tokenizers/tokenize_unigram.js" "$tj" "$ref/tokenizers/unicode_stress_public.txt" 512 > "$here/tok-unigram-$v-stress-512.jsonl"
    node "$ref/tokenizers/tokenize_unigram.js" "$tj" "$here/extra.txt" 512 > "$here/tok-unigram-$v-extra-512.jsonl"
    node "$ref/tokenizers/tokenize_unigram.js" "$tj" "$ref/cases.txt" 128 --pairs > "$here/tok-unigram-$v-pairs-cases-128.jsonl"
done
wc -l "$here"/tok-unigram-*.jsonl
