/*
 * registry_config.c - te_registry_from_config: a registry declared by a JSON
 * file, so tools and the server need no code to configure models.
 *
 *     {"models": [{"name": "minilm", "path": "minilm.temb", "strategy": "progressive",
 *                  "load": "startup" | "first-use", "warmup": true, "verify": false,
 *                  "fallback": "other-name"}, ...]}
 *
 * Everything is checked before anything is declared, and every error names
 * the line and column of the value at fault. Unknown keys are errors: a
 * misspelt "fallbak" must not silently mean "no fallback".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hf_config.h"
#include "internal.h"
#include "json.h"

#define MAX_CONFIG_BYTES (4u << 20)

typedef struct config {
    const char *path;      /* the config file, for messages */
    const char *text;
    size_t len;
    te_error *err;
} config;

TE_PRINTF(4, 5)
static te_status bad(const config *c, te_status code, size_t pos, const char *fmt, ...) {
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    size_t line, col;
    json_line_col(c->text, c->len, pos, &line, &col);
    return te_fail(c->err, code, "%s: line %zu, column %zu: %s", c->path, line, col, what);
}

/* One model of the file, checked, with what declaring it needs. */
typedef struct config_model {
    te_reg_decl decl;
    char *path;            /* resolved against the config file's folder */
    size_t pos;            /* of the model's object */
    size_t fallback_pos;   /* of its "fallback" value */
    int declared;
} config_model;

static const json_value *string_member(const config *c, const json_value *obj, const char *key, te_status *st) {
    const json_value *v = json_get(obj, key);
    if (!v || *st != TE_OK) return NULL;
    if (v->type != JSON_STRING) {
        *st = bad(c, TE_ERR_FORMAT, v->pos, "\"%s\" must be a string, not %s", key, json_type_name(v->type));
        return NULL;
    }
    if (v->len == 0 || strlen(v->str) != v->len) {
        *st = bad(c, TE_ERR_FORMAT, v->pos, "\"%s\" must be a non-empty string without NUL characters", key);
        return NULL;
    }
    return v;
}

static int bool_member(const config *c, const json_value *obj, const char *key, int def, te_status *st) {
    const json_value *v = json_get(obj, key);
    if (!v || *st != TE_OK) return def;
    if (v->type != JSON_TRUE && v->type != JSON_FALSE) {
        *st = bad(c, TE_ERR_FORMAT, v->pos, "\"%s\" must be true or false, not %s", key, json_type_name(v->type));
        return def;
    }
    return v->type == JSON_TRUE;
}

/* `rel` relative to the folder of the config file, unless absolute. */
static char *resolve_path(const char *config_path, const char *rel) {
    const char *slash = strrchr(config_path, '/');
    size_t dir = rel[0] == '/' || !slash ? 0 : (size_t)(slash - config_path) + 1;
    size_t n = strlen(rel);
    char *p = malloc(dir + n + 1);
    if (!p) return NULL;
    memcpy(p, config_path, dir);
    memcpy(p + dir, rel, n + 1);
    return p;
}

static te_status read_model(const config *c, const json_value *obj, config_model *out) {
    static const char *const keys[] = {"name", "path", "strategy", "load", "warmup", "verify", "fallback"};
    if (obj->type != JSON_OBJECT)
        return bad(c, TE_ERR_FORMAT, obj->pos, "each model must be an object, not %s", json_type_name(obj->type));
    for (size_t i = 0; i < obj->len; i++) {
        size_t k = 0;
        while (k < sizeof keys / sizeof *keys && strcmp(obj->members[i].key, keys[k]) != 0) k++;
        if (k == sizeof keys / sizeof *keys)
            return bad(c, TE_ERR_FORMAT, obj->members[i].key_pos,
                       "unknown key \"%.60s\" (a model has: name, path, strategy, load, warmup, verify, fallback)",
                       obj->members[i].key);
    }
    te_status st = TE_OK;
    const json_value *name = string_member(c, obj, "name", &st), *path = string_member(c, obj, "path", &st);
    const json_value *strategy = string_member(c, obj, "strategy", &st), *load = string_member(c, obj, "load", &st);
    const json_value *fallback = string_member(c, obj, "fallback", &st);
    out->decl.no_warmup = !bool_member(c, obj, "warmup", 1, &st);
    out->decl.verify_checksums = bool_member(c, obj, "verify", 0, &st);
    if (st != TE_OK) return st;
    if (!name) return bad(c, TE_ERR_FORMAT, obj->pos, "this model has no \"name\"");
    if (!path) return bad(c, TE_ERR_FORMAT, obj->pos, "model \"%.60s\" has no \"path\"", name->str);
    if (strategy && te_strategy_parse(strategy->str, &out->decl.strategy) != 0)
        return bad(c, TE_ERR_FORMAT, strategy->pos,
                   "unknown strategy \"%.60s\" (use lazy, eager, background, progressive or auto)", strategy->str);
    if (load && strcmp(load->str, "startup") != 0 && strcmp(load->str, "first-use") != 0)
        return bad(c, TE_ERR_FORMAT, load->pos, "\"load\" must be \"startup\" or \"first-use\", not \"%.60s\"", load->str);
    out->decl.first_use = load && strcmp(load->str, "first-use") == 0;
    out->decl.name = name->str;
    out->decl.fallback = fallback ? fallback->str : NULL;
    out->fallback_pos = fallback ? fallback->pos : obj->pos;
    out->pos = obj->pos;
    if (!(out->path = resolve_path(c->path, path->str))) return te_fail(c->err, TE_ERR_NOMEM, "out of memory");
    out->decl.path = out->path;
    return TE_OK;
}

