# serve_lib.sh - helpers for the server's shell tests (sourced after
# cli_lib.sh; loadtest.sh and soak.sh set TE_BIN and WORK themselves): start
# and stop `tinyembed serve` on a free port, send requests with curl, check
# bodies, read its memory and request count.

# start_server ARGS... : starts the server on a port it picks; sets PORT and SPID.
start_server() {
    # Emptied here, not only by the redirection below: that happens in the
    # background child, maybe after the loop has read the last server's port.
    : > "$WORK/serve.log"
    "$TE_BIN" serve --port 0 "$@" 2>"$WORK/serve.log" &
    SPID=$!
    PORT=""
    for _ in $(seq 100); do
        PORT=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$WORK/serve.log")
        [ -n "$PORT" ] && break
        sleep 0.1
    done
    [ -n "$PORT" ] || { echo "  server did not start: $(cat "$WORK/serve.log")"; return 1; }
    BASE="http://127.0.0.1:$PORT"
}

# The server's resident memory in kB, and the /v1/embeddings requests it has answered.
server_rss() { awk '/^VmRSS/ {print $2}' "/proc/$SPID/status"; }
served_embeddings() {
    curl -s "$BASE/metrics" | awk -F' ' '/^tinyembed_http_requests_total\{route="\/v1\/embeddings"/ {n += $2} END {print n + 0}'
}

# stop_server NAME : SIGTERM; the server must exit 0.
stop_server() {
    kill -TERM "$SPID"
    wait "$SPID"
    rc=$?
    if [ "$rc" -eq 0 ]; then pass "$1"; else fail "$1"; echo "  exit $rc; log: $(tail -5 "$WORK/serve.log")"; fi
}

# req NAME WANT_STATUS curl-args... : body in $WORK/body.
req() {
    name=$1; want=$2; shift 2
    got=$(curl -s -o "$WORK/body" -w '%{http_code}' "$@")
    if [ "$got" = "$want" ]; then pass "$name"; else fail "$name"; echo "  HTTP $got, expected $want: $(head -c 300 "$WORK/body")"; fi
}
post() { # post NAME WANT PATH JSON [curl-args...]
    name=$1; want=$2; path=$3; body=$4; shift 4
    req "$name" "$want" -X POST "$BASE$path" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}
body_has() {
    if grep -qF -- "$2" "$WORK/body"; then pass "$1"; else fail "$1"; echo "  body lacks: $2; it was: $(head -c 300 "$WORK/body")"; fi
}

