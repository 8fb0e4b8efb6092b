/*
 * hf_tokenizer.c - the tokenizer of a Hugging Face model directory:
 * tokenizer.json (WordPiece, Unigram or byte-level BPE, its normalizer and pre-tokenizer as
 * tok_pipeline.c runs them, its added tokens and special ids) or, without
 * one, vocab.txt with tokenizer_config.json's BERT settings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "hf_loader.h"
#include "internal.h"
#include "tok_pipeline.h"

static int32_t find_token(const hf_model *hf, const char *s) {
    size_t n = strlen(s);
    for (uint32_t i = 0; i < hf->n_tokens; i++)
        if (hf->token_lens[i] == n && memcmp(hf->tokens[i], s, n) == 0) return (int32_t)i;
    for (uint32_t i = 0; i < hf->n_added; i++)
        if (strcmp(hf->added[i].content, s) == 0) return (int32_t)hf->added[i].id;
    return -1;
}

static te_status alloc_vocab(loader *L, uint32_t n) {
    L->hf->tokens = calloc(n ? n : 1, sizeof *L->hf->tokens);
    L->hf->token_lens = calloc(n ? n : 1, sizeof *L->hf->token_lens);
    if (!L->hf->tokens || !L->hf->token_lens) return te_fail(L->err, TE_ERR_NOMEM, "out of memory");
    L->hf->n_tokens = n;
    return TE_OK;
}

static te_status read_vocab_txt(loader *L) {
    char path[4096];
    hf_join(path, sizeof path, L->dir, "vocab.txt");
    char *text;
    size_t len;
    te_status st = hf_read_file(path, MAX_JSON_BYTES, &text, &len, L->err);
    if (st != TE_OK) return st;
    if ((st = hf_own_buf(L, text)) != TE_OK) return st;
    uint32_t n = 0;
    for (size_t i = 0; i < len; i++) n += text[i] == '\n';
    if (len && text[len - 1] != '\n') n++;
    if ((st = alloc_vocab(L, n)) != TE_OK) return st;
    char *p = text;
    for (uint32_t i = 0; i < n; i++) {
        char *e = memchr(p, '\n', (size_t)(text + len - p));
        if (!e) e = text + len;
        *e = '\0';
        size_t k = (size_t)(e - p);
        if (k && p[k - 1] == '\r') p[--k] = '\0';
        L->hf->tokens[i] = p;
        L->hf->token_lens[i] = (uint32_t)k;
        p = e + 1;
    }
    hf_note(L, "vocabulary: %u tokens from vocab.txt", n);
    return TE_OK;
}

/* A special-token setting: a string or an AddedToken object {"content": ...}. */
static const char *token_name(const json_value *o, const char *key, const char *def) {
    const json_value *v = json_get(o, key);
    if (v && v->type == JSON_STRING) return v->str;
    const char *s;
    if (v && v->type == JSON_OBJECT && json_get_str(v, "content", &s) == 1) return s;
    return def;
}

static te_status add_added(loader *L, uint32_t id, uint32_t flags, const char *content) {
    hf_model *hf = L->hf;
    hf_added *a = realloc(hf->added, (hf->n_added + 1) * sizeof *a);
    if (!a) return te_fail(L->err, TE_ERR_NOMEM, "out of memory");
    hf->added = a;
    hf->added[hf->n_added++] = (hf_added){id, flags, content};
    return TE_OK;
}

