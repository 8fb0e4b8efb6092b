#!/bin/sh
# cli_serve_clients.sh - every client's routes on a server with three models
# (an embedder, a classifier, a cross-encoder): the real npm clients
# (@huggingface/inference, @langchain/openai, cohere-ai, openai) get what
# te_embed / te_classify / te_rerank give in process, bit for bit; requests
# that name no model reach the default of the kind the route needs, or the
# model a /models/NAME/ prefix names; TEI's /tokenize, /decode, /embed_all,
# /info and /similarity; truncation_direction; every new option's bad
# values; errors in each API's shape; the request log.
. "$(dirname "$0")/cli_lib.sh"
. "$(dirname "$0")/serve_lib.sh"
D="$TE_TESTDATA"
CLIENTS="$(dirname "$0")/clients"
Q="what is a cat"

# old: an embedder converted before files carried the int8 output range.
python3 "$(dirname "$0")/strip_range.py" "$D/tiny-mean.temb" "$WORK/old.temb"
start_server -m emb="$D/tiny-mean.temb" -m cls="$D/distilbert-sst2.temb" -m ce="$D/ce-minilm.temb" -m old="$WORK/old.temb" \
    || { fail "server starts"; finish; }
for _ in $(seq 50); do curl -s -o /dev/null -w '%{http_code}' "$BASE/health" | grep -q 200 && break; sleep 0.1; done

# The references, in process through the CLI.
"$TE_BIN" embed -m "$D/tiny-mean.temb" "$Q" "stocks fell" "a cat is an animal" > "$WORK/emb.jsonl"
"$TE_BIN" embed -m "$D/tiny-mean.temb" "The cat sits outside" "A man is playing guitar" > "$WORK/emb2.jsonl"
"$TE_BIN" classify -m "$D/distilbert-sst2.temb" "$Q" > "$WORK/cls.json"
"$TE_BIN" rerank -m "$D/ce-minilm.temb" "$Q" "stocks fell" "a cat is an animal" > "$WORK/rerank.jsonl"

curl -s "$BASE/models/emb/info" > "$WORK/info.json" # the int8 range, for the reference quantizer

# --- the real clients -------------------------------------------------------------------
curl -s "$BASE/v2/rerank" -H 'Content-Type: application/json' \
    -d "{\"query\": \"$Q\", \"documents\": [\"stocks fell\", \"a cat is an animal\"], \"max_tokens_per_doc\": 2}" > "$WORK/rerank_cut.json"
if [ -d "$CLIENTS/node_modules/cohere-ai" ]; then
    if node "$CLIENTS/clients.mjs" "$PORT" "$Q" "stocks fell" "a cat is an animal" > "$WORK/clients.json" 2>"$WORK/clients.err"; then
        pass "every client's calls succeed"
    else
        fail "every client's calls succeed"; head -20 "$WORK/clients.err"
    fi
    check "clients get te_embed's, te_classify's and te_rerank's results bit for bit" python3 - "$WORK" <<'PY'
