#!/bin/sh
# Runs every test program and shell test; prints each result and ends with
# "N passed, N failed". Exit status 1 if anything failed.
#   sh tests/run.sh BUILD_DIR HF_DIR REF_DIR
# TE_ONLY_C=1 runs only the C test programs (CI's clang build: the shell tests
# drive the CLI, which the gcc, ASan and TSan runs cover); TE_SHELL_TESTS="a b"
# runs only those shell tests (tests/a.sh, tests/b.sh) after them, and
# TE_C_TESTS="test_a test_b" only those C test programs. TE_WRAP (make
# valgrind) runs each C test program under that command, e.g.
# TE_WRAP="valgrind --error-exitcode=99", and implies TE_ONLY_C. TE_JOBS=N runs
# N C test programs at once (make valgrind: memcheck runs a program's threads
# one at a time, so one program uses one core); their output is shown in order.
BUILD=$1
export TE_TESTDATA="$BUILD/testdata" TE_HF="$2" TE_REF="$3" TE_BIN="$BUILD/tinyembed"
pass=0
fail=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
run() { # name command...
    name=$1; shift
    t0=$(date +%s.%N)
    "$@" >"$tmp" 2>&1
    rc=$?
    cat "$tmp"
    echo "-- $name: $(echo "$(date +%s.%N) $t0" | awk '{printf "%.1f", $1 - $2}') s"
    p=$(grep -c '^PASS ' "$tmp")
    f=$(grep -c '^FAIL ' "$tmp")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL $name: exited with status $rc"
        f=1
    fi
    pass=$((pass + p))
    fail=$((fail + f))
}
programs=$(for t in "$BUILD"/tests/test_*; do
    case "$t" in *.d) continue ;; esac
    [ -n "${TE_C_TESTS:-}" ] && ! echo " $TE_C_TESTS " | grep -q " $(basename "$t") " && continue
    [ -x "$t" ] && echo "$t"
done)
for t in ${TE_C_TESTS:-}; do
    [ -x "$BUILD/tests/$t" ] || { echo "FAIL $t: no such test program"; fail=$((fail + 1)); }
done
if [ "${TE_JOBS:-1}" -gt 1 ]; then
    # Each program's output and status go to files, read back below in order.
    outdir=$(mktemp -d)
    trap 'rm -f "$tmp"; rm -rf "$outdir"' EXIT
    echo "$programs" | xargs -P "$TE_JOBS" -I {} sh -c \
        'n=$(basename "$1"); ${TE_WRAP:-} "$1" >"$2/$n.out" 2>&1; echo $? >"$2/$n.rc"; echo "   ($n finished)"' sh {} "$outdir"
fi
for t in $programs; do
    echo "== $(basename "$t")"
    if [ "${TE_JOBS:-1}" -gt 1 ]; then
        run "$(basename "$t")" sh -c 'cat "$1.out"; exit "$(cat "$1.rc")"' sh "$outdir/$(basename "$t")"
    else
        run "$(basename "$t")" ${TE_WRAP:-} "$t"
    fi
done
[ -n "${TE_WRAP:-}" ] && TE_ONLY_C=1
shell_tests=tests/cli_[!l]*.sh
[ -n "${TE_SHELL_TESTS:-}" ] && shell_tests=$(for t in $TE_SHELL_TESTS; do echo "tests/$t.sh"; done)
[ "${TE_ONLY_C:-0}" = 1 ] || for s in $shell_tests; do
    [ -f "$s" ] || { echo "FAIL $s: no such test"; fail=$((fail + 1)); continue; }
    echo "== $(basename "$s")"
    run "$(basename "$s")" sh "$s"
done
if [ $((pass + fail)) -eq 0 ]; then echo "FAIL no tests ran"; fail=1; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