/* WordPiece's vocabulary: an object piece -> id. */
static te_status read_wordpiece(loader *L, const json_value *model) {
    hf_model *hf = L->hf;
    const char *f = "tokenizer.json";
    const json_value *vocab = json_get(model, "vocab");
    if (!vocab || vocab->type != JSON_OBJECT || vocab->len == 0 || vocab->len > (1u << 24))
        return te_fail(L->err, TE_ERR_FORMAT, "%s: 'model.vocab' must be a non-empty object", f);
    te_status st = alloc_vocab(L, (uint32_t)vocab->len);
    if (st != TE_OK) return st;
    for (size_t i = 0; i < vocab->len; i++) {
        const json_member *m = &vocab->members[i];
        if (m->value->type != JSON_NUMBER || !m->value->is_int || m->value->i < 0 || (uint64_t)m->value->i >= vocab->len)
            return te_fail(L->err, TE_ERR_FORMAT, "%s: vocab entry \"%.60s\" has id outside 0..%zu", f, m->key, vocab->len - 1);
        uint32_t id = (uint32_t)m->value->i;
        if (hf->tokens[id])
            return te_fail(L->err, TE_ERR_FORMAT, "%s: vocab id %u is used twice (\"%.40s\" and \"%.40s\")", f, id, hf->tokens[id], m->key);
        hf->tokens[id] = m->key;
        hf->token_lens[id] = (uint32_t)m->key_len;
    }
    hf->prefix = "##";
    if (json_get_str(model, "continuing_subword_prefix", &hf->prefix) < 0)
        return te_fail(L->err, TE_ERR_FORMAT, "%s: 'continuing_subword_prefix' must be a string", f);
    return hf_get_int(L, model, f, "max_input_chars_per_word", 100, 1, 1 << 16, &hf->max_chars);
}

/* Unigram's vocabulary: a list of [piece, score], ids in order. */
/* A JSON number as serde_json reads it by default (without its
 * float_roundtrip feature), which is how Hugging Face tokenizers reads the
 * pieces' scores: the digits as a u64 (digits past its range dropped, the
 * integer ones counted in the exponent), then one multiplication or
 * division by a power of ten. For 17-digit scores that is an ulp off the
 * nearest double a quarter of the time, and Viterbi breaks ties between
 * equal-scoring segmentations ("▁ab c cc" or "▁ab cc c") as the reference
 * does only with its values. NaN when the number overflows (the reference
 * refuses the file). */
static double serde_f64(const char *s) {
    int neg = *s == '-', exp = 0, in_fraction = 0, dropping = 0;
    uint64_t sig = 0;
    for (s += neg; (*s >= '0' && *s <= '9') || (*s == '.' && !in_fraction); s++) {
        if (*s == '.') { in_fraction = 1; continue; }
        uint64_t d = (uint64_t)(*s - '0');
        if (!dropping && (sig < UINT64_MAX / 10 || (sig == UINT64_MAX / 10 && d <= UINT64_MAX % 10))) {
            sig = sig * 10 + d;
            exp -= in_fraction;
        } else {
            dropping = 1;
            exp += !in_fraction;
        }
    }
    if (*s == 'e' || *s == 'E') {
        long e = strtol(s + 1, NULL, 10);
        exp = e > 100000 ? 100000 : e < -100000 ? -100000 : exp + (int)e;
    }
    double f = (double)sig;
    while (exp < -308 && f != 0) f /= 1e308, exp += 308;
    if (exp > 308) return f == 0 ? (neg ? -0.0 : 0.0) : NAN;
    char pow[16];
    snprintf(pow, sizeof pow, "1e%d", exp < 0 ? -exp : exp);
    f = exp < 0 ? f / strtod(pow, NULL) : f * strtod(pow, NULL); /* 1eK correctly rounded, as serde's table */
    return isinf(f) ? NAN : neg ? -f : f;
}

