#!/bin/sh
# cli_embed.sh - embed, similarity and bench as a user runs them: outputs in
# every format agree, options do not change results, goldens hold through
# the CLI, errors are clear.
. "$(dirname "$0")/cli_lib.sh"
M="$TE_TESTDATA/tiny-mean.temb"

"$TE_BIN" embed -m "$M" < "$TE_REF/cases.txt" > "$WORK/cases.json" 2>"$WORK/err"
check "embed cases.txt matches golden/tiny-mean.jsonl (cosine >= 0.99999, |diff| <= 1e-4)" python3 - "$TE_REF/golden/tiny-mean.jsonl" "$WORK/cases.json" <<'PY'
import json, math, sys
gold = [json.loads(l)["embedding"] for l in open(sys.argv[1])]
mine = [json.loads(l) for l in open(sys.argv[2])]
assert len(gold) == len(mine) == 98, (len(gold), len(mine))
for g, m in zip(gold, mine):
    cos = sum(a * b for a, b in zip(g, m)) / math.sqrt(sum(a * a for a in g) * sum(b * b for b in m))
    assert cos >= 0.99999 and max(abs(a - b) for a, b in zip(g, m)) <= 1e-4, cos
PY

expect_rc 0 "texts as arguments" "$TE_BIN" embed -m "$M" "Hello world" "A man is eating food."
cp "$WORK/out" "$WORK/args.json"
printf 'Hello world\nA man is eating food.\n' | "$TE_BIN" embed -m "$M" > "$WORK/stdin.json"
check "arguments and stdin give the same vectors" cmp -s "$WORK/args.json" "$WORK/stdin.json"
printf 'Hello world\nA man is eating food.\n' | "$TE_BIN" embed -m "$M" --threads 1 --batch 1 > "$WORK/t1.json"
check "--threads 1 --batch 1 gives the same vectors" cmp -s "$WORK/args.json" "$WORK/t1.json"
"$TE_BIN" embed -m "$M" -f tsv "Hello world" "A man is eating food." > "$WORK/v.tsv"
"$TE_BIN" embed -m "$M" --format bin "Hello world" "A man is eating food." > "$WORK/v.bin"
check "json, tsv and bin hold the same values" python3 - "$WORK/args.json" "$WORK/v.tsv" "$WORK/v.bin" <<'PY'
import json, struct, sys
j = [json.loads(l) for l in open(sys.argv[1])]
t = [[float(x) for x in l.split("\t")] for l in open(sys.argv[2])]
raw = open(sys.argv[3], "rb").read()
assert len(raw) == 2 * 64 * 4, len(raw)
b = struct.unpack("<%df" % (2 * 64), raw)
for i in range(2):
    for k in range(64):
        assert abs(j[i][k] - t[i][k]) <= 1e-8 and abs(j[i][k] - b[i * 64 + k]) <= 1e-7
PY
TE_SIMD=scalar "$TE_BIN" embed -m "$M" "Hello world" > "$WORK/scalar.json"
check "TE_SIMD=scalar agrees with the default kernels" python3 - "$WORK/args.json" "$WORK/scalar.json" <<'PY'
import json, sys
a = json.loads(open(sys.argv[1]).readline()); b = json.loads(open(sys.argv[2]).readline())
assert max(abs(x - y) for x, y in zip(a, b)) < 1e-5
PY

expect_rc 0 "similarity of three texts" "$TE_BIN" similarity -m "$M" "A man is eating food." "A man is eating a piece of bread." "The girl is carrying a baby."
check "similarity: 3x3, unit diagonal, symmetric" python3 - "$WORK/out" <<'PY'
import sys
rows = [[float(x) for x in l.split("\t")] for l in open(sys.argv[1])]
assert len(rows) == 3 and all(len(r) == 3 for r in rows)
assert all(abs(rows[i][i] - 1) < 1e-5 for i in range(3))
assert all(rows[i][j] == rows[j][i] for i in range(3) for j in range(3))
PY
expect_rc 2 "similarity needs two texts" "$TE_BIN" similarity -m "$M" "alone"

