/*
 * unicode.c - lookups over the generated tables (see unicode.h) and UTF-8.
 */
#include "unicode.h"

static const te_uc_map *find_map(const te_uc_map *rows, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rows[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    return (lo < n && rows[lo].cp == cp) ? &rows[lo] : NULL;
}

int te_uc_lowercase(uint32_t cp, uint32_t *out) {
    const te_uc_map *r = (te_uc_flags(cp) & TE_UC_LOWER) ? find_map(te_uc_lower, te_uc_n_lower, cp) : NULL;
    if (!r) {
        out[0] = cp;
        return 1;
    }
    for (int i = 0; i < r->len; i++) out[i] = te_uc_pool[r->at + i];
    return r->len;
}

/* Hangul syllables decompose arithmetically (Unicode 15, section 3.12). */
enum { S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7, L_COUNT = 19, V_COUNT = 21, T_COUNT = 28,
       N_COUNT = V_COUNT * T_COUNT, S_COUNT = L_COUNT * N_COUNT };

int te_uc_decompose(uint32_t cp, uint32_t *out) {
    if (!(te_uc_flags(cp) & TE_UC_DECOMP)) {
        out[0] = cp;
        return 1;
    }
    if (cp >= S_BASE && cp < S_BASE + S_COUNT) {
        uint32_t s = cp - S_BASE;
        out[0] = L_BASE + s / N_COUNT;
        out[1] = V_BASE + (s % N_COUNT) / T_COUNT;
        if (s % T_COUNT == 0) return 2;
        out[2] = T_BASE + s % T_COUNT;
        return 3;
    }
    const te_uc_map *r = find_map(te_uc_decomp, te_uc_n_decomp, cp);
    if (!r) {
        out[0] = cp;
        return 1;
    }
    for (int i = 0; i < r->len; i++) out[i] = te_uc_pool[r->at + i];
    return r->len;
}

int te_uc_kdecompose(uint32_t cp, uint32_t *out) {
    const te_uc_map *r = cp >= 0xA0 ? find_map(te_uc_kdecomp, te_uc_n_kdecomp, cp) : NULL;
    if (!r) return te_uc_decompose(cp, out); /* NFKD is NFD here */
    for (int i = 0; i < r->len; i++) out[i] = te_uc_pool[r->at + i];
    return r->len;
}

uint32_t te_uc_compose(uint32_t a, uint32_t b) {
    if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE && b < V_BASE + V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 && b > T_BASE && b < T_BASE + T_COUNT)
        return a + (b - T_BASE);
    size_t lo = 0, hi = te_uc_n_compositions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const te_uc_pair *p = &te_uc_compositions[mid];
        if (p->first < a || (p->first == a && p->second < b)) lo = mid + 1;
        else hi = mid;
    }
    return lo < te_uc_n_compositions && te_uc_compositions[lo].first == a && te_uc_compositions[lo].second == b
               ? te_uc_compositions[lo].composite
               : 0;
}

/* Whether UAX #29 keeps cp (break class `next`) in the cluster so far:
 * `prev` the last one's class, `zwj_emoji` an Extended_Pictographic Extend*
 * ZWJ just ended it (GB11), `ri` how many regional indicators end it (GB12/13). */
static int grapheme_continues(unsigned prev, unsigned next, unsigned next_props, int zwj_emoji, int ri) {
    if (prev == TE_GCB_CR && next == TE_GCB_LF) return 1;                                   /* GB3 */
    if (prev == TE_GCB_CONTROL || prev == TE_GCB_CR || prev == TE_GCB_LF) return 0;          /* GB4 */
    if (next == TE_GCB_CONTROL || next == TE_GCB_CR || next == TE_GCB_LF) return 0;          /* GB5 */
    if (prev == TE_GCB_L && (next == TE_GCB_L || next == TE_GCB_V || next == TE_GCB_LV || next == TE_GCB_LVT)) return 1;
    if ((prev == TE_GCB_LV || prev == TE_GCB_V) && (next == TE_GCB_V || next == TE_GCB_T)) return 1;  /* GB7 */
    if ((prev == TE_GCB_LVT || prev == TE_GCB_T) && next == TE_GCB_T) return 1;             /* GB8 */
    if (next == TE_GCB_EXTEND || next == TE_GCB_ZWJ || next == TE_GCB_SPACINGMARK) return 1; /* GB9, GB9a */
    if (prev == TE_GCB_PREPEND) return 1;                                                    /* GB9b */
    if (zwj_emoji && (next_props & TE_UC_EXT_PICT)) return 1;                                /* GB11 */
    return prev == TE_GCB_RI && next == TE_GCB_RI && ri % 2 == 1;                            /* GB12, GB13 */
}

size_t te_uc_grapheme(const unsigned char *s, size_t n) {
    uint32_t cp;
    size_t at = te_utf8_decode(s, n, &cp);
    unsigned props = te_uc_props(cp), prev = props & TE_UC_GCB_MASK;
    int emoji = (props & TE_UC_EXT_PICT) != 0, zwj_emoji = 0, ri = prev == TE_GCB_RI;
    while (at < n) {
        size_t len = te_utf8_decode(s + at, n - at, &cp);
        unsigned p = te_uc_props(cp), next = p & TE_UC_GCB_MASK;
        if (!grapheme_continues(prev, next, p, zwj_emoji, ri)) break;
        /* GB11's state: an emoji, then Extend*, then ZWJ. */
        zwj_emoji = emoji && next == TE_GCB_ZWJ;
        if (!(emoji && next == TE_GCB_EXTEND)) emoji = (p & TE_UC_EXT_PICT) != 0;
        ri = next == TE_GCB_RI ? ri + 1 : 0;
        prev = next;
        at += len;
    }
    return at;
}

int te_uc_ccc_of(uint32_t cp) {
    if (!(te_uc_flags(cp) & TE_UC_NONSTARTER)) return 0;
    size_t lo = 0, hi = te_uc_n_ccc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (te_uc_ccc[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    return (lo < te_uc_n_ccc && te_uc_ccc[lo].cp == cp) ? te_uc_ccc[lo].ccc : 0;
}

size_t te_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t need;
    uint32_t v;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) { need = 2; v = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3; v = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;      /* no overlongs */
        if (c == 0xED) hi = 0x9F;      /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4; v = c & 0x07;
        if (c == 0xF0) lo = 0x90;      /* no overlongs */
        if (c == 0xF4) hi = 0x8F;      /* nothing above U+10FFFF */
    } else {
        *cp = TE_UC_REPLACEMENT;
        return 1;
    }
    /* Consume the longest valid prefix; a break yields one U+FFFD for it. */
    for (size_t i = 1; i < need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *cp = TE_UC_REPLACEMENT;
            return i;
        }
        v = (v << 6) | (s[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = v;
    return need;
}

size_t te_utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
