#!/usr/bin/env python3
"""Generate src/unicode_tables.c from the Unicode Character Database.

    python3 tools/gen_unicode.py [UCD_DIR] > src/unicode_tables.c

UCD_DIR defaults to /usr/share/unicode (Debian package unicode-data, version
15). The output is committed; the build never runs this script. A test
(tests/cli_unicode.sh) regenerates it and checks the committed file matches.

Which Unicode version? The reference (Hugging Face `tokenizers`) takes its
general categories -- "other" (Cc Cf Co Cs), punctuation (P*) and nonspacing
mark (Mn) -- from the `unicode_categories` crate, whose tables are Unicode 8.0
built from UnicodeData.txt: a code point assigned after 8.0 is none of them,
and an unassigned code point is never "other". Lowercase and whitespace come
from Rust's standard library (current Unicode) and NFD from
`unicode-normalization`. So the category flags below use the 15.0 category
only for code points that DerivedAge.txt says existed in 8.0
(REFERENCE_CATEGORY_AGE), with their 8.0 category where it has changed since
(CATEGORY_8_0); everything else is plain Unicode 15.0. Probing the
reference confirms both halves: 9.0+ punctuation is not split and 9.0+ Mn is
not stripped, while the Georgian Mtavruli capitals (11.0) are lowercased.

The normalization forms (NFC, NFD, NFKC, NFKD, BERT's accent stripping) and
the StripAccents normalizer's marks come from `unicode-normalization-alignments`,
whose tables are Unicode 9.0 (NORMALIZATION_AGE): probing every code point
through the reference's own normalizers, marks and decompositions added in
9.0 apply and none added in 10.0 or later do. So decompositions, combining
classes and compositions are kept for code points of 9.0 only (normalization
data of an assigned code point never changes), and the mark flag is the 9.0
general category (CATEGORY_9_0 where it changed since).

Tables (what the BERT normalizer and pre-tokenizer ask of a code point):
  * te_uc_stage1 / te_uc_stage2: a two-level table of 8 flag bits per code
    point (blocks of 128, identical blocks shared);
  * te_uc_lower: full lowercase mappings (UnicodeData simple mappings, with
    SpecialCasing's unconditional multi-character ones), as Rust's
    char::to_lowercase does;
  * te_uc_decomp: full canonical decompositions (NFD), except Hangul
    syllables, which src/unicode.c decomposes arithmetically;
  * te_uc_ccc: canonical combining classes of every non-starter, for
    canonical reordering.

And what the other tokenizers ask (tokenizer.json's normalizers, the
Precompiled charsmap's grapheme clusters, regex classes):
  * te_uc_props_stage1 / te_uc_props_stage2: per code point the
    Grapheme_Cluster_Break value (UAX #29, auxiliary/GraphemeBreakProperty.txt,
    plus Unicode 16.0's new marks: LATER_EXTEND),
    Extended_Pictographic (emoji/emoji-data.txt), and whether the general
    category is a letter (L*) or a number (N*): regex \p{L} and \p{N};
  * te_uc_kdecomp: full compatibility decompositions (NFKD) of the code
    points whose NFKD is not their NFD;
  * te_uc_compositions: the canonical compositions (first, second -> composite)
    NFC and NFKC apply: primary composites, Full_Composition_Exclusion left out.
"""
import os
import sys

