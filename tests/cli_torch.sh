#!/bin/sh
# cli_torch.sh - convert reading PyTorch checkpoints (pytorch_model.bin, the
# zip format of torch >= 1.6) as the Hub publishes them, and refusing what it
# must: the same weights deflated instead of stored, or saved as strided
# views, give the same model; a pickle that calls anything but the tensor
# rebuilders is refused by name and runs nothing (protocols 2 and 4, and the
# INST opcode); the legacy format, a truncated file and a damaged entry are
# refused with a message.
# Environment (from tests/run.sh): TE_BIN, TE_HF (bgem3-bin: gen_xlmr.py --weights bin).
. "$(dirname "$0")/cli_lib.sh"

SRC=$(cd "$TE_HF/bgem3-bin" && pwd)
TORCH=${TORCH_PYTHON:-/usr/bin/python3}
texts="Hello world. Bonjour le monde."

# A model folder like SRC whose pytorch_model.bin is $2.
model_dir() {
    mkdir -p "$WORK/$1"
    for f in "$SRC"/*; do [ "$(basename "$f")" = pytorch_model.bin ] || ln -sf "$f" "$WORK/$1/"; done
    echo "$WORK/$1"
}
same_model() { # NAME DIR: converts DIR, embeds like the reference conversion
    expect_rc 0 "$1 converts" "$TE_BIN" convert "$2" "$WORK/$1.temb"
    "$TE_BIN" embed -m "$WORK/$1.temb" "$texts" > "$WORK/$1.out" 2>&1
    check "$1 gives the same vectors" cmp -s "$WORK/$1.out" "$WORK/ref.out"
}

expect_rc 0 "pytorch_model.bin converts" "$TE_BIN" convert -v "$SRC" "$WORK/ref.temb"
expect_err_has "the note names the file" "pytorch_model.bin"
"$TE_BIN" embed -m "$WORK/ref.temb" "$texts" > "$WORK/ref.out"
check "and embeds" test -s "$WORK/ref.out"

# --- the same weights, deflated ---
d=$(model_dir deflated)
python3 - "$SRC/pytorch_model.bin" "$d/pytorch_model.bin" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as src, zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))
PY
same_model deflated "$d"

# --- strided views and the legacy format (torch itself writes them) ---
d=$(model_dir strided)
mkdir -p "$WORK/legacy"
"$TORCH" - "$SRC/pytorch_model.bin" "$d/pytorch_model.bin" "$WORK/legacy/pytorch_model.bin" <<'PY'
import sys, torch
sd = torch.load(sys.argv[1])
for k in list(sd):
    if sd[k].dim() == 2:
        sd[k] = sd[k].t().contiguous().t()  # same values, column-major storage
assert not all(v.is_contiguous() for v in sd.values())
torch.save(sd, sys.argv[2])
torch.save(sd, sys.argv[3], _use_new_zipfile_serialization=False)
PY
same_model strided "$d"
for f in "$SRC"/*; do [ "$(basename "$f")" = pytorch_model.bin ] || ln -sf "$f" "$WORK/legacy/"; done
expect_rc 1 "the legacy format is refused" "$TE_BIN" convert "$WORK/legacy" "$WORK/legacy.temb"
expect_err_has "by name" "the legacy PyTorch format (torch.save before 1.6, not a zip) is not read"

# --- pickles that call something else: refused by name, nothing runs ---
for proto in 2 4; do
    d=$(model_dir evil$proto)
    python3 - "$d/pytorch_model.bin" "$WORK/MARKER$proto" "$proto" <<'PY'
import os, pickle, sys, zipfile
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("archive/data.pkl", pickle.dumps({"embeddings.word_embeddings.weight": Evil()}, protocol=int(sys.argv[3])))
    z.writestr("archive/version", "3\n")
PY
    expect_rc 1 "protocol $proto: a pickle calling os.system is refused" "$TE_BIN" convert "$d" "$WORK/evil.temb"
    expect_err_has "protocol $proto: the call is named" "it calls posix.system, which is not a tensor-rebuilding function: refused"
    check "protocol $proto: and did not run" test ! -e "$WORK/MARKER$proto"
    check "protocol $proto: no output file" test ! -e "$WORK/evil.temb"
done
d=$(model_dir inst)
python3 - "$d/pytorch_model.bin" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:  # protocol 0's INST: build an instance of builtins.eval
    z.writestr("archive/data.pkl", b"(ibuiltins\neval\n.")
PY
expect_rc 1 "the INST opcode is refused" "$TE_BIN" convert "$d" "$WORK/inst.temb"
expect_err_has "by name" "opcode INST is outside the subset torch.save writes: refused"

# --- damaged files ---
d=$(model_dir truncated)
head -c 3000000 "$SRC/pytorch_model.bin" > "$d/pytorch_model.bin"
expect_rc 1 "a truncated checkpoint is refused" "$TE_BIN" convert "$d" "$WORK/t.temb"
expect_err_has "saying so" "no end-of-central-directory record (truncated?)"
d=$(model_dir damaged)
cp "$SRC/pytorch_model.bin" "$d/pytorch_model.bin"
python3 - "$d/pytorch_model.bin" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
info = [i for i in z.infolist() if "/data/" in i.filename][0]
with open(sys.argv[1], "r+b") as f:  # flip a byte in the first storage's data (past its local header)
    f.seek(info.header_offset + 26)
    lens = f.read(4)
    f.seek(info.header_offset + 30 + int.from_bytes(lens[:2], "little") + int.from_bytes(lens[2:], "little") + 7)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0xFF]))
PY
expect_rc 1 "a damaged storage is refused" "$TE_BIN" convert "$d" "$WORK/d.temb"
expect_err_has "by its CRC" "CRC-32 mismatch (the file is damaged)"
finish
