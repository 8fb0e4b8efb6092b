/*
 * model_meta.h - reading and checking the META section of a .temb file.
 */
#ifndef TE_MODEL_META_H
#define TE_MODEL_META_H

#include <stdint.h>

#include "model.h"

/* Fills m->info (and m->strings) from the META section bytes. */
te_status te_parse_meta(te_model *m, const uint8_t *p, uint64_t size, te_error *err);

/* Cross-checks hyper-parameters and special ids once the vocabulary is read. */
te_status te_check_meta(te_model *m, te_error *err);

#endif
