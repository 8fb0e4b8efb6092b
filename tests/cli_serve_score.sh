#!/bin/sh
# cli_serve_score.sh - TEI's /predict and /rerank on `tinyembed serve` with
# a classifier and a cross-encoder beside an embedding model: answers equal
# the CLI's (te_classify / te_rerank in process), shapes are TEI's, and a
# route sent to the wrong kind of model is a 400 that says which route fits.
. "$(dirname "$0")/cli_lib.sh"
. "$(dirname "$0")/serve_lib.sh"
D="$TE_TESTDATA"

start_server -m cls="$D/distilbert-sst2.temb" -m ce="$D/ce-minilm.temb" -m emb="$D/tiny-mean.temb" || { fail "server starts"; finish; }
for _ in $(seq 50); do curl -s -o /dev/null -w '%{http_code}' "$BASE/health" | grep -q 200 && break; sleep 0.1; done

post "/predict with one text" 200 /predict '{"model": "cls", "inputs": "I love this movie"}'
"$TE_BIN" classify -m "$D/distilbert-sst2.temb" "I love this movie" > "$WORK/cli.json"
check "equals tinyembed classify (labels best first, same scores)" python3 -c 'import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
assert [x["label"] for x in a]==[x["label"] for x in b], (a,b)
assert all(abs(x["score"]-y["score"])<1e-6 for x,y in zip(a,b)), (a,b)' "$WORK/body" "$WORK/cli.json"
post "/predict with a batch" 200 /predict '{"model": "cls", "inputs": ["good", "bad", "fine"]}'
check "a batch answers a list of lists" python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); assert len(r)==3 and all(len(x)==2 and x[0]["score"]>=x[1]["score"] for x in r), r' "$WORK/body"
post "/predict raw_scores" 200 /predict '{"model": "cls", "inputs": ["good"], "raw_scores": true}'
check "raw scores are logits (not probabilities summing to 1)" python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))[0]; assert abs(sum(x["score"] for x in r)-1)>1e-3, r' "$WORK/body"
post "/predict with a pair [a, b] (as TEI reads it)" 200 /predict '{"model": "ce", "inputs": ["what is a cat", "a cat is an animal"]}'
cp "$WORK/body" "$WORK/pair.json"
post "/rerank" 200 /rerank '{"model": "ce", "query": "what is a cat", "texts": ["stocks fell", "a cat is an animal"], "return_text": true}'
"$TE_BIN" rerank -m "$D/ce-minilm.temb" "what is a cat" "stocks fell" "a cat is an animal" > "$WORK/cli.jsonl"
check "/rerank equals tinyembed rerank, best first, with the texts" python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); c=[json.loads(l) for l in open(sys.argv[2])]; p=json.load(open(sys.argv[3]))
assert [x["index"] for x in r]==[x["index"] for x in c], (r,c)
assert all(abs(x["score"]-y["score"])<1e-6 for x,y in zip(r,c))
assert {x["index"]: x["text"] for x in r}=={0:"stocks fell",1:"a cat is an animal"}
assert abs([x for x in r if x["index"]==1][0]["score"]-p[0]["score"])<1e-6, (r,p)' "$WORK/body" "$WORK/cli.jsonl" "$WORK/pair.json"

post "/embed on a classifier is a 400" 400 /embed '{"model": "cls", "inputs": "text"}'
body_has "naming the route to use" "use POST /predict"
post "/v1/embeddings on a reranker is a 400" 400 /v1/embeddings '{"model": "ce", "input": "text"}'
body_has "naming /rerank" "use POST /rerank"
post "/predict on an embedding model is a 400" 400 /predict '{"model": "emb", "inputs": "text"}'
body_has "saying which routes fit" "use POST /embed or /v1/embeddings"
post "/rerank on a two-label classifier is a 400" 400 /rerank '{"model": "cls", "query": "q", "texts": ["t"]}'
body_has "saying what /rerank needs" "/rerank needs a reranker"
post "/rerank without texts is a 400" 400 /rerank '{"model": "ce", "query": "q"}'
post "/rerank with a non-string query is a 400" 400 /rerank '{"model": "ce", "query": 3, "texts": ["t"]}'
post "/predict with a bad input is a 400" 400 /predict '{"model": "cls", "inputs": [1, 2, 3]}'
long=$(python3 -c 'print("word " * 300)')
post "/rerank of a pair too long without truncate is a 422" 422 /rerank "{\"model\": \"ce\", \"query\": \"q\", \"texts\": [\"$long\"]}"
post "and with truncate: true it is cut and scored" 200 /rerank "{\"model\": \"ce\", \"query\": \"q\", \"texts\": [\"$long\"], \"truncate\": true}"
post "/embed on the embedding model still works beside them" 200 /embed '{"model": "emb", "inputs": "text"}'
stop_server "server exits 0 on SIGTERM"
finish
