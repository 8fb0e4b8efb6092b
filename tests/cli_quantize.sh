#!/bin/sh
# cli_quantize.sh - int8, f16 and bf16 files as a user makes and inspects them:
# convert --dtype and quantize agree byte for byte, the int8 file is small,
# info reports dtype and sizes, embed/bench run on it, errors are clear.
. "$(dirname "$0")/cli_lib.sh"
F32="$TE_TESTDATA/minilm-mean.temb"

for d in int8 f16 bf16; do
    expect_rc 0 "quantize --dtype $d" "$TE_BIN" quantize "$F32" "$WORK/q-$d.temb" --dtype $d
    check "quantize --dtype $d == convert --dtype $d, byte for byte" cmp -s "$WORK/q-$d.temb" "$TE_TESTDATA/minilm-mean-$d.temb"
done
expect_rc 0 "quantize defaults to int8" "$TE_BIN" quantize "$F32" "$WORK/default.temb"
check "the default is int8" cmp -s "$WORK/default.temb" "$TE_TESTDATA/minilm-mean-int8.temb"
check "the int8 minilm file is at most 27% of the f32 file" python3 -c "
import os, sys
q, f = os.path.getsize('$TE_TESTDATA/minilm-mean-int8.temb'), os.path.getsize('$F32')
print('  int8 %d bytes = %.1f%% of f32 %d' % (q, 100.0 * q / f, f))
sys.exit(0 if q <= 0.27 * f else 1)"

expect_rc 0 "info --json on an int8 file" "$TE_BIN" info --json "$TE_TESTDATA/minilm-mean-int8.temb"
check "info reports the dtype and the bytes of each section" python3 - "$WORK/out" "$TE_TESTDATA/minilm-mean-int8.temb" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
assert d["dtype"] == "int8", d["dtype"]
s = d["section_bytes"]
# one byte per weight in the int8 word table; the sections partition the file
assert s["word_embeddings"] == 30522 * 384, s
assert sum(s.values()) == os.path.getsize(sys.argv[2]) == d["file_bytes"], s
PY
expect_rc 0 "info --tensors names the int8 layout" "$TE_BIN" info --tensors "$TE_TESTDATA/minilm-mean-int8.temb"
expect_out_has "int8 panels listed" "layer.0.attn.qkv.weight            int8  [1152, 384] panel16x4"
expect_out_has "scales listed" "layer.0.attn.qkv.weight_scale"
expect_rc 0 "verify an int8 file" "$TE_BIN" verify "$TE_TESTDATA/minilm-mean-int8.temb"

"$TE_BIN" embed -m "$TE_TESTDATA/minilm-mean-int8.temb" < "$TE_REF/cases.txt" > "$WORK/int8.json" 2>"$WORK/err"
check "embed with the int8 file: cosine >= 0.99 to every golden" python3 - "$TE_REF/golden/minilm-mean.jsonl" "$WORK/int8.json" <<'PY'
import json, math, sys
gold = [json.loads(l)["embedding"] for l in open(sys.argv[1])]
mine = [json.loads(l) for l in open(sys.argv[2])]
assert len(gold) == len(mine) == 98
for g, m in zip(gold, mine):
    assert sum(a * b for a, b in zip(g, m)) / math.sqrt(sum(a * a for a in g) * sum(b * b for b in m)) >= 0.99
PY
expect_rc 0 "bench runs on an int8 file" "$TE_BIN" bench -m "$TE_TESTDATA/minilm-mean-int8.temb" --workload w2 --runs 1
expect_out_has "bench says the weights are int8" "int8 weights"

expect_rc 1 "quantize refuses a file that is not f32" "$TE_BIN" quantize "$TE_TESTDATA/minilm-mean-int8.temb" "$WORK/x.temb"
expect_err_has "and says what it reads" "reads f32 files"
check "a refused quantize leaves no output" test ! -e "$WORK/x.temb"
expect_rc 2 "quantize --dtype f32 is refused" "$TE_BIN" quantize "$F32" "$WORK/x.temb" --dtype f32
expect_err_has "the dtype error lists the choices" "int8, f16 or bf16"
expect_rc 1 "quantize of a missing file" "$TE_BIN" quantize "$WORK/none.temb" "$WORK/x.temb"
expect_err_has "the missing file is named" "none.temb"
head -c 100000 "$F32" > "$WORK/cut.temb"
expect_rc 1 "quantize of a truncated file" "$TE_BIN" quantize "$WORK/cut.temb" "$WORK/x.temb"
expect_err_has "truncation is reported" "truncated"
expect_rc 2 "convert --dtype must be known" "$TE_BIN" convert "$TE_HF/tiny-mean" "$WORK/x.temb" --dtype int4
expect_err_has "convert lists the dtypes" "f32, f16, bf16 or int8"

# A bfloat16 checkpoint converted to bf16 keeps every weight's bits: the
# round trip through f32 is exact (no second rounding).
expect_rc 0 "convert a BF16 checkpoint to bf16" "$TE_BIN" convert --dtype bf16 "$TE_HF/tiny-bf16" "$WORK/bf.temb"
check "every bf16 weight equals the checkpoint's bits" python3 - "$TE_HF/tiny-bf16/model.safetensors" "$WORK/bf.temb" <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head = json.loads(raw[8:8 + n])
t = head["bert.embeddings.word_embeddings.weight"]
assert t["dtype"] == "BF16", t["dtype"]
a, b = t["data_offsets"]
want = raw[8 + n + a:8 + n + b]
temb = open(sys.argv[2], "rb").read()
assert want in temb, "the word table's bf16 bytes are not in the file verbatim"
PY
expect_rc 0 "info names the bf16 dtype" "$TE_BIN" info "$WORK/bf.temb"
expect_out_has "bf16 reported" "bf16"
finish
