/*
 * inflate.c - DEFLATE (RFC 1951) decoding into a buffer of known size.
 *
 * A stream is a series of blocks: stored (raw bytes), or Huffman-coded
 * literals and (length, distance) back-references, with a fixed code or one
 * the block describes. Codes are canonical, so each is rebuilt from its code
 * lengths alone: per length the number of codes and the symbols in order
 * (RFC 1951, 3.2.2). Decoding walks one bit at a time, which is plenty: torch
 * stores tensors uncompressed, deflate is the exception.
 */
#include "inflate.h"

#include <string.h>

#include "internal.h"

enum { MAX_BITS = 15, N_LITLEN = 288, N_DIST = 30 };

typedef struct bitreader {
    const uint8_t *in;
    size_t len, pos;
    uint64_t buf;
    int n;       /* bits in buf */
    int eof;     /* a read went past the end */
} bitreader;

/* The next k (<= 16) bits, least significant first. */
static uint32_t get_bits(bitreader *b, int k) {
    while (b->n < k) {
        if (b->pos == b->len) {
            b->eof = 1;
            return 0;
        }
        b->buf |= (uint64_t)b->in[b->pos++] << b->n;
        b->n += 8;
    }
    uint32_t v = (uint32_t)(b->buf & ((1u << k) - 1));
    b->buf >>= k;
    b->n -= k;
    return v;
}

typedef struct huffman {
    uint16_t count[MAX_BITS + 1]; /* codes of each length */
    uint16_t symbol[N_LITLEN];    /* symbols by code, shortest codes first */
} huffman;

/* The canonical code of n code lengths; 0 when the lengths over-fill the
 * code space. (An incomplete code is allowed: a stream using a missing code
 * fails in decode.) */
static int build(huffman *h, const uint8_t *lens, int n) {
    uint16_t offs[MAX_BITS + 2];
    memset(h->count, 0, sizeof h->count);
    for (int i = 0; i < n; i++) h->count[lens[i]]++;
    int left = 1;
    for (int len = 1; len <= MAX_BITS; len++) {
        left = 2 * left - h->count[len];
        if (left < 0) return 0;
    }
    offs[1] = 0;
    for (int len = 1; len <= MAX_BITS; len++) offs[len + 1] = (uint16_t)(offs[len] + h->count[len]);
    for (int i = 0; i < n; i++)
        if (lens[i]) h->symbol[offs[lens[i]]++] = (uint16_t)i;
    return 1;
}

/* One symbol; -1 on a code the table does not have or at the end of input. */
static int decode(bitreader *b, const huffman *h) {
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= MAX_BITS; len++) {
        code |= (int)get_bits(b, 1);
        if (b->eof) return -1;
        int count = h->count[len];
        if (code - first < count) return h->symbol[index + code - first];
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}

typedef struct output {
    uint8_t *out;
    size_t len, pos;
} output;

static const uint16_t len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                      35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
                                       257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                       7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* Literals and back-references up to the end-of-block symbol. */
static te_status codes(bitreader *b, output *o, const huffman *lit, const huffman *dist, te_error *err) {
    for (;;) {
        int sym = decode(b, lit);
        if (sym < 0) return te_fail(err, TE_ERR_FORMAT, "deflate: bad code or data ends early");
        if (sym < 256) {
            if (o->pos == o->len) return te_fail(err, TE_ERR_FORMAT, "deflate: decodes to more than %zu bytes", o->len);
            o->out[o->pos++] = (uint8_t)sym;
            continue;
        }
        if (sym == 256) return TE_OK;
        if (sym > 285) return te_fail(err, TE_ERR_FORMAT, "deflate: bad length symbol %d", sym);
        size_t n = len_base[sym - 257] + get_bits(b, len_extra[sym - 257]);
        int d = decode(b, dist);
        if (d < 0 || d >= N_DIST) return te_fail(err, TE_ERR_FORMAT, "deflate: bad distance code");
        size_t back = dist_base[d] + get_bits(b, dist_extra[d]);
        if (b->eof) return te_fail(err, TE_ERR_FORMAT, "deflate: data ends early");
        if (back > o->pos) return te_fail(err, TE_ERR_FORMAT, "deflate: a distance of %zu reaches before the start", back);
        if (n > o->len - o->pos) return te_fail(err, TE_ERR_FORMAT, "deflate: decodes to more than %zu bytes", o->len);
        for (size_t i = 0; i < n; i++, o->pos++) o->out[o->pos] = o->out[o->pos - back]; /* may overlap: byte by byte */
    }
}

