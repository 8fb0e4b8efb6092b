#!/bin/sh
# cli_serve.sh - `tinyembed serve` driven by real clients on a free loopback
# port: curl for every route and every error code, raw sockets for
# pipelining and slow clients, the official openai npm client, promtool for
# the metrics. Vectors are compared with `tinyembed embed` (te_embed in
# process): they must be identical.
. "$(dirname "$0")/cli_lib.sh"
M="$TE_TESTDATA/tiny-mean.temb"

. "$(dirname "$0")/serve_lib.sh"

# The reference: te_embed in process, through `tinyembed embed`.
"$TE_BIN" embed -m "$M" "The cat sits outside" "A man is playing guitar" > "$WORK/ref.jsonl"

start_server -m "$M" --request-timeout 1000 || { fail "server starts"; finish; }
for _ in $(seq 50); do curl -s -o /dev/null -w '%{http_code}' "$BASE/health" | grep -q 200 && break; sleep 0.1; done
req "GET /health is 200 once loaded and warmed up" 200 "$BASE/health"
check "health says ready, warmed up, bytes resident" python3 -c "
import json; d = json.load(open('$WORK/body')); m = d['models'][0]
assert d['status'] == 'ok' and m['name'] == 'tiny-mean' and m['state'] == 'ready' and m['warmed_up'] is True
assert 0 < m['resident_bytes'] <= m['file_bytes'] and m['load_ms'] >= 0 and m['warmup_ms'] > 0"
req "HEAD /health" 200 -I "$BASE/health"

post "POST /v1/embeddings, a string" 200 /v1/embeddings '{"input": "The cat sits outside", "model": "tiny-mean"}'
cp "$WORK/body" "$WORK/one.json"
post "POST /v1/embeddings, a list, model omitted (one model served)" 200 /v1/embeddings \
    '{"input": ["The cat sits outside", "A man is playing guitar"]}'
