#!/bin/sh
# run.sh - the tokenizer differential: tinyembed (TOKDIFF, tests/tokdiff/compare.c)
# against the Hugging Face tokenizers library (tests/tokdiff/ref.js) on every
# code point between two letters (planes 0-1; every plane when N > 50,000),
# then on N generated inputs (tests/tokdiff/gen.py) in chunks of 50,000 with
# seeds FIRST_SEED, FIRST_SEED+1, ... and the lines of each TEXTS file. Prints
# each part's result and a total.
#   sh tests/tokdiff/run.sh TOKDIFF MODEL.temb TOKENIZER.json N [FIRST_SEED [TEXTS ...]]
# Needs node and the reference binding (make deps: npm ci in tests/tokdiff).
set -u
tokdiff=$1 model=$2 tokjson=$3 total=$4 seed=${5:-1000}
shift 4; [ $# -gt 0 ] && shift
here=$(dirname "$0")
if [ ! -d "$here/node_modules/@anush008/tokenizers" ] || ! command -v node >/dev/null 2>&1; then
    echo "FAIL tokenizer differential: the reference is not installed (needs node and tests/tokdiff's npm packages: run make deps)"
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
done_n=0 bad=0 start=$(date +%s)
last=1FFFF
[ "$total" -gt 50000 ] && last=10FFFF
python3 "$here/gen.py" --sweep 0 "$last" "$work/cases.bin" &&
    node "$here/ref.js" "$tokjson" "$work/cases.bin" "$work/ref.txt" &&
    "$tokdiff" "$model" "$work/cases.bin" "$work/ref.txt" > "$work/out"
rc=$?
sed "s/^\(PASS\|FAIL\) tokenizer differential/\1 tokenizer differential, code points U+0000..U+$last/" "$work/out"
[ "$rc" -ne 0 ] && bad=$((bad + 1))
while [ "$done_n" -lt "$total" ]; do
    n=$((total - done_n)); [ "$n" -gt 50000 ] && n=50000
    python3 "$here/gen.py" "$seed" "$n" "$work/cases.bin" &&
        node "$here/ref.js" "$tokjson" "$work/cases.bin" "$work/ref.txt" &&
        "$tokdiff" "$model" "$work/cases.bin" "$work/ref.txt" > "$work/out"
    rc=$?
    [ "$rc" -ne 0 ] && bad=$((bad + 1))
    [ "$total" -gt 50000 ] && echo "seed $seed: $(tail -1 "$work/out" 2>/dev/null)"
    [ "$total" -le 50000 ] || [ "$rc" -ne 0 ] && cat "$work/out" 2>/dev/null
    done_n=$((done_n + n)) seed=$((seed + 1))
done
for texts in "$@"; do
    python3 "$here/gen.py" --lines "$texts" "$work/cases.bin" &&
        node "$here/ref.js" "$tokjson" "$work/cases.bin" "$work/ref.txt" &&
        "$tokdiff" "$model" "$work/cases.bin" "$work/ref.txt" > "$work/out"
    rc=$?
    sed "s#^\(PASS\|FAIL\) tokenizer differential#\1 tokenizer differential, the lines of $(basename "$texts")#" "$work/out"
    [ "$rc" -ne 0 ] && bad=$((bad + 1))
done
if [ "$total" -gt 50000 ]; then
    if [ "$bad" -eq 0 ]; then echo "PASS tokenizer differential: $total inputs in $(($(date +%s) - start)) s, 0 differences"
    else echo "FAIL tokenizer differential: $bad of the parts differ"; fi
fi
[ "$bad" -eq 0 ]
