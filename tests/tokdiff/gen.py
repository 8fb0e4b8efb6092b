#!/usr/bin/env python3
"""Random and adversarial tokenizer inputs, as raw bytes (invalid UTF-8 included).

    python3 tests/tokdiff/gen.py SEED COUNT OUT.bin
    python3 tests/tokdiff/gen.py --sweep FIRST LAST OUT.bin
    python3 tests/tokdiff/gen.py --lines TEXTS OUT.bin

OUT.bin holds COUNT records of a 4-byte little-endian length and that many
bytes. Each input strings together 1-40 pieces drawn from: random code points
from every plane (unassigned, private-use and noncharacters too), combining
sequences, Hangul syllables and jamo, CJK (unified, extensions,
compatibility), right-to-left scripts with bidi controls, zero-width and
format characters, every kind of space and control, emoji with ZWJ and
modifiers, special tokens ([CLS], [SEP], ... and near misses), words up to
200 characters, accented and case-special letters, and invalid UTF-8:
surrogates encoded as UTF-8, overlong forms, stray continuation bytes,
truncated sequences, bytes F5-FF. The same SEED always gives the same bytes.
--sweep writes every scalar value from FIRST to LAST (hex) between two
letters, "a" + c + "a": each code point's class (space, control, punctuation,
accent, letter, CJK) shows in how it splits. --lines writes each line of
TEXTS (split on "\n" only) as it is.
Python 3 standard library only.
"""
import random
import struct
import sys

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u034f\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
SPACES = " \t\n\r\u000b\u000c\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\u0085"
CONTROLS = [chr(c) for c in list(range(0, 32)) + list(range(0x7f, 0xa0))]
SPECIALS = ["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[cls]", "[SEP", "SEP]", "[ SEP]", "[[SEP]]", "##", "###", "[MASK][MASK]",
            "<s>", "</s>", "<mask>", "<pad>", "<unk>", " <mask>", "<mask> ", "<mask", "< s>", "<0x41>", "<0xZZ>",
            "\u2581", "\u2581\u2581", " \u2581x"]
WORDS = ["hello", "world", "unbelievably", "Größe", "naïve", "İstanbul", "ΣΑΣ", "ὈΔΥΣΣΕΎΣ", "ǅemal", "ﬁnance", "Straße",
         "café", "résumé", "ÅNGSTRÖM", "Ǆ", "ﬀ", "Ⅻ", "①②", "２０２６", "ｆｕｌｌ", "e\u0301", "a\u0308\u0301", "한국어", "中文",
         "日本語", "ひらがな", "カタカナ", "עברית", "العربية", "हिन्दी", "ไทย", "Ελληνικά", "русский", "don't", "U.S.A.",
         "C++", "e-mail", "3.14159", "$100", "50%", "a/b\\c", "x@y.z", "#tag", "...", "—", "–", "«»", "„“"]
EMOJI = ["\U0001f600", "\U0001f44d\U0001f3fd", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1fa\U0001f1f8",
         "\u2764\ufe0f", "\U0001f3f3\ufe0f\u200d\U0001f308", "\u0031\ufe0f\u20e3", "\U0001faf6"]
COMBINING = [(0x300, 0x36F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F), (0x302A, 0x302F),
             (0x1BF2, 0x1BF3), (0x0591, 0x05C7), (0x064B, 0x065F), (0x0900, 0x0903), (0x093A, 0x094F)]
CJK = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF),
       (0x2CEB0, 0x2EBEF), (0x30000, 0x3134F), (0x31350, 0x323AF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F), (0x3000, 0x303F),
       (0x3040, 0x30FF), (0xFF00, 0xFFEF), (0x2E80, 0x2FDF), (0x3190, 0x31FF)]
RTL = [(0x0590, 0x05FF), (0x0600, 0x06FF), (0x0700, 0x074F), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB1D, 0xFDFF),
       (0xFE70, 0xFEFF), (0x10800, 0x1083F), (0x1E900, 0x1E95F)]
