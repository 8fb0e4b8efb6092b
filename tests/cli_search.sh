#!/bin/sh
# cli_search.sh - index, search and audit on text no one here wrote: the
# section 7 manual pages of Debian's manpages package (tests/man_corpus.py).
# BM25's MRR@10 is within 0.03 of SQLite FTS5's; every page, as a query,
# finds itself first (f32 and int8 vectors, both from the int8 MiniLM-shaped
# model: the f32 model's vectors are checked by test_index, and its slow
# embedding would dominate the sanitizer runs); saved audits, benchmarks and profiles
# are valid against docs/schemas/; bad input is refused by name and leaves
# no file behind. Under TE_SLICE (make sanitize) the corpus is every
# TE_SLICE-th page, with the queries for them.
. "$(dirname "$0")/cli_lib.sh"
F32="$TE_TESTDATA/minilm-mean.temb"
I8="$TE_TESTDATA/minilm-mean-int8.temb"
MAN="$TE_TESTDATA/man7"
B="$TE_BIN"

# The corpus is rendered once per build directory (about 7 s).
if [ ! -s "$MAN/queries.jsonl" ]; then
    python3 tests/man_corpus.py "$MAN.tmp" && rm -rf "$MAN" && mv "$MAN.tmp" "$MAN"
fi
check "the man page corpus exists (man_corpus.py)" test -s "$MAN/queries.jsonl"
D="$MAN/docs.jsonl"
Q="$MAN/queries.jsonl"
N=$(grep -c . "$D")

# --- BM25 against SQLite FTS5 ------------------------------------------------
expect_rc 0 "index --no-vectors builds a BM25-only index without a model" "$B" index --no-vectors -o "$WORK/bm25.tidx" "$D"
expect_err_has "the summary counts documents and words" "indexed $N documents"
python3 -c 'import json, sys
for l in open(sys.argv[1]): print(json.loads(l)["query"])' "$Q" > "$WORK/q.txt"
"$B" search -i "$WORK/bm25.tidx" -k 10 < "$WORK/q.txt" > "$WORK/bm25.jsonl" 2>"$WORK/err"
check "search reads queries from stdin, one JSON line each (no model needed for BM25)" \
    test "$(grep -c '"results":\[{"id":' "$WORK/bm25.jsonl")" -ge $((N * 9 / 10))
python3 tests/bm25_vs_fts5.py "$D" "$Q" "$WORK/bm25.jsonl" > "$WORK/fts5.txt"
rc=$?
cat "$WORK/fts5.txt"
check "BM25 MRR@10 within 0.03 of SQLite FTS5's bm25() on the same pages and queries" test "$rc" -eq 0

# --- vectors: every page finds itself ---------------------------------------
if [ -n "${TE_SLICE:-}" ]; then # the sanitizer runs: every TE_SLICE-th page and the queries for them
    python3 - "$MAN" "$WORK" "$TE_SLICE" <<'PY'
import json, sys
man, work, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
docs = [l for i, l in enumerate(open(man + "/docs.jsonl")) if i % k == 0]
keep = {json.loads(l)["id"] for l in docs}
open(work + "/docs.jsonl", "w").writelines(docs)
open(work + "/queries.jsonl", "w").writelines(l for l in open(man + "/queries.jsonl") if json.loads(l)["target"] in keep)
PY
    D="$WORK/docs.jsonl" Q="$WORK/queries.jsonl"
    N=$(grep -c . "$D")
    python3 -c 'import json, sys
