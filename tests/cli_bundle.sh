#!/bin/sh
# cli_bundle.sh - `tinyembed bundle`: one executable that carries its model.
# A bundle copied alone to an empty directory embeds the goldens (int8 and
# f32), serves, reports itself in info; -m overrides; damage is named.
. "$(dirname "$0")/cli_lib.sh"
. "$(dirname "$0")/serve_lib.sh"
I8="$TE_TESTDATA/minilm-mean-int8.temb"
F32="$TE_TESTDATA/tiny-mean.temb"

# golden_check GOLDEN OUT MIN_COS MEAN_COS: every line's cosine to the golden
# is >= MIN_COS, their mean >= MEAN_COS (../shared/ref/README.md's bars).
golden_check() {
    python3 - "$@" <<'PY'
import json, math, sys
gold = [json.loads(l)["embedding"] for l in open(sys.argv[1])]
mine = [json.loads(l) for l in open(sys.argv[2])]
assert len(gold) == len(mine) == 98, (len(gold), len(mine))
cos = [sum(a * b for a, b in zip(g, m)) / math.sqrt(sum(a * a for a in g) * sum(b * b for b in m)) for g, m in zip(gold, mine)]
assert min(cos) >= float(sys.argv[3]) and sum(cos) / len(cos) >= float(sys.argv[4]), (min(cos), sum(cos) / len(cos))
PY
}

expect_rc 0 "bundle the int8 minilm-shaped model" "$TE_BIN" bundle -m "$I8" -o "$WORK/mb"
expect_err_has "bundle says where the model went" "appended at byte"
mkdir "$WORK/alone"
cp "$WORK/mb" "$WORK/alone/mb"
check "the bundle is executable" test -x "$WORK/alone/mb"
check "size = binary + model + < 64 KB" test $(($(wc -c < "$WORK/mb") - $(wc -c < "$TE_BIN") - $(wc -c < "$I8"))) -lt 65536
(cd "$WORK/alone" && ./mb embed) < "$TE_REF/cases.txt" > "$WORK/i8.json" 2>/dev/null
check "alone in an empty directory, the int8 bundle embeds the goldens (cos >= 0.99, mean >= 0.995)" \
    golden_check "$TE_REF/golden/minilm-mean.jsonl" "$WORK/i8.json" 0.99 0.995
"$TE_BIN" embed -m "$I8" < "$TE_REF/cases.txt" > "$WORK/i8-file.json" 2>/dev/null
check "the bundle's vectors are the separate file's, byte for byte" cmp -s "$WORK/i8.json" "$WORK/i8-file.json"
TE_STRATEGY=progressive "$WORK/alone/mb" embed < "$TE_REF/cases.txt" > "$WORK/i8-prog.json" 2>/dev/null
check "the progressive strategy gives the same vectors out of a bundle" cmp -s "$WORK/i8.json" "$WORK/i8-prog.json"

expect_rc 0 "info on the bundle, no argument" "$WORK/alone/mb" info
expect_out_has "info shows the embedded model" "name:              minilm-mean"
expect_out_has "info says it is bundled" "bundled:           yes"
expect_rc 0 "verify on the bundle, no argument" "$WORK/alone/mb" verify
expect_out_has "verify checks every checksum" "all checksums match"
expect_rc 0 "info --status --wait on the bundle" "$WORK/alone/mb" info --status --wait --strategy eager --json
expect_out_has "status: loaded" '"state": "ready"'
expect_rc 0 "similarity from the bundle" "$WORK/alone/mb" similarity "a cat sits" "a dog runs"
expect_rc 0 "tokenize from the bundle" "$WORK/alone/mb" tokenize "hello world"
expect_out_has "tokenize uses the bundled vocabulary" "[101,7592,2088,102]"
expect_rc 0 "-m overrides the bundled model" "$WORK/alone/mb" embed -m "$F32" "hello"
check "... with the other model's width (64)" python3 -c "import json,sys; assert len(json.load(open(sys.argv[1]))) == 64" "$WORK/out"
expect_rc 2 "the plain binary still needs --model" "$TE_BIN" embed "hello"
expect_err_has "the plain binary says --model is required" "--model is required"
expect_rc 1 "the plain binary is not a model" "$TE_BIN" info "$TE_BIN"
expect_err_has "... and says it has no model bundled" "executable with no model bundled"