INVALID = [b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\xbd\xed\xb8\x80", b"\xc0\x80", b"\xc0\xaf", b"\xc1\xbf",
           b"\xe0\x80\xaf", b"\xe0\x9f\xbf", b"\xf0\x80\x80\xaf", b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\x80",
           b"\xbf", b"\x80\x80\x80", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xf5", b"\xf8\x88\x80\x80\x80", b"\xfc",
           b"\xfe", b"\xff", b"\xc3\x28", b"\xe2\x28\xa1", b"\xef\xbf\xbe", b"\xef\xbf\xbd"]


def any_code_point(r):
    plane = r.choice([0, 0, 0, 0, 1, 1, 2, 3, 14, 15, 16] + list(range(4, 14)))
    while True:
        cp = plane * 0x10000 + r.randrange(0x10000)
        if not 0xD800 <= cp <= 0xDFFF:
            return chr(cp)


def from_ranges(r, ranges, n):
    return "".join(chr(r.randint(*r.choice(ranges))) for _ in range(n))


def piece(r):
    k = r.random()
    if k < 0.12: return any_code_point(r).encode()
    if k < 0.20: return (r.choice("aeiouAEIOUnc") + from_ranges(r, COMBINING, r.randint(1, 6))).encode()
    if k < 0.27:
        if r.random() < 0.5: return "".join(chr(r.randint(0xAC00, 0xD7A3)) for _ in range(r.randint(1, 5))).encode()
        return from_ranges(r, [(0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xD7B0, 0xD7FF)], r.randint(1, 6)).encode()
    if k < 0.34: return from_ranges(r, CJK, r.randint(1, 8)).encode()
    if k < 0.40: return (r.choice(ZERO_WIDTH[10:]) + from_ranges(r, RTL, r.randint(1, 8)) + r.choice(ZERO_WIDTH[10:])).encode()
    if k < 0.46: return "".join(r.choice(ZERO_WIDTH) for _ in range(r.randint(1, 3))).encode()
    if k < 0.56: return "".join(r.choice(SPACES) for _ in range(r.randint(1, 3))).encode()
    if k < 0.60: return r.choice(CONTROLS).encode()
    if k < 0.64: return r.choice(EMOJI).encode()
    if k < 0.70: return r.choice(SPECIALS).encode()
    if k < 0.73:
        n = r.choice([99, 100, 101, 150, 200, r.randint(1, 200)])
        alphabet = r.choice(["abc", "ab", "é", "xyz", "字", "αβ", "a\u0301"])
        return "".join(r.choice(alphabet) for _ in range(n)).encode()[: 4 * n]
    if k < 0.88: return r.choice(WORDS).encode()
    if k < 0.94: return r.choice(INVALID)
    return bytes(r.randrange(256) for _ in range(r.randint(1, 4)))


def main():
    if sys.argv[1] == "--lines":
        with open(sys.argv[2], "rb") as src, open(sys.argv[3], "wb") as f:
            lines = src.read().split(b"\n")
            for s in lines[:-1] if lines and lines[-1] == b"" else lines:
                f.write(struct.pack("<I", len(s)) + s)
        return
    if sys.argv[1] == "--sweep":
        with open(sys.argv[4], "wb") as f:
            for c in range(int(sys.argv[2], 16), int(sys.argv[3], 16) + 1):
                if not 0xD800 <= c <= 0xDFFF:
                    s = ("a" + chr(c) + "a").encode()
                    f.write(struct.pack("<I", len(s)) + s)
        return
    seed, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    r = random.Random(seed)
    with open(out, "wb") as f:
        for _ in range(count):
            s = b"".join(piece(r) for _ in range(r.randint(1, 40)))
            f.write(struct.pack("<I", len(s)) + s)


if __name__ == "__main__":
    main()