expect_rc 0 "bench W1 and W2 run" "$TE_BIN" bench -m "$M" --runs 1 --threads 2
expect_out_has "bench reports W1 throughput" "texts/s"
expect_out_has "bench reports GFLOP/s" "GFLOP/s"
expect_out_has "bench reports W2 latency" "median"
expect_out_has "bench names the kernels and threads" "2 threads"
expect_rc 0 "bench --tokenizer" "$TE_BIN" bench -m "$M" --tokenizer --file "$TE_REF/cases.txt" --runs 1
expect_out_has "tokenizer bench reports MB/s" "MB/s"
expect_rc 2 "bench --tokenizer needs --file" "$TE_BIN" bench -m "$M" --tokenizer

# --precision binary / ubinary: the reference quantizer (sentence-transformers') on the float vectors.
"$TE_BIN" embed -m "$M" "The cat sits outside" "A man is playing guitar" > "$WORK/f.json"
expect_rc 0 "--precision binary" "$TE_BIN" embed -m "$M" --precision binary "The cat sits outside" "A man is playing guitar"
cp "$WORK/out" "$WORK/b.json"
expect_rc 0 "--precision ubinary --format tsv" "$TE_BIN" embed -m "$M" --precision ubinary --format tsv "The cat sits outside" "A man is playing guitar"
cp "$WORK/out" "$WORK/u.tsv"
"$TE_BIN" embed -m "$M" --precision binary --format bin "The cat sits outside" "A man is playing guitar" > "$WORK/b.bin"
check "packed bits of v > 0: JSON int8, tsv uint8, raw int8 bytes" python3 - "$WORK" <<'PY'
import json, struct, sys
w = sys.argv[1]
sys.path.insert(0, "tests")
from quantize_ref import packed  # sentence-transformers' binary / ubinary
f = [json.loads(l) for l in open(w + "/f.json")]
assert [json.loads(l) for l in open(w + "/b.json")] == [packed(v, 1) for v in f]
assert [[int(x) for x in l.split("\t")] for l in open(w + "/u.tsv")] == [packed(v, 0) for v in f]
raw = open(w + "/b.bin", "rb").read()
assert list(struct.unpack("%db" % len(raw), raw)) == packed(f[0], 1) + packed(f[1], 1)
PY
# --precision int8 / uint8: the reference quantizer on the range `info --json` shows.
"$TE_BIN" info --json "$M" > "$WORK/info.json"
expect_rc 0 "--precision int8" "$TE_BIN" embed -m "$M" --precision int8 "The cat sits outside" "A man is playing guitar"
cp "$WORK/out" "$WORK/i8.json"
"$TE_BIN" embed -m "$M" --precision uint8 --format bin "The cat sits outside" "A man is playing guitar" > "$WORK/u8.bin"
expect_rc 0 "--precision int8, the second text alone" "$TE_BIN" embed -m "$M" --precision int8 "A man is playing guitar"
cp "$WORK/out" "$WORK/i8_alone.json"
check "int8 and uint8 bytes by the model's calibrated range; the same alone as in a batch" python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
sys.path.insert(0, "tests")
from quantize_ref import calibrated
f = [json.loads(l) for l in open(w + "/f.json")]
r = json.load(open(w + "/info.json"))["output_range"]
i8 = [json.loads(l) for l in open(w + "/i8.json")]
assert i8 == [calibrated(v, r["min"], r["max"], 1) for v in f], i8
assert list(open(w + "/u8.bin", "rb").read()) == sum((calibrated(v, r["min"], r["max"], 0) for v in f), [])
assert [json.loads(l) for l in open(w + "/i8_alone.json")] == [i8[1]]
PY
python3 tests/strip_range.py "$M" "$WORK/old.temb"
expect_rc 1 "--precision int8 on a file without a calibrated range fails" "$TE_BIN" embed -m "$WORK/old.temb" --precision int8 x
expect_err_has "naming the fix" "tinyembed calibrate"
expect_rc 0 "calibrate adds the range" "$TE_BIN" calibrate "$WORK/old.temb"
expect_rc 0 "then int8 works" "$TE_BIN" embed -m "$WORK/old.temb" --precision int8 "The cat sits outside" "A man is playing guitar"
check "with the same bytes as the freshly converted file's" cmp "$WORK/out" "$WORK/i8.json"
printf 'one text\n\nanother text\n' > "$WORK/texts.txt"
expect_rc 0 "calibrate --texts FILE OUT" "$TE_BIN" calibrate "$WORK/old.temb" "$WORK/mine.temb" --texts "$WORK/texts.txt"
expect_err_has "says how many texts" "calibrated on 2 texts"
expect_rc 1 "calibrate --texts with no text fails" "$TE_BIN" calibrate "$WORK/old.temb" "$WORK/x.temb" --texts /dev/null
expect_rc 1 "calibrate --texts missing-file fails" "$TE_BIN" calibrate "$WORK/old.temb" "$WORK/x.temb" --texts "$WORK/nope"
check "and neither wrote a file" test ! -e "$WORK/x.temb"
expect_rc 2 "--precision half is refused" "$TE_BIN" embed -m "$M" --precision half x
expect_err_has "naming the choices" "float, int8, uint8, binary or ubinary"

