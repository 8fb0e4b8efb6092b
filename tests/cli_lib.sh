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

# python_with MODULE: a Python that can import MODULE, the first on PATH or
# Debian's (make deps installs python3-numpy and python3-jsonschema for it,
# while a pyenv or venv may come first on PATH); python3 when none can, so
# the test fails on the import error.
python_with() {
    for py in python3 /usr/bin/python3; do
        command -v "$py" >/dev/null 2>&1 && "$py" -c "import $1" 2>/dev/null && { echo "$py"; return; }
    done
    echo python3
}

# start_hub DIR: a local stand-in for the Hugging Face hub serving DIR (models
# under ORG/NAME/resolve/REV/) over HTTP on a free port; HUB is its address.
start_hub() {
    rm -f "$WORK/hub.port"
    python3 - "$1" "$WORK/hub.port" <<'PY' &
import functools, http.server, os, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=sys.argv[1])
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
open(sys.argv[2] + ".tmp", "w").write(str(srv.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
srv.serve_forever()
PY
    HUB_PID=$!
    for _ in $(seq 50); do [ -s "$WORK/hub.port" ] && break; sleep 0.1; done
    HUB="http://127.0.0.1:$(cat "$WORK/hub.port")"
}
stop_hub() { kill "$HUB_PID" 2>/dev/null; wait "$HUB_PID" 2>/dev/null; }
