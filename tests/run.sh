#!/bin/sh
# Runs every test program and shell test; prints each result and ends with
# "N passed, N failed". Exit status 1 if anything failed.
#   sh tests/run.sh BUILD_DIR HF_DIR REF_DIR
# TE_MODELS_FROM=DIR takes the test models from DIR instead of BUILD/testdata.
# TE_ONLY_C=1 runs only the C test programs (CI's clang build: the shell tests
# drive the CLI, which the gcc, ASan and TSan runs cover); TE_SHELL_TESTS="a b"
# runs only those shell tests (tests/a.sh, tests/b.sh) after them, and
# TE_C_TESTS="test_a test_b" only those C test programs. TE_WRAP (make
# valgrind) runs each C test program under that command, e.g.
# TE_WRAP="valgrind --error-exitcode=99", and implies TE_ONLY_C.
# TE_JOBS=N runs N tests at once (default: 2 on a machine with 2 cores or
# more): most of a test's time is spent waiting -- on a server, a child
# process, Python or Node starting -- so two at a time fill both cores.
# Their output is shown whole and in order. Tests that read their own
# timing or page-cache state use private copies, so running beside another
# test cannot change their result.
BUILD=$1
export TE_TESTDATA="${TE_MODELS_FROM:-$BUILD/testdata}" TE_HF="$2" TE_REF="$3" TE_BIN="$BUILD/tinyembed"
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
jobs=${TE_JOBS:-$([ "$cores" -ge 2 ] && echo 2 || echo 1)}
pass=0
fail=0
outdir=$(mktemp -d)
trap 'rm -rf "$outdir"' EXIT

programs=$(for t in "$BUILD"/tests/test_*; do
    case "$t" in *.d) continue ;; esac
    [ -n "${TE_C_TESTS:-}" ] && ! echo " $TE_C_TESTS " | grep -q " $(basename "$t") " && continue
    [ -x "$t" ] && echo "$t"
done)
for t in ${TE_C_TESTS:-}; do
    [ -x "$BUILD/tests/$t" ] || { echo "FAIL $t: no such test program"; fail=$((fail + 1)); }
done
[ -n "${TE_WRAP:-}" ] && TE_ONLY_C=1
shell_tests=""
if [ "${TE_ONLY_C:-0}" != 1 ]; then
    shell_tests=$(ls tests/cli_[!l]*.sh)
    [ -n "${TE_SHELL_TESTS:-}" ] && shell_tests=$(for t in $TE_SHELL_TESTS; do echo "tests/$t.sh"; done)
fi

# One test: its output, exit status and seconds go to files named after it
# (DIR/NAME.out, .rc, .s). A text, so that xargs's child shells can run it.
ONE='one() {
    t=$1 out=$2/$(basename "$1")
    t0=$(date +%s.%N)
    case "$t" in
    *.sh) if [ -f "$t" ]; then sh "$t"; else echo "FAIL $t: no such test"; false; fi ;;
    *) ${TE_WRAP:-} "$t" ;;
    esac >"$out.out" 2>&1
    rc=$?
    echo "$(date +%s.%N) $t0" | awk "{printf \"%.1f\", \$1 - \$2}" >"$out.s"
    echo $rc >"$out.rc"
}'
eval "$ONE"
# Prints test t's result once it has one, and counts it.
report() {
    n=$(basename "$1")
    while [ ! -s "$outdir/$n.rc" ]; do sleep 0.2; done
    echo "== $n"
    cat "$outdir/$n.out"
    echo "-- $n: $(cat "$outdir/$n.s") s"
    p=$(grep -c '^PASS ' "$outdir/$n.out")
    f=$(grep -c '^FAIL ' "$outdir/$n.out")
    if [ "$(cat "$outdir/$n.rc")" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $n: exited with status $(cat "$outdir/$n.rc")"
        f=1
    fi
    pass=$((pass + p))
    fail=$((fail + f))
}
all=$(echo $programs $shell_tests)
if [ "$jobs" -gt 1 ]; then
    # In the background, jobs at a time; the results are shown in order as they come.
    echo "$all" | tr ' ' '\n' | grep . | xargs -P "$jobs" -I {} sh -c "$ONE"'; one "$1" "$2"' sh {} "$outdir" &
    for t in $all; do report "$t"; done
    wait
else
    for t in $all; do
        one "$t" "$outdir"
        report "$t"
    done
fi
if [ $((pass + fail)) -eq 0 ]; then echo "FAIL no tests ran"; fail=1; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