# --chunk: 300 tokens of "the" ([CLS] + 62 + [SEP] per chunk of 64, 16 shared: 7 chunks, the last of 24 + 2).
THE=$(python3 -c "print(' '.join(['the'] * 300))")
expect_rc 0 "--chunk 64 --overlap 16 --reduce none" "$TE_BIN" embed -m "$M" --chunk 64 --overlap 16 --reduce none "$THE"
cp "$WORK/out" "$WORK/chunks.json"
expect_rc 0 "--chunk 64 --overlap 16 (mean)" "$TE_BIN" embed -m "$M" --chunk 64 --overlap 16 "$THE"
check "chunks cover the text with their overlap; the mean is their token-weighted mean, unit length" python3 - "$WORK" "$THE" <<'PY'
import json, math, sys
w, text = sys.argv[1], sys.argv[2]
c = json.loads(open(w + "/chunks.json").readline())
assert len(c) == 7, len(c)
starts = [x["start"] for x in c]
assert starts == [4 * 46 * k for k in range(7)] and c[0]["stop"] == 4 * 62 - 1 and c[-1]["stop"] == len(text), c
wts = [64] * 6 + [26]
mean = [sum(wt * x["embedding"][d] for wt, x in zip(wts, c)) / sum(wts) for d in range(64)]
n = math.sqrt(sum(v * v for v in mean))
got = json.loads(open(w + "/out").readline())
assert all(abs(a - b / n) < 1e-6 for a, b in zip(got, mean)), "not the weighted mean"
PY
"$TE_BIN" embed -m "$M" "The cat sits outside" > "$WORK/plain.json"
expect_rc 0 "--chunk on a short text" "$TE_BIN" embed -m "$M" --chunk 64 "The cat sits outside"
check "one chunk: the text's embedding" cmp -s "$WORK/out" "$WORK/plain.json"
expect_rc 2 "--reduce without --chunk is refused" "$TE_BIN" embed -m "$M" --reduce none x
expect_rc 2 "--reduce max is refused" "$TE_BIN" embed -m "$M" --chunk 8 --reduce max x
expect_rc 2 "--reduce none with --format tsv is refused" "$TE_BIN" embed -m "$M" --chunk 8 --reduce none --format tsv x
expect_rc 2 "--chunk beyond the model's limit is refused" "$TE_BIN" embed -m "$M" --chunk 129 x
expect_rc 2 "--chunk 2 leaves no room for text" "$TE_BIN" embed -m "$M" --chunk 2 x
expect_err_has "and says so" "no room for text"
expect_rc 2 "an overlap as large as a chunk's text" "$TE_BIN" embed -m "$M" --chunk 10 --overlap 8 x

expect_rc 2 "bad --format" "$TE_BIN" embed -m "$M" --format xml x
expect_rc 2 "--threads 0 refused" "$TE_BIN" embed -m "$M" --threads 0 x
expect_rc 1 "unknown --simd" "$TE_BIN" embed -m "$M" --simd sse9 x
expect_err_has "unknown --simd named" "sse9"
expect_rc 2 "--model required" "$TE_BIN" embed x
expect_rc 1 "missing model file" "$TE_BIN" embed -m "$WORK/none.temb" x
finish
