#!/usr/bin/env python3
"""structure.py BUILD_DIR - the shape of the code, checked (make check, make test).

A unit is a source file without its extension (src/model, tools/serve/serve_api).
Unit A uses unit B when A's object file needs a name that only B's defines
(nm of BUILD_DIR/obj); that is what links, so the graph is exact. Checked:

  no circles      no unit uses itself through others (src/ is a stack, and so
                  are the programs in tools/);
  public API      tools/ use the library only through the names the public
                  headers (include/*.h) declare;
  function size   no function in src/ or tools/ is longer than 80 lines (the
                  generated Unicode tables aside).

Prints PASS/FAIL lines as the C harness does; exits 1 on a failure.
Python 3 standard library and binutils' nm.
"""
import collections
import os
import re
import subprocess
import sys

MAX_FUNCTION_LINES = 80
GENERATED = {"src/unicode_tables.c"}
failed = False


def report(ok, name, detail=""):
    global failed
    print(("PASS " if ok else "FAIL ") + name)
    if not ok:
        failed = True
        if detail:
            print(detail)


def symbols(obj):
    """(defined, undefined) global names of an object file."""
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRCV":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
    return defined, undefined


def unit_graph(build):
    """{unit: set of units it uses}, and {unit: {name it takes: the unit it takes it from}}."""
    objdir = os.path.join(build, "obj")
    defined, undefined = {}, {}
    for root, _, files in os.walk(objdir):
        for f in files:
            if f.endswith(".o"):
                unit = os.path.relpath(os.path.join(root, f[:-2]), objdir)
                defined[unit], undefined[unit] = symbols(os.path.join(root, f))
    owner = {}
    for unit, names in defined.items():
        for n in names:
            owner[n] = unit
    uses, takes = collections.defaultdict(set), collections.defaultdict(dict)
    for unit, names in undefined.items():
        for n in names:
            if n in owner and owner[n] != unit:
                uses[unit].add(owner[n])
                takes[unit][n] = owner[n]
    return {u: uses[u] for u in defined}, takes


def circles(graph):
    """Strongly connected components of more than one unit (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def public_names():
    names = set()
    for h in os.listdir("include"):
        text = open(os.path.join("include", h), encoding="utf-8").read()
        names |= set(re.findall(r"\b(te_[a-z0-9_]+)\s*\(", text))
    return names


def functions(path):
    """(line, name, length) of each function defined in a C file: from a line
    at column 0 that opens a declarator, not ending in ';', to the next '}' at
    column 0 (the project's style, which clang-format keeps)."""
    start_rx = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(\w+)\s*\(")
    lines = open(path, encoding="utf-8").read().split("\n")
    out, name, begin = [], None, 0
    for i, line in enumerate(lines):
        m = start_rx.match(line)
        if name is None and m and not line.startswith(("typedef", "struct", "enum", "static const")) \
                and not line.rstrip().endswith(";"):
            name, begin = m.group(1), i
        elif name is not None and line.startswith("}"):
            out.append((begin + 1, name, i - begin + 1))
            name = None
    return out


def long_functions(tops=("src", "tools")):
    """(file, line, name, length) of every function over the limit."""
    out = []
    for top in tops:
        for root, _, files in os.walk(top):
            for f in sorted(files):
                path = os.path.join(root, f)
                if f.endswith(".c") and path not in GENERATED:
                    out += [(path, ln, name, n) for ln, name, n in functions(path) if n > MAX_FUNCTION_LINES]
    return out


def self_test():
    """The checks find what they look for: a circle, a long function."""
    import tempfile
    report(circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]],
           "structure.py finds a circle of three units")
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "x.c"), "w") as f:
            f.write("static int f(int a);\nstatic int f(int a) {\n" + "    a++;\n" * 90 + "    return a;\n}\n")
        report([(n, k) for _, n, k in functions(os.path.join(d, "x.c"))] == [("f", 93)],
               "structure.py measures a 93-line function")


def main():
    self_test()
    build = sys.argv[1]
    graph, takes = unit_graph(build)
    if not any(u.startswith("src/") for u in graph) or not any(u.startswith("tools/") for u in graph):
        report(False, "the object files of src/ and tools/ are in %s/obj (build first)" % build)
        sys.exit(1)
    found = circles(graph)
    report(not found, "no circles among the %d units of src/ and tools/" % len(graph),
           "\n".join("  circle: " + " <-> ".join(c) for c in found))
    api = public_names()
    private = sorted("  %s uses %s (%s)" % (u, n, src) for u, names in takes.items() if u.startswith("tools/")
                     for n, src in names.items() if src.startswith("src/") and n not in api)
    report(not private, "tools/ reach the library only through the public headers", "\n".join(private))
    too_long = long_functions()
    report(not too_long, "no function over %d lines in src/ and tools/" % MAX_FUNCTION_LINES,
           "\n".join("  %s:%d: %s has %d lines" % t for t in too_long))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
