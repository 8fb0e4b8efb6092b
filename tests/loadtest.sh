#!/bin/sh
# loadtest.sh - the server under load, by hand (make loadtest; not part of
# make test: it takes minutes and its numbers depend on the machine):
#   1. wrk, 64 connections, single short texts, DURATION seconds, while
#      /admin/reload is called 20 times: every response must be 2xx;
#      requests/s and latency percentiles, against `bench` W2 (one text at a
#      time in process) on the same model.
#   2. RSS after 10,000 requests and after 200,000.
#   3. CPU used by the idle server over 30 s.
#   sh tests/loadtest.sh BUILD_DIR [MODEL] [DURATION]
set -eu
BUILD=${1:-build}
MODEL=${2:-$BUILD/testdata/minilm-mean.temb}
DURATION=${3:-60}
BIN=$BUILD/tinyembed
LUA=$(dirname "$0")/loadtest.lua
WORK=$(mktemp -d)
trap 'kill "$SPID" 2>/dev/null; rm -rf "$WORK"' EXIT
command -v wrk >/dev/null || { echo "loadtest: wrk is missing (make deps-all installs it)" >&2; exit 1; }

TE_BIN=$BIN
. "$(dirname "$0")/serve_lib.sh"
start_server -m "$MODEL" || exit 1
until curl -sf -o /dev/null "$BASE/health"; do sleep 0.1; done

echo "== in process, one text at a time (bench W2)"
"$BIN" bench -m "$MODEL" --workload w2 | tee "$WORK/w2.txt"

echo "== wrk: 64 connections, ${DURATION} s, 20 reloads meanwhile"
wrk -t2 -c64 -d"${DURATION}s" --latency -s "$LUA" "$BASE" > "$WORK/wrk.txt" &
WPID=$!
gap=$((DURATION * 1000 / 22))
for i in $(seq 20); do
    sleep "$(awk "BEGIN {print $gap / 1000}")"
    curl -s -o /dev/null -w '%{http_code}\n' -X POST "$BASE/admin/reload" >> "$WORK/reloads"
done
wait "$WPID"
cat "$WORK/wrk.txt"
echo "reload statuses: $(sort "$WORK/reloads" | uniq -c | tr -s ' \n' ' ')"
bad=0
grep -q "Non-2xx" "$WORK/wrk.txt" && { echo "FAIL: non-2xx responses"; bad=1; }
grep -q "Socket errors" "$WORK/wrk.txt" && { echo "FAIL: socket errors (dropped connections)"; bad=1; }
[ "$(grep -c '^200$' "$WORK/reloads")" -eq 20 ] || { echo "FAIL: a reload did not answer 200"; bad=1; }

echo "== RSS over 200,000 requests"
while [ "$(served_embeddings)" -lt 10000 ]; do wrk -t2 -c64 -d2s -s "$LUA" "$BASE" >/dev/null; done
r1=$(server_rss); n1=$(served_embeddings)
while [ "$(served_embeddings)" -lt 200000 ]; do wrk -t2 -c64 -d10s -s "$LUA" "$BASE" >/dev/null; done
r2=$(server_rss); n2=$(served_embeddings)
echo "RSS after $n1 requests: $r1 kB; after $n2: $r2 kB (difference $((r2 - r1)) kB)"

echo "== idle CPU over 30 s"
t1=$(awk '{print $14 + $15}' "/proc/$SPID/stat")
sleep 30
t2=$(awk '{print $14 + $15}' "/proc/$SPID/stat")
hz=$(getconf CLK_TCK)
echo "idle: $((t2 - t1)) ticks of CPU in 30 s at $hz ticks/s = $(awk "BEGIN {printf \"%.2f\", 100 * ($t2 - $t1) / $hz / 30}") % of a core"
kill -TERM "$SPID"
wait "$SPID" || bad=1
exit "$bad"
