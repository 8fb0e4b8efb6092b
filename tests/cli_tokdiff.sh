#!/bin/sh
# cli_tokdiff.sh - the tokenizer against the Hugging Face tokenizers library
# (tests/tokdiff/): every code point of planes 0 and 1 between two letters,
# then a 20,000-input slice of random and adversarial byte strings (invalid
# UTF-8 included). The ids must be identical. `make tokdiff` runs 1,000,000
# and every plane.
. "$(dirname "$0")/cli_lib.sh"
TOKDIFF="$(dirname "$TE_BIN")/tests/tokdiff"
MODEL="$TE_TESTDATA/tiny-mean.temb"
TOKJSON="$TE_REF/minilm-tokenizer/tokenizer.json"
python3 tests/tokdiff/gen.py --sweep 0 1FFFF "$WORK/sweep.bin"
if node tests/tokdiff/ref.js "$TOKJSON" "$WORK/sweep.bin" "$WORK/sweep.txt" 2>"$WORK/err"; then
    "$TOKDIFF" "$MODEL" "$WORK/sweep.bin" "$WORK/sweep.txt" | sed 's/^\(PASS\|FAIL\) tokenizer differential/\1 tokenizer differential, code points U+0000..U+1FFFF/'
else
    fail "tokenizer differential, code points: the reference did not run (npm install --prefix tests/tokdiff): $(head -c 200 "$WORK/err")"
fi
sh tests/tokdiff/run.sh "$TOKDIFF" "$MODEL" "$TOKJSON" 20000 1
finish
