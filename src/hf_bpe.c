/*
 * hf_bpe.c - a byte-level BPE model of tokenizer.json for the converter: the
 * vocabulary with GPT-2's printable stand-ins turned back into the bytes
 * they stand for (so the tokenizer works on bytes and spans are byte
 * offsets), and the merges as the hash table tok_bpe.c reads (the tensor
 * tokenizer.merges, docs/FORMAT.md).
 */
#include <stdlib.h>
#include <string.h>

#include "format_util.h"
#include "hf_loader.h"
#include "internal.h"
#include "tok.h"
#include "unicode.h"

/* GPT-2's bytes_to_unicode, inverted: the byte a character stands for, or -1. Printable bytes stand for
 * themselves; the 68 others, in byte order, take U+0100 on: 0-32, then 127-160, then 173. */
static int byte_of(uint32_t cp) {
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255)) return (int)cp;
    if (cp >= 256 && cp <= 288) return (int)cp - 256;
    if (cp >= 289 && cp <= 322) return (int)cp - 289 + 127;
    return cp == 323 ? 173 : -1;
}

/* s as the bytes its characters stand for, into out (at most len bytes); its own bytes when a character
 * stands for none (a token no byte sequence reaches). Returns the length. */
static size_t to_bytes(const char *s, size_t len, char *out) {
    size_t n = 0;
    for (size_t at = 0; at < len;) {
        uint32_t cp;
        size_t k = te_utf8_decode((const unsigned char *)s + at, len - at, &cp);
        int b = byte_of(cp);
        if (b < 0) {
            memcpy(out, s, len);
            return len;
        }
        out[n++] = (char)b;
        at += k;
    }
    return n;
}

/* Token bytes -> id, by open addressing over the converted vocabulary. */
typedef struct tok_index {
    int32_t *slot;
    uint32_t mask;
    const hf_model *hf;
} tok_index;

static uint32_t bytes_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int32_t index_find(const tok_index *x, const char *s, size_t n) {
    for (uint32_t h = bytes_hash(s, n);; h++) {
        int32_t id = x->slot[h & x->mask];
        if (id < 0) return -1;
        if (x->hf->token_lens[id] == n && memcmp(x->hf->tokens[id], s, n) == 0) return id;
    }
}

static te_status index_build(tok_index *x, const hf_model *hf, te_error *err) {
    uint32_t size = 16;
    while (size < 2 * hf->n_tokens) size *= 2;
    x->hf = hf;
    x->mask = size - 1;
    if (!(x->slot = malloc(size * sizeof *x->slot))) return te_fail(err, TE_ERR_NOMEM, "out of memory");
    memset(x->slot, 0xFF, size * sizeof *x->slot);
    for (uint32_t id = 0; id < hf->n_tokens; id++) {
        if (index_find(x, hf->tokens[id], hf->token_lens[id]) >= 0) continue; /* spelled twice: the first id */
        uint32_t h = bytes_hash(hf->tokens[id], hf->token_lens[id]);
        while (x->slot[h & x->mask] >= 0) h++;
        x->slot[h & x->mask] = (int32_t)id;
    }
    return TE_OK;
}

/* The vocabulary: an object token -> id, ids 0 .. n - 1, each token turned into its bytes. */
static te_status read_vocab(loader *L, const json_value *vocab) {
    hf_model *hf = L->hf;
    if (!vocab || vocab->type != JSON_OBJECT || vocab->len == 0 || vocab->len > (1u << 24))
        return te_fail(L->err, TE_ERR_FORMAT, "tokenizer.json: BPE 'model.vocab' must be a non-empty object");
    size_t total = 0;
    for (size_t i = 0; i < vocab->len; i++) total += vocab->members[i].key_len;
    char *buf = malloc(total + 1);
    hf->tokens = calloc(vocab->len, sizeof *hf->tokens);
    hf->token_lens = calloc(vocab->len, sizeof *hf->token_lens);
    if (!buf || !hf->tokens || !hf->token_lens) {
        free(buf);
        return te_fail(L->err, TE_ERR_NOMEM, "out of memory");
    }
    te_status st = hf_own_buf(L, buf); /* frees it when it cannot keep it */
    if (st != TE_OK) return st;
    hf->n_tokens = (uint32_t)vocab->len;
    for (size_t i = 0, at = 0; i < vocab->len; i++) {
        const json_member *m = &vocab->members[i];
        if (m->value->type != JSON_NUMBER || !m->value->is_int || m->value->i < 0 || (uint64_t)m->value->i >= vocab->len)
            return te_fail(L->err, TE_ERR_FORMAT, "tokenizer.json: vocab entry \"%.60s\" has id outside 0..%zu", m->key,
                           vocab->len - 1);
        uint32_t id = (uint32_t)m->value->i;
        if (hf->tokens[id]) return te_fail(L->err, TE_ERR_FORMAT, "tokenizer.json: vocab id %u is used twice", id);
        hf->token_lens[id] = (uint32_t)to_bytes(m->key, m->key_len, buf + at);
        hf->tokens[id] = buf + at;
        at += hf->token_lens[id];
    }
    return TE_OK;
}