/* Declares the models so that each one's fallback comes before it; a
 * fallback that is never declared, or a cycle, is an error at its value. */
static te_status declare_all(const config *c, te_registry *r, config_model *ms, size_t n) {
    for (size_t done = 0; done < n;) {
        size_t before = done;
        for (size_t i = 0; i < n; i++) {
            config_model *m = &ms[i];
            if (m->declared || (m->decl.fallback && te_registry_find(r, m->decl.fallback) < 0)) continue;
            te_error e;
            if (te_registry_declare(r, &m->decl, &e) != TE_OK)
                return bad(c, e.code, m->decl.fallback && e.code == TE_ERR_ARG ? m->fallback_pos : m->pos, "%s", e.msg);
            m->declared = 1;
            done++;
        }
        if (done > before) continue;
        for (size_t i = 0; i < n; i++) {
            if (ms[i].declared) continue;
            int exists = 0;
            for (size_t j = 0; j < n; j++) exists |= strcmp(ms[j].decl.name, ms[i].decl.fallback) == 0;
            return bad(c, TE_ERR_FORMAT, ms[i].fallback_pos,
                       exists ? "the fallback chain of model \"%.60s\" (to \"%.60s\") has a cycle"
                              : "model \"%.60s\" falls back to \"%.60s\", which is not in the file",
                       ms[i].decl.name, ms[i].decl.fallback);
        }
    }
    return TE_OK;
}

static te_status read_config(const config *c, const json_value *root, te_registry *r) {
    if (root->type != JSON_OBJECT)
        return bad(c, TE_ERR_FORMAT, root->pos, "the config must be an object with a \"models\" list, not %s",
                   json_type_name(root->type));
    for (size_t i = 0; i < root->len; i++)
        if (strcmp(root->members[i].key, "models") != 0)
            return bad(c, TE_ERR_FORMAT, root->members[i].key_pos, "unknown key \"%.60s\" (the config has: models)",
                       root->members[i].key);
    const json_value *list = json_get(root, "models");
    if (!list) return bad(c, TE_ERR_FORMAT, root->pos, "the config has no \"models\" list");
    if (list->type != JSON_ARRAY || list->len == 0)
        return bad(c, TE_ERR_FORMAT, list->pos, "\"models\" must be a non-empty list of models");
    config_model *ms = calloc(list->len, sizeof *ms);
    if (!ms) return te_fail(c->err, TE_ERR_NOMEM, "out of memory");
    te_status st = TE_OK;
    for (size_t i = 0; i < list->len && st == TE_OK; i++) {
        st = read_model(c, list->items[i], &ms[i]);
        for (size_t j = 0; j < i && st == TE_OK; j++)
            if (strcmp(ms[j].decl.name, ms[i].decl.name) == 0)
                st = bad(c, TE_ERR_FORMAT, ms[i].pos, "a second model named \"%.60s\"", ms[i].decl.name);
    }
    if (st == TE_OK) st = declare_all(c, r, ms, list->len);
    for (size_t i = 0; i < list->len; i++) free(ms[i].path);
    free(ms);
    return st;
}

te_registry *te_registry_from_config(const char *path, te_error *err) {
    te_error_clear(err);
    if (!path) { te_fail(err, TE_ERR_ARG, "te_registry_from_config: path is NULL"); return NULL; }
    char *text = NULL;
    size_t len = 0;
    if (hf_read_file(path, MAX_CONFIG_BYTES, &text, &len, err) != TE_OK) return NULL;
    te_error perr;
    json_doc *doc = json_parse(text, len, &perr);
    te_registry *r = doc ? te_registry_new(err) : NULL;
    te_status st = TE_OK;
    if (!doc) st = te_fail(err, perr.code, "%s: %s", path, perr.msg);
    else if (!r) st = TE_ERR_NOMEM;
    else st = read_config(&(config){path, text, len, err}, json_root(doc), r);
    if (doc) json_free(doc);
    free(text);
    if (st == TE_OK) return r;
    te_registry_free(r);
    return NULL;
}