for l in open(sys.argv[1]): print(json.loads(l)["query"])' "$Q" > "$WORK/q.txt"
fi
# --max-len 128 (documents and self-queries alike) halves the embedding time of the sanitizer runs.
expect_rc 0 "index with f32 vectors" "$B" index -m "$I8" --max-len 128 -o "$WORK/f32.tidx" "$D"
expect_err_has "pages longer than the model's limit are counted in the summary" "documents were cut at"
expect_rc 0 "index with the int8 model, int8 vectors (from stdin)" sh -c "'$B' index -m '$I8' --max-len 128 --dtype int8 -o '$WORK/i8.tidx' < '$D'"
check "int8 vectors make a smaller index" test "$(wc -c < "$WORK/i8.tidx")" -lt "$(wc -c < "$WORK/f32.tidx")"
python3 -c 'import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    print(json.dumps({"query": d["text"].replace("\n", " "), "target": d["id"]}))' "$D" > "$WORK/self.jsonl"
expect_rc 0 "audit: each page as its own query, f32 vectors (saved)" "$B" audit -i "$WORK/f32.tidx" -m "$I8" -q "$WORK/self.jsonl" -k 3 --max-len 128 --save "$WORK/res"
check "f32: every page finds itself first (vector MRR and recall@1 = 1)" grep -Eq '^vector +1\.0000 +1\.0000' "$WORK/out"
expect_err_has "audit says where it saved" "retrieval_audits/audit_"
expect_rc 0 "audit: each page as its own query, int8 vectors (saved)" "$B" audit -i "$WORK/i8.tidx" -m "$I8" -q "$WORK/self.jsonl" -k 3 --max-len 128 --save "$WORK/res"
check "int8: every page finds itself first" grep -Eq '^vector +1\.0000 +1\.0000' "$WORK/out"
check "two runs in the same folder are two files, none replaced" test "$(ls "$WORK/res/retrieval_audits" | grep -c '^audit_[0-9]\{8\}_[0-9]\{6\}\(_[0-9]*\)\?\.json$')" -eq 2
"$B" search -i "$WORK/i8.tidx" -m "$I8" --mode vector -k 1 < "$WORK/q.txt" > "$WORK/v.jsonl" 2>"$WORK/err"
check "search --mode vector answers every query" test "$(grep -c '"score":' "$WORK/v.jsonl")" -eq "$N"
expect_rc 0 "audit the real queries, hybrid by weighted fusion" "$B" audit -i "$WORK/f32.tidx" -m "$I8" -q "$Q" --alpha 0.3 --save "$WORK/res2/a/b"
expect_out_has "the table has the three modes" "hybrid "

