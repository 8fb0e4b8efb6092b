#!/bin/sh
# Regenerates tests/data/tokenizer_ref.jsonl with the reference implementation
# (the Hugging Face `tokenizers` Rust library, through its Node binding
# @anush008/tokenizers, as ../shared/peers/ort installs it). A maintainer tool:
# `make test` only reads the committed output.
#   sh tests/data/make_tokenizer_ref.sh PATH/TO/node_modules
set -eu
mods=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$here/gen_tokenizer_cases.py" 11 700 > "$work/cases.jsonl"
# The same tokenizer with other normalizer settings.
python3 - "$work" <<'PY'
import json, sys
base = json.load(open("../shared/ref/minilm-tokenizer/tokenizer.json"))
variants = {"default": {}, "cased": {"lowercase": False, "strip_accents": False},
            "lower_nostrip": {"lowercase": True, "strip_accents": False},
            "strip_only": {"lowercase": False, "strip_accents": True},
            "nocjk": {"handle_chinese_chars": False}, "noclean": {"clean_text": False}}
for name, change in variants.items():
    t = json.loads(json.dumps(base))
    t["normalizer"].update(change)
    json.dump(t, open("%s/%s.json" % (sys.argv[1], name), "w"))
PY
cat > "$work/ref.js" <<JS
const fs = require("fs");
const { Tokenizer } = require("$mods/@anush008/tokenizers");
const names = ["default", "cased", "lower_nostrip", "strip_only", "nocjk", "noclean"];
(async () => {
  const toks = names.map(n => { const t = Tokenizer.fromFile("$work/" + n + ".json"); t.disablePadding(); t.setTruncation(100000); return t; });
  const out = [];
  for (const line of fs.readFileSync("$work/cases.jsonl", "utf8").split("\n").filter(l => l)) {
    const text = JSON.parse(line), ids = {};
    for (let i = 0; i < names.length; i++) ids[names[i]] = Array.from((await toks[i].encode(text, null)).getIds());
    out.push(JSON.stringify({text, ids}));
  }
  fs.writeFileSync("$here/tokenizer_ref.jsonl", out.join("\n") + "\n");
})();
JS
node "$work/ref.js"
echo "wrote $here/tokenizer_ref.jsonl" >&2
