/*
 * tok_pipeline.c - a tokenizer pipeline (tok.h) from its description: the
 * normalizer, pre_tokenizer and model objects of a tokenizer.json, which a
 * .temb file keeps in its tokenizer.pipeline key (the vocabulary, the
 * charsmap, the scores and the piece trie live in tensors). The converter
 * reads a tokenizer.json with the same code, so what converts opens.
 * Anything the pipeline cannot run is refused by name.
 */
#include "tok_pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json.h"
#include "unicode.h"

static te_status refuse(te_error *err, const char *stage, const char *type) {
    return te_fail(err, TE_ERR_UNSUPPORTED, "tokenizer %s '%s' is not supported", stage, type ? type : "(none)");
}

static int flag(const json_value *o, const char *key, int def) {
    int v;
    return json_get_bool(o, key, &v) == 1 ? v : def;
}

static te_status replace_step(tn_step *s, const json_value *o, te_error *err) {
    const json_value *pat = json_get(o, "pattern");
    const char *re = NULL, *lit = NULL, *content = NULL;
    if (pat && json_get_str(pat, "Regex", &re) != 1 && json_get_str(pat, "String", &lit) != 1) re = lit = NULL;
    if ((!re && !lit) || json_get_str(o, "content", &content) != 1)
        return te_fail(err, TE_ERR_FORMAT, "tokenizer normalizer Replace needs a pattern (String or Regex) and a content");
    s->content = content;
    s->content_len = strlen(content);
    if (lit) {
        s->literal = lit;
        s->literal_len = strlen(lit);
        return TE_OK;
    }
    s->re_spaces = strspn(re, " {},0123456789+*?") == strlen(re);
    s->re = te_regex_compile(re, strlen(re), err);
    return s->re ? TE_OK : err->code;
}

/* One normalizer (Sequences are flattened by the caller). */
static te_status norm_step(tok_pipeline *p, const json_value *o, te_error *err) {
    const char *type = NULL;
    json_get_str(o, "type", &type);
    if (p->n_norm == TOK_MAX_STEPS) return te_fail(err, TE_ERR_UNSUPPORTED, "tokenizer: more than %d normalizers", TOK_MAX_STEPS);
    tn_step *s = &p->norm[p->n_norm];
    memset(s, 0, sizeof *s);
    te_status st = TE_OK;
    if (!type) return te_fail(err, TE_ERR_FORMAT, "tokenizer normalizer without a type");
    if (!strcmp(type, "BertNormalizer")) {
        s->kind = TN_BERT;
        s->clean = flag(o, "clean_text", 1);
        s->chinese = flag(o, "handle_chinese_chars", 1);
        s->lowercase = flag(o, "lowercase", 1);
        s->strip_accents = flag(o, "strip_accents", s->lowercase); /* null follows lowercase */
    } else if (!strcmp(type, "Precompiled")) {
        s->kind = TN_PRECOMPILED;
    } else if (!strcmp(type, "Replace")) {
        s->kind = TN_REPLACE;
        st = replace_step(s, o, err);
    } else if (!strcmp(type, "Strip")) {
        s->kind = TN_STRIP;
        s->left = flag(o, "strip_left", 0);
        s->right = flag(o, "strip_right", 0);
    } else if (!strcmp(type, "Prepend")) {
        s->kind = TN_PREPEND;
        if (json_get_str(o, "prepend", &s->content) != 1) return te_fail(err, TE_ERR_FORMAT, "tokenizer normalizer Prepend needs 'prepend'");
        s->content_len = strlen(s->content);
    } else {
        static const struct { const char *name; tn_kind kind; } simple[] = {
            {"NFC", TN_NFC}, {"NFD", TN_NFD}, {"NFKC", TN_NFKC}, {"NFKD", TN_NFKD}, {"Lowercase", TN_LOWERCASE},
            {"StripAccents", TN_STRIP_ACCENTS}};
        size_t i = 0;
        while (i < sizeof simple / sizeof *simple && strcmp(type, simple[i].name)) i++;
        if (i == sizeof simple / sizeof *simple) return refuse(err, "normalizer", type);
        s->kind = simple[i].kind;
    }
    p->n_norm += st == TE_OK;
    return st;
}