static te_status read_unigram(loader *L, const json_value *model) {
    hf_model *hf = L->hf;
    const char *f = "tokenizer.json";
    const json_value *vocab = json_get(model, "vocab");
    int64_t unk;
    if (!vocab || vocab->type != JSON_ARRAY || vocab->len == 0 || vocab->len > (1u << 24))
        return te_fail(L->err, TE_ERR_FORMAT, "%s: 'model.vocab' must be a non-empty list of [piece, score]", f);
    if (json_get_int(model, "unk_id", &unk) != 1 || unk < 0 || (uint64_t)unk >= vocab->len)
        return te_fail(L->err, TE_ERR_FORMAT, "%s: Unigram 'model.unk_id' must be an id of the vocabulary", f);
    te_status st = alloc_vocab(L, (uint32_t)vocab->len);
    if (st != TE_OK) return st;
    if (!(hf->scores = malloc(vocab->len * 8))) return te_fail(L->err, TE_ERR_NOMEM, "out of memory");
    double min = 0;
    for (size_t i = 0; i < vocab->len; i++) {
        const json_value *e = vocab->items[i];
        if (e->type != JSON_ARRAY || e->len != 2 || e->items[0]->type != JSON_STRING || e->items[1]->type != JSON_NUMBER)
            return te_fail(L->err, TE_ERR_FORMAT, "%s: vocab entry %zu is not [piece, score]", f, i);
        hf->tokens[i] = e->items[0]->str;
        hf->token_lens[i] = (uint32_t)e->items[0]->len;
        double sc = L->tokenizer_text ? serde_f64(L->tokenizer_text + e->items[1]->pos) : NAN;
        if (isnan(sc)) return te_fail(L->err, TE_ERR_FORMAT, "%s: vocab entry %zu has a score out of range", f, i);
        uint64_t bits;
        memcpy(&bits, &sc, 8);
        te_put64(hf->scores + 8 * i, bits);
        if (i == 0 || sc < min) min = sc;
    }
    hf->unk = (int32_t)unk;
    hf->min_score = min;
    hf->unigram = 1;
    hf->prefix = "";
    hf->max_chars = 100; /* WordPiece's, unused */
    return hf_build_trie(hf, L->err);
}

/* The JSON a .temb file keeps of the tokenizer (tokenizer.pipeline): the
 * normalizer (the charsmap goes to its own tensor), pre-tokenizer and
 * decoder as tokenizer.json has them, and the model's settings. */
static te_status write_pipeline(loader *L, const json_value *tj) {
    hf_model *hf = L->hf;
    char model[200];
    if (hf->unigram) {
        int fb = 0;
        json_get_bool(json_get(tj, "model"), "byte_fallback", &fb);
        snprintf(model, sizeof model, "{\"type\":\"Unigram\",\"unk_id\":%d,\"byte_fallback\":%s,\"min_score\":%.17g}",
                 (int)hf->unk, fb ? "true" : "false", hf->min_score);
        for (char *c = model; *c; c++)
            if (*c == ',' && c[1] >= '0' && c[1] <= '9' && c[-1] >= '0' && c[-1] <= '9') *c = '.'; /* a locale's decimal comma */
    } else if (hf->bpe) {
        int ignore = 0;
        json_get_bool(json_get(tj, "model"), "ignore_merges", &ignore);
        snprintf(model, sizeof model, "{\"type\":\"BPE\",\"ignore_merges\":%s}", ignore ? "true" : "false");
    } else {
        snprintf(model, sizeof model, "{\"type\":\"WordPiece\"}");
    }
    const json_value *parts[3] = {json_get(tj, "normalizer"), json_get(tj, "pre_tokenizer"), json_get(tj, "decoder")};
    char *text[3] = {NULL, NULL, NULL};
    te_status st = TE_OK;
    for (int i = 0; i < 3 && st == TE_OK; i++)
        if (parts[i] && !(text[i] = json_write(parts[i], "precompiled_charsmap"))) st = te_fail(L->err, TE_ERR_NOMEM, "out of memory");
    size_t len = strlen(model) + 100;
    for (int i = 0; i < 3; i++) len += text[i] ? strlen(text[i]) : 4;
    if (st == TE_OK && !(hf->pipeline = malloc(len))) st = te_fail(L->err, TE_ERR_NOMEM, "out of memory");
    if (st == TE_OK)
        snprintf(hf->pipeline, len, "{\"normalizer\":%s,\"pre_tokenizer\":%s,\"model\":%s,\"decoder\":%s}",
                 text[0] ? text[0] : "null", text[1] ? text[1] : "null", model, text[2] ? text[2] : "null");
    for (int i = 0; i < 3; i++) free(text[i]);
    return st;
}

