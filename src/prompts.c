/*
 * prompts.c - a model's prompts, as sentence-transformers keeps them in
 * config_sentence_transformers.json: named texts to put in front of an
 * input ({"query": "query: ", "passage": "passage: "}) and the one used
 * when a caller names none (default_prompt_name). The converter stores the
 * object as metadata "prompts" (JSON) and the default as "prompts.default".
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "json.h"
#include "model.h"

te_status te_prompts_open(te_model *m, const char *text, const char *def, te_error *err) {
    if (!text) {
        if (def) return te_fail(err, TE_ERR_FORMAT, "metadata prompts.default names '%s', but the file has no prompts", def);
        return TE_OK;
    }
    json_doc *d = json_parse(text, strlen(text), err);
    if (!d) {
        te_error_prefix(err, "metadata prompts");
        return TE_ERR_FORMAT;
    }
    m->prompts = d;
    const json_value *o = json_root(d);
    if (o->type != JSON_OBJECT) return te_fail(err, TE_ERR_FORMAT, "metadata prompts: not a JSON object");
    for (size_t i = 0; i < o->len; i++)
        if (o->members[i].value->type != JSON_STRING || memchr(o->members[i].key, '\0', o->members[i].key_len) ||
            strlen(o->members[i].value->str) != o->members[i].value->len)
            return te_fail(err, TE_ERR_FORMAT, "metadata prompts: '%s' is not a text without NUL bytes",
                           o->members[i].key);
    if (def && !json_get(o, def))
        return te_fail(err, TE_ERR_FORMAT, "metadata prompts.default names '%s', which is not one of the prompts", def);
    m->info.default_prompt_name = def;
    return TE_OK;
}

int te_model_n_prompts(const te_model *m) {
    return m && m->prompts ? (int)json_root(m->prompts)->len : 0;
}

int te_model_prompt(const te_model *m, int i, const char **name, const char **text) {
    if (i < 0 || i >= te_model_n_prompts(m)) return -1;
    const json_member *e = &json_root(m->prompts)->members[i];
    if (name) *name = e->key;
    if (text) *text = e->value->str;
    return 0;
}

te_status te_model_prompt_text(const te_model *m, const char *name, const char **text, te_error *err) {
    te_error_clear(err);
    if (!m || !text) return te_fail(err, TE_ERR_ARG, "te_model_prompt_text: NULL argument");
    *text = "";
    if (!name) name = m->info.default_prompt_name;
    if (!name) return TE_OK;
    const json_value *v = m->prompts ? json_get(json_root(m->prompts), name) : NULL;
    if (v) {
        *text = v->str;
        return TE_OK;
    }
    char known[256] = "";
    for (int i = 0; i < te_model_n_prompts(m); i++) {
        const char *k = "";
        te_model_prompt(m, i, &k, NULL);
        size_t at = strlen(known);
        snprintf(known + at, sizeof known - at, "%s'%s'", i ? ", " : "", k);
    }
    return te_fail(err, TE_ERR_ARG, "model '%s' has no prompt named '%s' (%s%s)", m->info.name, name,
                   known[0] ? "its prompts: " : "it has no prompts", known);
}
