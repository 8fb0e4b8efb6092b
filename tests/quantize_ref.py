"""quantize_ref.py - the reference quantizer the tests hold tinyembed's binary
outputs against: sentence-transformers' quantize_embeddings, in plain Python.
The bits of v > 0, 8 to a byte, the first the most significant, the last byte
padded with 0 bits; "binary" is each byte minus 128, "ubinary" the byte."""


def packed(v, sign):
    bits = [1 if x > 0 else 0 for x in v] + [0] * (-len(v) % 8)
    by = [int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8)]
    return [b - 128 for b in by] if sign else by
