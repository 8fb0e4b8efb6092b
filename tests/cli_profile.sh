#!/bin/sh
# cli_profile.sh - `profile` and `info --status` as a user runs them: the
# JSON schema is what the command documents, a planted regression fails a
# --baseline comparison and a planted improvement does not, --cold evicts.
. "$(dirname "$0")/cli_lib.sh"
# A private copy: --cold evicts it and the checks read its residency, which a
# test reading the shared file beside this one (make test runs two at a time) would change.
cp "$TE_TESTDATA/minilm-mean.temb" "$WORK/minilm-mean.temb"
M="$WORK/minilm-mean.temb"

expect_rc 0 "profile --cold --json runs" "$TE_BIN" profile -m "$M" --runs 2 --cold --json "$WORK/p.json"
expect_out_has "table names the first-encode stage" "first_encode"
check "profile --json follows the documented schema; --cold evicted the file or said it could not" python3 - "$WORK/p.json" "$WORK/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["tinyembed_profile"] == 1 and d["runs"] == 2
c = d["configs"]
assert len(c) == 1 and c[0]["strategy"] == "lazy" and c[0]["cache"] == "cold" and c[0]["warmup"] is False
# eviction can fail on some filesystems; then the table must say so
assert c[0]["evicted"] is True or "eviction FAILED" in open(sys.argv[2]).read()
for s in ("exec", "open", "tokenizer", "first_encode", "encode_mean", "total_first"):
    st = c[0]["stages"][s]
    assert 0 < st["min"] <= st["median"] <= st["max"], (s, st)
    assert st["stdev"] >= 0
assert c[0]["stages"]["total_first"]["min"] >= c[0]["stages"]["first_encode"]["min"]
for m in ("peak_rss_kb", "major_faults", "minor_faults", "file_resident_kb"):
    assert m in c[0]["memory"], m
# from a cold cache, lazy never reads the unused rows of the word table
import os
if c[0]["evicted"]:
    assert c[0]["memory"]["file_resident_kb"]["max"] * 1024 < os.path.getsize(d["model"])
PY

# Planted regression: a baseline 100x faster than anything real must fail;
# a baseline 100x slower must pass.
scale() { python3 - "$WORK/p.json" "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for c in d["configs"]:
    for st in c["stages"].values():
        for k in st:
            st[k] *= float(sys.argv[2])
json.dump(d, open(sys.argv[3], "w"))
PY
}
scale 0.01 "$WORK/fast.json"
scale 100 "$WORK/slow.json"
expect_rc 1 "a planted regression exits 1" "$TE_BIN" profile -m "$M" --runs 2 --cold --baseline "$WORK/fast.json"
expect_out_has "the regressed stage is marked" "SLOWER"
expect_out_has "the verdict is printed" "regression: some stage is slower"
expect_rc 0 "no regression exits 0" "$TE_BIN" profile -m "$M" --runs 2 --cold --baseline "$WORK/slow.json"
expect_out_has "no regression is said" "no regression"
expect_rc 0 "--threshold 1000 tolerates the planted regression" "$TE_BIN" profile -m "$M" --runs 1 --cold --baseline "$WORK/fast.json" --threshold 1000
expect_rc 2 "--threshold below 1 is refused" "$TE_BIN" profile -m "$M" --threshold 0.5
expect_err_has "--threshold error names the flag" "--threshold"
echo '{"x": 1}' > "$WORK/bad.json"
expect_rc 1 "a warm run has nothing to compare with in a cold baseline" "$TE_BIN" profile -m "$M" --runs 1 --baseline "$WORK/slow.json"
expect_err_has "the mismatch is explained" "no configuration matching"
expect_rc 1 "a baseline that is not a profile file is refused" "$TE_BIN" profile -m "$M" --runs 1 --baseline "$WORK/bad.json"
expect_err_has "bad baseline is explained" "not a profile --json file"
expect_rc 2 "an unknown strategy is refused" "$TE_BIN" profile -m "$M" --strategy sideways
expect_err_has "unknown strategy lists the choices" "progressive"

expect_rc 0 "profile --compare runs every strategy" "$TE_BIN" profile -m "$M" --runs 1 --compare --json "$WORK/cmp.json" \
    --svg "$WORK/cmp.svg"
check "--svg draws each start: its stages on the time axis, then residency lines" python3 - "$WORK/cmp.svg" "$WORK/cmp.json" <<'PY'
import json, sys
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()  # well-formed XML, or this raises
assert root.tag == ns + "svg", root.tag
cfgs = json.load(open(sys.argv[2]))["configs"]
texts = [t.text for t in root.iter(ns + "text")]
for c in cfgs:  # a row per configuration, labelled
    assert "%s, %s" % (c["strategy"], c["cache"]) in texts or "%s, cold (not evicted)" % c["strategy"] in texts, c
# every segment says its stage and time; with one run, each row's segment is that run's stage
titles = [r.find(ns + "title").text for r in root.iter(ns + "rect") if r.find(ns + "title") is not None]
firsts = [t for t in titles if t.startswith("first encode: ")]
assert len(firsts) == len(cfgs), titles
for c, t in zip(cfgs, firsts):
    ms = float(t.split(": ")[1].split()[0])
    assert abs(ms - c["stages"]["first_encode"]["median"]) <= 0.01 * ms + 0.01, (t, c["stages"]["first_encode"])
lines = list(root.iter(ns + "polyline"))
assert len(lines) == 4 * len(cfgs), len(lines)  # four sections per row
for l in lines:  # residency samples at open, tokenizer, first vector and after ten more
    assert len(l.get("points").split()) == 4, l.get("points")
PY
check "--compare covers every strategy cold and warm" python3 - "$WORK/cmp.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["configs"]
got = {(x["strategy"], x["cache"]) for x in c}
# auto is not a strategy of its own: it picks one of these four
want = {(s, k) for s in ("lazy", "eager", "background", "progressive") for k in ("cold", "warm")}
assert want <= got, want - got
PY

expect_rc 0 "info --status --wait --warmup --json" "$TE_BIN" info --status --strategy progressive --wait --warmup --json "$M"
check "status JSON: ready, every layer ready, warmup succeeded" python3 - "$WORK/out" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "ready", s["state"]
assert s["strategy"] == "progressive" and s["layers_ready"] == s["layers_total"] == 6, s
assert s["warmed_up"] is True and s["warmup_ok"] is True and s["warmup_ms"] > 0, s
# warmup touched every dense layer, and --wait read the whole file in
assert all(r > 0 for r in s["layer_resident"]), s["layer_resident"]
f = s["resident"]["file"]  # 99%: the kernel may page out a cold page at any time (see test_loading.c)
assert f["resident"] * 100 >= f["bytes"] * 99, f
PY
TE_STRATEGY=eager "$TE_BIN" info --status --json "$M" > "$WORK/env.json" 2>&1
check "TE_STRATEGY sets the default strategy" grep -q '"strategy": *"eager"' "$WORK/env.json"
TE_STRATEGY=bogus "$TE_BIN" info --status "$M" > /dev/null 2> "$WORK/err"
expect_err_has "a bad TE_STRATEGY is an error" "TE_STRATEGY"
finish
