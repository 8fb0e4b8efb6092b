#!/usr/bin/env python3
"""make_variants.py - tokenizer folders for the tokenizer stages no public
Unigram file uses, derived from ../shared/ref/tokenizers/unigram-xlmr (the
same 31,998 pieces and charsmap), each a tokenizer.json the real Hugging Face
`tokenizers` loads:

  bytefallback  256 <0xNN> pieces appended (ids 31,998..32,253, score 0 as
                sentencepiece gives its byte pieces), byte_fallback on, and
                Llama's decoder (Replace, ByteFallback, Fuse, Strip)
  albert        ALBERT's normalizer: Replace ``/'' with ", NFKD,
                StripAccents, Lowercase, the charsmap, Replace " {2,}";
                the 2020 pre-tokenizer (WhitespaceSplit, Metaspace)
  nfkc-roberta  no charsmap and no pre-tokenizer: Strip, NFKC, Lowercase,
                Prepend "▁", Replace " " with "▁" (one Viterbi over the
                whole text); RobertaProcessing

  python3 tests/data/unigram/make_variants.py SHARED_TOKENIZERS OUT_DIR
Stdlib only; the same output every run. tests/data/unigram/make_goldens.sh
tokenizes with them to make the goldens; the Makefile makes them for tests.
"""
import json
import os
import shutil
import sys

META = "\u2581"


def replace(pattern, content, regex=False):
    return {"type": "Replace", "pattern": {"Regex" if regex else "String": pattern}, "content": content}


def bytefallback(t):
    t["model"]["vocab"] += [["<0x%02X>" % b, 0.0] for b in range(256)]
    t["model"]["byte_fallback"] = True
    t["decoder"] = {"type": "Sequence", "decoders": [
        replace(META, " "), {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}


def albert(t):
    charsmap = t["normalizer"]["normalizers"][0]
    assert charsmap["type"] == "Precompiled"
    t["normalizer"] = {"type": "Sequence", "normalizers": [
        replace("``", '"'), replace("''", '"'), {"type": "NFKD"}, {"type": "StripAccents"},
        {"type": "Lowercase"}, charsmap, replace(" {2,}", " ", regex=True)]}
    t["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": META, "add_prefix_space": True}]}


def nfkc_roberta(t):
    t["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Strip", "strip_left": True, "strip_right": True}, {"type": "NFKC"}, {"type": "Lowercase"},
        {"type": "Prepend", "prepend": META}, replace(" ", META)]}
    t["pre_tokenizer"] = None
    t["post_processor"] = {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": True, "add_prefix_space": True}


VARIANTS = {"bytefallback": bytefallback, "albert": albert, "nfkc-roberta": nfkc_roberta}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src = os.path.join(sys.argv[1], "unigram-xlmr")
    for name, change in VARIANTS.items():
        out = os.path.join(sys.argv[2], "unigram-" + name)
        os.makedirs(out, exist_ok=True)
        t = json.load(open(os.path.join(src, "tokenizer.json"), encoding="utf-8"))
        change(t)
        with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(t, f, ensure_ascii=False)
        for other in ("tokenizer_config.json", "special_tokens_map.json"):
            shutil.copyfile(os.path.join(src, other), os.path.join(out, other))


if __name__ == "__main__":
    main()
