#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets (tests/fuzz/corpus/).

    python3 tests/fuzz/make_seeds.py BUILD_DIR REF_DIR
    python3 tests/fuzz/make_seeds.py --micro OUT_DIR REF_DIR   (the micro model alone)

Seeds must be small (libFuzzer mutates whole inputs), so they come from a
micro model: ../shared/ref/gen_model.py at hidden 8 with one layer, its word
table cut to a 100-token vocabulary of its own. From that directory:
  convert/      the directory packed as one input (fuzz_convert.c's format)
  safetensors/  its model.safetensors
  torch/        its weights as pytorch_model.bin (torch's zip layout, pickled with
                stand-ins for torch's names): stored, deflated, with a strided view
  json/         its JSON files
  temb/         BUILD_DIR/tinyembed's conversion of it (f32, f16, int8)
  tidx/         indexes of docs/example/pets.jsonl (f32 and int8 vectors, none; and
                with bge-m3-style heads beside the micro model: lexical weights and
                ColBERT vectors)
  tokenizer/    sentences of REF_DIR/cases.txt and a few hand-picked edge cases
Run by hand when a format changes; the output is deterministic for a given
binary. Python 3 standard library only.
"""
import collections
import io
import json
import os
import pickle
import types
import zipfile
import shutil
import struct
import subprocess
import sys
import tempfile

SEP = b"\n=====\n"  # fuzz_convert.c splits its input at this line
CONVERT_FILES = ["config.json", "tokenizer.json", "model.safetensors", "modules.json",
                 "1_Pooling/config.json", "sentence_bert_config.json", "tokenizer_config.json", "vocab.txt"]

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-") + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"]
         + ["the", "cat", "dog", "hello", "world", "un", "##s", "##ing", "##able", "##ed", "café", "日", "本",
            "is", "a", "on", "mat", "##ly", "re", "##ad", "to", "of", "and"])


def shrink_model(src, dst):
    """Copies the generated model with the word table cut to the micro vocabulary."""
    vocab = list(dict.fromkeys(SPECIALS + WORDS))
    os.makedirs(os.path.join(dst, "1_Pooling"))
    for f in ["modules.json", "1_Pooling/config.json", "sentence_bert_config.json"]:
        shutil.copy(os.path.join(src, f), os.path.join(dst, f))
    cfg = json.load(open(os.path.join(src, "config.json")))
    cfg["vocab_size"] = len(vocab)
    json.dump(cfg, open(os.path.join(dst, "config.json"), "w"), indent=1)

    blob = open(os.path.join(src, "model.safetensors"), "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out_header, out_data = {"__metadata__": header.pop("__metadata__")}, b""
    for name, t in header.items():
        raw = data[t["data_offsets"][0]:t["data_offsets"][1]]
        if name == "embeddings.word_embeddings.weight":
            raw = raw[:len(vocab) * t["shape"][1] * 4]
            t["shape"][0] = len(vocab)
        t["data_offsets"] = [len(out_data), len(out_data) + len(raw)]
        out_header[name] = t
        out_data += raw
    h = json.dumps(out_header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    open(os.path.join(dst, "model.safetensors"), "wb").write(struct.pack("<Q", len(h)) + h + out_data)

    tok = json.load(open(os.path.join(src, "tokenizer.json")))
    ids = {w: i for i, w in enumerate(vocab)}
    tok["model"]["vocab"] = ids
    tok["added_tokens"] = [dict(a, id=ids[a["content"]]) for a in tok["added_tokens"]]
    for s in tok["post_processor"]["special_tokens"].values():
        s["ids"] = [ids[t] for t in s["tokens"]]
    tok["truncation"] = tok["padding"] = None
    json.dump(tok, open(os.path.join(dst, "tokenizer.json"), "w"), ensure_ascii=False)
    tc = json.load(open(os.path.join(src, "tokenizer_config.json")))
    tc["model_max_length"] = 16
    json.dump(tc, open(os.path.join(dst, "tokenizer_config.json"), "w"))
    open(os.path.join(dst, "vocab.txt"), "w").write("\n".join(vocab) + "\n")


def torch_names():
    """Stand-ins for the names torch.save pickles (torch.FloatStorage,
    torch._utils._rebuild_tensor_v2), so that the standard pickle module
    writes what torch writes without torch installed."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    storages = {}
    for dtype, name in [("F32", "FloatStorage"), ("F16", "HalfStorage"), ("I64", "LongStorage")]:
        storages[dtype] = type(name, (), {"__module__": "torch"})
        setattr(torch, name, storages[dtype])

    def _rebuild_tensor_v2(*args):
        return args
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2, torch._utils = _rebuild_tensor_v2, utils
    sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
    return storages, _rebuild_tensor_v2


def torch_checkpoint(safetensors, deflate=False, strided=False):
    """The tensors of a safetensors blob as torch.save writes them: a zip of
    archive/data.pkl (protocol 2; storages as persistent ids) and
    archive/data/KEY. strided: 2-D tensors stored transposed, as views."""
    storage_types, rebuild = torch_names()
    n = struct.unpack("<Q", safetensors[:8])[0]
    header = json.loads(safetensors[8:8 + n])
    header.pop("__metadata__", None)
    data = safetensors[8 + n:]

    class Storage:
        def __init__(self, key, dtype, numel):
            self.key, self.dtype, self.numel = key, dtype, numel

    class Tensor:
        def __init__(self, storage, shape, stride):
            self.args = (storage, 0, tuple(shape), tuple(stride), False, collections.OrderedDict())

        def __reduce_ex__(self, protocol):
            return rebuild, self.args

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if not isinstance(obj, Storage):
                return None
            return ("storage", storage_types[obj.dtype], obj.key, "cpu", obj.numel)

    state, blobs = collections.OrderedDict(), {}
    for i, (name, t) in enumerate(header.items()):
        raw, shape, size = data[t["data_offsets"][0]:t["data_offsets"][1]], t["shape"], {"F32": 4, "F16": 2, "I64": 8}[t["dtype"]]
        numel, stride = len(raw) // size, [1] * len(shape)
        for d in range(len(shape) - 2, -1, -1):
            stride[d] = stride[d + 1] * shape[d + 1]
        if strided and len(shape) == 2:  # column-major storage, the view's strides say so
            rows = [raw[r * shape[1] * size:(r + 1) * shape[1] * size] for r in range(shape[0])]
            raw = b"".join(rows[r][c * size:(c + 1) * size] for c in range(shape[1]) for r in range(shape[0]))
            stride = [1, shape[0]]
        blobs[str(i)] = raw
        state[name] = Tensor(Storage(str(i), t["dtype"], numel), shape, stride)
    pkl = io.BytesIO()
    Pickler(pkl, protocol=2).dump(state)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl.getvalue())
        z.writestr("archive/byteorder", "little", compress_type=zipfile.ZIP_STORED)
        for key, raw in blobs.items():
            z.writestr("archive/data/" + key, raw)
        z.writestr("archive/version", "3\n")
    return out.getvalue()


def head_safetensors(rows, cols, seed):
    """A Linear's {"weight" [rows, cols], "bias" [rows]} as a safetensors blob (f32), small values."""
    vals = [((seed * 7919 + i * 104729) % 2001 - 1000) / 4000.0 for i in range(rows * cols + rows)]
    w, b = vals[:rows * cols], [0.5] * rows  # a positive bias: most tokens get a lexical weight
    data = struct.pack(f"<{len(w)}f", *w) + struct.pack(f"<{rows}f", *b)
    header = {"weight": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [0, 4 * len(w)]},
              "bias": {"dtype": "F32", "shape": [rows], "data_offsets": [4 * len(w), 4 * len(w) + 4 * rows]}}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").write(data)