UCD = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"
REFERENCE_CATEGORY_AGE = (8, 0)
# Code points that existed in 8.0 under another general category than 15.0
# gives them, with their 8.0 category: the reference uses these. Found by
# tokenizing every code point between two letters with both tokenizers
# (tests/tokdiff/, the differential) -- these six are all that differ.
CATEGORY_8_0 = {
    0x166D: "Po",   # CANADIAN SYLLABICS CHI SIGN (So since 12.0): split as punctuation
    0x1734: "Mn",   # HANUNOO SIGN PAMUDPOD (Mc since 14.0): stripped as an accent
    0x1885: "Lo",   # MONGOLIAN LETTER ALI GALI BALUDA (Mn since 9.0): kept
    0x1886: "Lo",   # MONGOLIAN LETTER ALI GALI THREE BALUDA (Mn since 9.0): kept
    0xA9BD: "Mc",   # JAVANESE CONSONANT SIGN KERET (Mn since 12.0): kept
    0x111C9: "Po",  # SHARADA SANDHI MARK (Mn since 11.0): split as punctuation
}
NORMALIZATION_AGE = (9, 0)
# Code points of 9.0 whose mark-ness (M*) changed since, with their 9.0 category.
CATEGORY_9_0 = {
    0x1CF2: "Mc",   # VEDIC SIGN ARDHAVISARGA (Lo since 10.0): stripped
    0x1CF3: "Mc",   # VEDIC SIGN ROTATED ARDHAVISARGA (Lo since 10.0): stripped
    0x111C9: "Po",  # SHARADA SANDHI MARK (Mn since 11.0): kept
}
# Code points unassigned in 15.0 that the reference's grapheme clusters
# (unicode-segmentation, Unicode 16.0) join to the character before them:
# Unicode 16.0's new combining marks. Found by probing every code point
# after "a" through the reference's Precompiled normalizer (a whole cluster
# of under 6 bytes is replaced as one); written as Extend, which joins
# alike (GB9, GB9a).
LATER_EXTEND = [0x0897, (0x10D69, 0x10D6D), 0x10EFC, (0x113B8, 0x113C0), 0x113C2, 0x113C5, (0x113C7, 0x113CA),
                (0x113CC, 0x113D0), 0x113D2, (0x113E1, 0x113E2), 0x11F5A, (0x1611E, 0x1612F), (0x1E5EE, 0x1E5EF)]
MAX_CP = 0x110000
BLOCK = 128

F_OTHER, F_SPACE, F_PUNCT, F_MN, F_NONSTARTER, F_LOWER, F_DECOMP, F_WORD = (1 << i for i in range(8))
# Grapheme_Cluster_Break values, in unicode.h's order (Other = 0), and the other property bits.
GCB = ["Other", "CR", "LF", "Control", "Extend", "ZWJ", "Regional_Indicator", "Prepend", "SpacingMark",
       "L", "V", "T", "LV", "LVT"]
P_EXT_PICT, P_LETTER, P_NUMBER, P_MARK = 16, 32, 64, 128


