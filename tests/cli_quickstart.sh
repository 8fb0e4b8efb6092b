#!/bin/sh
# cli_quickstart.sh - make quickstart (tools/quickstart.sh): offline it names
# the step that needs the network, points to models/README.md and exits 1;
# with a hub (a local stand-in serving a test model under the real name) it
# downloads, converts, embeds, compares, indexes and searches, and exits 0.
. "$(dirname "$0")/cli_lib.sh"
QS="sh tools/quickstart.sh $(dirname "$TE_BIN")"

mkdir -p "$WORK/offline"
HF_ENDPOINT=http://127.0.0.1:9 expect_rc 1 "offline: exits 1" $QS "$WORK/offline"
expect_err_has "names the step that needs the network" \
    "step 2 of 6 failed: downloading sentence-transformers/all-MiniLM-L6-v2 needs the network"
expect_err_has "points to models/README.md" 'models/README.md, "Offline machines"'
check "leaves nothing behind" test -z "$(ls -A "$WORK/offline")"

mkdir -p "$WORK/hub/sentence-transformers/all-MiniLM-L6-v2/resolve" "$WORK/online"
ln -s "$(cd "$TE_HF/tiny-mean" && pwd)" "$WORK/hub/sentence-transformers/all-MiniLM-L6-v2/resolve/main"
start_hub "$WORK/hub"
HF_ENDPOINT=$HUB expect_rc 0 "with a hub: every step runs" $QS "$WORK/online"
stop_hub
expect_out_has "the last step ran" "[6/6] index the 12 documents"
check "the model was converted" "$TE_BIN" verify "$WORK/online/all-MiniLM-L6-v2.temb"
check "the search printed three hits for each query" python3 - "$WORK/out" <<'PY'
import json, sys
hits = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"query"')]
assert [h["query"] for h in hits] == ["which pet purrs", "an animal that talks"], hits
assert all(len(h["results"]) == 3 for h in hits), hits
PY
# A model copied in by hand (the offline recipe): no network needed.
HF_ENDPOINT=http://127.0.0.1:9 expect_rc 0 "a model already in the folder needs no network" $QS "$WORK/online"
expect_out_has "and says so" "is already here: nothing to download"
finish
