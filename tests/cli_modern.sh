#!/bin/sh
# cli_modern.sh - ModernBERT and Qwen3-Embedding like any other model through
# the command line, the server and search: `info` names what they are, `embed
# --prompt-name query` puts Qwen3's instruction in front (the golden's query
# vector), `rerank` gives the ModernBERT reranker's golden probability, the
# server's /v1/embeddings, /embed with prompt_name and /rerank answer what
# the CLI does, and an index built with the ModernBERT embedder finds a
# document by its own text.
. "$(dirname "$0")/cli_lib.sh"
. "$(dirname "$0")/serve_lib.sh"
D="$TE_TESTDATA"
Q3="$D/qwen3-embed.temb"
MB="$D/modernbert-mean.temb"
RR="$D/modernbert-rerank.temb"
GOLD="$TE_REF/arch/golden"

expect_rc 0 "info on Qwen3-Embedding" "$TE_BIN" info "$Q3"
expect_out_has "a qwen3 decoder" "architecture:      qwen3 (rotary positions, gated feed-forward)"
expect_out_has "pooled on its last token" "pooling:           last, L2-normalized"
expect_out_has "its byte-level BPE tokenizer" "tokenizer:         bpe"

# The golden's first query ("Hello world") with the instruction, and its document vector without.
expect_rc 0 "embed --prompt-name query" "$TE_BIN" embed -m "$Q3" --prompt-name query "Hello world"
cp "$WORK/out" "$WORK/query.json"
"$TE_BIN" embed -m "$Q3" "Hello world" > "$WORK/doc.json"
check "the query is the golden's (instruction + text), the document the golden's without" python3 -c 'import json,math,sys
cos=lambda a,b: sum(x*y for x,y in zip(a,b))/math.sqrt(sum(x*x for x in a)*sum(y*y for y in b))
q=json.loads(open(sys.argv[1]).readline())["embedding"]; d=json.loads(open(sys.argv[2]).readline())["embedding"]
gq=json.load(open(sys.argv[3])); gd=json.load(open(sys.argv[4]))
assert cos(q,gq)>=0.99999 and cos(d,gd)>=0.99999 and cos(q,d)<0.999, (cos(q,gq), cos(d,gd), cos(q,d))' \
    "$GOLD/qwen3-embed-query.jsonl" "$GOLD/qwen3-embed.jsonl" "$WORK/query.json" "$WORK/doc.json"

# The reranker's first golden pair.
python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); print(r["pair"][0]); print(r["pair"][1]); print(r["probs"][0])' \
    "$GOLD/modernbert-rerank-pairs.jsonl" > "$WORK/pair.txt"
A=$(sed -n 1p "$WORK/pair.txt"); B=$(sed -n 2p "$WORK/pair.txt"); P=$(sed -n 3p "$WORK/pair.txt")
expect_rc 0 "rerank with the ModernBERT reranker" "$TE_BIN" rerank -m "$RR" "$A" "$B"
cp "$WORK/out" "$WORK/rerank.jsonl"
check "its score is the golden probability (within 1e-4)" python3 -c 'import json,sys
r=json.loads(open(sys.argv[1]).readline()); assert abs(r["score"]-float(sys.argv[2]))<=1e-4, (r, sys.argv[2])' "$WORK/rerank.jsonl" "$P"

# --- the server ---
start_server -m qwen="$Q3" -m mb="$MB" -m rr="$RR" || { fail "server starts"; finish; }
for _ in $(seq 50); do curl -s -o /dev/null -w '%{http_code}' "$BASE/health" | grep -q 200 && break; sleep 0.1; done
post "/v1/embeddings on Qwen3" 200 /v1/embeddings '{"model": "qwen", "input": "Hello world"}'
check "the CLI's vector" python3 -c 'import json,sys
a=json.load(open(sys.argv[1]))["data"][0]["embedding"]; b=json.load(open(sys.argv[2]))
assert max(abs(x-y) for x,y in zip(a,b))<1e-6' "$WORK/body" "$WORK/doc.json"
post "/embed with prompt_name query" 200 /embed '{"model": "qwen", "inputs": "Hello world", "prompt_name": "query"}'
check "the CLI's query vector" python3 -c 'import json,sys
a=json.load(open(sys.argv[1]))[0]; b=json.load(open(sys.argv[2]))
assert max(abs(x-y) for x,y in zip(a,b))<1e-6' "$WORK/body" "$WORK/query.json"
post "/rerank on the ModernBERT reranker" 200 /rerank "$(python3 -c 'import json,sys; print(json.dumps({"model": "rr", "query": sys.argv[1], "texts": [sys.argv[2]]}))' "$A" "$B")"
check "the CLI's score" python3 -c 'import json,sys
a=json.load(open(sys.argv[1]))[0]["score"]; b=json.loads(open(sys.argv[2]).readline())["score"]
assert abs(a-b)<1e-6, (a, b)' "$WORK/body" "$WORK/rerank.jsonl"
stop_server "the server stops cleanly"

# --- search with the ModernBERT embedder ---
head -40 "$TE_REF/cases.txt" | python3 -c 'import json,sys
for i,l in enumerate(sys.stdin): print(json.dumps({"id": "c%d" % i, "text": l.rstrip("\n")}))' > "$WORK/docs.jsonl"
expect_rc 0 "index with ModernBERT" "$TE_BIN" index -m "$MB" -o "$WORK/mb.tidx" "$WORK/docs.jsonl"
expect_rc 0 "search it" "$TE_BIN" search -i "$WORK/mb.tidx" -m "$MB" --mode vector -k 3 "$(sed -n 8p "$TE_REF/cases.txt")"
check "a document finds itself first" python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); assert r["results"][0]["id"]=="c7", r' "$WORK/out"

finish
