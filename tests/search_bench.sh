#!/bin/sh
# search_bench.sh BUILD - the search speed figures (make bench-search; run by
# hand, not by `make test`: timing belongs in notes, not in pass/fail).
# Builds, once, 100,000-document corpora from the section 7 man pages
# (tests/man_corpus.py, tests/search_bench_corpus.py), then prints:
#   - BM25 latency per query on 100,000 man-page-sized documents;
#   - vector, BM25 and hybrid latency on 100,000 short documents with
#     384-value vectors, f32 and int8 (query embedding excluded);
#   - indexing throughput against `embed` on the same 100,000 texts.
set -eu
BUILD=$1
B="$BUILD/tinyembed"
M="$BUILD/testdata/minilm-mean-int8.temb"
W="$BUILD/bench-search"
mkdir -p "$W"
[ -s "$W/man7/queries.jsonl" ] || python3 tests/man_corpus.py "$W/man7"
[ -s "$W/short.jsonl" ] || python3 tests/search_bench_corpus.py "$W/man7/docs.jsonl" "$W" 100000
[ -s "$W/long.tidx" ] || "$B" index --no-vectors -o "$W/long.tidx" "$W/long.jsonl"
echo "== BM25, 100,000 man-page-sized documents"
"$B" bench -i "$W/long.tidx" -q "$W/queries.txt" --runs 5
secs() { # command... : wall seconds
    s=$(date +%s.%N); "$@"; e=$(date +%s.%N); awk "BEGIN { printf \"%.2f\", $e - $s }"
}
echo "== indexing against embed: 100,000 short texts, $(basename "$M")"
te=$(secs sh -c "'$B' embed -m '$M' -f bin < '$W/short.txt' > /dev/null")
ti=$(secs "$B" index -m "$M" --dtype int8 -o "$W/short-i8.tidx" "$W/short.jsonl")
echo "embed $te s, index $ti s (index / embed = $(awk "BEGIN { printf \"%.3f\", $ti / $te }"))"
[ -s "$W/short-f32.tidx" ] || "$B" index -m "$M" --dtype f32 -o "$W/short-f32.tidx" "$W/short.jsonl"
for v in f32 i8; do
    echo "== 100,000 x 384 $v vectors"
    "$B" bench -i "$W/short-$v.tidx" -m "$M" -q "$W/queries.txt" --runs 5
done
