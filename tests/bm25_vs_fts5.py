#!/usr/bin/env python3
"""bm25_vs_fts5.py DOCS.jsonl QUERIES.jsonl OURS.jsonl - MRR@10 of tinyembed's
BM25 (OURS: `tinyembed search --mode bm25 -k 10` output, one line per query)
against SQLite FTS5's bm25() (Debian's sqlite3 command) on the same documents
and queries. FTS5 uses the unicode61 tokenizer with diacritics removed and
each query as an OR of its words, so both rank by Okapi BM25 over the same
words. Prints both and exits 1 if they differ by more than 0.03.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

TOLERANCE = 0.03
K = 10


def mrr(ranked, targets):
    total = 0.0
    for got, want in zip(ranked, targets):
        for i, doc in enumerate(got[:K]):
            if doc == want:
                total += 1.0 / (i + 1)
                break
    return total / len(targets)


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def fts5_ranked(docs, queries):
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "run.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write("CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2');\n")
            f.write("BEGIN;\n")
            for d in docs:
                f.write("INSERT INTO t(id, body) VALUES (%s, %s);\n" % (sql_str(d["id"]), sql_str(d["text"])))
            f.write("COMMIT;\n.mode list\n.separator \\t\n")
            for qi, q in enumerate(queries):
                words = [w for w in re.split(r"[\W_]+", q["query"].lower()) if w]
                match = " OR ".join('"%s"' % w.replace('"', '""') for w in sorted(set(words)))
                f.write("SELECT %d, id FROM t WHERE t MATCH %s ORDER BY bm25(t) LIMIT %d;\n" % (qi, sql_str(match), K))
        out = subprocess.run(["sqlite3", os.path.join(tmp, "db"), ".read " + script], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("bm25_vs_fts5.py: sqlite3 failed: " + out.stderr)
    ranked = [[] for _ in queries]
    for line in out.stdout.splitlines():
        qi, doc = line.split("\t", 1)
        ranked[int(qi)].append(doc)
    return ranked


def main():
    docs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
    queries = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
    ours = [json.loads(l) for l in open(sys.argv[3], encoding="utf-8") if l.strip()]
    if len(ours) != len(queries) or any(o["query"] != q["query"] for o, q in zip(ours, queries)):
        sys.exit("bm25_vs_fts5.py: %s does not answer the queries in order" % sys.argv[3])
    targets = [q["target"] for q in queries]
    a = mrr([[r["id"] for r in o["results"]] for o in ours], targets)
    b = mrr(fts5_ranked(docs, queries), targets)
    print("BM25 MRR@%d on %d documents, %d queries: tinyembed %.4f, SQLite FTS5 %.4f (difference %+.4f, allowed %.2f)"
          % (K, len(docs), len(queries), a, b, a - b, TOLERANCE))
    sys.exit(0 if abs(a - b) <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
