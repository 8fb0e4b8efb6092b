/*
 * vocab.c - vocabulary lookup over the stored FNV-1a hash table (see vocab.h
 * and docs/FORMAT.md, VOCAB section).
 */
#include "vocab.h"

#include <string.h>

#include "format_util.h"
#include "internal.h"

const char *te_vocab_token(const te_vocab *v, uint32_t id, size_t *len) {
    if (id >= v->n) return NULL;
    uint32_t a = te_le32(v->offsets + 4 * (size_t)id), b = te_le32(v->offsets + 4 * ((size_t)id + 1));
    /* Checked here, not at open: te_open does not read the vocabulary, so a
     * cold start need not page it in before the first tokenization. */
    if (b < a || b > v->blob_len) return NULL;
    *len = b - a;
    return v->blob + a;
}

int32_t te_vocab_find(const te_vocab *v, const char *prefix, size_t prefix_len,
                      const char *s, size_t len) {
    size_t total = prefix_len + len;
    if (total == 0 || total > v->max_len) return -1;
    uint32_t h = te_fnv1a(te_fnv1a(TEMB_FNV_OFFSET, prefix, prefix_len), s, len);
    /* Probing stops at an empty slot; the bound on steps keeps a damaged,
     * completely full table from looping forever. */
    for (uint32_t step = 0; step <= v->mask; step++) {
        uint32_t slot = te_le32(v->slots + 4 * (size_t)((h + step) & v->mask));
        if (slot == 0) return -1;
        size_t tlen;
        const char *tok = te_vocab_token(v, slot - 1, &tlen);
        if (tok && tlen == total && (prefix_len == 0 || memcmp(tok, prefix, prefix_len) == 0) &&
            memcmp(tok + prefix_len, s, len) == 0)
            return (int32_t)(slot - 1);
    }
    return -1;
}
