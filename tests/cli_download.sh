#!/bin/sh
# cli_download.sh - models/download.sh: argument handling, the offline
# failure, and a real download from a local stand-in for the hub (Python's
# http.server serving a generated model under ORG/NAME/resolve/REV/), which
# is then converted and opened.
. "$(dirname "$0")/cli_lib.sh"
DL="sh models/download.sh"

expect_rc 2 "no name" $DL
expect_err_has "no name explained" "missing model name"
expect_rc 0 "--help" $DL --help
expect_out_has "help shows usage" "usage: models/download.sh"
expect_rc 2 "path traversal refused" $DL ../../etc
expect_rc 2 "spaces refused" $DL "a b"
expect_rc 2 "two names refused" $DL a b
expect_rc 2 "unknown option" $DL --frob x
expect_rc 2 "--revision without value" $DL x --revision
expect_rc 2 "bad revision" $DL x --revision "../x"

mkdir -p "$WORK/models"
# Nothing listens on port 9 (discard) locally: the network failure path.
HF_ENDPOINT=http://127.0.0.1:9 expect_rc 1 "unreachable hub" $DL --out "$WORK/models" sentence-transformers/all-MiniLM-L6-v2
expect_err_has "offline explained" "seems to be offline"
check "nothing left after a failed download" test -z "$(ls -A "$WORK/models")"

# A local hub.
mkdir -p "$WORK/hub/acme/tiny-mean/resolve"
ln -s "$(cd "$TE_HF/tiny-mean" && pwd)" "$WORK/hub/acme/tiny-mean/resolve/main"
start_hub "$WORK/hub"
ep=$HUB
HF_ENDPOINT=$ep expect_rc 0 "download from a hub" $DL --out "$WORK/models" acme/tiny-mean
check "config and weights arrived" test -s "$WORK/models/tiny-mean/config.json" -a -s "$WORK/models/tiny-mean/model.safetensors"
check "pooling config arrived (path from modules.json)" test -s "$WORK/models/tiny-mean/1_Pooling/config.json"
check "weights are byte-identical" cmp -s "$TE_HF/tiny-mean/model.safetensors" "$WORK/models/tiny-mean/model.safetensors"
expect_rc 0 "downloaded model converts" "$TE_BIN" convert "$WORK/models/tiny-mean" "$WORK/models/tiny-mean.temb"
expect_rc 0 "converted download opens" "$TE_BIN" info "$WORK/models/tiny-mean.temb"
HF_ENDPOINT=$ep expect_rc 1 "existing folder kept without --force" $DL --out "$WORK/models" acme/tiny-mean
expect_err_has "existing folder explained" "already exists"
HF_ENDPOINT=$ep expect_rc 1 "unknown model" $DL --out "$WORK/models" acme/no-such-model
expect_err_has "404 explained" "has no config.json"
stop_hub
finish