# --- results files against their schemas ------------------------------------
PYS=$(python_with jsonschema)
expect_rc 0 "bench --save" "$B" bench -m "$I8" -w w2 --runs 1 --save "$WORK/res"
expect_rc 0 "profile --save" "$B" profile -m "$I8" --runs 1 --save "$WORK/res"
check "saved audits are valid against docs/schemas/audit.schema.json" \
    $PYS tests/validate_results.py docs/schemas/audit.schema.json "$WORK"/res/retrieval_audits/*.json "$WORK"/res2/a/b/retrieval_audits/*.json
check "the saved benchmark is valid against docs/schemas/benchmark.schema.json" \
    $PYS tests/validate_results.py docs/schemas/benchmark.schema.json "$WORK"/res/benchmarks/benchmark_*.json
check "the saved profile is valid against docs/schemas/profile.schema.json" \
    $PYS tests/validate_results.py docs/schemas/profile.schema.json "$WORK"/res/profiles/profile_*.json
expect_rc 0 "bench --json FILE" "$B" bench -m "$I8" -w w2 --runs 1 --json "$WORK/bench.json"
expect_rc 0 "profile --json FILE" "$B" profile -m "$I8" --runs 1 --json "$WORK/profile.json"
check "bench --json and profile --json follow the same schemas" sh -c \
    "$PYS tests/validate_results.py docs/schemas/benchmark.schema.json '$WORK/bench.json' &&
     $PYS tests/validate_results.py docs/schemas/profile.schema.json '$WORK/profile.json'"
"$B" info --json "$I8" > "$WORK/info.json"
check "results carry the build's commit, the kernel set and the model's fingerprint" python3 - "$WORK/bench.json" \
    "$WORK/profile.json" "$WORK/info.json" "$(git rev-parse HEAD 2>/dev/null)" <<'PY'
import json, sys
b, p, info = (json.load(open(f)) for f in sys.argv[1:4])
head = sys.argv[4]
for d in (b, p):
    c = d["tinyembed_commit"]
    if head:  # built from this checkout: its commit, perhaps marked dirty
        assert c is not None and head.startswith(c.split("-")[0]), (c, head)
    assert d["machine"]["kernel_set"] and d["machine"]["threads"] >= 1 and d["timestamp"].endswith("Z")
fp = "%08x" % info["fingerprint"] if isinstance(info["fingerprint"], int) else info["fingerprint"]
assert b["model"]["fingerprint"] == p["model_info"]["fingerprint"] == fp, (b["model"], p["model_info"], fp)
PY
A1=$(ls "$WORK"/res/retrieval_audits/*.json | head -1)
sed 's/"mrr":[0-9.]*/"mrr":1.5/' "$A1" > "$WORK/bad_audit.json"
expect_rc 1 "the schema check can fail: an MRR of 1.5 is refused" $PYS tests/validate_results.py docs/schemas/audit.schema.json "$WORK/bad_audit.json"
A2=$(ls "$WORK"/res/retrieval_audits/*.json | tail -1)
expect_rc 0 "audit --compare f32 against int8" "$B" audit --compare "$A1" "$A2"
expect_out_has "compare shows the metrics side by side" "MRR@k"
expect_out_has "compare lists rank changes per mode" "vector: "
expect_rc 1 "compare refuses a file that is not an audit" "$B" audit --compare "$A1" "$WORK"/res/benchmarks/benchmark_*.json
expect_err_has "... by its schema" "not a saved audit"

# --- the README's worked example (BM25 part verbatim; vectors with the test model) ---
expect_rc 0 "README: index the example corpus" "$B" index -m "$I8" -o "$WORK/pets.tidx" docs/example/pets.jsonl
expect_rc 0 "README: BM25 search" "$B" search -i "$WORK/pets.tidx" --mode bm25 -k 3 "which pet purrs" "CAFE"
expect_out_has "README: 'which pet purrs' by words finds the vet's 'pet'" '{"query":"which pet purrs","results":[{"id":"vet","score":2.0544283}]}'
expect_out_has "README: CAFE finds café" '{"query":"CAFE","results":[{"id":"café","score":3.0552187}]}'
expect_rc 0 "README: audit the example queries" "$B" audit -i "$WORK/pets.tidx" -m "$I8" -q docs/example/pets-queries.jsonl
expect_out_has "... over its 6 queries" "audit: 6 queries, 12 documents"

# --- refusals -----------------------------------------------------------------
expect_rc 1 "a query with another model (the f32 original of the int8 model) is refused" "$B" search -i "$WORK/f32.tidx" -m "$F32" "signals"
expect_err_has "... naming both models' fingerprints" "fingerprint"
expect_rc 1 "vector search on a BM25-only index is refused" "$B" search -i "$WORK/bm25.tidx" -m "$I8" --mode vector "signals"
expect_err_has "... saying why" "no vectors"
head -c $(($(wc -c < "$WORK/f32.tidx") - 100)) "$WORK/f32.tidx" > "$WORK/cut.tidx"
expect_rc 1 "a truncated index is refused" "$B" search -i "$WORK/cut.tidx" --mode bm25 "signals"
expect_err_has "... as truncated" "truncated"
python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 0x55
open(sys.argv[2], "wb").write(b)' "$WORK/f32.tidx" "$WORK/dmg.tidx"
expect_rc 1 "a damaged index is refused by search --verify" "$B" search --verify -i "$WORK/dmg.tidx" -m "$I8" "signals"
expect_err_has "... naming the damaged section" "damaged"
expect_rc 1 "verify names the damage in an index too" "$B" verify "$WORK/dmg.tidx"
expect_err_has "... as a damaged section" "section is damaged"
expect_rc 0 "verify passes a good index" "$B" verify "$WORK/i8.tidx"
expect_out_has "... saying what it holds" "search index: $N documents"
expect_rc 1 "an index given as a model is named" "$B" embed -m "$WORK/i8.tidx" "x"
expect_err_has "... as a search index" "this is a search index"
expect_rc 1 "audit always checks the whole index" "$B" audit -i "$WORK/dmg.tidx" -m "$I8" -q "$Q"
printf '{"id": "a", "text": "one"}\n{"id": "b", "text": 2}\n' > "$WORK/bad.jsonl"
expect_rc 1 "a bad document line is refused" "$B" index --no-vectors -o "$WORK/never.tidx" "$WORK/bad.jsonl"
expect_err_has "... with its line number" "line 2"
check "... and no index (or temporary file) is left" test -z "$(ls "$WORK" | grep never)"
printf '{"id": "a", "text": "one"}\n{"id": "a", "text": "two"}\n' > "$WORK/dup.jsonl"
expect_rc 1 "a repeated document id is refused" "$B" index --no-vectors -o "$WORK/never.tidx" "$WORK/dup.jsonl"
expect_err_has "... naming it" "appears twice"
printf '{"query": "signals", "target": "no-such-page.7"}\n' > "$WORK/badq.jsonl"
expect_rc 1 "an audit target that is not in the index is refused" "$B" audit -i "$WORK/f32.tidx" -m "$I8" -q "$WORK/badq.jsonl"
expect_err_has "... naming it" "no-such-page.7"
expect_rc 2 "--alpha outside [0, 1] is a usage error" "$B" search -i "$WORK/bm25.tidx" --alpha 2 x
expect_rc 2 "--dtype f16 is not an index vector type" "$B" index -m "$F32" --dtype f16 -o "$WORK/never.tidx" "$D"
expect_rc 0 "search -k 3 gives three results" "$B" search -i "$WORK/bm25.tidx" -k 3 "socket address families"
check "... in one JSON line" python3 -c 'import json, sys; r = json.loads(open(sys.argv[1]).read()); assert len(r["results"]) == 3 and r["query"] == "socket address families"' "$WORK/out"
finish
