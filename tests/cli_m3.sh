#!/bin/sh
# cli_m3.sh - bge-m3's outputs and sentence-transformers prompts through the
# command line and the server: `embed --output` prints what FlagEmbedding
# returns (dense array, {"id": weight} lexical weights, ColBERT vectors, or
# one object with several), equal to the goldens' first text; --format bin
# and tsv refuse the multi-vector outputs; /embed_sparse and /embed_colbert
# answer in TEI's shapes with the CLI's values; a model without the heads
# refuses them. Prompts: read from config_sentence_transformers.json, shown
# by info, --prompt-name and the server's prompt_name equal the literal
# prefix, the default applies when none is named, unknown names are errors.
. "$(dirname "$0")/cli_lib.sh"
. "$(dirname "$0")/serve_lib.sh"
D="$TE_TESTDATA"
M3="$D/bgem3.temb"
GOLD="$TE_REF/arch/golden"

expect_rc 0 "info lists the outputs" "$TE_BIN" info "$M3"
expect_out_has "dense, sparse, colbert" "outputs:           dense, sparse, colbert, tokens (ColBERT vectors of 64)"

# --- the CLI's outputs, against the goldens' first row ("Hello world") ---
expect_rc 0 "embed --output sparse" "$TE_BIN" embed -m "$M3" --output sparse "Hello world"
check "sparse equals the golden's lexical weights (ids, weights within 1e-4)" python3 -c 'import json,sys
g=json.loads(open(sys.argv[1]).readline())["sparse"]; o=json.load(open(sys.argv[2]))
assert {k for k,v in g.items() if v>1e-4} <= set(o) <= set(g), (g, o)
assert all(abs(o[k]-g[k]) <= 1e-4 for k in o), (g, o)' "$GOLD/bgem3.jsonl" "$WORK/out"
expect_rc 0 "embed --output colbert" "$TE_BIN" embed -m "$M3" --output colbert "Hello world"
check "colbert equals the golden's vectors (n-1, cos >= 0.99999)" python3 -c 'import json,math,sys
g=json.loads(open(sys.argv[1]).readline())["colbert"]; o=json.load(open(sys.argv[2]))
assert len(o)==len(g)==3, (len(o), len(g))
for a,b in zip(o,g):
    c=sum(x*y for x,y in zip(a,b))/math.sqrt(sum(x*x for x in a)*sum(y*y for y in b)); assert c>=0.99999, c' "$GOLD/bgem3-colbert.jsonl" "$WORK/out"
"$TE_BIN" embed -m "$M3" "Hello world" "Bonjour" > "$WORK/dense.jsonl"
expect_rc 0 "embed --output dense,sparse,colbert" "$TE_BIN" embed -m "$M3" --output dense,sparse,colbert "Hello world" "Bonjour"
check "one object per text; dense is embed's line" python3 -c 'import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]; dense=[json.loads(l) for l in open(sys.argv[2])]
assert len(rows)==2 and all(set(r)=={"dense","sparse","colbert"} for r in rows), rows
assert [r["dense"] for r in rows]==dense' "$WORK/out" "$WORK/dense.jsonl"
echo "Hello world" | "$TE_BIN" embed -m "$M3" --output sparse > "$WORK/stdin.json"
"$TE_BIN" embed -m "$M3" --output sparse "Hello world" > "$WORK/arg.json"
check "stdin gives the same" cmp -s "$WORK/stdin.json" "$WORK/arg.json"
expect_rc 2 "--format bin refuses sparse" "$TE_BIN" embed -m "$M3" --output sparse --format bin "x"
expect_err_has "saying why" "--output sparse needs --format json"
expect_rc 2 "--format tsv refuses colbert" "$TE_BIN" embed -m "$M3" --output dense,colbert --format tsv "x"
expect_rc 2 "an unknown output" "$TE_BIN" embed -m "$M3" --output dense,lexical "x"
expect_err_has "is named" "got 'dense,lexical'"
expect_rc 2 "a model without the heads" "$TE_BIN" embed -m "$D/xlmr-e5.temb" --output sparse "x"
expect_err_has "says which output it lacks" "has no sparse output"

expect_rc 0 "quantize bge-m3" "$TE_BIN" quantize "$M3" "$WORK/q.temb" --dtype int8
check "equals convert --dtype int8 byte for byte (heads and tokenizer blobs in the same blocks)" cmp -s "$WORK/q.temb" "$D/bgem3-int8.temb"

