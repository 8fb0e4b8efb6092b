#!/bin/sh
# arm.sh - the ARM builds on their target under user-mode emulation: the
# golden tests (tokenizer ids, embeddings of every test model in f32, f16
# and int8; kernels against the scalar reference) run as they do on x86,
# the CLI's vectors match the x86 build's within the fp32 tolerance, and
# the binary's size and the peak RSS of one int8 embedding are reported.
# Emulated NEON runs ~50x slower than native, so the tests that repeat the
# goldens under other batch shapes and thread counts (which x86 runs) are
# left out; ARM_QUICK=1 (what .ci/run uses) keeps the goldens of the small
# models, the int8 goldens of all three and the first 24 texts of the CLI
# comparison. The full run takes about half an hour per architecture.
#   sh tests/arm.sh X86_BUILD NAME QEMU STRIP ARM_BUILD [NAME QEMU STRIP ARM_BUILD ...]
. "$(dirname "$0")/cli_lib.sh"
X86=$1; shift
export TE_TESTDATA="$X86/testdata" TE_HF="$X86/testdata/hf" TE_REF="${TE_REF:-../shared/ref}"
I8="$TE_TESTDATA/minilm-mean-int8.temb"
if [ -n "${ARM_QUICK:-}" ]; then
    texts=24
    only_tokenizer=goldens_512,goldens_at_model_length
    only_forward=golden_tiny_mean,golden_tiny_cls,int8_goldens
    only_arch=tokenizer_matches_goldens
else
    texts=98
    only_tokenizer=""
    only_forward=golden_tiny_mean,golden_tiny_cls,golden_minilm_mean,int8_goldens,f16_goldens
    only_arch=tokenizer_matches_goldens,f32_matches_goldens,int8_within_bars
fi
head -n "$texts" "$TE_REF/cases.txt" > "$WORK/cases.txt"
"$X86/tinyembed" embed -m "$TE_TESTDATA/minilm-mean.temb" < "$WORK/cases.txt" > "$WORK/x86-f32.json" 2>/dev/null
"$X86/tinyembed" embed -m "$I8" < "$WORK/cases.txt" > "$WORK/x86-i8.json" 2>/dev/null

# close A.json B.json MIN_COS MAX_DIFF: every vector pair within the bars.
close() {
    python3 - "$@" <<'PY'
import json, math, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) == int(sys.argv[5]), (len(a), len(b))
for x, y in zip(a, b):
    cos = sum(p * q for p, q in zip(x, y)) / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y))
    assert cos >= float(sys.argv[3]) and max(abs(p - q) for p, q in zip(x, y)) <= float(sys.argv[4]), cos
PY
}

# Peak RSS (KB) of a command under /usr/bin/time-like accounting: the
# emulator's own memory is included, so the same figure for `--version`
# is reported beside it.
peak_kb() {
    python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

while [ $# -ge 4 ]; do
    name=$1; qemu=$2; strip=$3; B=$4; shift 4
    echo "== $name ($qemu, $B)"
    for t in test_kernels test_tokenizer test_forward test_arch; do
        case $t in
            test_tokenizer) only=$only_tokenizer ;;
            test_forward) only=$only_forward ;;
            test_arch) only=$only_arch ;;
            *) only="" ;;
        esac
        start=$(date +%s)
        TH_ONLY=$only "$qemu" "$B/tests/$t" > "$WORK/$t.log" 2>&1
        rc=$?
        n_fail=$(grep -c '^FAIL' "$WORK/$t.log")
        n_pass=$(grep -c '^PASS' "$WORK/$t.log")
        if [ "$rc" -eq 0 ] && [ "$n_fail" -eq 0 ] && [ "$n_pass" -gt 0 ]; then
            pass "$name: $t: $(grep '^PASS' "$WORK/$t.log" | cut -c6- | tr '\n' ' ')($(($(date +%s) - start)) s)"
        else fail "$name: $t (exit $rc)"; grep -v '^PASS' "$WORK/$t.log" | head -20; fi
    done
    "$qemu" "$B/tinyembed" embed -m "$TE_TESTDATA/minilm-mean.temb" < "$WORK/cases.txt" > "$WORK/f32.json" 2>/dev/null
    check "$name: the CLI's f32 vectors of $texts texts match x86's (cos >= 0.99999, |diff| <= 1e-4)" \
        close "$WORK/x86-f32.json" "$WORK/f32.json" 0.99999 1e-4 "$texts"
    "$qemu" "$B/tinyembed" embed -m "$I8" < "$WORK/cases.txt" > "$WORK/i8.json" 2>/dev/null
    check "$name: the CLI's int8 vectors of $texts texts match x86's (cos >= 0.99999, |diff| <= 1e-4)" \
        close "$WORK/x86-i8.json" "$WORK/i8.json" 0.99999 1e-4 "$texts"
    check "$name: the binary is static" sh -c "file '$B/tinyembed' | grep -q 'statically linked'"
    "$strip" -o "$WORK/stripped" "$B/tinyembed"
    idle=$(peak_kb "$qemu" "$B/tinyembed" --version)
    rss=$(peak_kb "$qemu" "$B/tinyembed" embed -m "$I8" "The cat sits outside")
    echo "  $name: binary $(wc -c < "$B/tinyembed") bytes, stripped $(wc -c < "$WORK/stripped") bytes;" \
         "peak RSS embedding one text (int8 minilm-shaped) $rss KB under $qemu (--version alone: $idle KB)"
done
finish