static te_status metaspace(tp_step *s, const json_value *o, te_error *err) {
    const char *rep = "\xe2\x96\x81", *scheme = NULL;
    json_get_str(o, "replacement", &rep);
    size_t n = strlen(rep);
    if (n == 0 || n >= sizeof s->replacement)
        return te_fail(err, TE_ERR_FORMAT, "tokenizer pre_tokenizer Metaspace: bad replacement");
    memcpy(s->replacement, rep, n);
    s->replacement_len = n;
    s->split = flag(o, "split", 1);
    /* add_prefix_space (2020-2023 files) or prepend_scheme (since). */
    s->prepend_scheme = flag(o, "add_prefix_space", 1) ? TP_PREPEND_ALWAYS : TP_PREPEND_NEVER;
    if (json_get_str(o, "prepend_scheme", &scheme) == 1) {
        if (!strcmp(scheme, "always")) s->prepend_scheme = TP_PREPEND_ALWAYS;
        else if (!strcmp(scheme, "first")) s->prepend_scheme = TP_PREPEND_FIRST;
        else if (!strcmp(scheme, "never")) s->prepend_scheme = TP_PREPEND_NEVER;
        else return te_fail(err, TE_ERR_UNSUPPORTED, "tokenizer pre_tokenizer Metaspace: prepend_scheme '%s'", scheme);
    }
    return TE_OK;
}

