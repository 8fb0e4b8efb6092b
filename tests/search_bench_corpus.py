#!/usr/bin/env python3
"""search_bench_corpus.py MAN_DOCS.jsonl OUT_DIR [N] - the corpora behind the
search speed figures (make bench-search), made from the man pages of
tests/man_corpus.py with a fixed seed:

  long.jsonl   N man-page-sized documents: pieces (8 lines) of the real pages drawn
               at random until the document reaches the size of a real page
               (sizes drawn from the pages' own), so word statistics are
               those of manual pages
  short.jsonl  N short documents (two consecutive lines of a page), for the
               vector index: its search speed depends on N and the vector
               length, not on the text; short.txt has the same texts alone
  queries.txt  the pages' NAME descriptions, one per line
"""
import json
import os
import random
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 100000
    rng = random.Random(20261127)
    pages = [json.loads(l) for l in open(src, encoding="utf-8")]
    # Pieces of 8 lines (the rendered pages have no blank lines left to split paragraphs at).
    paragraphs = []
    for d in pages:
        ls = d["text"].split("\n")
        paragraphs += ["\n".join(ls[i:i + 8]) for i in range(0, len(ls), 8)]
    sizes = [len(d["text"]) for d in pages]
    lines = [l.strip() for d in pages for l in d["text"].split("\n") if len(l.strip()) >= 20]
    with open(os.path.join(out, "long.jsonl"), "w", encoding="utf-8") as f:
        for i in range(n):
            target, parts, size = rng.choice(sizes), [], 0
            while size < target:
                p = rng.choice(paragraphs)
                parts.append(p)
                size += len(p) + 1
            f.write(json.dumps({"id": "doc%d" % i, "text": "\n".join(parts)}, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "short.jsonl"), "w", encoding="utf-8") as f, \
            open(os.path.join(out, "short.txt"), "w", encoding="utf-8") as t:
        for i in range(n):
            j = rng.randrange(len(lines) - 1)
            text = lines[j] + " " + lines[j + 1]
            f.write(json.dumps({"id": "line%d" % i, "text": text}, ensure_ascii=False) + "\n")
            t.write(text + "\n")
    man_dir = os.path.dirname(src)
    with open(os.path.join(out, "queries.txt"), "w", encoding="utf-8") as f:
        for l in open(os.path.join(man_dir, "queries.jsonl"), encoding="utf-8"):
            f.write(json.loads(l)["query"] + "\n")


if __name__ == "__main__":
    main()
