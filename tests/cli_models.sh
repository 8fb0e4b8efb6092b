#!/bin/sh
# cli_models.sh - `tinyembed models --config`: the registry as an operator
# sees it: the README's config shape, the JSON keys, exit status 1 when a
# start-up model cannot serve, and config errors with line and column.
. "$(dirname "$0")/cli_lib.sh"
cp "$TE_TESTDATA/tiny-mean.temb" "$WORK/minilm.temb"
cp "$TE_TESTDATA/tiny-mean-int8.temb" "$WORK/minilm-int8.temb"
cat > "$WORK/models.json" <<'JSON'
{"models": [
  {"name": "minilm", "path": "minilm.temb", "strategy": "progressive", "load": "startup", "warmup": true},
  {"name": "minilm-int8", "path": "minilm-int8.temb", "load": "first-use"},
  {"name": "big", "path": "big.temb", "fallback": "minilm-int8"}
]}
JSON

# Run from another folder: paths are relative to the config file, not to the caller.
TE_BIN=$(realpath "$TE_BIN")
cd /
expect_rc 0 "models: a failed model with a working fallback is not an error" "$TE_BIN" models --config "$WORK/models.json"
expect_out_has "the table has a row per model" "minilm-int8"
expect_out_has "the failed model says who serves it and why" "served by minilm-int8; $WORK/big.temb: no such file"
expect_rc 0 "models --json" "$TE_BIN" models --config "$WORK/models.json" --json
check "the JSON has the registry's keys and states" python3 - "$WORK/out" "$WORK" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
work = sys.argv[2]
assert d["all_ready"] is True
assert d["loaded_models"] == ["minilm", "minilm-int8"], d["loaded_models"]
assert d["failed_models"] == ["big"], d["failed_models"]
m = {x["name"]: x for x in d["models"]}
keys = {"name", "state", "load_ms", "loaded_at", "version", "dtype", "strategy", "resident_bytes", "file_bytes",
        "warmed_up", "fallback", "error"}
for x in d["models"]:
    assert keys <= set(x), keys - set(x)
a = m["minilm"]
assert a["state"] == "ready" and a["strategy"] == "progressive" and a["warmed_up"] is True
assert a["dtype"] == "f32" and a["file_bytes"] == os.path.getsize(work + "/minilm.temb") and 0 < a["resident_bytes"] <= a["file_bytes"]
assert a["file_bytes_present"] == a["file_bytes"]
assert a["loaded_at"] > 1.6e9 and a["load_ms"] >= 0 and a["fallback"] is None and a["error"] is None
assert len(a["version"]["fingerprint"]) == 8 and a["version"]["converter"].startswith("tinyembed ")
assert a["path"] == work + "/minilm.temb"
b = m["big"]
assert b["state"] == "failed" and b["fallback"] == "minilm-int8" and "no such file" in b["error"]
assert b["version"] is None and b["loaded_at"] is None
i = m["minilm-int8"]
assert i["load"] == "first-use" and i["state"] == "ready" and i["dtype"] == "int8"  # loaded for big
PY

# A start-up model that fails with no fallback: exit 1, and the JSON still comes out.
cat > "$WORK/bad.json" <<JSON
{"models": [
  {"name": "ok", "path": "minilm.temb"},
  {"name": "broken", "path": "cut.temb"},
  {"name": "later", "path": "minilm-int8.temb", "load": "first-use"}
]}
JSON
head -c 50000 "$WORK/minilm.temb" > "$WORK/cut.temb"
expect_rc 1 "models exits 1 when a start-up model cannot serve" "$TE_BIN" models --config "$WORK/bad.json" --json
expect_err_has "and names it" "model 'broken' failed to load: $WORK/cut.temb: file is truncated"
check "its JSON says so" python3 -c "
import json, sys
d = json.load(open('$WORK/out'))
assert d['all_ready'] is False and d['failed_models'] == ['broken'] and d['loaded_models'] == ['ok']
s = {x['name']: x['state'] for x in d['models']}
assert s == {'ok': 'ready', 'broken': 'failed', 'later': 'declared'}, s
"
expect_rc 0 "--all loads the first-use models too" "$TE_BIN" models --config "$WORK/models.json" --all
rm "$WORK/minilm-int8.temb"
expect_rc 1 "--all fails when a first-use model cannot load" "$TE_BIN" models --config "$WORK/models.json" --all
expect_err_has "naming both and why" "model 'big' failed to load: $WORK/big.temb: no such file; its fallback 'minilm-int8' cannot serve either: $WORK/minilm-int8.temb: no such file"

printf '{"models": [\n  {"name": "a", "path": "a.temb", "lod": "first-use"}\n]}\n' > "$WORK/typo.json"
expect_rc 1 "a config with an unknown key is refused" "$TE_BIN" models --config "$WORK/typo.json"
expect_err_has "with its line and column" "typo.json: line 2, column 35: unknown key \"lod\""
expect_rc 1 "a missing config" "$TE_BIN" models --config "$WORK/none.json"
expect_err_has "is named" "none.json"
expect_rc 2 "--config is required" "$TE_BIN" models
expect_rc 2 "--timeout must be a number" "$TE_BIN" models --config "$WORK/models.json" --timeout soon
finish
