/*
 * calibrate.h - an embedding model's calibrated output range: per dimension,
 * the min and max of the model's own embeddings of a fixed sample of texts.
 * The int8 / uint8 outputs (te_embedding_quantize) map it onto 256 steps, so
 * a text's bytes never depend on the other texts of a batch. The writers
 * (convert.c, quantize.c) compute it over the file they have just written,
 * before it appears under its name: the range is the written model's own,
 * f32 or quantized.
 */
#ifndef TE_CALIBRATE_H
#define TE_CALIBRATE_H

#include <stddef.h>

#include "temb_writer.h"

/* The built-in sample (calib_texts.c): *n texts. */
const char *const *te_calib_builtin(size_t *n);

/* What the writer's late fill needs; the caller keeps it until temb_write returns. */
typedef struct te_calib_plan {
    const char *const *texts;
    size_t n;
} te_calib_plan;

/* Declares the range on a writer about to write an embedding model of width
 * `hidden`: the META key now, the tensor last and late (temb_add_late_tensor).
 * texts NULL: the built-in sample. */
void te_calib_declare(temb_writer *w, te_calib_plan *plan, const char *const *texts, size_t n, uint64_t hidden);

#endif