# --- search: lexical weights always, ColBERT vectors with --colbert ---
python3 - "$TE_REF/tokenizers/po_public.txt" "$WORK" <<'PY'
import json, sys
lines = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8")][:120]
with open(sys.argv[2] + "/docs.jsonl", "w") as f:
    for i, l in enumerate(lines): f.write(json.dumps({"id": f"d{i}", "text": l}) + "\n")
with open(sys.argv[2] + "/queries.jsonl", "w") as f:
    for i in range(0, 120, 6): f.write(json.dumps({"query": lines[i], "target": f"d{i}"}) + "\n")
PY
expect_rc 0 "index with bge-m3 and --colbert" "$TE_BIN" index -m "$M3" --colbert -o "$WORK/m3.tidx" "$WORK/docs.jsonl"
expect_err_has "keeps the lexical weights and ColBERT vectors" "ColBERT vectors"
expect_rc 0 "search --mode sparse" "$TE_BIN" search -i "$WORK/m3.tidx" -m "$M3" --mode sparse -k 3 "$(sed -n 7p "$TE_REF/tokenizers/po_public.txt")"
check "a text finds itself by its lexical weights" python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); assert r["results"][0]["id"]=="d6", r' "$WORK/out"
expect_rc 0 "search --mode m3" "$TE_BIN" search -i "$WORK/m3.tidx" -m "$M3" --mode m3 -k 3 "$(sed -n 7p "$TE_REF/tokenizers/po_public.txt")"
check "and by m3's three scores" python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); assert r["results"][0]["id"]=="d6" and r["results"][0]["score"] > r["results"][1]["score"], r' "$WORK/out"
expect_rc 0 "--weights 1,0,0 is the dense ranking" "$TE_BIN" search -i "$WORK/m3.tidx" -m "$M3" --mode m3 --weights 1,0,0 -k 3 "Bonjour"
cp "$WORK/out" "$WORK/m3dense.json"
"$TE_BIN" search -i "$WORK/m3.tidx" -m "$M3" --mode vector -k 3 "Bonjour" > "$WORK/vector.json"
check "(the same documents as --mode vector)" python3 -c 'import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
assert [x["id"] for x in a["results"]]==[x["id"] for x in b["results"]], (a, b)' "$WORK/m3dense.json" "$WORK/vector.json"
expect_rc 2 "--weights must be three numbers" "$TE_BIN" search -i "$WORK/m3.tidx" -m "$M3" --mode m3 --weights 1,2 "x"
expect_rc 0 "audit reports sparse and m3" "$TE_BIN" audit -i "$WORK/m3.tidx" -m "$M3" -q "$WORK/queries.jsonl"
expect_out_has "a sparse row" "sparse "
expect_out_has "an m3 row" "m3 "
expect_out_has "and how m3 weighs" "m3 = (0.4 dense + 0.2 sparse + 0.4 ColBERT) / their sum"
expect_rc 0 "an index of a model without the heads" "$TE_BIN" index -m "$D/xlmr-e5.temb" -o "$WORK/e5.tidx" "$WORK/docs.jsonl"
expect_rc 2 "refuses --mode sparse" "$TE_BIN" search -i "$WORK/e5.tidx" -m "$D/xlmr-e5.temb" --mode sparse "x"
expect_err_has "saying why" "the index has no lexical weights"
expect_rc 2 "index --colbert needs the head" "$TE_BIN" index -m "$D/xlmr-e5.temb" --colbert -o "$WORK/x.tidx" "$WORK/docs.jsonl"
check "and writes nothing" test ! -e "$WORK/x.tidx"

# --- the server ---
start_server -m m3="$M3" -m e5="$D/xlmr-e5.temb" || { fail "server starts"; finish; }
for _ in $(seq 50); do curl -s -o /dev/null -w '%{http_code}' "$BASE/health" | grep -q 200 && break; sleep 0.1; done
post "/embed_sparse" 200 /embed_sparse '{"model": "m3", "inputs": ["Hello world", "Bonjour"]}'
"$TE_BIN" embed -m "$M3" --output sparse "Hello world" "Bonjour" > "$WORK/cli.jsonl"
check "TEI's shape, the CLI's weights" python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); c=[json.loads(l) for l in open(sys.argv[2])]
assert len(r)==2, r
for got,want in zip(r,c):
    assert [e["index"] for e in got]==sorted(int(k) for k in want), (got, want)
    assert all(abs(e["value"]-want[str(e["index"])])<1e-6 for e in got)' "$WORK/body" "$WORK/cli.jsonl"