# f32, made with --exe from the bundle itself (its model is dropped, not nested).
expect_rc 0 "bundle f32 with --exe (another build: here the int8 bundle)" "$TE_BIN" bundle --exe "$WORK/mb" -m "$F32" -o "$WORK/fb"
check "--exe of a bundle takes only its executable" test $(($(wc -c < "$WORK/fb") - $(wc -c < "$TE_BIN") - $(wc -c < "$F32"))) -lt 65536
"$WORK/fb" embed < "$TE_REF/cases.txt" > "$WORK/f32.json" 2>/dev/null
check "the f32 bundle embeds the goldens (cos >= 0.99999)" golden_check "$TE_REF/golden/tiny-mean.jsonl" "$WORK/f32.json" 0.99999 0.99999
expect_rc 0 "a bundle's model can be bundled again" "$TE_BIN" bundle -m "$WORK/mb" -o "$WORK/mb2"
check "... to the same bytes" cmp -s "$WORK/mb" "$WORK/mb2"
expect_rc 2 "--exe that is not an executable" "$TE_BIN" bundle --exe "$F32" -m "$F32" -o "$WORK/bad"
expect_err_has "... is named" "not an executable (ELF)"
check "... and leaves no file" test ! -e "$WORK/bad"
expect_rc 2 "--align that is not a power of two" "$TE_BIN" bundle -m "$F32" -o "$WORK/bad" --align 5000
expect_rc 1 "a damaged model is refused at bundle time" sh -c "cp '$F32' '$WORK/dmg.temb' && printf 'X' | dd of='$WORK/dmg.temb' bs=1 seek=200000 conv=notrunc 2>/dev/null && '$TE_BIN' bundle -m '$WORK/dmg.temb' -o '$WORK/bad'"
check "... and leaves no file" test ! -e "$WORK/bad"

# Damage inside the bundle: the usual named errors.
off=$("$WORK/mb" info --json | python3 -c "import json,sys; print(json.load(sys.stdin)['bundle_offset'])")
cp "$WORK/mb" "$WORK/d1"; printf 'X' | dd of="$WORK/d1" bs=1 seek=$((off + 100)) conv=notrunc 2>/dev/null
expect_rc 1 "damaged model header in a bundle" "$WORK/d1" embed "hello"
expect_err_has "... is the usual header error" "header checksum mismatch"
cp "$WORK/mb" "$WORK/d2"; printf 'X' | dd of="$WORK/d2" bs=1 seek=$((off + 20000000)) conv=notrunc 2>/dev/null
expect_rc 1 "damaged tensor in a bundle: verify fails" "$WORK/d2" verify
expect_err_has "... naming the tensor" "is damaged (CRC32"
size=$(wc -c < "$WORK/mb")
cp "$WORK/mb" "$WORK/d3"; printf 'X' | dd of="$WORK/d3" bs=1 seek=$((size - 20)) conv=notrunc 2>/dev/null
expect_rc 1 "damaged trailer" "$WORK/d3" info
expect_err_has "... is named" "trailer is damaged"
head -c $((size - 100)) "$WORK/mb" > "$WORK/d4"; chmod +x "$WORK/d4"
expect_rc 2 "a truncated bundle has no model" "$WORK/d4" embed "hello"
expect_err_has "... and says so" "--model is required"

# The server out of a bundle: no --model.
saved=$TE_BIN
TE_BIN="$WORK/alone/mb"
if start_server; then
    pass "serve from the bundle, no --model"
    post "POST /v1/embeddings on the bundle" 200 /v1/embeddings '{"input": "hello world", "model": "mb"}'
    body_has "... answers with the bundled model (named after the executable)" '"model":"mb"'
    stop_server "the bundle's server exits 0 on SIGTERM"
else fail "serve from the bundle, no --model"; fi
TE_BIN=$saved
finish
