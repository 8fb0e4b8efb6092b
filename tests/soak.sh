#!/bin/sh
# soak.sh - flat memory over a long run, by hand (make soak; minutes):
#   1. in process: N short texts through one context ($BUILD/tests/soak),
#      RSS sampled every 10,000 calls;
#   2. the server: N requests of one short text each (wrk, 16 connections, in
#      rounds of about 10,000 requests), the server's RSS sampled every round.
# After the first 10,000, RSS must stay within 1 MB in both.
#   sh tests/soak.sh BUILD_DIR MODEL N
set -u
BUILD=$1 MODEL=$2 N=$3
BIN=$BUILD/tinyembed
WORK=$(mktemp -d)
SPID=
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$WORK"' EXIT
command -v wrk >/dev/null || { echo "soak: wrk is missing (make deps-all installs it)" >&2; exit 1; }
bad=0

echo "== in process: $N texts through one context"
"$BUILD/tests/soak" "$MODEL" "$N" > "$WORK/inproc.txt"
[ $? -eq 0 ] || bad=1
awk 'NR % 10 == 0 || /soak/' "$WORK/inproc.txt"

echo "== the server: $N requests"
TE_BIN=$BIN
. "$(dirname "$0")/serve_lib.sh"
start_server -m "$MODEL" || exit 1
until curl -sf -o /dev/null "$BASE/health"; do sleep 0.1; done
# A round long enough for about 10,000 requests at the rate of a first 2-second one.
wrk -t2 -c16 -d2s -s tests/soak.lua "$BASE" >/dev/null
round=$(awk -v n="$(served_embeddings)" 'BEGIN { s = 10000 / (n / 2); print (s < 1 ? 1 : int(s + 0.5)) }')
lo= hi= rounds=0
while :; do
    n=$(served_embeddings)
    [ "$n" -ge "$N" ] && break
    wrk -t2 -c16 -d"${round}s" -s tests/soak.lua "$BASE" > "$WORK/wrk.txt"
    grep -qE "Non-2xx|Socket errors" "$WORK/wrk.txt" && { echo "FAIL soak: errors under load"; cat "$WORK/wrk.txt"; bad=1; }
    r=$(server_rss) n=$(served_embeddings) rounds=$((rounds + 1))
    echo "$n $r" >> "$WORK/server.txt"
    if [ "$n" -gt 10000 ]; then
        { [ -z "$lo" ] || [ "$r" -lt "$lo" ]; } && lo=$r
        { [ -z "$hi" ] || [ "$r" -gt "$hi" ]; } && hi=$r
    fi
done
awk 'NR % 10 == 0' "$WORK/server.txt"
if [ -n "$lo" ] && [ $((hi - lo)) -le 1024 ]; then
    echo "PASS soak server: $(served_embeddings) requests in $rounds rounds of ${round} s, RSS after the first 10,000: min $lo kB, max $hi kB (spread $((hi - lo)) kB, limit 1024)"
else
    echo "FAIL soak server: RSS after the first 10,000: min $lo kB, max $hi kB"; bad=1
fi
exit "$bad"