/* GPT-2's pattern, which ByteLevel splits by when use_regex is on (the default). */
static const char gpt2_pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/* A literal String pattern as a regex matching exactly it. */
static te_regex *literal_regex(const char *lit, te_error *err) {
    size_t n = strlen(lit), k = 0;
    char *re = malloc(2 * n + 1);
    if (!re) {
        te_fail(err, TE_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (strchr("\\^$.|?*+()[]{}", lit[i])) re[k++] = '\\';
        re[k++] = lit[i];
    }
    te_regex *r = te_regex_compile(re, k, err);
    free(re);
    return r;
}

/* Split: {"pattern": {"Regex" | "String"}, "behavior": "Isolated" | "Removed", "invert": false}. */
static te_status split_step(tp_step *s, const json_value *o, te_error *err) {
    const json_value *pat = json_get(o, "pattern");
    const char *re = NULL, *lit = NULL, *behavior = "Isolated";
    json_get_str(o, "behavior", &behavior);
    if (!pat || (json_get_str(pat, "Regex", &re) != 1 && json_get_str(pat, "String", &lit) != 1))
        return te_fail(err, TE_ERR_FORMAT, "tokenizer pre_tokenizer Split needs a pattern (String or Regex)");
    if (flag(o, "invert", 0)) return refuse(err, "pre_tokenizer Split with invert", "true");
    if (strcmp(behavior, "Isolated") && strcmp(behavior, "Removed"))
        return refuse(err, "pre_tokenizer Split behavior", behavior);
    s->kind = TP_SPLIT;
    s->remove = behavior[0] == 'R';
    s->re = re ? te_regex_compile(re, strlen(re), err) : literal_regex(lit, err);
    return s->re ? TE_OK : err->code;
}

/* ByteLevel: GPT-2's split (use_regex), or nothing; its bytes-to-characters mapping is the vocabulary's. */
static te_status byte_level_step(tok_pipeline *p, tp_step *s, const json_value *o, te_error *err) {
    p->byte_level = 1;
    if (flag(o, "add_prefix_space", 0)) return refuse(err, "pre_tokenizer ByteLevel with add_prefix_space", "true");
    if (!flag(o, "use_regex", 1)) return TE_OK;
    s->kind = TP_SPLIT;
    s->re = te_regex_compile(gpt2_pattern, strlen(gpt2_pattern), err);
    return s->re ? TE_OK : err->code;
}

static te_status pre_step(tok_pipeline *p, const json_value *o, te_error *err) {
    const char *type = NULL;
    json_get_str(o, "type", &type);
    if (p->n_pre == TOK_MAX_STEPS) return te_fail(err, TE_ERR_UNSUPPORTED, "tokenizer: more than %d pre-tokenizers", TOK_MAX_STEPS);
    tp_step *s = &p->pre[p->n_pre];
    memset(s, 0, sizeof *s);
    te_status st = TE_OK;
    if (!type) return te_fail(err, TE_ERR_FORMAT, "tokenizer pre_tokenizer without a type");
    if (!strcmp(type, "BertPreTokenizer")) s->kind = TP_BERT;
    else if (!strcmp(type, "WhitespaceSplit")) s->kind = TP_WHITESPACE_SPLIT;
    else if (!strcmp(type, "Metaspace")) s->kind = TP_METASPACE, st = metaspace(s, o, err);
    else if (!strcmp(type, "Split")) st = split_step(s, o, err);
    else if (!strcmp(type, "ByteLevel")) {
        st = byte_level_step(p, s, o, err);
        if (st == TE_OK && !s->re) return TE_OK; /* use_regex off: nothing to split */
    } else {
        return refuse(err, "pre_tokenizer", type);
    }
    p->n_pre += st == TE_OK;
    return st;
}

static te_status decoder_step(tok_pipeline *p, const json_value *o, te_error *err) {
    const char *type = NULL;
    json_get_str(o, "type", &type);
    if (p->n_dec == TOK_MAX_STEPS) return te_fail(err, TE_ERR_UNSUPPORTED, "tokenizer: more than %d decoders", TOK_MAX_STEPS);
    td_step *s = &p->dec[p->n_dec];
    memset(s, 0, sizeof *s);
    if (!type) return te_fail(err, TE_ERR_FORMAT, "tokenizer decoder without a type");
    if (!strcmp(type, "WordPiece")) {
        s->kind = TD_WORDPIECE;
        json_get_str(o, "prefix", &s->prefix);
        s->cleanup = flag(o, "cleanup", 1);
    } else if (!strcmp(type, "Metaspace")) {
        tp_step m;
        te_status st = metaspace(&m, o, err);
        if (st != TE_OK) return st;
        s->kind = TD_METASPACE;
        memcpy(s->replacement, m.replacement, sizeof s->replacement);
        s->replacement_len = m.replacement_len;
        s->prepend = m.prepend_scheme != TP_PREPEND_NEVER;
    } else if (!strcmp(type, "ByteFallback")) {
        s->kind = TD_BYTE_FALLBACK;
    } else if (!strcmp(type, "ByteLevel")) {
        s->kind = TD_BYTE_LEVEL;
    } else if (!strcmp(type, "Fuse")) {
        s->kind = TD_FUSE;
    } else if (!strcmp(type, "Strip")) {
        const char *c = " ";
        int64_t a = 0, b = 0;
        json_get_str(o, "content", &c);
        json_get_int(o, "start", &a);
        json_get_int(o, "stop", &b);
        s->kind = TD_STRIP;
        te_utf8_decode((const unsigned char *)c, strlen(c), &s->strip_char);
        s->start = a > 0 && a < 1000 ? (int)a : 0;
        s->stop = b > 0 && b < 1000 ? (int)b : 0;
    } else if (!strcmp(type, "Replace")) {
        const json_value *pat = json_get(o, "pattern");
        s->kind = TD_REPLACE;
        if (!pat || json_get_str(pat, "String", &s->pattern) != 1 || json_get_str(o, "content", &s->content) != 1 ||
            !s->pattern[0])
            return te_fail(err, TE_ERR_UNSUPPORTED, "tokenizer decoder Replace: only a literal String pattern is supported");
    } else {
        return refuse(err, "decoder", type);
    }
    p->n_dec++;
    return TE_OK;
}

enum { STAGE_NORM, STAGE_PRE, STAGE_DEC };

/* A stage: null, one step, or a Sequence of them (flattened). */
static te_status stage(tok_pipeline *p, const json_value *o, int which, te_error *err) {
    static const char *const names[] = {"normalizer", "pre_tokenizer", "decoder"};
    static const char *const lists[] = {"normalizers", "pretokenizers", "decoders"};
    if (!o || o->type == JSON_NULL) return TE_OK;
    if (o->type != JSON_OBJECT) return te_fail(err, TE_ERR_FORMAT, "tokenizer %s must be an object", names[which]);
    const char *type = NULL;
    json_get_str(o, "type", &type);
    if (type && !strcmp(type, "Sequence")) {
        const json_value *list = json_get(o, lists[which]);
        if (!list || list->type != JSON_ARRAY) return te_fail(err, TE_ERR_FORMAT, "tokenizer Sequence without its list");
        te_status st = TE_OK;
        for (size_t i = 0; i < list->len && st == TE_OK; i++) st = stage(p, list->items[i], which, err);
        return st;
    }
    return which == STAGE_PRE ? pre_step(p, o, err) : which == STAGE_DEC ? decoder_step(p, o, err) : norm_step(p, o, err);
}

/* Whether a long text may be cut before a space between ASCII letters or
 * digits (tokenizer.c): true when no stage can see across such a point. */
static int can_cut(const tok_pipeline *p) {
    for (int i = 0; i < p->n_norm; i++) {
        const tn_step *s = &p->norm[i];
        if (s->kind == TN_REPLACE && !(s->literal && !memchr(s->literal, ' ', s->literal_len)) && !s->re_spaces) return 0;
    }
    if (p->n_pre == 0) return 0; /* the model would see the whole text as one word */
    for (int i = 0; i < p->n_pre; i++)
        if (p->pre[i].kind == TP_METASPACE && !p->pre[i].split) return 0;
    return 1;
}

te_status tok_pipeline_parse(tok_pipeline *p, const json_value *root, te_error *err) {
    memset(p, 0, sizeof *p);
    p->model = TM_WORDPIECE;
    te_status st = stage(p, json_get(root, "normalizer"), STAGE_NORM, err);
    if (st == TE_OK) st = stage(p, json_get(root, "pre_tokenizer"), STAGE_PRE, err);
    if (st == TE_OK) st = stage(p, json_get(root, "decoder"), STAGE_DEC, err);
    const json_value *model = json_get(root, "model");
    const char *type = NULL;
    if (st == TE_OK && model) json_get_str(model, "type", &type);
    if (st == TE_OK && type && !strcmp(type, "Unigram")) {
        int64_t unk = -1;
        p->model = TM_UNIGRAM;
        p->unigram.byte_fallback = flag(model, "byte_fallback", 0);
        if (json_get_int(model, "unk_id", &unk) != 1 || unk < 0 || unk >= (1 << 24))
            st = te_fail(err, TE_ERR_UNSUPPORTED, "tokenizer model Unigram: an unk_id is required");
        p->unigram.unk_id = (int32_t)unk;
        double min = 0;
        json_get_num(model, "min_score", &min);
        p->unigram.unk_score = min - 10.0; /* the reference's K_UNK_PENALTY */
    } else if (st == TE_OK && type && !strcmp(type, "BPE")) {
        p->model = TM_BPE;
        p->bpe.ignore_merges = flag(model, "ignore_merges", 0);
        if (!p->byte_level) st = refuse(err, "model BPE without a ByteLevel pre_tokenizer", "(character-level BPE)");
    } else if (st == TE_OK && type && strcmp(type, "WordPiece")) {
        st = refuse(err, "model", type);
    }
    p->chunkable = st == TE_OK && can_cut(p);
    if (st != TE_OK) tok_pipeline_free(p);
    return st;
}

/* SentencePiece's charsmap: u32 trie bytes, the trie, then the replacements. */
static te_status bind_charsmap(tn_charsmap *cm, const tok_blobs *b, te_error *err) {
    if (!b->charsmap || b->charsmap_len < 4)
        return te_fail(err, TE_ERR_FORMAT, "tokenizer: the Precompiled normalizer has no tensor tokenizer.charsmap");
    uint32_t trie = te_le32(b->charsmap);
    if (trie % 4 || trie > b->charsmap_len - 4)
        return te_fail(err, TE_ERR_FORMAT, "tokenizer.charsmap: a trie of %u bytes does not fit its %zu", trie, b->charsmap_len);
    cm->trie = (te_darts){b->charsmap + 4, trie / 4};
    cm->repl = (const char *)b->charsmap + 4 + trie;
    cm->repl_len = b->charsmap_len - 4 - trie;
    return TE_OK;
}

/* tokenizer.merges: u32 n_slots (a power of two), u32 merges, u32 byte_ids[256], then the slots. */
static te_status bind_merges(tm_bpe *bpe, const tok_blobs *b, uint32_t n_vocab, te_error *err) {
    if (!b->merges || b->merges_len < 8 + 1024)
        return te_fail(err, TE_ERR_FORMAT, "tokenizer: the BPE model needs the tensor tokenizer.merges");
    uint32_t n = te_le32(b->merges);
    if (n == 0 || (n & (n - 1)) || (b->merges_len - 8 - 1024) / 16 != n || (b->merges_len - 8 - 1024) % 16)
        return te_fail(err, TE_ERR_FORMAT, "tokenizer.merges: %zu bytes do not hold a table of %u slots", b->merges_len, n);
    for (int i = 0; i < 256; i++)
        if (te_le32(b->merges + 8 + 4 * i) >= n_vocab && te_le32(b->merges + 8 + 4 * i) != 0xFFFFFFFFu)
            return te_fail(err, TE_ERR_FORMAT, "tokenizer.merges: byte %d has no token of the vocabulary", i);
    bpe->byte_ids = b->merges + 8;
    bpe->slots = b->merges + 8 + 1024;
    bpe->n_slots = n;
    bpe->n_vocab = n_vocab;
    return TE_OK;
}

te_status tok_pipeline_open(tok_pipeline *p, const char *json, size_t len, const tok_blobs *b, uint32_t n_vocab,
                            te_error *err) {
    json_doc *doc = json_parse(json, len, err);
    if (!doc) {
        te_error_prefix(err, "metadata tokenizer.pipeline");
        return err ? err->code : TE_ERR_FORMAT;
    }
    te_status st = tok_pipeline_parse(p, json_root(doc), err);
    if (st != TE_OK) {
        json_free(doc);
        return st;
    }
    p->doc = doc;
    for (int i = 0; st == TE_OK && i < p->n_norm; i++)
        if (p->norm[i].kind == TN_PRECOMPILED) st = bind_charsmap(&p->charsmap, b, err);
    tm_unigram *u = &p->unigram;
    if (st == TE_OK && p->model == TM_UNIGRAM) {
        if (!b->trie || !b->scores || b->trie_len % 4 || b->scores_len / 8 < n_vocab)
            st = te_fail(err, TE_ERR_FORMAT, "tokenizer: the Unigram model needs tensors tokenizer.trie and tokenizer.scores "
                         "(8 bytes for each of the %u tokens)", n_vocab);
        else if ((uint32_t)u->unk_id >= n_vocab)
            st = te_fail(err, TE_ERR_FORMAT, "tokenizer: Unigram unk_id %d is outside the vocabulary", (int)u->unk_id);
        u->trie = (te_darts){b->trie, b->trie_len / 4};
        u->scores = b->scores;
        u->n_scores = b->scores_len / 8;
    }
    if (st == TE_OK && p->model == TM_BPE) st = bind_merges(&p->bpe, b, n_vocab, err);
    if (st != TE_OK) tok_pipeline_free(p);
    return st;
}

void tok_pipeline_bert(tok_pipeline *p, const te_tokenizer_info *t) {
    memset(p, 0, sizeof *p);
    p->norm[0] = (tn_step){.kind = TN_BERT, .clean = t->clean_text, .chinese = t->chinese_chars,
                           .strip_accents = t->strip_accents, .lowercase = t->lowercase};
    p->n_norm = 1;
    p->pre[0].kind = TP_BERT;
    p->n_pre = 1;
    p->model = TM_WORDPIECE;
    p->dec[0] = (td_step){.kind = TD_WORDPIECE, .cleanup = 1};
    p->n_dec = 1;
    p->chunkable = 1;
}

size_t tok_pipeline_normalize(const tok_pipeline *p, const char *text, size_t len, char *out, size_t cap) {
    tok_text t[3];
    tt_init(&t[0], NULL, 0, 0);
    t[0].s = (char *)text;
    t[0].n = len;
    tt_init(&t[1], NULL, 0, 0);
    tt_init(&t[2], NULL, 0, 0);
    const tok_text *src = &t[0];
    for (int i = 0; i < p->n_norm; i++) {
        tn_apply(&p->norm[i], &p->charsmap, src, &t[1 + i % 2], 1, 1);
        src = &t[1 + i % 2];
    }
    size_t n = src->n < cap ? src->n : cap;
    memcpy(out, src->s, n);
    tt_free(&t[1]);
    tt_free(&t[2]);
    return n;
}

void tok_pipeline_free(tok_pipeline *p) {
    for (int i = 0; i < p->n_norm; i++) te_regex_free(p->norm[i].re);
    for (int i = 0; i < p->n_pre; i++) te_regex_free(p->pre[i].re);
    json_free(p->doc);
    memset(p, 0, sizeof *p);
}