cp "$WORK/body" "$WORK/list.json"
post "encoding_format base64" 200 /v1/embeddings '{"input": ["The cat sits outside"], "encoding_format": "base64"}'
cp "$WORK/body" "$WORK/b64.json"
"$TE_BIN" tokenize -m "$M" "The cat sits outside" "A man is playing guitar" > "$WORK/ids.jsonl"
ids=$(head -1 "$WORK/ids.jsonl")
post "token ids as input" 200 /v1/embeddings "{\"input\": [$ids]}"
cp "$WORK/body" "$WORK/tok.json"
# Vectors are compared as float32: both sides print a decimal that reads back as the same float.
check "OpenAI vectors are te_embed's exactly (float, base64, token ids); usage counts tokens" python3 - "$WORK" <<'PY'
import base64, json, struct, sys
def f32(v): return [struct.unpack("<f", struct.pack("<f", x))[0] for x in v]
w = sys.argv[1]
ref = [f32(json.loads(l)) for l in open(w + "/ref.jsonl")]
ids = [json.loads(l) for l in open(w + "/ids.jsonl")]
one, lst = json.load(open(w + "/one.json")), json.load(open(w + "/list.json"))
assert one["object"] == "list" and one["model"] == "tiny-mean" and one["data"][0]["object"] == "embedding"
assert f32(one["data"][0]["embedding"]) == ref[0]
assert [f32(d["embedding"]) for d in lst["data"]] == ref and [d["index"] for d in lst["data"]] == [0, 1]
assert lst["usage"] == {"prompt_tokens": len(ids[0]) + len(ids[1]), "total_tokens": len(ids[0]) + len(ids[1])}
raw = base64.b64decode(json.load(open(w + "/b64.json"))["data"][0]["embedding"])
assert list(struct.unpack("<%df" % (len(raw) // 4), raw)) == ref[0]
assert f32(json.load(open(w + "/tok.json"))["data"][0]["embedding"]) == ref[0]
PY
post "dimensions 16" 200 /v1/embeddings '{"input": "The cat sits outside", "dimensions": 16}'
check "dimensions keeps the first 16 and re-normalizes" python3 -c "
import json, math
v = json.load(open('$WORK/body'))['data'][0]['embedding']; r = json.loads(open('$WORK/ref.jsonl').readline())[:16]
n = math.sqrt(sum(x * x for x in r))
assert len(v) == 16 and all(abs(a - b / n) < 1e-6 for a, b in zip(v, r))"
post "dimensions larger than the model's is 400" 400 /v1/embeddings '{"input": "a", "dimensions": 65}'
body_has "in OpenAI's error shape" '"error":{"message":'
post "dimensions 0 is 400" 400 /v1/embeddings '{"input": "a", "dimensions": 0}'
post "a negative token id is 400" 400 /v1/embeddings '{"input": [101, -5, 102]}'
body_has "naming the id" "token id -5"
post "a huge token id is 400" 400 /v1/embeddings '{"input": [[101, 99999999, 102]]}'
post "a token id past int32 is 400" 400 /v1/embeddings '{"input": [101, 1e12, 102]}'
post "an empty string is 400" 400 /v1/embeddings '{"input": ""}'
post "an empty list is 400" 400 /v1/embeddings '{"input": []}'
post "a list mixing strings and numbers is 400" 400 /v1/embeddings '{"input": ["a", 1]}'
post "a missing input is 400" 400 /v1/embeddings '{"model": "tiny-mean"}'
post "a bad encoding_format is 400" 400 /v1/embeddings '{"input": "a", "encoding_format": "hex"}'
post "an unknown model is 404" 404 /v1/embeddings '{"input": "a", "model": "nope"}'
body_has "naming it" "no model named 'nope'"

post "POST /embed (TEI), a string" 200 /embed '{"inputs": "The cat sits outside"}'
check "TEI answers [[...]] with te_embed's vector" python3 -c "
import json, struct
def f32(v): return [struct.unpack('<f', struct.pack('<f', x))[0] for x in v]
assert [f32(v) for v in json.load(open('$WORK/body'))] == [f32(json.loads(open('$WORK/ref.jsonl').readline()))]"
post "POST /embed, a list" 200 /embed '{"inputs": ["The cat sits outside", "A man is playing guitar"], "normalize": true}'
long=$(python3 -c "print(' '.join(['word'] * 3000))")
post "/embed of a text longer than the model's limit, truncate false: 422" 422 /embed "{\"inputs\": \"$long\"}"
body_has "in TEI's error shape" '"error_type":"Validation"'
post "/embed with truncate true cuts it" 200 /embed "{\"inputs\": \"$long\", \"truncate\": true}"
longwords=$(python3 -c "print(' '.join(['unbelievably tokenized antidisestablishmentarianism, eh?'] * 300))")
"$TE_BIN" embed -m "$M" "$longwords" > "$WORK/ref-long.jsonl"
post "/embed truncating words cut into several pieces" 200 /embed "{\"inputs\": \"$longwords\", \"truncate\": true}"
check "the truncated vector is te_embed's (which truncates in te_tokenize)" python3 -c "
import json, struct
def f32(v): return [struct.unpack('<f', struct.pack('<f', x))[0] for x in v]
assert f32(json.load(open('$WORK/body'))[0]) == f32(json.loads(open('$WORK/ref-long.jsonl').readline()))"
post "/v1/embeddings truncates as sentence-transformers does" 200 /v1/embeddings "{\"input\": \"$long\"}"
check "and counts only the tokens used" python3 -c "
import json; u = json.load(open('$WORK/body'))['usage']; assert 2 < u['prompt_tokens'] <= 512, u"
post "/embed normalize must be a boolean" 400 /embed '{"inputs": "a", "normalize": "yes"}'

req "GET /v1/models" 200 "$BASE/v1/models"
check "OpenAI's list shape with the registry's metadata" python3 -c "
import json; d = json.load(open('$WORK/body'))
assert d['object'] == 'list' and d['data'][0]['id'] == 'tiny-mean' and d['data'][0]['object'] == 'model'
assert d['data'][0]['tinyembed']['state'] == 'ready' and d['data'][0]['tinyembed']['version']['fingerprint']"
req "GET /models" 200 "$BASE/models"
check "the registry view" python3 -c "
import json; d = json.load(open('$WORK/body')); assert d['all_ready'] and d['loaded_models'] == ['tiny-mean']"

req "an unknown route is 404" 404 "$BASE/v2/whatever"
req "GET on a POST route is 405" 405 "$BASE/v1/embeddings"
post "a body that is not JSON is 400" 400 /v1/embeddings '{"input": '
req "a non-JSON content type is 415" 415 -X POST "$BASE/embed" -H 'Content-Type: text/plain' --data-binary 'hello'
printf '{"inputs": "caf\351"}' > "$WORK/latin1.json"
req "invalid UTF-8 is 400" 400 -X POST "$BASE/embed" -H 'Content-Type: application/json' --data-binary @"$WORK/latin1.json"
printf '{"inputs": "a\000b"}' > "$WORK/nul.json"
req "a raw NUL byte is 400" 400 -X POST "$BASE/embed" -H 'Content-Type: application/json' --data-binary @"$WORK/nul.json"
python3 -c "print('{\"inputs\": ' + '[' * 5000 + ']' * 5000 + '}')" > "$WORK/deep.json"
req "deeply nested JSON is 400" 400 -X POST "$BASE/embed" -H 'Content-Type: application/json' --data-binary @"$WORK/deep.json"
python3 -c "print('{\"input\": [' + ','.join(['1'] * 100000) + ']}')" > "$WORK/many.json"
req "100,000 token ids in one input are 400 (more than the model takes)" 400 -X POST "$BASE/v1/embeddings" -H 'Content-Type: application/json' --data-binary @"$WORK/many.json"
body_has "saying so" "has 100000 token ids, more than the model's limit"
python3 -c "print('{\"inputs\": [' + ','.join(['\"a\"'] * 100000) + ']}')" > "$WORK/many.json"
req "100,000 inputs are 413" 413 -X POST "$BASE/embed" -H 'Content-Type: application/json' --data-binary @"$WORK/many.json"
python3 -c "print('{\"inputs\": \"' + 'a' * (10 << 20) + '\"}')" > "$WORK/huge.json"
req "a 10 MB string is 413" 413 -X POST "$BASE/embed" -H 'Content-Type: application/json' --data-binary @"$WORK/huge.json"
req "headers over 16 KB are 431" 431 "$BASE/health" -H "X-Big: $(python3 -c "print('a' * 20000)")"
req "a chunked request body is 501" 501 -X POST "$BASE/embed" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary '{"inputs": "a"}'
check "pipelined requests on one connection are answered in order" python3 - "$PORT" <<'PY'
import re, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
body = b'{"inputs": "hello"}'
one = b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + one + b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    k = s.recv(65536)
    if not k: break
    data += k
codes = [int(c) for c in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]
assert codes == [200, 200, 404], codes
PY
check "a client that half-closes after its request still gets the answer" python3 - "$PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
body = b'{"inputs": "hello"}'
s.sendall(b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    k = s.recv(65536)
    if not k: break
    data += k
assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"]]"), data[:80]
PY
check "a client that sends its request too slowly gets 408" python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
s.settimeout(30)
data = s.recv(65536)
assert data.startswith(b"HTTP/1.1 408 "), data[:60]
PY
req "POST /admin/reload from loopback" 200 -X POST "$BASE/admin/reload"
check "reports what reloaded" python3 -c "
import json; d = json.load(open('$WORK/body'))
assert d['status'] == 'reloaded' and d['loaded_count'] == 1 and d['loaded_models'] == ['tiny-mean'] and d['failed_count'] == 0"
post "a reload of one model by name" 200 /admin/reload '{"model": "tiny-mean"}'
post "a reload of an unknown model is 404" 404 /admin/reload '{"model": "nope"}'

if [ -d "$(dirname "$0")/openai/node_modules/openai" ]; then
    node "$(dirname "$0")/openai/embeddings.mjs" "$PORT" tiny-mean "The cat sits outside" "A man is playing guitar" > "$WORK/openai.json" 2>"$WORK/openai.err"
    check "the openai npm client gets te_embed's vectors (string, list, float)" python3 -c "
import json, struct
def f32(v): return [struct.unpack('<f', struct.pack('<f', x))[0] for x in v]
d = json.load(open('$WORK/openai.json')); ref = [f32(json.loads(l)) for l in open('$WORK/ref.jsonl')]
assert f32(d['one']) == ref[0] and [f32(v) for v in d['list']] == ref and f32(d['float']) == ref[0] and d['model'] == 'tiny-mean'"
else
    fail "the openai npm client is installed (make deps installs it)"
fi

req "GET /metrics" 200 "$BASE/metrics"
if command -v promtool >/dev/null 2>&1; then
    check "promtool accepts the metrics" promtool check metrics < "$WORK/body"
else
    fail "promtool is installed (make deps installs Debian's prometheus)"
fi
body_has "requests are counted by route and code" 'tinyembed_http_requests_total{route="/v1/embeddings",code="200"}'
body_has "per-model gauges" 'tinyembed_model_resident_bytes{model="tiny-mean"}'
check "texts embedded are counted" grep -q '^tinyembed_texts_embedded_total [1-9]' "$WORK/body"
stop_server "SIGTERM: the server finishes and exits 0"
check "one log line per request, /health quiet" sh -c "grep -q '^POST /v1/embeddings 200 ' '$WORK/serve.log' && ! grep -q '^GET /health' '$WORK/serve.log'"

# Repeated --model NAME=PATH: each model under its name.
start_server -m "one=$M" --model "two=$TE_TESTDATA/tiny-cls.temb" || fail "server starts with two --model"
req "two --model options serve two models" 200 "$BASE/v1/models"
check "named as given" python3 -c "
import json; assert [m['id'] for m in json.load(open('$WORK/body'))['data']] == ['one', 'two']"
stop_server "the two-model server exits 0"

# An API key: every route but /health needs it, admin routes included.
start_server -m "$M" --api-key s3cret --max-batch 4 --max-body 4096 --log-format json || fail "server starts with a key"
req "with a key, /health needs none" 200 "$BASE/health"
post "no key: 401" 401 /v1/embeddings '{"input": "a"}'
body_has "OpenAI's error shape" '"type":"authentication_error"'
post "a wrong key: 401" 401 /v1/embeddings '{"input": "a"}' -H 'Authorization: Bearer nope'
post "the right key" 200 /v1/embeddings '{"input": "a"}' -H 'Authorization: Bearer s3cret'
req "/admin/reload needs the key" 401 -X POST "$BASE/admin/reload"
req "/metrics needs the key" 401 "$BASE/metrics"
post "more inputs than --max-batch: 413" 413 /embed '{"inputs": ["a", "b", "c", "d", "e"]}' -H 'Authorization: Bearer s3cret'
body_has "TEI's error shape" '"error_type":"Validation"'
post "a body over --max-body: 413" 413 /embed "{\"inputs\": \"$(python3 -c "print('a' * 5000)")\"}" -H 'Authorization: Bearer s3cret'
stop_server "the keyed server exits 0"
check "--log-format json writes JSON lines" python3 -c "
import json
lines = [json.loads(l) for l in open('$WORK/serve.log') if l.startswith('{')]
assert any(l['path'] == '/v1/embeddings' and l['status'] == 200 and l['texts'] == 1 and l['model'] for l in lines)
assert any(l['status'] == 413 and 'larger than the limit' in l['error'] for l in lines), 'errors carry their message'"

# A failed model: /health is 503 and says why; its calls are 424; a fallback serves another.
head -c 50000 "$M" > "$WORK/cut.temb"
cp "$M" "$WORK/good.temb"
cat > "$WORK/models.json" <<'JSON'
{"models": [{"name": "good", "path": "good.temb"},
            {"name": "broken", "path": "cut.temb"},
            {"name": "covered", "path": "missing.temb", "fallback": "good"}]}
JSON
start_server --config "$WORK/models.json" || fail "server starts with a config"
for _ in $(seq 50); do curl -s "$BASE/models" | grep -q '"loaded_models": \["good"\]' && break; sleep 0.1; done
req "/health is 503 while a start-up model has failed without a fallback" 503 "$BASE/health"
check "and says which and why" python3 -c "
import json; d = json.load(open('$WORK/body')); m = {x['name']: x for x in d['models']}
assert d['status'] == 'unavailable' and m['broken']['state'] == 'failed' and 'truncated' in m['broken']['error']
assert m['covered']['fallback'] == 'good' and m['good']['state'] == 'ready'"
post "a call to the failed model is 424" 424 /embed '{"inputs": "a", "model": "broken"}'
body_has "TEI's Backend error" '"error_type":"Backend"'
post "a call to a model with a fallback is served" 200 /v1/embeddings '{"input": "The cat sits outside", "model": "covered"}'
post "several models: a request that names none reaches the first embedding model" 200 /v1/embeddings '{"input": "a"}'
body_has "which is 'good'" '"model":"good"'
post "/models/NAME/ names the model in the URL" 200 /models/covered/v1/embeddings '{"input": "a"}'
body_has "the fallback serves it under its own name" '"model":"covered"'
post "a URL and a body that name two models: 400" 400 /models/good/v1/embeddings '{"input": "a", "model": "covered"}'
body_has "naming both" "names model 'good' and the body names 'covered'"
post "an unknown model in the URL: 404" 404 /models/nosuch/embed '{"inputs": "a"}'
stop_server "the config server exits 0"

# Overload: a queue of one request's size, many concurrent requests: the extra ones get 429.
start_server -m "$TE_TESTDATA/minilm-mean.temb" --max-batch 32 --max-queue 32 --threads 1 || fail "server starts"
python3 -c "
import json; print(json.dumps({'inputs': [' '.join(['overload words in a longer text'] * 20)] * 32}))" > "$WORK/batch.json"
# One curl opens all 24 connections at once (--parallel), so the requests
# arrive together however slowly a busy machine starts processes.
urls=$(for i in $(seq 24); do printf -- '-o /dev/null %s/embed ' "$BASE"; done)
# shellcheck disable=SC2086 # the 24 URLs and their -o are meant to split
curl -s -Z --parallel-immediate --parallel-max 24 -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
    --data-binary @"$WORK/batch.json" $urls > "$WORK/codes"
check "24 concurrent batches all answered" test "$(wc -l < "$WORK/codes")" -eq 24
check "overload gives 429 (and only 200 or 429)" python3 -c "
codes = [int(c) for c in open('$WORK/codes')]
print('  statuses:', {c: codes.count(c) for c in set(codes)})
assert set(codes) <= {200, 429} and 429 in codes and 200 in codes"
stop_server "the overloaded server exits 0"
finish
