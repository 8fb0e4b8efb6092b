"""test_python.py - the Python binding (bindings/python/tinyembed.py) against
the goldens, through libtinyembed.so: embeddings as numpy arrays and as
array('f') lists, token ids, info, classify and rerank, errors as exceptions,
and how the library is found. Run by tests/cli_python.sh with TE_BUILD,
TE_TESTDATA and TE_REF set; prints PASS/FAIL lines like the C harness.
    python3 tests/test_python.py [--no-numpy]
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

if "--no-numpy" in sys.argv:
    sys.modules["numpy"] = None  # makes `import numpy` fail inside the binding
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
import tinyembed  # noqa: E402

BUILD, DATA, REF = os.environ["TE_BUILD"], os.environ["TE_TESTDATA"], os.environ["TE_REF"]
LIB = os.path.join(BUILD, "libtinyembed.so")
os.environ["TINYEMBED_LIB"] = LIB
failed = 0


def check(name, fn):
    global failed
    try:
        fn()
        print("PASS python: " + name)
    except Exception as e:  # a failed assert or any error is this check's failure
        failed = 1
        print("  %s: %r" % (name, e))
        print("FAIL python: " + name)
    sys.stdout.flush()


def goldens(rel):
    return [json.loads(l) for l in open(os.path.join(REF, rel), encoding="utf-8")]


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def embeddings_match():
    rows = goldens("golden/tiny-mean.jsonl")
    with tinyembed.Model(os.path.join(DATA, "tiny-mean.temb"), threads=2) as m:
        got = m.embed([r["text"] for r in rows])
    want_numpy = sys.modules.get("numpy") is not None and tinyembed._np is not None
    if want_numpy:
        assert got.shape == (len(rows), 64) and str(got.dtype) == "float32", (got.shape, got.dtype)
    else:
        assert isinstance(got, list) and got[0].typecode == "f" and len(got) == len(rows)
    for r, v in zip(rows, got):
        v = [float(x) for x in v]
        assert cosine(v, r["embedding"]) >= 0.99999
        assert max(abs(a - b) for a, b in zip(v, r["embedding"])) <= 1e-4


def tokens_and_info():
    rows = goldens("golden/tiny-mean.jsonl")
    path = os.path.join(DATA, "tiny-mean.temb")
    m = tinyembed.Model(path)
    for r in rows:
        assert m.tokenize(r["text"]) == r["ids"], r["text"]
    cli = json.loads(subprocess.run([os.path.join(BUILD, "tinyembed"), "info", "--json", path], check=True,
                                    capture_output=True, text=True).stdout)
    for key in ("arch", "name", "hidden_size", "num_layers", "num_heads", "vocab_size", "max_seq_length",
                "type_vocab_size", "file_bytes", "kind"):
        assert m.info[key] == cli[key], (key, m.info[key], cli[key])
    assert m.info["tokenizer"]["cls_id"] == cli["tokenizer"]["cls_id"]
    assert m.info["tokenizer"]["subword_prefix"] == "##"
    assert m.info["file_offset"] == 0 and "%08x" % m.info["fingerprint"] == cli["fingerprint"]
    f32 = lambda v: [struct.unpack("<f", struct.pack("<f", x))[0] for x in v]
    r, c = m.info["output_range"], cli["output_range"]
    assert r["texts"] == c["texts"] > 0 and r["min"] == f32(c["min"]) and r["max"] == f32(c["max"])
    m.close()


def bundle():
    path = os.path.join(DATA, "tiny-mean.temb")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "tb")
        subprocess.run([os.path.join(BUILD, "tinyembed"), "bundle", "-m", path, "-o", out], check=True,
                       capture_output=True)
        with tinyembed.Model(out) as b, tinyembed.Model(path) as m:
            assert b.info["file_offset"] > 0 and b.info["file_offset"] % 4096 == 0
            assert b.info["fingerprint"] == m.info["fingerprint"] and b.info["file_bytes"] == m.info["file_bytes"]
            assert list(b.embed(["a bundled model"])[0]) == list(m.embed(["a bundled model"])[0])


def classify_and_rerank():
    rows = goldens("arch/golden/distilbert-sst2.jsonl")[:10]
    with tinyembed.Model(os.path.join(DATA, "distilbert-sst2.temb")) as m:
        assert m.info["kind"] == "classifier" and m.info["labels"] == ["NEGATIVE", "POSITIVE"]
        for r, scores in zip(rows, m.classify([r["text"] for r in rows])):
            assert scores[0][0] == r["label"], (scores, r["label"])
            got = dict(scores)
            assert abs(got["NEGATIVE"] - r["probs"][0]) <= 1e-4 and abs(got["POSITIVE"] - r["probs"][1]) <= 1e-4
    pairs = goldens("arch/golden/ce-minilm-pairs.jsonl")[:6]
    with tinyembed.Model(os.path.join(DATA, "ce-minilm.temb")) as m:
        for p in pairs:
            (index, score), = m.rerank(p["pair"][0], [p["pair"][1]])
            assert index == 0 and abs(score - p["probs"][0]) <= 1e-4, (score, p["probs"])
        ranked = m.rerank("what is a cat", ["stocks fell", "a cat is an animal", "cats purr"])
        assert sorted(i for i, _ in ranked) == [0, 1, 2] and ranked[0][1] >= ranked[1][1] >= ranked[2][1]


def errors_are_exceptions():
    try:
        tinyembed.Model(os.path.join(DATA, "no-such-model.temb"))
        raise AssertionError("no exception")
    except tinyembed.Error as e:
        assert e.status == "TE_ERR_NOT_FOUND" and "no-such-model.temb" in str(e), (e.status, str(e))
    with tinyembed.Model(os.path.join(DATA, "distilbert-sst2.temb")) as m:
        try:
            m.embed(["text"])
            raise AssertionError("no exception")
        except tinyembed.Error as e:
            assert e.status == "TE_ERR_ARG" and "use te_classify" in str(e), str(e)
    m = tinyembed.Model(os.path.join(DATA, "tiny-mean.temb"), max_len=8)
    m.embed(["short", "one two three four five six seven eight nine ten"])
    assert m.last_truncated == [False, True]
    assert len(m.tokenize("one two three four five six seven eight nine ten")) == 8
    try:
        tinyembed.Model(os.path.join(DATA, "tiny-mean.temb"), max_memory=1000)
        raise AssertionError("no exception")
    except tinyembed.Error as e:
        assert e.status == "TE_ERR_NOMEM" and "too little" in str(e), str(e)
    try:
        m.embed("a single string")
        raise AssertionError("no exception")
    except TypeError:
        pass


def library_search():
    tmp = tempfile.mkdtemp()
    try:
        # beside the module, when TINYEMBED_LIB is not set
        shutil.copy(os.path.join(HERE, "..", "bindings", "python", "tinyembed.py"), tmp)
        shutil.copy(LIB, tmp)
        code = ("import sys; sys.path.insert(0, %r); import tinyembed; tinyembed.load_library(); "
                "print(tinyembed._lib._name)" % tmp)
        env = {k: v for k, v in os.environ.items() if k != "TINYEMBED_LIB"}
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
        assert out.strip() == os.path.join(tmp, "libtinyembed.so"), out
        # TINYEMBED_LIB wins, and a wrong one is an error naming it
        env["TINYEMBED_LIB"] = os.path.join(tmp, "missing.so")
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert r.returncode != 0 and "missing.so" in r.stderr and "TINYEMBED_LIB" in r.stderr, r.stderr
    finally:
        shutil.rmtree(tmp)


check("embeddings match the goldens (%s)" % ("lists of array('f')" if "--no-numpy" in sys.argv else
                                              "numpy arrays" if tinyembed._np is not None else "lists"),
      embeddings_match)
check("token ids match the goldens and info matches `tinyembed info --json`", tokens_and_info)
check("classify and rerank match the arch goldens", classify_and_rerank)
check("a bundle opens like its model (te_model_info.file_offset mirrored)", bundle)
check("errors raise tinyembed.Error with te_errmsg; truncation is reported", errors_are_exceptions)
check("the library is found beside the module, or where TINYEMBED_LIB says", library_search)
sys.exit(failed)