/* SentencePiece's charsmap, base64 in the first Precompiled normalizer. */
static const json_value *find_charsmap(const json_value *n) {
    if (!n || n->type != JSON_OBJECT) return NULL;
    const json_value *c = json_get(n, "precompiled_charsmap");
    if (c && c->type == JSON_STRING) return c;
    const json_value *list = json_get(n, "normalizers");
    for (size_t i = 0; list && list->type == JSON_ARRAY && i < list->len; i++)
        if ((c = find_charsmap(list->items[i])) != NULL) return c;
    return NULL;
}

/* BertNormalizer (or none), BertPreTokenizer, WordPiece: what files before
 * format 1.3 describe with their tokenizer.* keys, so they stay readable by
 * older readers; anything else gets tokenizer.pipeline. */
static int is_classic_bert(const tok_pipeline *p) {
    return p->model == TM_WORDPIECE && p->n_norm <= 1 && (p->n_norm == 0 || p->norm[0].kind == TN_BERT) &&
           p->n_pre == 1 && p->pre[0].kind == TP_BERT;
}

static te_status read_pipeline(loader *L, const json_value *tj, tok_pipeline *p) {
    hf_model *hf = L->hf;
    te_status st = tok_pipeline_parse(p, tj, L->err);
    if (st != TE_OK) {
        te_error_prefix(L->err, "tokenizer.json");
        return st;
    }
    hf->clean_text = hf->chinese_chars = hf->lowercase = hf->strip_accents = 0;
    if (is_classic_bert(p)) {
        if (p->n_norm == 1) {
            hf->clean_text = p->norm[0].clean;
            hf->chinese_chars = p->norm[0].chinese;
            hf->lowercase = p->norm[0].lowercase;
            hf->strip_accents = p->norm[0].strip_accents;
        }
        return TE_OK;
    }
    const json_value *cm = find_charsmap(json_get(tj, "normalizer"));
    if (cm && !(hf->charsmap = te_base64_decode(cm->str, cm->len, &hf->charsmap_len)))
        return te_fail(L->err, TE_ERR_FORMAT, "tokenizer.json: precompiled_charsmap is not valid base64");
    if (cm && hf->charsmap_len >= 4) {
        uint32_t trie = te_le32(hf->charsmap);
        if (trie % 4 || trie > hf->charsmap_len - 4)
            return te_fail(L->err, TE_ERR_FORMAT, "tokenizer.json: precompiled_charsmap is damaged");
        p->charsmap = (tn_charsmap){{hf->charsmap + 4, trie / 4}, (const char *)hf->charsmap + 4 + trie,
                                    hf->charsmap_len - 4 - trie};
    } else if (cm) {
        return te_fail(L->err, TE_ERR_FORMAT, "tokenizer.json: precompiled_charsmap is too short");
    }
    return write_pipeline(L, tj);
}

