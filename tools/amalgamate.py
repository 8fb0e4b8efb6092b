#!/usr/bin/env python3
"""amalgamate.py - the library as one C file, the SQLite way (make amalgamation).

    python3 tools/amalgamate.py OUT_DIR

writes OUT_DIR/tinyembed.c (the public header, every internal header once,
then every src/ file) and OUT_DIR/tinyembed.h (the public header), so that

    cc -std=c11 -O2 -Wall -Werror -c tinyembed.c

builds the whole library with nothing else. Each source file stays as it is
but for two things a single translation unit needs:
  - a file-local name (static function or variable, typedef, struct tag)
    that another file also defines gets the file's name as a prefix inside
    that file (not after `.` or `->`, so member names stay, nor in strings
    and comments); names a macro pastes together are not seen, so the
    sources keep those unique (ukernel_avx2_1, ...);
  - the macros a .c file defines are #undef'ed after it.
The SIMD kernel files carry their instruction set in a target pragma, so the
one file still dispatches at run time as the library does.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE_DIRS = ["src", "src/kernels", "include"]

# Code, or a literal / comment left untouched when renaming.
TOKEN = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|/\*.*?\*/|//[^\n]*', re.S)
DEFS = [
    re.compile(r"^static\s+(?:inline\s+)?(?:__attribute__\(\(.*?\)\)\s+)?[\w\s\*]*?\b(\w+)\s*\((?!\s*\*)", re.M),
    re.compile(r"^static\s+[\w\s\*]*?\(\s*\*\s*(?:const\s+)?(\w+)", re.M),
    re.compile(r"^static\s+(?:const\s+)?[\w\s\*]*?\b(\w+)\s*(?:\[[^\]]*\]\s*)*(?:=|;)", re.M),
    re.compile(r"^typedef\s+(?:struct|enum|union)\s+(\w+)", re.M),
    re.compile(r"^(?:struct|enum|union)\s+(\w+)\s*\{", re.M),
    re.compile(r"^\}\s*(\w+)\s*;", re.M),
    re.compile(r"^typedef\s+[^;{]*?\b(\w+)\s*;", re.M),
    re.compile(r"^typedef\s+[^;{]*?\(\s*\*\s*(\w+)\s*\)", re.M),
]
MACRO = re.compile(r"^\s*#\s*define\s+(\w+)", re.M)


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def code_only(text):
    return TOKEN.sub(lambda m: " " * len(m.group(0)) if m.group(0)[0] in "/" else '""', text)


def local_names(text):
    code = code_only(text)
    names = set()
    for rx in DEFS:
        names.update(rx.findall(code))
    return names


def rename(text, names, prefix):
    """Renames each of `names` to prefix__name outside literals and
    comments, except after '.' or '->'."""
    if not names:
        return text
    rx = re.compile(r"(?<![\w.])(?<!->)\b((?:" + "|".join(sorted(names)) + r"))\b")
    out, pos = [], 0
    for m in TOKEN.finditer(text):
        out.append(rx.sub(lambda k: prefix + "__" + k.group(1), text[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(rx.sub(lambda k: prefix + "__" + k.group(1), text[pos:]))
    return "".join(out)


class Amalgamation:
    def __init__(self):
        self.done = set()
        self.parts = []

    def find(self, name, here):
        for d in [os.path.dirname(here)] + INCLUDE_DIRS:
            rel = os.path.normpath(os.path.join(d, name))
            if os.path.exists(os.path.join(ROOT, rel)):
                return rel
        raise SystemExit("amalgamate.py: %s (included by %s) not found" % (name, here))

    def inline(self, rel, text):
        """Appends text, replacing each local #include by that file (once)."""
        self.parts.append("/************** %s **************/\n" % rel)
        for line in text.splitlines(keepends=True):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                self.parts.append(line)
                continue
            inc = self.find(m.group(1), rel)
            if inc not in self.done:
                self.done.add(inc)
                self.inline(inc, read(inc))
                self.parts.append("/************** (back in %s) **************/\n" % rel)


def sources():
    out = []
    for d in ("src", "src/kernels"):
        out += sorted(os.path.join(d, f) for f in os.listdir(os.path.join(ROOT, d)) if f.endswith(".c"))
    return out


def version():
    m = re.search(r'#define TE_VERSION_STRING "([^"]+)"', read("include/tinyembed.h"))
    try:
        rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                             text=True).stdout.strip()
    except OSError:
        rev = ""
    return m.group(1) + (" (" + rev + ")" if rev else "")


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: amalgamate.py OUT_DIR")
    out_dir = sys.argv[1]
    srcs = sources()
    texts = {s: read(s) for s in srcs}
    owners = {}
    for s, t in texts.items():
        for n in local_names(t):
            owners.setdefault(n, []).append(s)
    clashes = {n for n, files in owners.items() if len(files) > 1}
    a = Amalgamation()
    a.parts.append(
        "/*\n * tinyembed.c - the whole tinyembed library %s in one file, made by\n"
        " * tools/amalgamate.py from the repository's src/ (edit those, not this).\n"
        " *   cc -std=c11 -O2 -c tinyembed.c      (link with -lm -pthread)\n"
        " * tinyembed.h beside it is the API and its manual (with the headers it includes).\n */\n"
        "#ifndef _GNU_SOURCE\n#define _GNU_SOURCE /* mmap flags, pthread and CPU-count extensions */\n#endif\n"
        % version())
    a.done.add("include/tinyembed.h")
    a.inline("include/tinyembed.h", read("include/tinyembed.h"))
    for s in srcs:
        stem = os.path.splitext(os.path.basename(s))[0]
        a.inline(s, rename(texts[s], local_names(texts[s]) & clashes, stem))
        macros = sorted(set(MACRO.findall(code_only(texts[s]))))
        if macros:
            a.parts.append("".join("#undef %s\n" % m for m in macros))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tinyembed.c"), "w", encoding="utf-8") as f:
        f.write("".join(a.parts))
    for h in sorted(os.listdir(os.path.join(ROOT, "include"))):  # the public headers, as they are
        with open(os.path.join(out_dir, h), "w", encoding="utf-8") as f:
            f.write(read(os.path.join("include", h)))


if __name__ == "__main__":
    main()