/* Merge i, "a b" or ["a", "b"]: the two parts. */
static int merge_parts(const json_value *e, const char **a, size_t *na, const char **b, size_t *nb) {
    if (e->type == JSON_ARRAY && e->len == 2 && e->items[0]->type == JSON_STRING && e->items[1]->type == JSON_STRING) {
        *a = e->items[0]->str, *na = e->items[0]->len, *b = e->items[1]->str, *nb = e->items[1]->len;
        return 1;
    }
    const char *sp = e->type == JSON_STRING ? memchr(e->str, ' ', e->len) : NULL;
    if (!sp || memchr(sp + 1, ' ', e->len - (size_t)(sp + 1 - e->str))) return 0;
    *a = e->str, *na = (size_t)(sp - e->str), *b = sp + 1, *nb = e->len - *na - 1;
    return 1;
}

/* Puts (l, r) -> (rank, merged) in the table; a pair listed again takes its later rank, as the reference. */
static void table_put(uint8_t *slots, uint32_t n_slots, uint32_t l, uint32_t r, uint32_t rank, uint32_t merged) {
    for (uint32_t h = tm_bpe_hash(l, r);; h++) {
        uint8_t *s = slots + 16 * (size_t)(h & (n_slots - 1));
        if (te_le32(s) != 0xFFFFFFFFu && (te_le32(s) != l || te_le32(s + 4) != r)) continue;
        te_put32(s, l), te_put32(s + 4, r), te_put32(s + 8, rank), te_put32(s + 12, merged);
        return;
    }
}

/* One merge into the table: its parts and their concatenation must be tokens. */
static te_status add_merge(loader *L, const tok_index *x, const json_value *e, uint32_t rank, uint8_t *slots,
                           uint32_t n_slots) {
    const char *a, *b;
    size_t na, nb;
    if (!merge_parts(e, &a, &na, &b, &nb))
        return te_fail(L->err, TE_ERR_FORMAT, "tokenizer.json: merge %u is neither \"a b\" nor [a, b]", rank);
    char *tmp = malloc(na + nb + 1);
    if (!tmp) return te_fail(L->err, TE_ERR_NOMEM, "out of memory");
    size_t la = to_bytes(a, na, tmp), lb = to_bytes(b, nb, tmp + la);
    int32_t l = index_find(x, tmp, la), r = index_find(x, tmp + la, lb), m = index_find(x, tmp, la + lb);
    free(tmp);
    if (l < 0 || r < 0 || m < 0)
        return te_fail(L->err, TE_ERR_FORMAT, "tokenizer.json: merge %u (\"%.*s\" \"%.*s\") names a token not in the "
                       "vocabulary", rank, (int)(na > 40 ? 40 : na), a, (int)(nb > 40 ? 40 : nb), b);
    table_put(slots, n_slots, (uint32_t)l, (uint32_t)r, rank, (uint32_t)m);
    return TE_OK;
}

/* tokenizer.merges: n_slots, merges, the 256 bytes' ids, then the slots (empty: all 0xFF). */
static te_status build_merges(loader *L, const json_value *merges, const tok_index *x) {
    hf_model *hf = L->hf;
    size_t n = merges && merges->type == JSON_ARRAY ? merges->len : 0;
    uint32_t n_slots = 16;
    while (n_slots < 2 * n) n_slots *= 2;
    hf->merges_len = 8 + 1024 + 16 * (size_t)n_slots;
    if (!(hf->merges = malloc(hf->merges_len))) return te_fail(L->err, TE_ERR_NOMEM, "out of memory");
    memset(hf->merges + 8 + 1024, 0xFF, 16 * (size_t)n_slots);
    te_put32(hf->merges, n_slots);
    te_put32(hf->merges + 4, (uint32_t)n);
    te_status st = TE_OK;
    int bytes = 0;
    for (int byte = 0; byte < 256; byte++) { /* GPT-NeoX's has none for bytes UTF-8 never holds (0xC0, 0xF5...) */
        char c = (char)byte;
        int32_t id = index_find(x, &c, 1);
        te_put32(hf->merges + 8 + 4 * byte, id < 0 ? 0xFFFFFFFFu : (uint32_t)id);
        bytes += id >= 0 && byte < 0x80;
    }
    if (bytes < 0x80) st = te_fail(L->err, TE_ERR_FORMAT, "tokenizer.json: BPE without a token for every ASCII byte: "
                                   "not a byte-level BPE");
    for (size_t i = 0; i < n && st == TE_OK; i++)
        st = add_merge(L, x, merges->items[i], (uint32_t)i, hf->merges + 8 + 1024, n_slots);
    return st;
}

te_status hf_read_bpe(loader *L, const json_value *model) {
    hf_model *hf = L->hf;
    const char *s = NULL;
    if (json_get(model, "dropout") && json_get(model, "dropout")->type != JSON_NULL)
        return te_fail(L->err, TE_ERR_UNSUPPORTED, "tokenizer.json: BPE dropout is not supported (it is for training)");
    if ((json_get_str(model, "continuing_subword_prefix", &s) == 1 && s[0]) ||
        (json_get_str(model, "end_of_word_suffix", &s) == 1 && s[0]))
        return te_fail(L->err, TE_ERR_UNSUPPORTED, "tokenizer.json: BPE with a subword prefix or suffix is not supported");
    tok_index x = {0};
    te_status st = read_vocab(L, json_get(model, "vocab"));
    if (st == TE_OK) st = index_build(&x, hf, L->err);
    if (st == TE_OK) st = build_merges(L, json_get(model, "merges"), &x);
    free(x.slot);
    hf->bpe = 1;
    hf->prefix = "";
    hf->max_chars = 100; /* WordPiece's, unused */
    return st;
}
