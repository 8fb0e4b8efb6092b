#!/bin/sh
# cli_classify.sh - classify, rerank and embed --prefix / --max-len as a user
# runs them: outputs match the arch goldens through the CLI, scores are
# sorted, truncation is reported, wrong model kinds and converter inputs
# fail with a message that names the problem.
. "$(dirname "$0")/cli_lib.sh"
D="$TE_TESTDATA"
G="$TE_REF/arch/golden"

python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["text"])' "$G/distilbert-sst2.jsonl" > "$WORK/texts.txt"
"$TE_BIN" classify -m "$D/distilbert-sst2.temb" < "$WORK/texts.txt" > "$WORK/cls.json" 2>"$WORK/err"
check "classify (stdin) matches distilbert-sst2.jsonl: probabilities within 1e-4, best first" python3 - "$G/distilbert-sst2.jsonl" "$WORK/cls.json" <<'PY'
import json, sys
gold = [json.loads(l) for l in open(sys.argv[1])]
mine = [json.loads(l) for l in open(sys.argv[2])]
assert len(gold) == len(mine) == 98, (len(gold), len(mine))
names = ["NEGATIVE", "POSITIVE"]
for g, m in zip(gold, mine):
    assert [x["score"] for x in m] == sorted((x["score"] for x in m), reverse=True)
    got = {x["label"]: x["score"] for x in m}
    assert sorted(got) == names
    for name, p in zip(names, g["probs"]):
        assert abs(got[name] - p) <= 1e-4, (got, g["probs"])
    assert m[0]["label"] == g["label"]
PY
expect_err_has "classify notes the texts cut at the model's limit" "note: 3 of 98 texts were cut at 128 tokens (the model's limit)"

expect_rc 0 "classify --raw --top-k 1 prints the best logit" "$TE_BIN" classify -m "$D/distilbert-sst2.temb" --raw -k 1 "I love it"
check "one label per line with --top-k 1" python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert len(r)==1 and set(r[0])=={"label","score"}' "$WORK/out"

python3 -c 'import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
q=rows[0]["pair"][0]
open(sys.argv[2],"w").write(q)
open(sys.argv[3],"w").write("".join(r["pair"][1]+"\n" for r in rows))' "$G/ce-minilm-pairs.jsonl" "$WORK/q.txt" "$WORK/passages.txt"
"$TE_BIN" rerank -m "$D/ce-minilm.temb" "$(cat "$WORK/q.txt")" < "$WORK/passages.txt" > "$WORK/rr.json" 2>"$WORK/err"
check "rerank sorts by score and its first pair matches the golden (score within 1e-4)" python3 - "$G/ce-minilm-pairs.jsonl" "$WORK/rr.json" <<'PY'
import json, sys
gold = [json.loads(l) for l in open(sys.argv[1])]
mine = [json.loads(l) for l in open(sys.argv[2])]
assert len(mine) == len(gold)
scores = [m["score"] for m in mine]
assert scores == sorted(scores, reverse=True)
assert sorted(m["index"] for m in mine) == list(range(len(gold)))
first = [m for m in mine if m["index"] == 0][0]
assert abs(first["score"] - gold[0]["probs"][0]) <= 1e-4, (first, gold[0]["probs"])
PY
expect_rc 0 "rerank takes texts after -- that start with a dash" "$TE_BIN" rerank -m "$D/ce-minilm.temb" "query" -- "-a dash" "plain"
expect_out_has "both texts are ranked" '"index": 1'
"$TE_BIN" rerank -m "$D/ce-minilm.temb" --raw "query" "a passage" > "$WORK/raw.json"
"$TE_BIN" rerank -m "$D/ce-minilm.temb" "query" "a passage" > "$WORK/sig.json"
check "rerank's default score is the sigmoid of --raw's logit" python3 -c 'import json,math,sys
r=json.load(open(sys.argv[1]))["score"]; s=json.load(open(sys.argv[2]))["score"]
assert abs(s-1/(1+math.exp(-r)))<1e-6' "$WORK/raw.json" "$WORK/sig.json"

expect_rc 2 "embed on a classifier is refused" "$TE_BIN" embed -m "$D/distilbert-sst2.temb" "text"
expect_err_has "and says what to run instead" "is a classifier, not an embedding model: use te_classify (tinyembed classify)"
expect_rc 2 "classify on an embedding model is refused" "$TE_BIN" classify -m "$D/nomic-mean.temb" "text"
expect_err_has "and says why" "is an embedding model, not a classifier"
expect_rc 2 "rerank on a two-label classifier is refused" "$TE_BIN" rerank -m "$D/distilbert-sst2.temb" "q" "text"