static te_status read_added(loader *L, const json_value *tj, const tok_pipeline *p) {
    hf_model *hf = L->hf;
    const char *f = "tokenizer.json";
    const json_value *added = json_get(tj, "added_tokens");
    size_t n_added = added && added->type == JSON_ARRAY ? added->len : 0, room = 4 * TEMB_MAX_ADDED_LEN + 1;
    /* Normalized contents, one slot per token, in one buffer the model keeps. */
    char *norm = n_added ? malloc(n_added * room) : NULL;
    if (n_added && !norm) return te_fail(L->err, TE_ERR_NOMEM, "out of memory");
    te_status st = norm ? hf_own_buf(L, norm) : TE_OK;
    for (size_t i = 0; i < n_added && st == TE_OK; i++) {
        const json_value *a = added->items[i];
        int64_t id;
        const char *content;
        if (json_get_int(a, "id", &id) != 1 || id < 0 || id >= hf->vocab_size || json_get_str(a, "content", &content) != 1)
            return te_fail(L->err, TE_ERR_FORMAT, "%s: added_tokens[%zu] needs an 'id' below vocab_size and a 'content'", f, i);
        int special = 0, single = 0, lstrip = 0, rstrip = 0, normalized = 0;
        hf_get_bool(L, a, f, "special", 0, &special);
        hf_get_bool(L, a, f, "single_word", 0, &single);
        hf_get_bool(L, a, f, "lstrip", 0, &lstrip);
        hf_get_bool(L, a, f, "rstrip", 0, &rstrip);
        hf_get_bool(L, a, f, "normalized", !special, &normalized);
        uint32_t flags = (special ? TEMB_ADDED_SPECIAL : 0) | (single ? TEMB_ADDED_SINGLE_WORD : 0) |
                         (lstrip ? TEMB_ADDED_LSTRIP : 0) | (rstrip ? TEMB_ADDED_RSTRIP : 0) |
                         (normalized ? TEMB_ADDED_NORMALIZED : 0);
        if (normalized && strlen(content) < TEMB_MAX_ADDED_LEN) {
            /* Matched in the normalized text: kept normalized, as the reference does. */
            char *slot = norm + i * room;
            slot[tok_pipeline_normalize(p, content, strlen(content), slot, room - 1)] = '\0';
            content = slot;
        }
        st = add_added(L, (uint32_t)id, flags, content);
    }
    return st;
}

static te_status read_tokenizer_json(loader *L, const json_value *tj) {
    hf_model *hf = L->hf;
    const char *f = "tokenizer.json";
    const json_value *model = json_get(tj, "model");
    const char *type = NULL;
    if (model && json_get_str(model, "type", &type) != 1 && json_get(model, "merges")) type = "BPE"; /* the Hub's older layout */
    if (!type) return te_fail(L->err, TE_ERR_FORMAT, "%s: 'model.type' is missing", f);
    te_status st;
    if (!strcmp(type, "WordPiece")) st = read_wordpiece(L, model);
    else if (!strcmp(type, "Unigram")) st = read_unigram(L, model);
    else if (!strcmp(type, "BPE")) st = hf_read_bpe(L, model);
    else return te_fail(L->err, TE_ERR_UNSUPPORTED, "%s: tokenizer model '%s' is not supported (WordPiece, Unigram, BPE)", f, type);
    tok_pipeline p;
    memset(&p, 0, sizeof p);
    if (st == TE_OK) st = read_pipeline(L, tj, &p);
    if (st == TE_OK) st = read_added(L, tj, &p);
    tok_pipeline_free(&p);
    if (st == TE_OK)
        hf_note(L, "vocabulary: %u tokens (%s) and %u added tokens from tokenizer.json%s", hf->n_tokens, type, hf->n_added,
                hf->pipeline ? "; its pipeline is kept in tokenizer.pipeline" : "");
    return st;
}

