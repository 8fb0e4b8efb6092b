"""quantize_ref.py - the reference quantizers the tests hold tinyembed's
outputs against, in plain Python.

packed: sentence-transformers' quantize_embeddings for binary / ubinary: the
bits of v > 0, 8 to a byte, the first the most significant, the last byte
padded with 0 bits; "binary" is each byte minus 128, "ubinary" the byte.

calibrated: int8 / uint8 by a model's calibrated range (lo, hi per
dimension, as /info's "output_range" gives them), as the header
(te_embedding_quantize) states the rule: u = floor((v - lo) * (255 / (hi -
lo)) + 0.5) with every operation rounded to float32, clamped to 0..255 (0
when hi = lo); uint8 is u, int8 is u - 128."""
import math
import struct


def packed(v, sign):
    bits = [1 if x > 0 else 0 for x in v] + [0] * (-len(v) % 8)
    by = [int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8)]
    return [b - 128 for b in by] if sign else by


def f32(x):
    """x rounded to float32 (Python's float is a double: each operation below
    is exact or correctly rounded in double, then rounded once to float32,
    which gives float32 arithmetic's result)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def calibrated(v, lo, hi, sign):
    out = []
    for x, a, b in zip(v, lo, hi):
        q = 0
        if b > a:
            steps = f32(f32(f32(x) - a) * f32(255.0 / f32(b - a)))
            q = math.floor(f32(steps + 0.5))
        u = min(max(q, 0), 255)
        out.append(u - 128 if sign else u)
    return out