def pack(d, names):
    parts = []
    for f in CONVERT_FILES:
        p = os.path.join(d, f)
        parts.append(open(p, "rb").read() if f in names and os.path.exists(p) else b"")
    assert not any(SEP in p for p in parts), "a file holds the separator"
    return SEP.join(parts)


def make_micro(ref, micro, tmp):
    gen = os.path.join(tmp, "gen")
    subprocess.run([sys.executable, os.path.join(ref, "gen_model.py"), gen, "--hidden", "8", "--layers", "1",
                    "--heads", "2", "--inter", "16", "--max-pos", "16", "--max-seq", "16", "--seed", "5"],
                   check=True, stdout=subprocess.DEVNULL)
    shrink_model(gen, micro)


def main():
    if sys.argv[1] == "--micro":  # make test: the allocation-failure tests convert it hundreds of times
        out, ref = sys.argv[2], sys.argv[3]
        with tempfile.TemporaryDirectory() as tmp:
            make_micro(ref, os.path.join(tmp, "micro"), tmp)
            shutil.rmtree(out, ignore_errors=True)
            shutil.copytree(os.path.join(tmp, "micro"), out)
        return
    build, ref = sys.argv[1], sys.argv[2]
    tinyembed = os.path.join(build, "tinyembed")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    with tempfile.TemporaryDirectory() as tmp:
        micro = os.path.join(tmp, "micro")
        make_micro(ref, micro, tmp)

        every = CONVERT_FILES
        write(f"{out}/convert/micro-tokenizer-json", pack(micro, [f for f in every if f != "vocab.txt"]))
        write(f"{out}/convert/micro-vocab-txt", pack(micro, [f for f in every if f != "tokenizer.json"]))
        write(f"{out}/convert/micro-bare", pack(micro, ["config.json", "model.safetensors", "vocab.txt"]))
        weights = open(f"{micro}/model.safetensors", "rb").read()
        write(f"{out}/safetensors/micro", weights)
        write(f"{out}/torch/micro-stored", torch_checkpoint(weights))
        write(f"{out}/torch/micro-deflated", torch_checkpoint(weights, deflate=True))
        write(f"{out}/torch/micro-strided", torch_checkpoint(weights, strided=True))
        for f in ["config.json", "tokenizer.json", "modules.json", "1_Pooling/config.json", "tokenizer_config.json"]:
            write(f"{out}/json/{f.replace('/', '-')}", open(f"{micro}/{f}", "rb").read())

        for dtype in ["f32", "f16", "int8"]:
            path = f"{out}/temb/micro-{dtype}"
            os.makedirs(os.path.dirname(path), exist_ok=True)
            subprocess.run([tinyembed, "convert", "--dtype", dtype, micro, path], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pets = os.path.join(os.path.dirname(out), "..", "..", "docs", "example", "pets.jsonl")
        model = ["-m", f"{out}/temb/micro-f32"]
        for name, flags in [("f32", model + ["--dtype", "f32"]), ("int8", model + ["--dtype", "int8"]),
                            ("bm25", ["--no-vectors"])]:
            path = f"{out}/tidx/pets-{name}"
            os.makedirs(os.path.dirname(path), exist_ok=True)
            subprocess.run([tinyembed, "index", *flags, "-o", path, pets],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        hidden = json.load(open(f"{micro}/config.json"))["hidden_size"]
        m3 = os.path.join(tmp, "micro-m3")
        shutil.copytree(micro, m3)
        write(f"{m3}/sparse_linear.pt", torch_checkpoint(head_safetensors(1, hidden, 1)))
        write(f"{m3}/colbert_linear.pt", torch_checkpoint(head_safetensors(hidden, hidden, 2)))
        subprocess.run([tinyembed, "convert", m3, f"{tmp}/m3.temb"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        subprocess.run([tinyembed, "index", "-m", f"{tmp}/m3.temb", "--colbert", "-o", f"{out}/tidx/pets-m3", pets],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    cases = [l.rstrip("\n") for l in open(os.path.join(ref, "cases.txt"), encoding="utf-8") if l.strip()]
    extra = ["", "[CLS][SEP][MASK] x", "a" * 120, "e\u0301\u0301 A\u030a \ufb01 \u00df", "\u200b\u200d\ufeff",
             "\U0001f600\U0001f1fa\U0001f1f8", "\ud55c\uad6d\uc5b4 \u4e2d\u6587 \u0627\u0644\u0639\u0631\u0628\u064a\u0629"]
    for i, s in enumerate(cases[:40] + extra):
        write(f"{out}/tokenizer/case{i:02d}", s.encode("utf-8"))
    write(f"{out}/tokenizer/invalid-utf8", b"ab\xff\xc0\xafcd \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82")


if __name__ == "__main__":
    main()