te_status hf_read_tokenizer(loader *L) {
    hf_model *hf = L->hf;
    const json_value *tj = L->tokenizer_json, *tc = L->tokenizer_config, *sm = L->special_map;
    te_status st = TE_OK;
    const char *names[5] = {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"};
    static const char *const keys[5] = {"cls_token", "sep_token", "pad_token", "unk_token", "mask_token"};
    static const char *const also[5] = {"bos_token", "eos_token", NULL, NULL, NULL}; /* SentencePiece models' names */
    for (int i = 0; i < 5; i++) {
        if (also[i]) names[i] = token_name(sm, also[i], token_name(tc, also[i], names[i]));
        names[i] = token_name(sm, keys[i], token_name(tc, keys[i], names[i]));
    }

    if (tj) {
        st = read_tokenizer_json(L, tj);
    } else {
        char path[4096];
        hf_join(path, sizeof path, L->dir, "vocab.txt");
        if (!hf_file_exists(path))
            return te_fail(L->err, TE_ERR_NOT_FOUND, "%s: no tokenizer: neither tokenizer.json nor vocab.txt is there", L->dir);
        st = read_vocab_txt(L);
        hf->prefix = "##";
        hf->max_chars = 100;
        hf->clean_text = 1;
        const char *f = "tokenizer_config.json";
        if (st == TE_OK) st = hf_get_bool(L, tc, f, "do_lower_case", 1, &hf->lowercase);
        if (st == TE_OK) st = hf_get_bool(L, tc, f, "strip_accents", hf->lowercase, &hf->strip_accents);
        if (st == TE_OK) st = hf_get_bool(L, tc, f, "tokenize_chinese_chars", 1, &hf->chinese_chars);
        /* The slow BertTokenizer splits its special tokens out of the raw text. */
        for (int i = 0; st == TE_OK && i < 5; i++) {
            int32_t id = find_token(hf, names[i]);
            if (id >= 0) st = add_added(L, (uint32_t)id, TEMB_ADDED_SPECIAL, names[i]);
        }
    }
    if (st != TE_OK) return st;
    if (hf->n_tokens > (uint32_t)hf->vocab_size)
        return te_fail(L->err, TE_ERR_FORMAT, "the vocabulary has %u tokens but config.json vocab_size is %d", hf->n_tokens, hf->vocab_size);
    /* [CLS] and [SEP] frame texts unless tokenizer.json's post_processor says how;
     * Unigram's unknown id is its model's. */
    int32_t *ids[5] = {&hf->cls, &hf->sep, &hf->pad, &hf->unk, &hf->mask};
    for (int i = 0; i < 5; i++) {
        if (i == 3 && hf->unigram) continue;
        *ids[i] = find_token(hf, names[i]);
        if (*ids[i] < 0 && ((i == 3 && !hf->bpe) || (!tj && i < 2))) /* byte-level BPE needs no unknown token */
            return te_fail(L->err, TE_ERR_FORMAT, "special token %s ('%s') is not in the vocabulary", keys[i], names[i]);
    }
    return hf_read_post_processor(hf, tj, L->err);
}


typedef struct piece {
    const char *p;
    size_t len;
    uint32_t id;
} piece;

static int by_piece(const void *a, const void *b) {
    const piece *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);
    if (c) return c;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id; /* equal pieces: ascending ids, the last one wins below */
}

te_status hf_build_trie(hf_model *hf, te_error *err) {
    size_t n = hf->n_tokens, k = 0;
    piece *all = malloc((n ? n : 1) * sizeof *all);
    uint32_t *values = malloc((n ? n : 1) * sizeof *values);
    const uint8_t **keys = malloc((n ? n : 1) * sizeof *keys);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    te_status st = all && values && keys && lens ? TE_OK : te_fail(err, TE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == TE_OK && i < n; i++) all[i] = (piece){hf->tokens[i], hf->token_lens[i], (uint32_t)i};
    if (st == TE_OK) qsort(all, n, sizeof *all, by_piece);
    for (size_t i = 0; st == TE_OK && i < n; i++) {
        if (all[i].len == 0 || memchr(all[i].p, 0, all[i].len)) continue; /* no text gives these */
        if (k && lens[k - 1] == all[i].len && memcmp(keys[k - 1], all[i].p, all[i].len) == 0) k--; /* the later id wins */
        keys[k] = (const uint8_t *)all[i].p;
        lens[k] = all[i].len;
        values[k++] = all[i].id;
    }
    if (st == TE_OK) st = te_darts_build(keys, lens, values, k, &hf->trie, &hf->trie_units, err);
    free(all);
    free(values);
    free(keys);
    free(lens);
    return st;
}

uint8_t *te_base64_decode(const char *s, size_t len, size_t *out_len) {
    uint8_t *out = malloc(len / 4 * 3 + 3);
    if (!out) return NULL;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
              : c == '+' ? 62 : c == '/' ? 63 : c == '=' ? -2 : -1;
        if (v == -2) break;
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = n;
    return out;
}
