#!/bin/sh
# arm.sh - the ARM builds on their target under user-mode emulation: the
# golden tests (tokenizer ids, embeddings of every test model in f32, f16, bf16
# and int8; kernels against the scalar reference) run as they do on x86,
# the CLI's vectors match the x86 build's within the fp32 tolerance, and
# the binary's size and the peak RSS of one int8 embedding are reported.
# Emulated NEON runs ~50x slower than native, so the tests that repeat the
# goldens under other batch shapes and thread counts (which x86 runs) are
# left out; ARM_QUICK=1 (what .ci/run uses) keeps the goldens of the small
# models, the int8 goldens of all three over every 4th reference sentence
# (TE_SLICE) and the first 8 texts of the CLI comparisons (about a minute
# per architecture). The full run takes about ten minutes per architecture.
#   sh tests/arm.sh X86_BUILD NAME QEMU STRIP ARM_BUILD [NAME QEMU STRIP ARM_BUILD ...]
. "$(dirname "$0")/cli_lib.sh"
X86=$1; shift
export TE_TESTDATA="$X86/testdata" TE_HF="$X86/testdata/hf" TE_REF="${TE_REF:-../shared/ref}"
I8="$TE_TESTDATA/minilm-mean-int8.temb"
if [ -n "${ARM_QUICK:-}" ]; then
    texts=8
    slice=4
    only_tokenizer=goldens_512,goldens_at_model_length
    only_forward=golden_tiny_mean,golden_tiny_cls,int8_goldens
    only_arch=tokenizer_matches_goldens
else
    texts=98
    slice=""
    only_tokenizer=""
    only_forward=golden_tiny_mean,golden_tiny_cls,golden_minilm_mean,int8_goldens,f16_goldens,bf16_goldens
    only_arch=tokenizer_matches_goldens,f32_matches_goldens,int8_within_bars
fi
head -n "$texts" "$TE_REF/cases.txt" > "$WORK/cases.txt"
"$X86/tinyembed" embed -m "$TE_TESTDATA/minilm-mean.temb" < "$WORK/cases.txt" > "$WORK/x86-f32.json" 2>/dev/null
"$X86/tinyembed" embed -m "$I8" < "$WORK/cases.txt" > "$WORK/x86-i8.json" 2>/dev/null

# close A.json B.json N MIN_COS MAX_DIFF [MEAN_COS]: the first N vectors of
# A and B (B may have more: the goldens) pair up within the bars; prints
# the worst cosine.
close() {
    python3 - "$@" <<'PY'
import json, math, sys
n = int(sys.argv[3])
load = lambda f: [(lambda r: r["embedding"] if isinstance(r, dict) else r)(json.loads(l)) for l in open(f)][:n]
a, b = load(sys.argv[1]), load(sys.argv[2])
assert len(a) == len(b) == n, (len(a), len(b))
cos = [sum(p * q for p, q in zip(x, y)) / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y)) for x, y in zip(a, b)]
diff = max(max(abs(p - q) for p, q in zip(x, y)) for x, y in zip(a, b))
print("  min cosine %.7f, mean %.7f, max abs diff %.2e" % (min(cos), sum(cos) / n, diff))
mean_min = float(sys.argv[6]) if len(sys.argv) > 6 else 0
assert min(cos) >= float(sys.argv[4]) and diff <= float(sys.argv[5]) and sum(cos) / n >= mean_min
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
    arch=$1; qemu=$2; strip=$3; B=$4; shift 4
    echo "== $arch ($qemu, $B)"
    for t in test_kernels test_tokenizer test_forward test_arch; do
        case $t in
            test_tokenizer) only=$only_tokenizer ;;
            test_forward) only=$only_forward ;;
            test_arch) only=$only_arch ;;
            *) only="" ;;
        esac
        start=$(date +%s)
        TE_SLICE=$slice TH_ONLY=$only "$qemu" "$B/tests/$t" > "$WORK/$t.log" 2>&1
        rc=$?
        n_fail=$(grep -c '^FAIL' "$WORK/$t.log")
        n_pass=$(grep -c '^PASS' "$WORK/$t.log")
        if [ "$rc" -eq 0 ] && [ "$n_fail" -eq 0 ] && [ "$n_pass" -gt 0 ]; then
            pass "$arch: $t: $(grep '^PASS' "$WORK/$t.log" | cut -c6- | tr '\n' ' ')($(($(date +%s) - start)) s)"
        else fail "$arch: $t (exit $rc)"; grep -v '^PASS' "$WORK/$t.log" | head -20; fi
    done
    "$qemu" "$B/tinyembed" embed -m "$TE_TESTDATA/minilm-mean.temb" < "$WORK/cases.txt" > "$WORK/f32.json" 2>/dev/null
    check "$arch: the CLI's f32 vectors of $texts texts match x86's (cos >= 0.99999, |diff| <= 1e-4)" \
        close "$WORK/x86-f32.json" "$WORK/f32.json" "$texts" 0.99999 1e-4
    "$qemu" "$B/tinyembed" embed -m "$I8" < "$WORK/cases.txt" > "$WORK/i8.json" 2>/dev/null
    # int8: the sums are exact integers, but the float steps between them
    # (softmax, GELU, LayerNorm) round differently per kernel set and move
    # activations across quantization steps, as between x86's own sets; so
    # the bar is the int8 goldens' (../shared/ref/README.md), and the
    # distance to x86's int8 vectors is printed.
    check "$arch: the CLI's int8 vectors of $texts texts meet the int8 golden bars (cos >= 0.99, mean >= 0.995)" \
        close "$TE_REF/golden/minilm-mean.jsonl" "$WORK/i8.json" "$texts" 0.99 1 0.995
    close "$WORK/x86-i8.json" "$WORK/i8.json" "$texts" 0 1 | sed 's/^  /  int8 ARM vs x86: /' 
    check "$arch: the binary is static" sh -c "file '$B/tinyembed' | grep -q 'statically linked'"
    "$X86/tinyembed" bundle --exe "$B/tinyembed" -m "$I8" -o "$WORK/bundle" 2>/dev/null
    "$qemu" "$WORK/bundle" embed < "$WORK/cases.txt" > "$WORK/bundle.json" 2>/dev/null
    check "$arch: a bundle made on x86 with --exe runs with no --model and gives the same vectors" \
        cmp -s "$WORK/i8.json" "$WORK/bundle.json"
    "$strip" -o "$WORK/stripped" "$B/tinyembed"
    idle=$(peak_kb "$qemu" "$B/tinyembed" --version)
    rss=$(peak_kb "$qemu" "$B/tinyembed" embed -m "$I8" "The cat sits outside")
    echo "  $arch: binary $(wc -c < "$B/tinyembed") bytes, stripped $(wc -c < "$WORK/stripped") bytes;" \
         "peak RSS embedding one text (int8 minilm-shaped) $rss KB under $qemu (--version alone: $idle KB)"
done
finish
