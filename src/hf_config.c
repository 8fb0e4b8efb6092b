/*
 * hf_config.c - reads a Hugging Face model directory's settings (see
 * hf_config.h). Every error names the file and the field at fault.
 */
#include "hf_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "format.h"
#include "internal.h"

#define MAX_JSON_BYTES ((size_t)256 << 20)

typedef struct loader {
    hf_model *hf;
    const char *dir;
    const te_convert_opts *opts;
    te_error *err;
    /* Optional files, parsed once; NULL when absent. */
    const json_value *tokenizer_json, *tokenizer_config, *special_map, *modules, *sbert_config;
} loader;

TE_PRINTF(2, 3)
static void note(const loader *L, const char *fmt, ...) {
    if (!L->opts || !L->opts->note) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    L->opts->note(L->opts->user, msg);
}

static void join(char *out, size_t cap, const char *dir, const char *name) {
    size_t n = strlen(dir);
    snprintf(out, cap, "%s%s%s", dir, (n && dir[n - 1] == '/') ? "" : "/", name);
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

te_status hf_read_file(const char *path, size_t max, char **out, size_t *len, te_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return te_fail(err, errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_IO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    te_status st = buf ? TE_OK : te_fail(err, TE_ERR_NOMEM, "out of memory");
    while (st == TE_OK) {
        if (n + 1 >= cap) {
            if (cap > max) { st = te_fail(err, TE_ERR_FORMAT, "%s: larger than %zu bytes", path, max); break; }
            char *nb = realloc(buf, cap * 2);
            if (!nb) { st = te_fail(err, TE_ERR_NOMEM, "out of memory reading %s", path); break; }
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - 1 - n, f);
        n += k;
        if (k == 0) {
            if (ferror(f)) st = te_fail(err, TE_ERR_IO, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st != TE_OK) { free(buf); return st; }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return TE_OK;
}

static te_status own_buf(loader *L, char *b) {
    if (L->hf->n_bufs == HF_MAX_OWNED) { free(b); return te_fail(L->err, TE_ERR_NOMEM, "too many files"); }
    L->hf->bufs[L->hf->n_bufs++] = b;
    return TE_OK;
}

/* Loads DIR/name as JSON. Returns TE_OK with *root NULL when the file is
 * absent and not required. */
static te_status load_json(loader *L, const char *name, int required, const json_value **root) {
    char path[4096];
    join(path, sizeof path, L->dir, name);
    *root = NULL;
    if (!file_exists(path)) {
        if (required) return te_fail(L->err, TE_ERR_NOT_FOUND, "%s: no such file", path);
        return TE_OK;
    }
    char *text;
    size_t len;
    te_status st = hf_read_file(path, MAX_JSON_BYTES, &text, &len, L->err);
    if (st != TE_OK) return st;
    json_doc *d = json_parse(text, len, L->err);
    free(text);
    if (!d) {
        te_error_prefix(L->err, "%s: malformed JSON", path);
        return L->err ? L->err->code : TE_ERR_FORMAT;
    }
    if (L->hf->n_docs == HF_MAX_OWNED) { json_free(d); return te_fail(L->err, TE_ERR_NOMEM, "too many files"); }
    L->hf->docs[L->hf->n_docs++] = d;
    *root = json_root(d);
    if ((*root)->type != JSON_OBJECT && (*root)->type != JSON_ARRAY)
        return te_fail(L->err, TE_ERR_FORMAT, "%s: expected a JSON object", path);
    return TE_OK;
}

/* An integer config field in [lo, hi]; `def` < 0 means required. */
static te_status get_int(loader *L, const json_value *o, const char *file, const char *key,
                         int64_t def, int64_t lo, int64_t hi, int *out) {
    int64_t v;
    int r = json_get_int(o, key, &v);
    if (r < 0) return te_fail(L->err, TE_ERR_FORMAT, "%s: '%s' must be an integer", file, key);
    if (r == 0) {
        if (def < 0) return te_fail(L->err, TE_ERR_FORMAT, "%s: '%s' is missing", file, key);
        v = def;
    }
    if (v < lo || v > hi)
        return te_fail(L->err, TE_ERR_FORMAT, "%s: '%s' = %lld is out of range [%lld, %lld]", file, key,
                       (long long)v, (long long)lo, (long long)hi);
    *out = (int)v;
    return TE_OK;
}

static te_status get_bool(loader *L, const json_value *o, const char *file, const char *key, int def, int *out) {
    int r = json_get_bool(o, key, out);
    if (r < 0) return te_fail(L->err, TE_ERR_FORMAT, "%s: '%s' must be true or false", file, key);
    if (r == 0) *out = def;
    return TE_OK;
}

static te_status read_config(loader *L) {
    hf_model *hf = L->hf;
    const json_value *c;
    te_status st = load_json(L, "config.json", 1, &c);
    if (st != TE_OK) return st;
    return hf_read_arch(hf, c, L->err);
}

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
    join(path, sizeof path, L->dir, "vocab.txt");
    char *text;
    size_t len;
    te_status st = hf_read_file(path, MAX_JSON_BYTES, &text, &len, L->err);
    if (st != TE_OK) return st;
    if ((st = own_buf(L, text)) != TE_OK) return st;
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
    note(L, "vocabulary: %u tokens from vocab.txt", n);
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

static te_status read_tokenizer_json(loader *L, const json_value *tj) {
    hf_model *hf = L->hf;
    const char *f = "tokenizer.json";
    const json_value *model = json_get(tj, "model");
    const char *type = NULL;
    if (!model || json_get_str(model, "type", &type) != 1)
        return te_fail(L->err, TE_ERR_FORMAT, "%s: 'model.type' is missing", f);
    if (strcmp(type, "WordPiece") != 0)
        return te_fail(L->err, TE_ERR_UNSUPPORTED, "%s: tokenizer model '%s' is not supported (need WordPiece)", f, type);
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
    if ((st = get_int(L, model, f, "max_input_chars_per_word", 100, 1, 1 << 16, &hf->max_chars)) != TE_OK) return st;

    const json_value *norm = json_get(tj, "normalizer");
    hf->clean_text = hf->chinese_chars = hf->lowercase = hf->strip_accents = 0;
    if (norm && norm->type != JSON_NULL) {
        const char *nt = NULL;
        if (json_get_str(norm, "type", &nt) != 1 || strcmp(nt, "BertNormalizer") != 0)
            return te_fail(L->err, TE_ERR_UNSUPPORTED, "%s: normalizer '%s' is not supported (need BertNormalizer)", f, nt ? nt : "?");
        st = get_bool(L, norm, f, "clean_text", 1, &hf->clean_text);
        if (st == TE_OK) st = get_bool(L, norm, f, "handle_chinese_chars", 1, &hf->chinese_chars);
        if (st == TE_OK) st = get_bool(L, norm, f, "lowercase", 1, &hf->lowercase);
        /* strip_accents: null means "follow lowercase", as in the reference. */
        if (st == TE_OK) st = get_bool(L, norm, f, "strip_accents", hf->lowercase, &hf->strip_accents);
        if (st != TE_OK) return st;
    }
    const json_value *pre = json_get(tj, "pre_tokenizer");
    const char *pt = NULL;
    if (pre && pre->type != JSON_NULL && (json_get_str(pre, "type", &pt) != 1 || strcmp(pt, "BertPreTokenizer") != 0))
        return te_fail(L->err, TE_ERR_UNSUPPORTED, "%s: pre_tokenizer '%s' is not supported (need BertPreTokenizer)", f, pt ? pt : "?");

    const json_value *added = json_get(tj, "added_tokens");
    for (size_t i = 0; added && added->type == JSON_ARRAY && i < added->len; i++) {
        const json_value *a = added->items[i];
        int64_t id;
        const char *content;
        if (json_get_int(a, "id", &id) != 1 || id < 0 || id >= hf->vocab_size || json_get_str(a, "content", &content) != 1)
            return te_fail(L->err, TE_ERR_FORMAT, "%s: added_tokens[%zu] needs an 'id' below vocab_size and a 'content'", f, i);
        int special = 0, single = 0, lstrip = 0, rstrip = 0, normalized = 0;
        get_bool(L, a, f, "special", 0, &special);
        get_bool(L, a, f, "single_word", 0, &single);
        get_bool(L, a, f, "lstrip", 0, &lstrip);
        get_bool(L, a, f, "rstrip", 0, &rstrip);
        get_bool(L, a, f, "normalized", !special, &normalized);
        if (normalized) note(L, "added token '%s' is marked normalized; it is matched on the raw text", content);
        uint32_t flags = (special ? TEMB_ADDED_SPECIAL : 0) | (single ? TEMB_ADDED_SINGLE_WORD : 0) |
                         (lstrip ? TEMB_ADDED_LSTRIP : 0) | (rstrip ? TEMB_ADDED_RSTRIP : 0) |
                         (normalized ? TEMB_ADDED_NORMALIZED : 0);
        if ((st = add_added(L, (uint32_t)id, flags, content)) != TE_OK) return st;
    }
    note(L, "vocabulary: %u tokens and %u added tokens from tokenizer.json", hf->n_tokens, hf->n_added);
    return TE_OK;
}

static te_status read_tokenizer(loader *L) {
    hf_model *hf = L->hf;
    const json_value *tj = L->tokenizer_json, *tc = L->tokenizer_config, *sm = L->special_map;
    te_status st = TE_OK;
    const char *names[5] = {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"};
    static const char *const keys[5] = {"cls_token", "sep_token", "pad_token", "unk_token", "mask_token"};
    for (int i = 0; i < 5; i++) names[i] = token_name(sm, keys[i], token_name(tc, keys[i], names[i]));

    if (tj) {
        st = read_tokenizer_json(L, tj);
    } else {
        char path[4096];
        join(path, sizeof path, L->dir, "vocab.txt");
        if (!file_exists(path))
            return te_fail(L->err, TE_ERR_NOT_FOUND, "%s: no tokenizer: neither tokenizer.json nor vocab.txt is there", L->dir);
        st = read_vocab_txt(L);
        hf->prefix = "##";
        hf->max_chars = 100;
        hf->clean_text = 1;
        const char *f = "tokenizer_config.json";
        if (st == TE_OK) st = get_bool(L, tc, f, "do_lower_case", 1, &hf->lowercase);
        if (st == TE_OK) st = get_bool(L, tc, f, "strip_accents", hf->lowercase, &hf->strip_accents);
        if (st == TE_OK) st = get_bool(L, tc, f, "tokenize_chinese_chars", 1, &hf->chinese_chars);
        /* The slow BertTokenizer splits its special tokens out of the raw text. */
        for (int i = 0; st == TE_OK && i < 5; i++) {
            int32_t id = find_token(hf, names[i]);
            if (id >= 0) st = add_added(L, (uint32_t)id, TEMB_ADDED_SPECIAL, names[i]);
        }
    }
    if (st != TE_OK) return st;
    if (hf->n_tokens > (uint32_t)hf->vocab_size)
        return te_fail(L->err, TE_ERR_FORMAT, "the vocabulary has %u tokens but config.json vocab_size is %d", hf->n_tokens, hf->vocab_size);
    int32_t *ids[5] = {&hf->cls, &hf->sep, &hf->pad, &hf->unk, &hf->mask};
    for (int i = 0; i < 5; i++) {
        *ids[i] = find_token(hf, names[i]);
        if (*ids[i] < 0 && i != 2 && i != 4)
            return te_fail(L->err, TE_ERR_FORMAT, "special token %s ('%s') is not in the vocabulary", keys[i], names[i]);
    }
    return hf_read_post_processor(hf, tj, L->err);
}

/* Pooling mode from a sentence-transformers pooling config. */
static te_status read_pooling(loader *L, const char *path) {
    char rel[4096];
    snprintf(rel, sizeof rel, "%s/config.json", path);
    const json_value *pc;
    te_status st = load_json(L, rel, 1, &pc);
    if (st != TE_OK) return st;
    static const char *const modes[] = {"cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens",
                                        "weightedmean_tokens", "lasttoken"};
    int on[6], count = 0;
    for (int i = 0; i < 6; i++) {
        char key[64];
        snprintf(key, sizeof key, "pooling_mode_%s", modes[i]);
        if ((st = get_bool(L, pc, rel, key, 0, &on[i])) != TE_OK) return st;
        count += on[i];
    }
    if (count != 1 || !(on[0] || on[1])) {
        char which[128] = "";
        for (int i = 0; i < 6; i++)
            if (on[i]) snprintf(which + strlen(which), sizeof which - strlen(which), "%s%s", which[0] ? "+" : "", modes[i]);
        return te_fail(L->err, TE_ERR_UNSUPPORTED, "%s: pooling '%s' is not supported (supported: cls_token, mean_tokens)",
                       rel, which[0] ? which : "none");
    }
    L->hf->pooling = on[0] ? TE_POOL_CLS : TE_POOL_MEAN;
    note(L, "pooling: %s (from %s)", on[0] ? "cls" : "mean", rel);
    return TE_OK;
}

static te_status read_sentence_transformers(loader *L) {
    hf_model *hf = L->hf;
    const json_value *mods = L->modules, *sbc = L->sbert_config, *tc = L->tokenizer_config;
    te_status st = TE_OK;
    hf->pooling = TE_POOL_MEAN;
    hf->normalize = 0;
    if (!mods) {
        note(L, "no modules.json: mean pooling, no normalization (override with --pooling / --normalize)");
    } else {
        if (mods->type != JSON_ARRAY) return te_fail(L->err, TE_ERR_FORMAT, "modules.json: expected an array");
        for (size_t i = 0; i < mods->len && st == TE_OK; i++) {
            const char *type = NULL, *path = "";
            if (json_get_str(mods->items[i], "type", &type) != 1)
                return te_fail(L->err, TE_ERR_FORMAT, "modules.json: entry %zu has no 'type'", i);
            json_get_str(mods->items[i], "path", &path);
            const char *dot = strrchr(type, '.');
            const char *cls = dot ? dot + 1 : type;
            if (strcmp(cls, "Transformer") == 0) continue;
            if (strcmp(cls, "Pooling") == 0) st = read_pooling(L, path);
            else if (strcmp(cls, "Normalize") == 0) hf->normalize = 1;
            else return te_fail(L->err, TE_ERR_UNSUPPORTED, "modules.json: module '%s' (%s) is not supported", type, path);
        }
        if (st != TE_OK) return st;
    }
    if (L->opts->pooling >= 0) hf->pooling = (te_pooling)L->opts->pooling;
    if (L->opts->normalize >= 0) hf->normalize = L->opts->normalize;

    int st_lower = 0;
    if ((st = get_bool(L, sbc, "sentence_bert_config.json", "do_lower_case", 0, &st_lower)) != TE_OK) return st;
    if (st_lower && !hf->lowercase) {
        hf->lowercase = 1;
        note(L, "sentence_bert_config.json asks for lowercasing: the tokenizer will lowercase");
    }
    int seq = 0;
    const char *from = "max_position_embeddings";
    if (L->opts->max_seq_length > 0) {
        seq = L->opts->max_seq_length;
        from = "the command line";
        if (seq > hf->max_len)
            return te_fail(L->err, TE_ERR_ARG, "max sequence length %d exceeds the %d positions the model has", seq, hf->max_len);
    } else if (sbc && json_get(sbc, "max_seq_length")) {
        if ((st = get_int(L, sbc, "sentence_bert_config.json", "max_seq_length", -1, 2, 1 << 20, &seq)) != TE_OK) return st;
        from = "sentence_bert_config.json";
    } else {
        int64_t v;
        if (json_get_int(tc, "model_max_length", &v) == 1 && v >= 2 && v <= hf->max_len) {
            seq = (int)v;
            from = "tokenizer_config.json";
        }
    }
    if (seq == 0 || seq > hf->max_len) seq = hf->max_len;
    hf->max_seq = seq;
    note(L, "max sequence length: %d (from %s)", seq, from);
    return TE_OK;
}

te_status hf_load(hf_model *hf, const char *dir, const te_convert_opts *opts, te_error *err) {
    memset(hf, 0, sizeof *hf);
    struct stat st;
    if (stat(dir, &st) != 0)
        return te_fail(err, errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_IO, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return te_fail(err, TE_ERR_ARG, "%s: not a directory (give the model directory)", dir);
    loader L = {hf, dir, opts, err, NULL, NULL, NULL, NULL, NULL};
    te_status s = read_config(&L);
    if (s == TE_OK) s = load_json(&L, "tokenizer.json", 0, &L.tokenizer_json);
    if (s == TE_OK) s = load_json(&L, "tokenizer_config.json", 0, &L.tokenizer_config);
    if (s == TE_OK) s = load_json(&L, "special_tokens_map.json", 0, &L.special_map);
    if (s == TE_OK) s = load_json(&L, "modules.json", 0, &L.modules);
    if (s == TE_OK) s = load_json(&L, "sentence_bert_config.json", 0, &L.sbert_config);
    if (s == TE_OK) s = read_tokenizer(&L);
    if (s == TE_OK) s = read_sentence_transformers(&L);
    return s;
}

void hf_free(hf_model *hf) {
    for (int i = 0; i < hf->n_docs; i++) json_free(hf->docs[i]);
    for (int i = 0; i < hf->n_bufs; i++) free(hf->bufs[i]);
    free(hf->tokens);
    free(hf->token_lens);
    free(hf->added);
    free(hf->labels);
    memset(hf, 0, sizeof *hf);
}