import json, math, struct, sys
w = sys.argv[1]
def f32(v): return [struct.unpack("<f", struct.pack("<f", x))[0] for x in v]
emb = [f32(json.loads(l)) for l in open(w + "/emb.jsonl")]
q, docs = emb[0], emb[1:]
cls = json.load(open(w + "/cls.json"))
rr = [json.loads(l) for l in open(w + "/rerank.jsonl")]
c = json.load(open(w + "/clients.json"))
assert [f32(v) for v in c["hf_feature_base"]] == [q], "HF featureExtraction at the base URL (POST /)"
assert [f32(v) for v in c["hf_feature_route"]] == docs, "HF featureExtraction at /embed"
assert [f32(v) for v in c["hf_feature_model"]] == [q], "HF featureExtraction at /models/emb"
got = c["hf_classify_model"]
assert [x["label"] for x in got] == [x["label"] for x in cls] and f32([x["score"] for x in got]) == f32([x["score"] for x in cls]), (got, cls)
def cos(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
sims = f32([cos(q, d) for d in docs])
assert f32(c["hf_similarity_base"]) == sims and f32(c["hf_similarity_route"]) == sims, (c["hf_similarity_base"], sims)
assert f32(c["langchain_query"]) == q and [f32(v) for v in c["langchain_docs"]] == docs, "LangChain OpenAIEmbeddings"
best = [(r["index"], r["score"]) for r in rr]
texts = ["stocks fell", "a cat is an animal"]
v1 = c["cohere_rerank_v1"]
assert [(i, f32([s])[0]) for i, s, _ in v1] == [(i, f32([s])[0]) for i, s in best[:2]], (v1, best)
assert [t for _, _, t in v1] == [texts[i] for i, _ in best[:2]], "return_documents echoes the texts"
v2 = c["cohere_rerank_v2"]
assert [(i, f32([s])[0]) for i, s, _ in v2] == [(i, f32([s])[0]) for i, s in best] and all(t is None for _, _, t in v2), v2
assert [f32(v) for v in c["cohere_embed_v2"]] == docs, "Cohere v2 embed"
cut = json.load(open(w + "/rerank_cut.json"))["results"]
assert c["cohere_rerank_v2_cut"] == [[r["index"], r["relevance_score"]] for r in cut], "maxTokensPerDoc reaches the server"
sys.path.insert(0, "tests")
from quantize_ref import packed, calibrated  # binary / ubinary; int8 / uint8 by the model's range
t = c["cohere_embed_types"]
assert [f32(v) for v in t["float"]] == docs, "Cohere embed float beside the others"
assert t["binary"] == [packed(v, 1) for v in docs] and t["ubinary"] == [packed(v, 0) for v in docs], t
r = json.load(open(w + "/info.json"))["tinyembed"]["output_range"]
assert t["int8"] == [calibrated(v, r["min"], r["max"], 1) for v in docs], "Cohere embed int8"
assert t["uint8"] == [calibrated(v, r["min"], r["max"], 0) for v in docs], "Cohere embed uint8"
assert [f32(v) for v in c["openai_base64"]] == docs and f32(c["openai_float"]) == q and f32(c["openai_no_v1"]) == q
n = math.sqrt(sum(x * x for x in q[:16]))
assert len(c["openai_dims"]) == 16 and all(abs(a - b / n) < 1e-6 for a, b in zip(c["openai_dims"], q[:16]))
PY
else
    fail "the client libraries are installed (make deps installs tests/clients)"
fi

# --- default models and /models/NAME/ ------------------------------------------------------
post "POST / with a classifier's URL answers labels (a list per input)" 200 /models/cls '{"inputs": "I love this"}'
check "as the Inference API: [[{label, score}, ...]]" python3 -c "
import json; r = json.load(open('$WORK/body')); assert len(r) == 1 and len(r[0]) == 2 and 'label' in r[0][0], r"
post "/predict naming no model reaches the classifier" 200 /predict '{"inputs": "I love this"}'
post "/rerank naming no model reaches the cross-encoder" 200 /rerank '{"query": "q", "texts": ["a", "b"]}'
post "POST /invocations on the reranker with a query reranks" 200 /models/ce/invocations '{"query": "q", "texts": ["a"]}'
body_has "in /rerank's shape" '"index":0'
post "/rerank with documents (llama.cpp's and Jina's form)" 200 /rerank '{"query": "'"$Q"'", "documents": ["stocks fell", {"text": "a cat is an animal"}], "top_n": 1}'
check "answers Cohere's shape: the best one, with its text" python3 -c "
import json; r = json.load(open('$WORK/body'))
assert set(r) >= {'id', 'results', 'meta'} and len(r['results']) == 1 and r['results'][0]['index'] == 1
assert r['results'][0]['document']['text'] == 'a cat is an animal' and 0 < r['results'][0]['relevance_score'] < 1, r"
post "/embed on the classifier's URL is a 400 naming the route" 400 /models/cls/embed '{"inputs": "x"}'
body_has "which says so" "use POST /predict"

# --- tokens ---------------------------------------------------------------------------------
T="The cat sits outside"
post "/tokenize" 200 /tokenize "{\"inputs\": \"$T\"}"
"$TE_BIN" tokenize -m "$D/tiny-mean.temb" "$T" > "$WORK/ids.json"
check "TEI's shape: ids as the tokenizer's, byte spans into the input, specials without" python3 - "$WORK" "$T" <<'PY'
import json, sys
w, t = sys.argv[1], sys.argv[2].encode()
r = json.load(open(w + "/body")); ids = json.load(open(w + "/ids.json"))
assert len(r) == 1 and [x["id"] for x in r[0]] == ids, (r, ids)
first, last = r[0][0], r[0][-1]
assert first["special"] and first["text"] == "[CLS]" and first["start"] is None and last["stop"] is None
for x in r[0][1:-1]:
    assert not x["special"] and t[x["start"]:x["stop"]].decode() == x["text"], x
assert r[0][1]["text"] == "The" and r[0][1]["start"] == 0
PY
post "/tokenize without special tokens, two inputs" 200 /tokenize "{\"inputs\": [\"$T\", \"a\"], \"add_special_tokens\": false}"
check "a list per input, no [CLS]" python3 -c "
import json; r = json.load(open('$WORK/body')); assert len(r) == 2 and not any(x['special'] for x in r[0]) and len(r[1]) == 1, r"
ids=$(cat "$WORK/ids.json")
post "/decode" 200 /decode "{\"ids\": $ids}"
body_has "gives the text back (lowercased, as the model reads it)" '["the cat sits outside"]'
post "/decode keeping special tokens" 200 /decode "{\"ids\": [$ids], \"skip_special_tokens\": false}"
body_has "with them" '["[CLS] the cat sits outside [SEP]"]'
post "/decode of an id outside the vocabulary is a 400" 400 /decode '{"ids": [999999]}'
post "/decode of no ids is a 400" 400 /decode '{"ids": []}'
post "/tokenize with add_special_tokens not a bool is a 400" 400 /tokenize '{"inputs": "a", "add_special_tokens": "yes"}'
post "/embed of it" 200 /embed "{\"inputs\": \"$T\"}"
cp "$WORK/body" "$WORK/embT.json"
post "/embed_all" 200 /embed_all "{\"inputs\": \"$T\"}"
check "every token's state pools to the embedding" python3 - "$WORK" <<'PY'
import json, math, sys
w = sys.argv[1]
r = json.load(open(w + "/body")); ids = json.load(open(w + "/ids.json")); emb = json.load(open(w + "/embT.json"))[0]
assert len(r) == 1 and len(r[0]) == len(ids) and len(r[0][0]) == 64
mean = [sum(t[k] for t in r[0]) / len(r[0]) for k in range(64)]
n = math.sqrt(sum(x * x for x in mean))
assert all(abs(a / n - b) < 1e-5 for a, b in zip(mean, emb)), "tokens do not pool to the embedding"
PY
post "/embed_all on the classifier is a 400" 400 /models/cls/embed_all '{"inputs": "x"}'
body_has "saying why" "needs an embedding model"

# --- /info ------------------------------------------------------------------------------------
req "GET /info (the default model)" 200 "$BASE/info"
check "TEI's fields, for emb" python3 -c "
import json; r = json.load(open('$WORK/body'))
assert r['model_id'] == 'emb' and r['model_type'] == {'embedding': {'pooling': 'mean'}} and r['max_input_length'] == 128
assert r['model_dtype'] == 'float32' and r['tinyembed']['dimension'] == 64 and r['max_client_batch_size'] == 32
assert r['max_batch_tokens'] == 4096, r  # the context's: te_ctx_max_batch_tokens"
req "GET /models/cls/info" 200 "$BASE/models/cls/info"
check "a classifier's labels" python3 -c "
import json; r = json.load(open('$WORK/body')); c = r['model_type']['classifier']
assert r['model_id'] == 'cls' and c['id2label'] == {'0': 'NEGATIVE', '1': 'POSITIVE'} and c['label2id'] == {'NEGATIVE': 0, 'POSITIVE': 1}, r"
req "POST /info is a 405" 405 -X POST "$BASE/info"

# --- truncation_direction --------------------------------------------------------------------
LONG=$(python3 -c "print(' '.join('word%d' % (i % 50) for i in range(300)) + ' the very end')")
post "a long text, cut at its end (Right, the default)" 200 /embed "{\"inputs\": \"$LONG\", \"truncate\": true}"
cp "$WORK/body" "$WORK/right.json"
post "and with truncation_direction Left" 200 /embed "{\"inputs\": \"$LONG\", \"truncate\": true, \"truncation_direction\": \"Left\"}"
cp "$WORK/body" "$WORK/left.json"
post "tokenize it whole" 200 /tokenize "{\"inputs\": \"$LONG\"}"
python3 -c "
import json; t = json.load(open('$WORK/body'))[0]; ids = [x['id'] for x in t]
print(json.dumps({'input': [[ids[0]] + ids[-127:]], 'model': 'emb'}))" > "$WORK/left_ids.json"
post "its last tokens, as ids" 200 /v1/embeddings "$(cat "$WORK/left_ids.json")"
check "Left keeps the last tokens ([CLS] + the end + [SEP]); Right does not" python3 -c "
import json
l = json.load(open('$WORK/left.json'))[0]; r = json.load(open('$WORK/right.json'))[0]
ids = json.load(open('$WORK/body'))['data'][0]['embedding']
assert all(abs(a - b) < 1e-6 for a, b in zip(l, ids)), 'Left is not the last tokens'
assert max(abs(a - b) for a, b in zip(l, r)) > 1e-3, 'Left gave what Right gives'"
post "truncation_direction Up is a 400" 400 /embed '{"inputs": "a", "truncation_direction": "Up"}'
body_has "naming the choices" "Right|Left"
post "Left on /predict is a 400 (it cuts pairs at their end)" 400 /predict '{"inputs": "a", "truncation_direction": "Left"}'

# --- precision ----------------------------------------------------------------------------------
post "/embed with precision binary" 200 /embed '{"inputs": ["The cat sits outside", "A man is playing guitar"], "precision": "binary"}'
cp "$WORK/body" "$WORK/binary.json"
post "/v1/embeddings with precision ubinary, base64" 200 /v1/embeddings '{"input": ["The cat sits outside", "A man is playing guitar"], "precision": "ubinary", "encoding_format": "base64"}'
cp "$WORK/body" "$WORK/ubinary.json"
post "/v1/embeddings with precision binary and dimensions 12 (two bytes, the second padded)" 200 /v1/embeddings '{"input": "The cat sits outside", "precision": "binary", "dimensions": 12}'
check "the packed bits of v > 0, as the reference quantizer packs them" python3 - "$WORK" <<'PY'
import base64, json, math, sys
w = sys.argv[1]
sys.path.insert(0, "tests")
from quantize_ref import packed  # sentence-transformers' binary / ubinary
ref2 = [json.loads(l) for l in open(w + "/emb2.jsonl")]
assert json.load(open(w + "/binary.json")) == [packed(v, 1) for v in ref2]
data = json.load(open(w + "/ubinary.json"))["data"]
assert [list(base64.b64decode(d["embedding"])) for d in data] == [packed(v, 0) for v in ref2]
n = math.sqrt(sum(x * x for x in ref2[0][:12]))
assert json.load(open(w + "/body"))["data"][0]["embedding"] == packed([x / n for x in ref2[0][:12]], 1)
PY
post "/embed with precision int8, a batch" 200 /embed '{"inputs": ["The cat sits outside", "A man is playing guitar"], "precision": "int8"}'
cp "$WORK/body" "$WORK/int8.json"
post "/embed with precision int8, the second text alone" 200 /embed '{"inputs": "A man is playing guitar", "precision": "int8"}'
cp "$WORK/body" "$WORK/int8_alone.json"
post "/v1/embeddings with precision uint8, base64" 200 /v1/embeddings '{"input": ["The cat sits outside", "A man is playing guitar"], "precision": "uint8", "encoding_format": "base64"}'
cp "$WORK/body" "$WORK/uint8.json"
check "int8 / uint8: the reference quantizer on the model's range (/info); a text's bytes the same alone" python3 - "$WORK" <<'PY'
import base64, json, sys
w = sys.argv[1]
sys.path.insert(0, "tests")
from quantize_ref import calibrated
ref2 = [json.loads(l) for l in open(w + "/emb2.jsonl")]
r = json.load(open(w + "/info.json"))["tinyembed"]["output_range"]
assert r["texts"] > 0 and len(r["min"]) == len(r["max"]) == len(ref2[0]), r
i8 = json.load(open(w + "/int8.json"))
assert i8 == [calibrated(v, r["min"], r["max"], 1) for v in ref2], i8
assert json.load(open(w + "/int8_alone.json")) == [i8[1]], "the same bytes alone and in a batch"
data = json.load(open(w + "/uint8.json"))["data"]
assert [list(base64.b64decode(d["embedding"])) for d in data] == [calibrated(v, r["min"], r["max"], 0) for v in ref2]
assert len(set(x for v in i8 for x in v)) > 20, "the bytes spread over the range"
PY
post "int8 with dimensions is a 400 (the range is of the whole vector)" 400 /v1/embeddings '{"input": "a", "precision": "int8", "dimensions": 8}'
body_has "saying why" "whole"
post "Cohere embedding_types int4 is a 400" 400 /v2/embed '{"model": "emb", "texts": ["a"], "input_type": "search_query", "embedding_types": ["int4"]}'
post "precision int4 is a 400" 400 /v1/embeddings '{"input": "a", "precision": "int4"}'

# --- chunking ----------------------------------------------------------------------------------
post "chunking, reduce none: every chunk with its span" 200 /embed "{\"inputs\": \"$LONG\", \"chunking\": {\"max_tokens\": 64, \"overlap\": 16, \"reduce\": \"none\"}}"
cp "$WORK/body" "$WORK/chunks.json"
post "the whole text's tokens (no special tokens)" 200 /tokenize "{\"inputs\": \"$LONG\", \"add_special_tokens\": false}"
cp "$WORK/body" "$WORK/all_tokens.json"
python3 - "$WORK" > "$WORK/chunk_ids.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1] + "/all_tokens.json"))[0]
ids = [x["id"] for x in t]
window, step, chunks = 64 - 2, 64 - 2 - 16, []
a = 0
while True:
    b = min(a + window, len(ids))
    chunks.append([101] + ids[a:b] + [102])
    if b == len(ids): break
    a += step
print(json.dumps({"input": chunks}))
PY
post "the same windows, each embedded as token ids" 200 /v1/embeddings "$(cat "$WORK/chunk_ids.json")"
cp "$WORK/body" "$WORK/one_by_one.json"
post "chunking, reduce mean (the default)" 200 /embed "{\"inputs\": \"$LONG\", \"chunking\": {\"max_tokens\": 64, \"overlap\": 16}}"
check "chunks are the windows embedded one by one, spans are their bytes; the mean is their token-weighted mean, renormalized" \
    python3 - "$WORK" "$LONG" <<'PY'
import json, math, sys
w, text = sys.argv[1], sys.argv[2].encode()
chunks = json.load(open(w + "/chunks.json"))[0]
ones = [d["embedding"] for d in json.load(open(w + "/one_by_one.json"))["data"]]
ids = json.load(open(w + "/chunk_ids.json"))["input"]
toks = json.load(open(w + "/all_tokens.json"))[0]
assert len(chunks) == len(ones) >= 3, (len(chunks), len(ones))
for c, v in zip(chunks, ones):
    assert c["embedding"] == v, "a chunk's vector is not its window's"
step = 64 - 2 - 16
for k, c in enumerate(chunks):
    first, last = toks[k * step], toks[min(k * step + 61, len(toks) - 1)]
    assert (c["start"], c["stop"]) == (first["start"], last["stop"]), (k, c["start"], c["stop"])
wts = [len(i) for i in ids]
mean = [sum(wt * v[d] for wt, v in zip(wts, ones)) / sum(wts) for d in range(64)]
n = math.sqrt(sum(x * x for x in mean))
got = json.load(open(w + "/body"))[0]
assert all(abs(a - b / n) < 1e-6 for a, b in zip(got, mean)), "the mean"
assert text.endswith(b"the very end") and chunks[-1]["stop"] == len(text), "the last chunk ends with the text"
PY
post "chunking on /v1/embeddings, reduce none: data[i].chunks" 200 /v1/embeddings "{\"input\": \"$LONG\", \"chunking\": {\"max_tokens\": 64, \"overlap\": 16, \"reduce\": \"none\"}}"
check "OpenAI's list with each input's chunks" python3 -c "
import json; d = json.load(open('$WORK/body'))['data'][0]; c = json.load(open('$WORK/chunks.json'))[0]
assert d['index'] == 0 and [x['start'] for x in d['chunks']] == [x['start'] for x in c] and len(d['chunks'][0]['embedding']) == 64"
post "a text shorter than one chunk is one chunk: its embedding" 200 /embed "{\"inputs\": \"$T\", \"chunking\": {\"max_tokens\": 64}}"
check "the same as without chunking" python3 -c "
import json; a = json.load(open('$WORK/body'))[0]; b = json.load(open('$WORK/embT.json'))[0]
assert all(abs(x - y) < 1e-6 for x, y in zip(a, b))"
post "chunking with dimensions beyond the model's is a 400" 400 /v1/embeddings '{"input": "a", "dimensions": 65, "chunking": {"max_tokens": 10}}'
post "chunking without max_tokens is a 400" 400 /embed '{"inputs": "a", "chunking": {"overlap": 2}}'
post "max_tokens 0 is a 400" 400 /embed '{"inputs": "a", "chunking": {"max_tokens": 0}}'
post "max_tokens above the model's limit is a 400" 400 /embed '{"inputs": "a", "chunking": {"max_tokens": 129}}'
body_has "naming it" "at most the model's limit of 128"
post "max_tokens with no room for text is a 400" 400 /embed '{"inputs": "a", "chunking": {"max_tokens": 2}}'
post "overlap as large as the window is a 400" 400 /embed '{"inputs": "a", "chunking": {"max_tokens": 10, "overlap": 8}}'
post "overlap -1 is a 400" 400 /embed '{"inputs": "a", "chunking": {"max_tokens": 10, "overlap": -1}}'
post "reduce max is a 400" 400 /embed '{"inputs": "a", "chunking": {"max_tokens": 10, "reduce": "max"}}'
post "chunking token ids is a 400" 400 /v1/embeddings '{"input": [101, 102], "chunking": {"max_tokens": 10}}'
post "chunking with truncation_direction Left is a 400" 400 /embed '{"inputs": "a", "truncation_direction": "Left", "chunking": {"max_tokens": 10}}'

# --- Cohere's and Jina's options ----------------------------------------------------------------
post "Cohere v2 embed with truncate START keeps the end" 200 /v2/embed "{\"texts\": [\"$LONG\"], \"truncate\": \"START\", \"embedding_types\": [\"float\"]}"
check "the same vector as Left" python3 -c "
import json; a = json.load(open('$WORK/body'))['embeddings']['float'][0]; b = json.load(open('$WORK/left.json'))[0]
assert all(abs(x - y) < 1e-6 for x, y in zip(a, b))"
post "Cohere v2 embed with truncate NONE refuses a long text" 422 /v2/embed "{\"texts\": [\"$LONG\"], \"truncate\": \"NONE\"}"
post "embedding_types int8 on a file without a calibrated range is a 400" 400 /v2/embed '{"model": "old", "texts": ["a"], "embedding_types": ["int8"]}'
body_has "in Cohere's error shape" "{\"message\":\"model 'old' has no calibrated output range"
body_has "naming the fix" "tinyembed calibrate"
post "precision uint8 on it too" 400 /embed '{"model": "old", "inputs": "a", "precision": "uint8"}'
post "but float and binary still work on it" 200 /embed '{"model": "old", "inputs": "a", "precision": "binary"}'
DOC="a cat is an animal that sleeps most of the day and hunts at night"
post "/tokenize a document with the reranker's tokenizer" 200 /models/ce/tokenize "{\"inputs\": \"$DOC\", \"add_special_tokens\": false}"
CUT=$(python3 -c "import json, sys; t = json.load(open(sys.argv[1]))[0]; print(sys.argv[2].encode()[:t[4]['stop']].decode())" "$WORK/body" "$DOC")
post "rerank with max_tokens_per_doc 5" 200 /v2/rerank "{\"query\": \"$Q\", \"documents\": [\"$DOC\", \"stocks fell\"], \"max_tokens_per_doc\": 5}"
cp "$WORK/body" "$WORK/per_doc.json"
post "the document cut by hand after its 5th token ('$CUT')" 200 /v2/rerank "{\"query\": \"$Q\", \"documents\": [\"$CUT\", \"stocks fell\"]}"
cp "$WORK/body" "$WORK/by_hand.json"
post "the whole document" 200 /v2/rerank "{\"query\": \"$Q\", \"documents\": [\"$DOC\", \"stocks fell\"]}"
check "max_tokens_per_doc cuts the document after its first N tokens, and only what is longer" python3 -c "
import json
s = lambda f: sorted((r['index'], r['relevance_score']) for r in json.load(open('$WORK/' + f))['results'])
assert s('per_doc.json') == s('by_hand.json'), (s('per_doc.json'), s('by_hand.json'))
assert s('per_doc.json')[0] != s('body')[0] and s('per_doc.json')[1] == s('body')[1]"
post "max_tokens_per_doc 0 is a 400" 400 /v2/rerank '{"query": "q", "documents": ["a"], "max_tokens_per_doc": 0}'
post "max_tokens_per_doc \"5\" is a 400" 400 /v1/rerank '{"query": "q", "documents": ["a"], "max_tokens_per_doc": "5"}'
post "input_type bogus is a 400" 400 /v2/embed '{"texts": ["a"], "input_type": "bogus"}'
post "truncate MAYBE is a 400" 400 /v2/embed '{"texts": ["a"], "truncate": "MAYBE"}'
post "rerank top_n 0 is a 400" 400 /v1/rerank '{"query": "q", "documents": ["a"], "top_n": 0}'
post "rerank without documents is a 400" 400 /v2/rerank '{"query": "q"}'
post "rerank with rank_fields is refused, not ignored" 400 /v2/rerank '{"query": "q", "documents": ["a"], "rank_fields": ["x"]}'
post "a document that is neither text nor {text} is a 400" 400 /v1/rerank '{"query": "q", "documents": [5]}'
post "/similarity without sentences is a 400" 400 /similarity '{"inputs": {"source_sentence": "a"}}'
post "a 404 under /v1/ is in OpenAI's shape" 404 /v1/nothing '{}'
body_has "OpenAI's" '"error":{"message":'

stop_server "the server exits 0"
check "the log names the model and, on errors, the message" python3 -c "
lines = open('$WORK/serve.log').read().splitlines()
assert any(l.startswith('POST / 200') and 'model=emb' in l for l in lines), 'POST / is logged'
assert any(l.startswith('POST /v2/rerank 400') and 'error=\"' in l and 'documents' in l for l in lines), lines"

# --cache-mb: repeats answered from the cache, byte for byte, with the same usage; LRU eviction.
start_server -m emb="$D/tiny-mean.temb" --cache-mb 1 || fail "server starts with a cache"
post "a request, uncached" 200 /embed '{"inputs": ["The cat sits outside", "A man is playing guitar"]}'
cp "$WORK/body" "$WORK/uncached.json"
post "the same request again" 200 /embed '{"inputs": ["The cat sits outside", "A man is playing guitar"]}'
check "answered from the cache: the same bytes" cmp -s "$WORK/body" "$WORK/uncached.json"
post "OpenAI's route, one cached text and one new" 200 /v1/embeddings '{"input": ["The cat sits outside", "new text"]}'
check "the cached vector and the tokens it took (usage)" python3 -c "
import json; d = json.load(open('$WORK/body')); u = json.load(open('$WORK/uncached.json'))
assert d['data'][0]['embedding'] == u[0] and d['usage']['prompt_tokens'] == 6 + 4, d['usage']"
post "a long text, truncated" 200 /embed "{\"inputs\": \"$LONG\", \"truncate\": true}"
post "the same text without truncate is still a 422 (how a text is cut is part of the key)" 422 /embed "{\"inputs\": \"$LONG\"}"
req "metrics" 200 "$BASE/metrics"
check "hits and misses in /metrics" python3 -c "
m = dict(l.split() for l in open('$WORK/body') if l.startswith('tinyembed_cache'))
assert m['tinyembed_cache_hits_total'] == '3' and m['tinyembed_cache_misses_total'] == '5', m"
python3 - "$PORT" <<'PY' > "$WORK/evict.txt"
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for r in range(160):  # 5,120 texts of about 300 bytes each in the cache: more than 1 MB
    c.request("POST", "/embed", json.dumps({"inputs": ["text %d %d" % (r, i) for i in range(32)]}), {"Content-Type": "application/json"})
    assert c.getresponse().read()
c.request("POST", "/embed", json.dumps({"inputs": "The cat sits outside"}), {"Content-Type": "application/json"})
print(c.getresponse().status)
PY
req "metrics after 5,120 new texts" 200 "$BASE/metrics"
check "the least recently used are evicted; the bound holds; an evicted text is a miss again" python3 -c "
m = dict(l.split() for l in open('$WORK/body') if l.startswith('tinyembed_cache'))
assert int(m['tinyembed_cache_evictions_total']) > 0 and int(m['tinyembed_cache_bytes']) <= 1 << 20, m
assert m['tinyembed_cache_hits_total'] == '3' and m['tinyembed_cache_misses_total'] == str(5 + 5120 + 1), m"
stop_server "the caching server exits 0"
expect_rc 2 "--cache-mb -1 is a usage error" "$TE_BIN" serve --port 0 -m "$D/tiny-mean.temb" --cache-mb -1

# --default-model: names the default of its kind and of POST /.
start_server -m emb="$D/tiny-mean.temb" -m cls="$D/distilbert-sst2.temb" --default-model cls || fail "server starts"
post "--default-model cls: POST / classifies" 200 / '{"inputs": "I love this"}'
body_has "labels" '"label":"POSITIVE"'
post "and /embed still reaches the embedder" 200 /embed '{"inputs": "a"}'
stop_server "that server exits 0"
expect_rc 2 "--default-model of a model not served is a usage error" "$TE_BIN" serve --port 0 -m "$D/tiny-mean.temb" --default-model nosuch
expect_err_has "naming it" "--default-model nosuch: no model of that name is served"
finish
