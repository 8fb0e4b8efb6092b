/*
 * model_meta.h - reading and checking the META section of a .temb file.
 */
#ifndef TE_MODEL_META_H
#define TE_MODEL_META_H

#include <stdint.h>

#include "model.h"

/* One META entry, pointing into the mapping. */
typedef struct te_meta_entry {
    const char *key;     /* not NUL-terminated */
    size_t key_len;
    uint8_t type;        /* TEMB_KV_* */
    uint32_t u32;        /* U32 and F32 (bits) */
    const char *str;     /* STR: not NUL-terminated */
    uint32_t str_len;
} te_meta_entry;

/* Every META entry of an open model, in file order (*out is the caller's to free). */
te_status te_meta_read(const te_model *m, te_meta_entry **out, size_t *n, te_error *err);

/* Fills m->info (and m->strings) from the META section bytes. */
te_status te_parse_meta(te_model *m, const uint8_t *p, uint64_t size, te_error *err);

/* Cross-checks hyper-parameters and special ids once the vocabulary is read.
 * Messages read "metadata KEY: what is wrong", naming the key at fault. */
te_status te_check_meta(te_model *m, te_error *err);

/* te_parse_meta and te_check_meta on a META section about to be written with
 * a vocabulary of n_tokens: the writers' check that the reader will accept
 * their metadata (one validation for both sides). */
te_status te_meta_validate(const uint8_t *meta, size_t size, uint32_t n_tokens, te_error *err);

#endif