post "/embed_colbert" 200 /embed_colbert '{"model": "m3", "inputs": "Hello world"}'
check "a list of vectors per input" python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); assert len(r)==1 and len(r[0])==3 and len(r[0][0])==64, r' "$WORK/body"
post "/embed_sparse on a model without the head" 400 /embed_sparse '{"model": "e5", "inputs": "x"}'
body_has "says so" "has none"
stop_server "the server stops cleanly"

# --- prompts ---
P="$WORK/e5p"
mkdir -p "$P"
for f in "$(cd "$TE_HF/xlmr-e5" && pwd)"/*; do ln -s "$f" "$P/"; done
cat > "$P/config_sentence_transformers.json" <<'EOF'
{"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": "query"}
EOF
expect_rc 0 "a model with prompts converts" "$TE_BIN" convert "$P" "$WORK/e5p.temb"
expect_rc 0 "info" "$TE_BIN" info "$WORK/e5p.temb"
expect_out_has "shows them" 'prompts:           query "query: " (default), passage "passage: "'
"$TE_BIN" embed -m "$WORK/e5p.temb" --prompt-name passage "a cat" > "$WORK/named"
"$TE_BIN" embed -m "$WORK/e5p.temb" --prefix "passage: " "a cat" > "$WORK/literal"
check "--prompt-name equals the literal prefix" cmp -s "$WORK/named" "$WORK/literal"
"$TE_BIN" embed -m "$WORK/e5p.temb" "a cat" > "$WORK/default"
"$TE_BIN" embed -m "$WORK/e5p.temb" --prefix "query: " "a cat" > "$WORK/query"
check "no prompt named: the default" cmp -s "$WORK/default" "$WORK/query"
check "which differs from the other prompt" sh -c "! cmp -s '$WORK/default' '$WORK/named'"
expect_rc 2 "an unknown prompt name" "$TE_BIN" embed -m "$WORK/e5p.temb" --prompt-name document "a cat"
expect_err_has "lists the model's" "no prompt named 'document' (its prompts: 'query', 'passage')"
expect_rc 2 "--prefix and --prompt-name together" "$TE_BIN" embed -m "$WORK/e5p.temb" --prompt-name query --prefix "x" "a"
"$TE_BIN" embed -m "$D/xlmr-e5.temb" --prefix "passage: " "a cat" > "$WORK/plain"
check "the same weights without prompts embed as given" cmp -s "$WORK/plain" "$WORK/literal"
echo '{"prompts": {"query": "query: "}, "default_prompt_name": "passage"}' > "$P/config_sentence_transformers.json"
expect_rc 1 "a default that is not a prompt" "$TE_BIN" convert "$P" "$WORK/bad.temb"
expect_err_has "is refused naming the file" "config_sentence_transformers.json: default_prompt_name 'passage' is not one of its prompts"

start_server -m e5p="$WORK/e5p.temb" || { fail "server starts"; finish; }
for _ in $(seq 50); do curl -s -o /dev/null -w '%{http_code}' "$BASE/health" | grep -q 200 && break; sleep 0.1; done
post "/embed with prompt_name" 200 /embed '{"inputs": "a cat", "prompt_name": "passage"}'
check "equals the CLI's --prompt-name" python3 -c 'import json,sys
a=json.load(open(sys.argv[1]))[0]; b=json.load(open(sys.argv[2]))
assert max(abs(x-y) for x,y in zip(a,b))<1e-6' "$WORK/body" "$WORK/named"
post "/embed without one" 200 /embed '{"inputs": "a cat"}'
check "uses the default prompt" python3 -c 'import json,sys
a=json.load(open(sys.argv[1]))[0]; b=json.load(open(sys.argv[2]))
assert max(abs(x-y) for x,y in zip(a,b))<1e-6' "$WORK/body" "$WORK/default"
post "an unknown prompt_name" 400 /embed '{"inputs": "a cat", "prompt_name": "nope"}'
body_has "names it" "no prompt named 'nope'"
stop_server "the server stops cleanly"
finish