static te_status stored(bitreader *b, output *o, te_error *err) {
    b->buf = 0, b->n = 0; /* to the byte boundary; whole bytes are never left in buf */
    if (b->len - b->pos < 4) return te_fail(err, TE_ERR_FORMAT, "deflate: data ends early");
    size_t n = te_le16(b->in + b->pos), check = te_le16(b->in + b->pos + 2);
    b->pos += 4;
    if ((n ^ 0xFFFF) != check) return te_fail(err, TE_ERR_FORMAT, "deflate: a stored block's length is corrupt");
    if (n > b->len - b->pos) return te_fail(err, TE_ERR_FORMAT, "deflate: data ends early");
    if (n > o->len - o->pos) return te_fail(err, TE_ERR_FORMAT, "deflate: decodes to more than %zu bytes", o->len);
    memcpy(o->out + o->pos, b->in + b->pos, n);
    b->pos += n, o->pos += n;
    return TE_OK;
}

static te_status fixed(bitreader *b, output *o, te_error *err) {
    uint8_t lens[N_LITLEN];
    huffman lit, dist;
    for (int i = 0; i < N_LITLEN; i++) lens[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
    build(&lit, lens, N_LITLEN);
    for (int i = 0; i < N_DIST; i++) lens[i] = 5;
    build(&dist, lens, N_DIST);
    return codes(b, o, &lit, &dist, err);
}

/* The block's own codes: code lengths, themselves Huffman-coded with runs. */
static te_status dynamic(bitreader *b, output *o, te_error *err) {
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    int nlit = (int)get_bits(b, 5) + 257, ndist = (int)get_bits(b, 5) + 1, nlen = (int)get_bits(b, 4) + 4;
    if (nlit > 286 || ndist > N_DIST) return te_fail(err, TE_ERR_FORMAT, "deflate: bad code counts");
    uint8_t lens[N_LITLEN + N_DIST] = {0};
    for (int i = 0; i < nlen; i++) lens[order[i]] = (uint8_t)get_bits(b, 3);
    huffman lencode, lit, dist;
    if (b->eof || !build(&lencode, lens, 19)) return te_fail(err, TE_ERR_FORMAT, "deflate: bad code-length code");
    memset(lens, 0, sizeof lens);
    for (int i = 0; i < nlit + ndist;) {
        int sym = decode(b, &lencode), rep = 0, val = 0;
        if (sym < 0) return te_fail(err, TE_ERR_FORMAT, "deflate: bad code lengths");
        if (sym < 16) {
            lens[i++] = (uint8_t)sym;
            continue;
        }
        if (sym == 16) {
            if (i == 0) return te_fail(err, TE_ERR_FORMAT, "deflate: repeat with no previous length");
            val = lens[i - 1], rep = 3 + (int)get_bits(b, 2);
        } else {
            rep = sym == 17 ? 3 + (int)get_bits(b, 3) : 11 + (int)get_bits(b, 7);
        }
        if (i + rep > nlit + ndist) return te_fail(err, TE_ERR_FORMAT, "deflate: code lengths run past their count");
        while (rep--) lens[i++] = (uint8_t)val;
    }
    if (lens[256] == 0) return te_fail(err, TE_ERR_FORMAT, "deflate: no end-of-block code");
    if (!build(&lit, lens, nlit) || !build(&dist, lens + nlit, ndist))
        return te_fail(err, TE_ERR_FORMAT, "deflate: over-subscribed code");
    return codes(b, o, &lit, &dist, err);
}

te_status te_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, te_error *err) {
    bitreader b = {in, in_len, 0, 0, 0, 0};
    output o = {out, out_len, 0};
    int last = 0;
    while (!last) {
        last = (int)get_bits(&b, 1);
        int type = (int)get_bits(&b, 2);
        if (b.eof) return te_fail(err, TE_ERR_FORMAT, "deflate: data ends early");
        te_status st = type == 0 ? stored(&b, &o, err) : type == 1 ? fixed(&b, &o, err)
                     : type == 2 ? dynamic(&b, &o, err) : te_fail(err, TE_ERR_FORMAT, "deflate: bad block type 3");
        if (st != TE_OK) return st;
    }
    if (o.pos != out_len)
        return te_fail(err, TE_ERR_FORMAT, "deflate: decodes to %zu bytes, expected %zu", o.pos, out_len);
    return TE_OK;
}