"$TE_BIN" embed -m "$D/nomic-mean.temb" "search_query: what is rotary" > "$WORK/a.json"
"$TE_BIN" embed -m "$D/nomic-mean.temb" --prefix "search_query: " "what is rotary" > "$WORK/b.json"
check "embed --prefix STR equals the text with STR prepended" cmp -s "$WORK/a.json" "$WORK/b.json"
expect_rc 0 "embed --max-len 8 on a long text" "$TE_BIN" embed -m "$D/nomic-mean.temb" --max-len 8 "one two three four five six seven eight nine" "short"
expect_err_has "embed says how many texts were cut at how many tokens" "note: 1 of 2 texts were cut at 8 tokens (--max-len)"
"$TE_BIN" embed -m "$D/nomic-mean.temb" "short" > "$WORK/short.json" 2>"$WORK/err"
check "nothing is said when nothing was cut" test ! -s "$WORK/err"
expect_rc 2 "--max-len 1 is refused" "$TE_BIN" embed -m "$D/nomic-mean.temb" --max-len 1 "x"

expect_rc 0 "info shows a classifier's kind and labels" "$TE_BIN" info "$D/distilbert-sst2.temb"
expect_out_has "kind line" "kind:              classifier"
expect_out_has "labels line" "labels:            2 (scores: softmax): NEGATIVE POSITIVE"
expect_rc 0 "info shows NomicBERT's position scheme" "$TE_BIN" info "$D/nomic-mean.temb"
expect_out_has "rotary, gated" "nomic_bert (rotary positions, gated feed-forward)"

# The converter refuses what it cannot run, naming it.
cp -r "$TE_HF/distilbert-sst2" "$WORK/nohead"
python3 - "$WORK/nohead/model.safetensors" <<'PY'
import json, struct, sys
p = sys.argv[1]
b = open(p, "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
del h["classifier.weight"]
hj = json.dumps(h).encode()
hj += b" " * ((8 - len(hj) % 8) % 8)
open(p, "wb").write(struct.pack("<Q", len(hj)) + hj + b[8 + n:])
PY
expect_rc 1 "a classifier without its head tensor is refused" "$TE_BIN" convert "$WORK/nohead" "$WORK/x.temb"
expect_err_has "naming the tensor" "tensor classifier.weight is missing"
check "and leaves no output file" test ! -e "$WORK/x.temb"
sed 's/"DistilBertForSequenceClassification"/"DistilBertForTokenClassification"/' "$TE_HF/distilbert-sst2/config.json" > "$WORK/tok.json"
cp -r "$TE_HF/distilbert-sst2" "$WORK/tokcls" && cp "$WORK/tok.json" "$WORK/tokcls/config.json"
expect_rc 1 "a head tinyembed cannot run is refused" "$TE_BIN" convert "$WORK/tokcls" "$WORK/x.temb"
expect_err_has "naming the architecture" "architecture DistilBertForTokenClassification is not supported"
cp -r "$TE_HF/nomic-mean" "$WORK/prenorm"
sed 's/"prenorm": false/"prenorm": true/' "$TE_HF/nomic-mean/config.json" > "$WORK/prenorm/config.json"
expect_rc 1 "a NomicBERT variant tinyembed cannot run is refused" "$TE_BIN" convert "$WORK/prenorm" "$WORK/x.temb"
expect_err_has "naming the setting" "prenorm = true is not supported"

# A cross-encoder whose config names its activation keeps it (both spellings sentence-transformers wrote).
cp -r "$TE_HF/ce-minilm" "$WORK/ce-id"
python3 - "$TE_HF/ce-minilm/config.json" "$WORK/ce-id/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["sentence_transformers"] = {"activation_fn": "torch.nn.modules.linear.Identity", "version": "4.0.1"}
json.dump(c, open(sys.argv[2], "w"))
PY
"$TE_BIN" convert "$WORK/ce-id" "$WORK/ce-id.temb" >/dev/null 2>&1
expect_rc 0 "info on a cross-encoder with sentence_transformers.activation_fn Identity" "$TE_BIN" info "$WORK/ce-id.temb"
expect_out_has "its scores are the logits" "labels:            1 (scores: identity)"
"$TE_BIN" rerank -m "$WORK/ce-id.temb" "query" "a passage" > "$WORK/id.json"
"$TE_BIN" rerank -m "$D/ce-minilm.temb" --raw "query" "a passage" > "$WORK/raw2.json"
check "so rerank prints the logit" cmp -s "$WORK/id.json" "$WORK/raw2.json"
python3 - "$TE_HF/ce-minilm/config.json" "$WORK/ce-id/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["sbert_ce_default_activation_function"] = "torch.nn.modules.activation.Tanh"
json.dump(c, open(sys.argv[2], "w"))
PY
expect_rc 1 "an activation tinyembed does not know is refused" "$TE_BIN" convert "$WORK/ce-id" "$WORK/x.temb"
expect_err_has "naming it" "sbert_ce_default_activation_function 'torch.nn.modules.activation.Tanh' is not supported"

"$TE_BIN" quantize "$D/distilbert-sst2.temb" "$WORK/q8.temb" >/dev/null 2>&1
check "quantize of a classifier equals convert --dtype int8, byte for byte" cmp -s "$WORK/q8.temb" "$D/distilbert-sst2-int8.temb"
finish
