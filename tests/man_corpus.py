#!/usr/bin/env python3
"""man_corpus.py OUT_DIR - a search test corpus from text no one here wrote:
the section 7 manual pages of Debian's `manpages` package (overviews such as
signal(7), tcp(7), unicode(7)), rendered with `man` at 80 columns without
hyphenation.

Writes OUT_DIR/docs.jsonl ({"id": "signal.7", "text": the page without its
NAME section}) and OUT_DIR/queries.jsonl ({"query": the NAME line's
description, e.g. "overview of signals", "target": "signal.7"}): known-item
queries whose words are not copied from the document they target. Pages
that render to the same text (aliases) are kept once, under the first name
in sorted order. The result depends only on the installed `manpages`
version; the same machine always gives the same files.
"""
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys

MAN_DIR = "/usr/share/man/man7"
MIN_PAGES = 100


def package_pages():
    """The man7 pages the `manpages` package ships, sorted."""
    out = subprocess.run(["dpkg", "-L", "manpages"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("man_corpus.py: the Debian package `manpages` is not installed (make deps installs manpages and man-db)")
    return sorted(p for p in out.stdout.split("\n") if p.startswith(MAN_DIR + "/") and p.endswith(".7.gz"))


def render(path):
    env = dict(os.environ, MANWIDTH="80", MANROFFOPT="-rHY=0", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    out = subprocess.run(["man", "-E", "UTF-8", "-P", "cat", "-l", path], capture_output=True, env=env)
    if out.returncode != 0:
        return None
    text = out.stdout.decode("utf-8", "replace")
    return re.sub(".\b", "", text)  # overstrike bold and underline, if any


def split_name(text):
    """(description from the NAME section, the page without the NAME section and title lines)."""
    lines = text.split("\n")
    body, desc, i = [], None, 0
    while i < len(lines):
        if lines[i].strip() == "NAME":
            i += 1
            name = []
            while i < len(lines) and (lines[i].startswith(" ") or not lines[i].strip()):
                name.append(lines[i].strip())
                i += 1
            joined = " ".join(x for x in name if x)
            if " - " in joined:
                desc = joined.split(" - ", 1)[1].strip()
            continue
        body.append(lines[i])
        i += 1
    # The first and last lines are the page's header and footer (its name and date).
    body = [l for l in body if l.strip()][1:-1]
    return desc, "\n".join(body)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: man_corpus.py OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    seen, docs, queries = set(), [], []
    for path in package_pages():
        if not os.path.exists(path):
            continue
        text = render(path)
        if not text:
            continue
        desc, body = split_name(text)
        digest = hashlib.sha256(body.encode()).hexdigest()
        if not desc or len(body) < 200 or digest in seen:
            continue
        seen.add(digest)
        doc_id = os.path.basename(path)[: -len(".gz")]
        docs.append({"id": doc_id, "text": body})
        queries.append({"query": desc, "target": doc_id})
    if len(docs) < MIN_PAGES:
        sys.exit("man_corpus.py: only %d pages rendered from %s (need %d): are man-db and manpages installed, "
                 "and /usr/share/man not excluded by dpkg?" % (len(docs), MAN_DIR, MIN_PAGES))
    with open(os.path.join(out_dir, "docs.jsonl"), "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    with open(os.path.join(out_dir, "queries.jsonl"), "w", encoding="utf-8") as f:
        for q in queries:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    print("man_corpus.py: %d pages, %d bytes of text" % (len(docs), sum(len(d["text"]) for d in docs)))


if __name__ == "__main__":
    main()
