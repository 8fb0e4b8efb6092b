# cli_lib.sh - helpers for the shell tests (sourced, not run): each check
# prints "PASS name" or "FAIL name" like the C harness; tests/run.sh counts.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FAILED=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; FAILED=1; }

# check NAME COMMAND... : passes when the command succeeds.
check() {
    name=$1; shift
    if "$@"; then pass "$name"; else fail "$name"; fi
}

# expect_rc CODE NAME COMMAND... : runs COMMAND (stdout -> $WORK/out, stderr -> $WORK/err).
expect_rc() {
    want=$1; name=$2; shift 2
    "$@" >"$WORK/out" 2>"$WORK/err"
    rc=$?
    if [ "$rc" -eq "$want" ]; then pass "$name"; else
        fail "$name"; echo "  exit $rc, expected $want; stderr: $(head -c 300 "$WORK/err")"; fi
}

expect_out_has() {
    if grep -qF -- "$2" "$WORK/out"; then pass "$1"; else fail "$1"; echo "  stdout lacks: $2"; fi
}

expect_err_has() {
    if grep -qF -- "$2" "$WORK/err"; then pass "$1"; else fail "$1"; echo "  stderr lacks: $2; it was: $(head -c 300 "$WORK/err")"; fi
}

finish() { exit "$FAILED"; }
