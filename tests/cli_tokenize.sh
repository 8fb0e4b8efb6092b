#!/bin/sh
# cli_tokenize.sh - `tinyembed tokenize` as the acceptance criteria state it:
# every line of ../shared/ref/cases.txt gives exactly the golden ids, at 512
# and at each model's default length; plus argument handling.
. "$(dirname "$0")/cli_lib.sh"
CASES="$TE_REF/cases.txt"

# compare_ids GOLDEN.jsonl OUTPUT: the "ids" of each golden line equal each output line.
compare_ids() {
    python3 - "$1" "$2" <<'PY'
import json, sys
gold = [json.loads(l)["ids"] for l in open(sys.argv[1], encoding="utf-8")]
mine = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
bad = [i + 1 for i, (g, m) in enumerate(zip(gold, mine)) if g != m]
if len(gold) != len(mine) or bad:
    print("  %d golden lines, %d output lines, differing lines: %s" % (len(gold), len(mine), bad[:10]))
    sys.exit(1)
PY
}

"$TE_BIN" tokenize -m "$TE_TESTDATA/tiny-mean.temb" --max-len 512 < "$CASES" > "$WORK/t512" 2>"$WORK/err"
check "tokenize --max-len 512 == golden/tokens.jsonl" compare_ids "$TE_REF/golden/tokens.jsonl" "$WORK/t512"
for m in tiny-mean tiny-cls minilm-mean; do
    "$TE_BIN" tokenize -m "$TE_TESTDATA/$m.temb" < "$CASES" > "$WORK/$m" 2>"$WORK/err"
    check "tokenize (model default) == golden/$m.jsonl" compare_ids "$TE_REF/golden/$m.jsonl" "$WORK/$m"
done

expect_rc 0 "texts as arguments" "$TE_BIN" tokenize -m "$TE_TESTDATA/tiny-mean.temb" "Hello world" "HELLO WORLD!!!"
check "arguments give one array each" test "$(cat "$WORK/out")" = "$(printf '[101,7592,2088,102]\n[101,7592,2088,999,999,999,102]')"
printf 'Hello world\nHELLO WORLD!!!' | "$TE_BIN" tokenize -m "$TE_TESTDATA/tiny-mean.temb" > "$WORK/stdin"
check "stdin lines (last without newline) equal arguments" cmp -s "$WORK/out" "$WORK/stdin"
printf 'a\r\n\nb\n' | "$TE_BIN" tokenize -m "$TE_TESTDATA/tiny-mean.temb" > "$WORK/empty"
check "empty lines give [CLS, SEP]" test "$(sed -n 2p "$WORK/empty")" = "[101,102]"
expect_rc 0 "--tokens prints strings" "$TE_BIN" tokenize --tokens -m "$TE_TESTDATA/tiny-mean.temb" "unbelievably"
check "--tokens output" test "$(cat "$WORK/out")" = '["[CLS]","un","##bel","##ie","##va","##bly","[SEP]"]'
expect_rc 0 "--tokens on a byte-level BPE model" "$TE_BIN" tokenize --tokens -m "$TE_TESTDATA/carrier-bpe-gpt2.temb" "Hello wörld 😀"
check "spells bytes as Hugging Face does (GPT-2's stand-ins: valid UTF-8, even for half a character)" \
    test "$(cat "$WORK/out")" = '["Hello","Ġw","Ã¶r","ld","ĠðŁĺ","Ģ"]'
expect_rc 0 "--tokens names an added token past the vocabulary" "$TE_BIN" tokenize --tokens \
    -m "$TE_TESTDATA/carrier-bpe-qwen3-embedding.temb" "Hello world"
check "(Qwen3's appended <|endoftext|>)" test "$(cat "$WORK/out")" = '["Hello","Ġworld","<|endoftext|>"]'
expect_rc 0 "--max-len truncates" "$TE_BIN" tokenize -m "$TE_TESTDATA/tiny-mean.temb" --max-len 3 "one two three"
check "--max-len 3 keeps one token" test "$(cat "$WORK/out")" = "[101,2028,102]"
expect_rc 2 "--model is required" "$TE_BIN" tokenize "x"
expect_rc 2 "--max-len must be >= 2" "$TE_BIN" tokenize -m "$TE_TESTDATA/tiny-mean.temb" --max-len 1 x
expect_rc 2 "--max-len must be a number" "$TE_BIN" tokenize -m "$TE_TESTDATA/tiny-mean.temb" --max-len 12x x
expect_rc 1 "missing model file" "$TE_BIN" tokenize -m "$WORK/none.temb" x
expect_err_has "missing model named" "none.temb: no such file"
head -c 3000 /dev/urandom > "$WORK/random"
expect_rc 0 "random bytes on stdin" sh -c "\"$TE_BIN\" tokenize -m \"$TE_TESTDATA/tiny-mean.temb\" < \"$WORK/random\""
finish
