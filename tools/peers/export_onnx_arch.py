#!/usr/bin/python3
"""Export an HF-layout MPNet or NomicBERT directory (model.safetensors) to ONNX for the side-by-side
speed comparison with ONNX Runtime (../shared/peers/ort/bench_ort.js), as ../shared/peers/export_onnx.py
does for BERT: inputs input_ids, attention_mask, token_type_ids -> last_hidden_state, float32, plain
matmuls so any runtime can run it. Written from the same semantics as ../shared/ref/arch/reference_arch.py
(MPNet: positions from padding_idx + 1, relative-position bias with 32 buckets up to distance 128;
NomicBERT: fused Wqkv, rotary on q and k, SwiGLU, no biases), batched with an attention mask.
Needs Debian's python3-torch and python3-numpy.
usage: export_onnx_arch.py MODEL_DIR OUT.onnx"""
import json, math, os, struct, sys
import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        out = {}
        for name, meta in header.items():
            if name == "__metadata__" or meta["dtype"] not in ("F32", "F16"):
                continue
            b, e = meta["data_offsets"]
            f.seek(8 + n + b)
            dt = np.float32 if meta["dtype"] == "F32" else np.float16
            arr = np.frombuffer(f.read(e - b), dtype=dt).reshape(meta["shape"])
            out[name] = torch.from_numpy(arr.astype(np.float32))
    return out


class Encoder(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.cfg = cfg = json.load(open(os.path.join(d, "config.json")))
        w = load_safetensors(os.path.join(d, "model.safetensors"))
        for p in ("mpnet.", "bert.", "model."):
            if any(k.startswith(p) for k in w):
                w = {k[len(p):] if k.startswith(p) else k: v for k, v in w.items()}
        self.w = torch.nn.ParameterDict({k.replace(".", "_"): torch.nn.Parameter(v, requires_grad=False) for k, v in w.items()})
        self.mt = cfg["model_type"]
        if self.mt == "mpnet":
            self.h, self.nh, self.L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
            self.eps = cfg.get("layer_norm_eps", 1e-12)
        else:
            self.h, self.nh, self.L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
            self.eps = cfg.get("layer_norm_epsilon", 1e-12)
            self.rot = int(self.h // self.nh * cfg.get("rotary_emb_fraction", 1.0))
            self.base = float(cfg.get("rotary_emb_base", 10000))

    def p(self, name):
        return self.w[name.replace(".", "_")]

    def lin(self, x, name, bias=True):
        y = x @ self.p(name + ".weight").t()
        return y + self.p(name + ".bias") if bias and (name + ".bias").replace(".", "_") in self.w else y

    def ln(self, x, name):
        return F.layer_norm(x, (self.h,), self.p(name + ".weight"), self.p(name + ".bias"), self.eps)

    def mpnet_bias(self, n):
        ctx = torch.arange(n)[:, None]
        mem = torch.arange(n)[None, :]
        rel = -(mem - ctx)
        ret = (rel < 0).long() * 16
        a = rel.abs()
        large = 8 + (torch.log(a.float() / 8) / math.log(128 / 8) * 8).long()
        large = torch.clamp(large, max=15)
        bucket = ret + torch.where(a < 8, a, large)
        return self.p("encoder.relative_attention_bias.weight")[bucket].permute(2, 0, 1)  # heads, q, k

    def rope(self, x, n):  # x: b, heads, n, d
        r = self.rot
        inv = 1.0 / (self.base ** (torch.arange(0, r, 2).float() / r))
        f = torch.arange(n).float()[:, None] * inv[None, :]
        c, s = torch.cat([f.cos(), f.cos()], -1), torch.cat([f.sin(), f.sin()], -1)
        x1, x2 = x[..., : r // 2], x[..., r // 2: r]
        return torch.cat([x[..., :r] * c + torch.cat([-x2, x1], -1) * s, x[..., r:]], -1)

    def forward(self, input_ids, attention_mask, token_type_ids):
        b, n = input_ids.shape
        dh = self.h // self.nh
        mask = (1.0 - attention_mask.float()).unsqueeze(1).unsqueeze(1) * -1e9
        if self.mt == "mpnet":
            pos = torch.cumsum(attention_mask, 1) * attention_mask + 1
            x = self.p("embeddings.word_embeddings.weight")[input_ids] + self.p("embeddings.position_embeddings.weight")[pos]
            x = x + 0.0 * token_type_ids.unsqueeze(-1).float()  # keep the input the bench feeds
            x = self.ln(x, "embeddings.LayerNorm")
            bias = self.mpnet_bias(n).unsqueeze(0) + mask
        else:
            x = self.p("embeddings.word_embeddings.weight")[input_ids] + self.p("embeddings.token_type_embeddings.weight")[token_type_ids]
            x = self.ln(x, "emb_ln")
            bias = mask
        def heads(t): return t.view(b, n, self.nh, dh).transpose(1, 2)
        for i in range(self.L):
            if self.mt == "mpnet":
                p = "encoder.layer.%d." % i
                q, k, v = (heads(self.lin(x, p + "attention.attn." + s)) for s in "qkv")
            else:
                p = "encoder.layers.%d." % i
                qkv = self.lin(x, p + "attn.Wqkv").view(b, n, 3, self.nh, dh)
                q, k, v = (qkv[:, :, j].transpose(1, 2) for j in range(3))
                q, k = self.rope(q, n), self.rope(k, n)
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + bias, dim=-1) @ v
            a = a.transpose(1, 2).reshape(b, n, self.h)
            if self.mt == "mpnet":
                x = self.ln(self.lin(a, p + "attention.attn.o") + x, p + "attention.LayerNorm")
                f = F.gelu(self.lin(x, p + "intermediate.dense"))
                x = self.ln(self.lin(f, p + "output.dense") + x, p + "output.LayerNorm")
            else:
                x = self.ln(self.lin(a, p + "attn.out_proj") + x, p + "norm1")
                f = self.lin(x, p + "mlp.fc11") * F.silu(self.lin(x, p + "mlp.fc12"))
                x = self.ln(self.lin(f, p + "mlp.fc2") + x, p + "norm2")
        return x


def main():
    d, out = sys.argv[1], sys.argv[2]
    m = Encoder(d).eval()
    ids = torch.tensor([[0, 7592, 2088, 2]])
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    torch.onnx.export(m, args, out, input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"], opset_version=14,
                      dynamic_axes={k: {0: "batch", 1: "seq"} for k in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]})
    print("wrote", out, os.path.getsize(out))


if __name__ == "__main__":
    main()