def read(name):
    with open(os.path.join(UCD, name), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                yield [x.strip() for x in line.split(";")]


def cp_range(field):
    a, _, b = field.partition("..")
    return range(int(a, 16), int(b or a, 16) + 1)


def two_level(values):
    """A per-code-point byte table as blocks of BLOCK, identical blocks shared."""
    blocks, stage1, index = [], [], {}
    for b in range(0, MAX_CP, BLOCK):
        key = bytes(values[b:b + BLOCK])
        if key not in index:
            index[key] = len(blocks)
            blocks.append(key)
        stage1.append(index[key])
    return blocks, stage1


def write_two_level(w, name1, name2, stage1, blocks):
    w("const uint16_t %s[%d] = {\n" % (name1, len(stage1)))
    for i in range(0, len(stage1), 16):
        w("    " + ", ".join(str(x) for x in stage1[i:i + 16]) + ",\n")
    w("};\n\nconst uint8_t %s[%d][%d] = {\n" % (name2, len(blocks), BLOCK))
    for blk in blocks:
        w("    {")
        for i in range(0, BLOCK, 32):
            w(("\n        " if i else "") + ", ".join("0x%02x" % x for x in blk[i:i + 32]) + ",")
        w("},\n")
    w("};\n")


def main():
    version = open(os.path.join(UCD, "ReadMe.txt"), encoding="utf-8").read()
    if "Version 15.0" not in version and "15.0.0" not in version:
        sys.exit("gen_unicode.py: expected the Unicode 15.0 database in %s" % UCD)

    gc = ["Cn"] * MAX_CP
    ccc = [0] * MAX_CP
    simple_lower = {}
    decomp = {}
    first = None
    for f in read("UnicodeData.txt"):
        cp = int(f[0], 16)
        if f[1].endswith(", First>"):
            first = cp
            continue
        span = range(first, cp + 1) if f[1].endswith(", Last>") else [cp]
        for c in span:
            gc[c] = f[2]
            ccc[c] = int(f[3])
        if f[5] and not f[5].startswith("<"):
            decomp[cp] = [int(x, 16) for x in f[5].split()]
        if f[13]:
            simple_lower[cp] = [int(f[13], 16)]

    white = set()
    join_control = set()
    for f in read("PropList.txt"):
        if f[1] == "White_Space":
            white.update(cp_range(f[0]))
        elif f[1] == "Join_Control":
            join_control.update(cp_range(f[0]))
    age = {}
    for f in read("DerivedAge.txt"):
        major, minor = (int(x) for x in f[1].split("."))
        for c in cp_range(f[0]):
            age[c] = (major, minor)
    for c in range(MAX_CP):
        if age.get(c, (99, 0)) > NORMALIZATION_AGE:  # unknown to the reference's normalization forms
            ccc[c] = 0
            decomp.pop(c, None)
    alphabetic = set()
    for f in read("DerivedCoreProperties.txt"):
        if f[1] == "Alphabetic":
            alphabetic.update(cp_range(f[0]))

    lower = dict(simple_lower)
    for f in read("SpecialCasing.txt"):
        if len(f) >= 5 and f[4]:  # conditional mappings (final sigma, locales) are not applied
            continue
        cp = int(f[0], 16)
        lc = [int(x, 16) for x in f[1].split()]
        if lc != [cp]:
            lower[cp] = lc

    def full_decomp(cp):
        if cp not in decomp:
            return [cp]
        out = []
        for d in decomp[cp]:
            out.extend(full_decomp(d))
        return out

    compat = {}  # every decomposition, compatibility ones too (<tag> dropped)
    for f in read("UnicodeData.txt"):
        if f[5] and age.get(int(f[0], 16), (99, 0)) <= NORMALIZATION_AGE:
            compat[int(f[0], 16)] = [int(x, 16) for x in f[5].split() if not x.startswith("<")]

    def full_kdecomp(cp):
        if 0xAC00 <= cp <= 0xD7A3 or cp not in compat:
            return [cp]
        out = []
        for d in compat[cp]:
            out.extend(full_kdecomp(d))
        return out

    ascii_punct = set(map(ord, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"))
    flags = bytearray(MAX_CP)
    for c in range(MAX_CP):
        old = age.get(c, (99, 0)) <= REFERENCE_CATEGORY_AGE  # the reference's category tables know it
        g = CATEGORY_8_0.get(c, gc[c]) if old else gc[c]
        v = 0
        if old and g in ("Cc", "Cf", "Cs", "Co"):
            v |= F_OTHER
        if c in white:
            v |= F_SPACE
        if (old and g.startswith("P")) or c in ascii_punct:
            v |= F_PUNCT
        if old and g == "Mn":
            v |= F_MN
        if ccc[c]:
            v |= F_NONSTARTER
        if c in lower:
            v |= F_LOWER
        if c in decomp or 0xAC00 <= c <= 0xD7A3:
            v |= F_DECOMP
        if c in alphabetic or gc[c].startswith("M") or gc[c] in ("Nd", "Pc") or c in join_control:  # regex \w: current Unicode
            v |= F_WORD
        flags[c] = v

    blocks, stage1 = two_level(flags)
    props = bytearray(MAX_CP)
    for f in read("auxiliary/GraphemeBreakProperty.txt"):
        for c in cp_range(f[0]):
            props[c] = GCB.index(f[1])
    for r in LATER_EXTEND:
        a, b = r if isinstance(r, tuple) else (r, r)
        for c in range(a, b + 1):
            assert props[c] == 0, "U+%04X already has a Grapheme_Cluster_Break value" % c
            props[c] = GCB.index("Extend")
    for f in read("emoji/emoji-data.txt"):
        if f[1] == "Extended_Pictographic":
            for c in cp_range(f[0]):
                props[c] |= P_EXT_PICT
    for c in range(MAX_CP):
        if gc[c].startswith("L"):
            props[c] |= P_LETTER
        elif gc[c].startswith("N"):
            props[c] |= P_NUMBER
        if age.get(c, (99, 0)) <= NORMALIZATION_AGE and CATEGORY_9_0.get(c, gc[c]).startswith("M"):
            props[c] |= P_MARK
    pblocks, pstage1 = two_level(props)

    pool = []

    def pooled(seq):
        at = len(pool)
        pool.extend(seq)
        return at

    lower_rows = [(cp, pooled(lower[cp]), len(lower[cp])) for cp in sorted(lower)]
    decomp_rows = []
    max_decomp = 0
    for cp in sorted(decomp):
        d = full_decomp(cp)
        max_decomp = max(max_decomp, len(d))
        decomp_rows.append((cp, pooled(d), len(d)))
    ccc_rows = [(c, ccc[c]) for c in range(MAX_CP) if ccc[c]]
    kdecomp_rows = []
    max_kdecomp = 0
    for cp in sorted(compat):
        k = full_kdecomp(cp)
        if k != full_decomp(cp):
            max_kdecomp = max(max_kdecomp, len(k))
            kdecomp_rows.append((cp, pooled(k), len(k)))
    excluded = set()
    for f in read("DerivedNormalizationProps.txt"):
        if f[1] == "Full_Composition_Exclusion":
            excluded.update(cp_range(f[0]))
    compose_rows = sorted((d[0], d[1], cp) for cp, d in decomp.items() if len(d) == 2 and cp not in excluded)
    assert max_decomp <= 4 and max_kdecomp <= 18 and len(pool) < 65536

    w = sys.stdout.write
    w("/*\n * unicode_tables.c - GENERATED by tools/gen_unicode.py from the Unicode 15.0\n")
    w(" * Character Database (Debian unicode-data). Do not edit; regenerate.\n")
    w(" * Category flags (other, punctuation, Mn) cover code points assigned by Unicode\n")
    w(" * %d.%d, normalization data and marks those of %d.%d, as the reference tokenizer's\n"
      " * tables do; see the generator.\n" % (REFERENCE_CATEGORY_AGE + NORMALIZATION_AGE))
    w(" * %d flag blocks of %d code points, %d lowercase mappings, %d decompositions,\n"
      % (len(blocks), BLOCK, len(lower_rows), len(decomp_rows)))
    w(" * %d property blocks, %d compatibility decompositions, %d compositions.\n */\n"
      % (len(pblocks), len(kdecomp_rows), len(compose_rows)))
    w('#include "unicode.h"\n\n')
    write_two_level(w, "te_uc_stage1", "te_uc_stage2", stage1, blocks)
    w("\n")
    write_two_level(w, "te_uc_props_stage1", "te_uc_props_stage2", pstage1, pblocks)
    w("\nconst uint32_t te_uc_pool[%d] = {\n" % len(pool))
    for i in range(0, len(pool), 10):
        w("    " + ", ".join("0x%04X" % x for x in pool[i:i + 10]) + ",\n")
    w("};\n\nconst te_uc_map te_uc_lower[%d] = {\n" % len(lower_rows))
    for cp, at, n in lower_rows:
        w("    {0x%04X, %d, %d},\n" % (cp, at, n))
    w("};\n\nconst te_uc_map te_uc_decomp[%d] = {\n" % len(decomp_rows))
    for cp, at, n in decomp_rows:
        w("    {0x%04X, %d, %d},\n" % (cp, at, n))
    w("};\n\nconst te_uc_map te_uc_kdecomp[%d] = {\n" % len(kdecomp_rows))
    for cp, at, n in kdecomp_rows:
        w("    {0x%04X, %d, %d},\n" % (cp, at, n))
    w("};\n\nconst te_uc_class te_uc_ccc[%d] = {\n" % len(ccc_rows))
    for cp, c in ccc_rows:
        w("    {0x%04X, %d},\n" % (cp, c))
    w("};\n\nconst te_uc_pair te_uc_compositions[%d] = {\n" % len(compose_rows))
    for a, b, c in compose_rows:
        w("    {0x%04X, 0x%04X, 0x%04X},\n" % (a, b, c))
    w("};\n\nconst size_t te_uc_n_lower = %d, te_uc_n_decomp = %d, te_uc_n_kdecomp = %d, te_uc_n_ccc = %d,\n"
      "                    te_uc_n_compositions = %d;\n"
      % (len(lower_rows), len(decomp_rows), len(kdecomp_rows), len(ccc_rows), len(compose_rows)))


if __name__ == "__main__":
    main()
