/*
 * registry_json.h - the registry as JSON, the one shape that `tinyembed
 * models --json` prints and `serve` answers on GET /models (keys in README
 * "Many models").
 */
#ifndef TE_REGISTRY_JSON_H
#define TE_REGISTRY_JSON_H

#include "strbuf.h"
#include "tinyembed.h"

/* Every model's status, read once (each read measures page-cache residency):
 * a malloc'd array of *n, or NULL when out of memory. */
te_reg_status *registry_statuses(te_registry *r, size_t *n);

/* {"all_ready", "loaded_models", "failed_models", "models": [...]} */
void registry_json(te_registry *r, strbuf *o);
/* One model's object. */
void registry_model_json(const te_reg_status *s, strbuf *o);
/* s as a JSON string, or null. */
void json_str_or_null(strbuf *o, const char *s);

#endif
