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
#include "hf_loader.h"
#include "internal.h"

static te_status read_config(loader *L) {
    hf_model *hf = L->hf;
    const json_value *c;
    te_status st = hf_load_json(L, "config.json", 1, &c, NULL);
    if (st != TE_OK) return st;
    return hf_read_arch(hf, c, L->err);
}

/* Pooling mode from a sentence-transformers pooling config. */
static te_status read_pooling(loader *L, const char *path) {
    char rel[4096];
    snprintf(rel, sizeof rel, "%s/config.json", path);
    const json_value *pc;
    te_status st = hf_load_json(L, rel, 1, &pc, NULL);
    if (st != TE_OK) return st;
    static const char *const modes[] = {"cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens",
                                        "weightedmean_tokens", "lasttoken"};
    int on[6], count = 0;
    for (int i = 0; i < 6; i++) {
        char key[64];
        snprintf(key, sizeof key, "pooling_mode_%s", modes[i]);
        if ((st = hf_get_bool(L, pc, rel, key, 0, &on[i])) != TE_OK) return st;
        count += on[i];
    }
    if (count != 1 || !(on[0] || on[1] || on[5])) {
        char which[128] = "";
        for (int i = 0; i < 6; i++)
            if (on[i]) snprintf(which + strlen(which), sizeof which - strlen(which), "%s%s", which[0] ? "+" : "", modes[i]);
        return te_fail(L->err, TE_ERR_UNSUPPORTED, "%s: pooling '%s' is not supported (supported: cls_token, "
                       "mean_tokens, lasttoken)", rel, which[0] ? which : "none");
    }
    L->hf->pooling = on[0] ? TE_POOL_CLS : on[5] ? TE_POOL_LAST : TE_POOL_MEAN;
    hf_note(L, "pooling: %s (from %s)", te_pooling_name(L->hf->pooling), rel);
    return TE_OK;
}

static te_status read_sentence_transformers(loader *L) {
    hf_model *hf = L->hf;
    const json_value *mods = L->modules, *sbc = L->sbert_config, *tc = L->tokenizer_config;
    te_status st = TE_OK;
    hf->pooling = TE_POOL_MEAN;
    hf->normalize = 0;
    if (!mods) {
        hf_note(L, "no modules.json: mean pooling, no normalization (override with --pooling / --normalize)");
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
    if ((st = hf_get_bool(L, sbc, "sentence_bert_config.json", "do_lower_case", 0, &st_lower)) != TE_OK) return st;
    if (st_lower && !hf->lowercase) {
        hf->lowercase = 1;
        hf_note(L, "sentence_bert_config.json asks for lowercasing: the tokenizer will lowercase");
    }
    int seq = 0;
    const char *from = "max_position_embeddings";
    if (L->opts->max_seq_length > 0) {
        seq = L->opts->max_seq_length;
        from = "the command line";
        if (seq > hf->max_len)
            return te_fail(L->err, TE_ERR_ARG, "max sequence length %d exceeds the %d positions the model has", seq, hf->max_len);
    } else if (sbc && json_get(sbc, "max_seq_length")) {
        if ((st = hf_get_int(L, sbc, "sentence_bert_config.json", "max_seq_length", -1, 2, 1 << 20, &seq)) != TE_OK) return st;
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
    hf_note(L, "max sequence length: %d (from %s)", seq, from);
    return TE_OK;
}

/* config_sentence_transformers.json's prompts ({name: text}) and
 * default_prompt_name, kept as metadata for prompts.c. */
static te_status read_prompts(loader *L) {
    static const char file[] = "config_sentence_transformers.json";
    const json_value *cst;
    te_status st = hf_load_json(L, file, 0, &cst, NULL);
    const json_value *p = st == TE_OK && cst ? json_get(cst, "prompts") : NULL, *def = cst ? json_get(cst, "default_prompt_name") : NULL;
    if (st != TE_OK || !cst) return st;
    if (p && p->type != JSON_OBJECT) return te_fail(L->err, TE_ERR_FORMAT, "%s: 'prompts' must be an object", file);
    for (size_t i = 0; p && i < p->len; i++)
        if (p->members[i].value->type != JSON_STRING)
            return te_fail(L->err, TE_ERR_FORMAT, "%s: prompt '%s' is not a string", file, p->members[i].key);
    if (def && def->type != JSON_NULL) {
        if (def->type != JSON_STRING) return te_fail(L->err, TE_ERR_FORMAT, "%s: 'default_prompt_name' must be a string or null", file);
        if (!p || !json_get(p, def->str))
            return te_fail(L->err, TE_ERR_FORMAT, "%s: default_prompt_name '%s' is not one of its prompts", file, def->str);
        L->hf->default_prompt = def->str;
    }
    if (p && p->len > 0) {
        if (!(L->hf->prompts = json_write(p, NULL))) return te_fail(L->err, TE_ERR_NOMEM, "out of memory");
        hf_note(L, "prompts: %s%s%s (from %s)", L->hf->prompts, L->hf->default_prompt ? ", default " : "",
                L->hf->default_prompt ? L->hf->default_prompt : "", file);
    }
    return TE_OK;
}

te_status hf_load(hf_model *hf, const char *dir, const te_convert_opts *opts, te_error *err) {
    memset(hf, 0, sizeof *hf);
    struct stat st;
    if (stat(dir, &st) != 0)
        return te_fail(err, errno == ENOENT ? TE_ERR_NOT_FOUND : TE_ERR_IO, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return te_fail(err, TE_ERR_ARG, "%s: not a directory (give the model directory)", dir);
    loader L = {.hf = hf, .dir = dir, .opts = opts, .err = err};
    te_status s = read_config(&L);
    if (s == TE_OK) s = hf_load_json(&L, "tokenizer.json", 0, &L.tokenizer_json, &L.tokenizer_text);
    if (s == TE_OK) s = hf_load_json(&L, "tokenizer_config.json", 0, &L.tokenizer_config, NULL);
    if (s == TE_OK) s = hf_load_json(&L, "special_tokens_map.json", 0, &L.special_map, NULL);
    if (s == TE_OK) s = hf_load_json(&L, "modules.json", 0, &L.modules, NULL);
    if (s == TE_OK) s = hf_load_json(&L, "sentence_bert_config.json", 0, &L.sbert_config, NULL);
    if (s == TE_OK) s = hf_read_tokenizer(&L);
    if (s == TE_OK) s = read_sentence_transformers(&L);
    if (s == TE_OK) s = read_prompts(&L);
    return s;
}

void hf_free(hf_model *hf) {
    for (int i = 0; i < hf->n_docs; i++) json_free(hf->docs[i]);
    for (int i = 0; i < hf->n_bufs; i++) free(hf->bufs[i]);
    free(hf->tokens);
    free(hf->token_lens);
    free(hf->added);
    free(hf->labels);
    free(hf->pipeline);
    free(hf->prompts);
    free(hf->charsmap);
    free(hf->scores);
    free(hf->trie);
    free(hf->merges);
    memset(hf, 0, sizeof *hf);
}
