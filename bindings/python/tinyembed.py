"""tinyembed.py - Python binding of libtinyembed.so (ctypes; no dependency).

    import tinyembed
    model = tinyembed.Model("minilm.temb")
    vectors = model.embed(["The cat sits outside", "A man is playing guitar"])

embed() returns one vector per text: a numpy array of shape (n, dim) when numpy
can be imported, else a list of array('f'). classify() and rerank() serve
classifiers and cross-encoders; tokenize() gives the token ids; info is the
model's metadata as a dict. Errors raise tinyembed.Error carrying the
library's message (te_errmsg) and status name.

The library is found through the TINYEMBED_LIB environment variable (a path),
then beside this file, then the repository's build/ (for a checkout: `make
shared`), then the system's search path.
"""
import ctypes
import ctypes.util
import os
import threading
from array import array

try:
    import numpy as _np
except ImportError:  # numpy is optional
    _np = None

__all__ = ["Model", "Error", "load_library"]


class Error(Exception):
    """A tinyembed call failed: .status is e.g. "TE_ERR_FORMAT", str(e) the message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class _Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("msg", ctypes.c_char * 512)]


class _TokenizerInfo(ctypes.Structure):
    _fields_ = [("lowercase", ctypes.c_int), ("strip_accents", ctypes.c_int), ("chinese_chars", ctypes.c_int),
                ("clean_text", ctypes.c_int), ("cls_id", ctypes.c_int32), ("sep_id", ctypes.c_int32),
                ("pad_id", ctypes.c_int32), ("unk_id", ctypes.c_int32), ("mask_id", ctypes.c_int32),
                ("subword_prefix", ctypes.c_char_p), ("max_chars_per_word", ctypes.c_int),
                ("n_added_tokens", ctypes.c_int), ("model", ctypes.c_char_p), ("pipeline", ctypes.c_char_p)]


# Mirrors te_model_info in tinyembed.h, field for field.
class _ModelInfo(ctypes.Structure):
    _fields_ = [("arch", ctypes.c_char_p), ("kind", ctypes.c_int), ("position", ctypes.c_int),
                ("gated_ffn", ctypes.c_int), ("num_labels", ctypes.c_int),
                ("labels", ctypes.POINTER(ctypes.c_char_p)), ("score_fn", ctypes.c_int),
                ("name", ctypes.c_char_p), ("source", ctypes.c_char_p), ("converter", ctypes.c_char_p),
                ("format_major", ctypes.c_int), ("format_minor", ctypes.c_int), ("hidden_size", ctypes.c_int),
                ("num_layers", ctypes.c_int), ("num_heads", ctypes.c_int), ("intermediate_size", ctypes.c_int),
                ("vocab_size", ctypes.c_int), ("vocab_tokens", ctypes.c_int), ("max_position", ctypes.c_int),
                ("type_vocab_size", ctypes.c_int), ("layer_norm_eps", ctypes.c_float), ("activation", ctypes.c_int),
                ("pooling", ctypes.c_int), ("normalize", ctypes.c_int), ("max_seq_length", ctypes.c_int),
                ("dtype", ctypes.c_int), ("file_bytes", ctypes.c_uint64), ("file_offset", ctypes.c_uint64),
                ("fingerprint", ctypes.c_uint32),
                ("tokenizer", _TokenizerInfo), ("outputs", ctypes.c_uint), ("colbert_dim", ctypes.c_int),
                ("default_prompt_name", ctypes.c_char_p), ("output_range", ctypes.POINTER(ctypes.c_float)),
                ("output_range_texts", ctypes.c_int)]


# Mirrors te_ctx_opts.
class _CtxOpts(ctypes.Structure):
    _fields_ = [("threads", ctypes.c_int), ("batch", ctypes.c_int), ("max_batch_tokens", ctypes.c_int),
                ("simd", ctypes.c_char_p), ("max_seq_length", ctypes.c_int), ("max_memory", ctypes.c_size_t)]


class _OpenOpts(ctypes.Structure):
    _fields_ = [("verify_checksums", ctypes.c_int), ("strategy", ctypes.c_int)]


_STRATEGIES = {"lazy": 0, "eager": 1, "background": 2, "progressive": 3, "auto": 4}
_KINDS = {0: "embedding", 1: "classifier", 2: "reranker"}

_lib = None
_lib_lock = threading.Lock()


def _candidates():
    env = os.environ.get("TINYEMBED_LIB")
    if env:
        return [env]  # asked for this one: no fallback that would hide a wrong path
    here = os.path.dirname(os.path.abspath(__file__))
    found = ctypes.util.find_library("tinyembed")
    return [os.path.join(here, "libtinyembed.so"),
            os.path.join(here, "..", "..", "build", "libtinyembed.so"),
            found or "libtinyembed.so"]


def _declare(lib):
    P, I, S, F = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t, ctypes.POINTER(ctypes.c_float)
    E = ctypes.POINTER(_Error)
    texts = ctypes.POINTER(ctypes.c_char_p)
    sizes = ctypes.POINTER(ctypes.c_size_t)
    for name, res, args in [
        ("te_errmsg", ctypes.c_char_p, [E]),
        ("te_status_name", ctypes.c_char_p, [I]),
        ("te_open", P, [ctypes.c_char_p, ctypes.POINTER(_OpenOpts), E]),
        ("te_close", None, [P]),
        ("te_model_get_info", None, [P, ctypes.POINTER(_ModelInfo)]),
        ("te_ctx_new", P, [P, ctypes.POINTER(_CtxOpts), E]),
        ("te_ctx_free", None, [P]),
        ("te_ctx_max_seq_length", I, [P]),
        ("te_tokenize", I, [P, ctypes.c_char_p, S, ctypes.POINTER(ctypes.c_int32), S, sizes, E]),
        ("te_embed_ex", I, [P, texts, sizes, S, F, ctypes.POINTER(ctypes.c_uint8), E]),
        ("te_classify", I, [P, texts, sizes, S, I, F, ctypes.POINTER(ctypes.c_uint8), E]),
        ("te_rerank", I, [P, ctypes.c_char_p, S, texts, sizes, S, I, F, ctypes.POINTER(ctypes.c_uint8), E]),
    ]:
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


def load_library():
    """The loaded libtinyembed (found as the module docstring says)."""
    global _lib
    with _lib_lock:
        if _lib is None:
            tried = []
            for path in _candidates():
                try:
                    _lib = _declare(ctypes.CDLL(path))
                    break
                except OSError as e:
                    tried.append("%s (%s)" % (path, e))
            if _lib is None:
                raise OSError("libtinyembed.so not found; set TINYEMBED_LIB or run `make shared`. Tried: "
                              + "; ".join(tried))
    return _lib


def _check(lib, status, err):
    if status != 0:
        raise Error(lib.te_status_name(status).decode(), lib.te_errmsg(ctypes.byref(err)).decode("utf-8", "replace"))


def _utf8(texts):
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a list of strings, not one string")
    data = [t.encode("utf-8") if isinstance(t, str) else bytes(t) for t in texts]
    n = len(data)
    return n, (ctypes.c_char_p * max(n, 1))(*data), (ctypes.c_size_t * max(n, 1))(*[len(d) for d in data])


class Model:
    """A .temb model and one context to run it (calls on one Model are serialized;
    use one Model per thread to run in parallel)."""

    def __init__(self, path, threads=0, strategy="lazy", max_len=0, simd=None, max_memory=0):
        self._lib = load_library()
        self._lock = threading.Lock()
        self._m = self._ctx = None
        err = _Error()
        if strategy not in _STRATEGIES:
            raise ValueError("strategy must be one of " + ", ".join(_STRATEGIES))
        opts = _OpenOpts(0, _STRATEGIES[strategy])
        self._m = self._lib.te_open(os.fsencode(path), ctypes.byref(opts), ctypes.byref(err))
        if not self._m:
            _check(self._lib, err.code, err)
        info = _ModelInfo()
        self._lib.te_model_get_info(self._m, ctypes.byref(info))
        self.info = self._info_dict(info)
        copts = _CtxOpts(threads, 0, 0, simd.encode() if simd else None, max_len, max_memory)
        self._ctx = self._lib.te_ctx_new(self._m, ctypes.byref(copts), ctypes.byref(err))
        if not self._ctx:
            self.close()
            _check(self._lib, err.code, err)
        self._max_len = self._lib.te_ctx_max_seq_length(self._ctx)  # after max_len and max_memory
        self.last_truncated = []

    @staticmethod
    def _info_dict(i):
        d = {f: getattr(i, f) for f, _ in _ModelInfo._fields_ if f not in ("labels", "tokenizer", "output_range")}
        for k in ("arch", "name", "source", "converter"):
            d[k] = d[k].decode("utf-8", "replace") if d[k] else ""
        d["kind"] = _KINDS.get(i.kind, str(i.kind))
        d["labels"] = [i.labels[k].decode("utf-8", "replace") for k in range(i.num_labels)] if i.labels else []
        d["tokenizer"] = {f: getattr(i.tokenizer, f) for f, _ in _TokenizerInfo._fields_}
        d["tokenizer"]["subword_prefix"] = (i.tokenizer.subword_prefix or b"").decode()
        h = i.hidden_size  # the int8 / uint8 range, as `tinyembed info --json` shows it
        d["output_range"] = {"texts": i.output_range_texts, "min": i.output_range[:h],
                             "max": i.output_range[h:2 * h]} if i.output_range else None
        return d

    def close(self):
        """Frees the context and unmaps the model (also done when collected)."""
        if self._ctx:
            self._lib.te_ctx_free(self._ctx)
            self._ctx = None
        if self._m:
            self._lib.te_close(self._m)
            self._m = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_lib", None) is not None:
            self.close()

    def _run(self, n, per, call):
        """call(out, truncated, err) -> status for n inputs; the floats as n rows of `per`."""
        if not self._ctx:
            raise Error("TE_ERR_ARG", "the model is closed")
        err = _Error()
        with self._lock:
            out = (ctypes.c_float * max(n * per, 1))()
            cut = (ctypes.c_uint8 * max(n, 1))()
            _check(self._lib, call(out, cut, ctypes.byref(err)), err)
            self.last_truncated = [bool(cut[i]) for i in range(n)]
        if _np is not None:
            return _np.frombuffer(out, dtype=_np.float32, count=n * per).reshape(n, per).copy()
        flat = array("f", bytes(out)[: 4 * n * per])
        return [flat[i * per:(i + 1) * per] for i in range(n)]

    def embed(self, texts):
        """One vector per text, in order. Texts longer than the model's limit are cut
        (model.last_truncated says which)."""
        n, t, lens = _utf8(texts)
        return self._run(n, self.info["hidden_size"],
                         lambda out, cut, err: self._lib.te_embed_ex(self._ctx, t, lens, n, out, cut, err))

    def classify(self, texts, raw=False):
        """Per text, [(label, score), ...] best first (softmax or sigmoid; logits if raw)."""
        n, t, lens = _utf8(texts)
        L = self.info["num_labels"]
        rows = self._run(n, L, lambda out, cut, err: self._lib.te_classify(self._ctx, t, lens, n, int(raw), out, cut, err))
        return [sorted(zip(self.info["labels"], map(float, r)), key=lambda x: -x[1]) for r in rows]

    def rerank(self, query, texts, raw=False):
        """[(index, score), ...] of the texts by relevance to query, best first."""
        n, t, lens = _utf8(texts)
        q = query.encode("utf-8")
        rows = self._run(n, 1, lambda out, cut, err: self._lib.te_rerank(self._ctx, q, len(q), t, lens, n, int(raw),
                                                                         out, cut, err))
        return sorted(((i, float(r[0])) for i, r in enumerate(rows)), key=lambda x: (-x[1], x[0]))

    def tokenize(self, text):
        """The token ids of text, special tokens included, cut at the model's limit."""
        data = text.encode("utf-8")
        ids = (ctypes.c_int32 * self._max_len)()
        n = ctypes.c_size_t()
        err = _Error()
        _check(self._lib, self._lib.te_tokenize(self._m, data, len(data), ids, self._max_len, ctypes.byref(n),
                                                ctypes.byref(err)), err)
        return list(ids[: n.value])
