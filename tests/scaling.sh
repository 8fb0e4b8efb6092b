#!/bin/sh
# scaling.sh - the two ways past one process that docs/SCALING.md describes,
# run for real (make test-scaling; .ci/run calls it):
#   (a) a large file embedded in chunks by GNU parallel --pipe --keep-order
#       gives output byte-identical to one process;
#   (b) two `tinyembed serve` instances behind nginx, wrk through nginx, one
#       instance killed (SIGKILL) mid-run: no request fails (nginx retries
#       it on the other upstream), and the other keeps serving.
#   sh tests/scaling.sh BUILD_DIR
. "$(dirname "$0")/cli_lib.sh"
B=$1
BIN=$B/tinyembed
M="$B/testdata/minilm-mean-int8.temb"
LUA=$(dirname "$0")/loadtest.lua
for tool in parallel wrk nginx; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || { fail "$tool is installed (make deps-all installs it)"; finish; }
done
parallel --version 2>/dev/null | grep -q 'GNU parallel' || { fail "parallel is GNU parallel (Debian: parallel, not moreutils)"; finish; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# (a) 20,000 lines: the reference cases, numbered so no two are equal.
awk '{ for (i = 0; i < 205; i++) print i ": " $0 }' "$TE_REF/cases.txt" | head -20000 > "$WORK/big.txt"
"$BIN" embed -m "$M" < "$WORK/big.txt" > "$WORK/one.json" 2>/dev/null
parallel --will-cite --pipe --keep-order --block 100k -j 2 "$BIN" embed -m "$M" --threads 1 \
    < "$WORK/big.txt" > "$WORK/par.json" 2>/dev/null
check "parallel --pipe --keep-order: 20,000 lines ($(wc -c < "$WORK/big.txt") bytes) in 100 KB chunks, one vector per line" \
    test "$(wc -l < "$WORK/par.json")" -eq 20000
check "... byte-identical to one process" cmp -s "$WORK/one.json" "$WORK/par.json"
parallel --will-cite --pipe --keep-order --block 100k -j 2 "$BIN" embed -m "$M" --format bin \
    < "$WORK/big.txt" > "$WORK/par.bin" 2>/dev/null
"$BIN" embed -m "$M" --format bin < "$WORK/big.txt" > "$WORK/one.bin" 2>/dev/null
check "... and so is --format bin (raw floats concatenate)" cmp -s "$WORK/one.bin" "$WORK/par.bin"

# (b) Two instances, one nginx.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start() { # start N: instance N on a free port; sets PORTn and PIDn
    "$BIN" serve -m "$M" --port 0 --threads 1 2>"$WORK/serve$1.log" &
    eval "PID$1=\$!"
    for _ in $(seq 100); do
        p=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$WORK/serve$1.log")
        [ -n "$p" ] && break
        sleep 0.1
    done
    eval "PORT$1=$p"
    until curl -sf -o /dev/null "http://127.0.0.1:$p/health"; do sleep 0.1; done
}
served() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^tinyembed_http_requests_total\{route="\/v1\/embeddings"/ {n += $2} END {print n + 0}'; }
start 1
start 2
NPORT=$(free_port)
mkdir -p "$WORK/nginx"
sed -e "s|@WORK@|$WORK/nginx|g" -e "s|@PORT@|$NPORT|" -e "s|@UP1@|$PORT1|" -e "s|@UP2@|$PORT2|" \
    "$(dirname "$0")/scaling_nginx.conf" > "$WORK/nginx/nginx.conf"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/nginx/stderr" &
NPID=$!
trap 'kill $PID1 $PID2 $NPID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$NPORT/health" && break; sleep 0.1; done
check "nginx proxies to the two instances" curl -sf -o /dev/null "http://127.0.0.1:$NPORT/health" ||
    cat "$WORK/nginx/stderr"

wrk -t1 -c8 -d8s -s "$LUA" "http://127.0.0.1:$NPORT" > "$WORK/wrk.txt" 2>&1 &
WPID=$!
sleep 3
before1=$(served "$PORT1")
before2=$(served "$PORT2")
kill -KILL "$PID1"
wait "$PID1" 2>/dev/null
killed_at=$(date +%s)
wait "$WPID"
after2=$(served "$PORT2")
total=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.txt")
sockerr=$(awk '/Socket errors/ {print}' "$WORK/wrk.txt")
retried=$(grep -c ', ' "$WORK/nginx/access.log")
echo "  wrk: $total requests through nginx; instance 1 had served $before1, instance 2 $before2 when instance 1 was killed;"
echo "  instance 2 served $((after2 - before2)) after; nginx retried $retried requests on the other upstream;" \
     "non-2xx: ${non2xx:-0}; ${sockerr:-no socket errors}"
check "both instances took load before the kill" test "$before1" -gt 0 -a "$before2" -gt 0
check "the load went on on the surviving instance" test "$((after2 - before2))" -gt 0
check "wrk sent requests through nginx" test "${total:-0}" -gt 0
check "no request failed (nginx: proxy_next_upstream error timeout http_502 http_503 non_idempotent)" \
    test -z "$non2xx" -a -z "$sockerr"
echo "  nginx's log by status: $(awk '{print $2}' "$WORK/nginx/access.log" | sort | uniq -c | tr -s ' \n' ' ')(499: wrk closing at its end)"
check "nginx logged no 5xx (no failure reached a client)" test "$(grep -c . "$WORK/nginx/access.log")" -gt "${total:-0}" -a \
    "$(awk '$2 >= 500' "$WORK/nginx/access.log" | wc -l)" -eq 0
[ "$FAILED" -eq 0 ] || tail -5 "$WORK/nginx/error.log"
kill "$NPID" "$PID2" 2>/dev/null
finish
