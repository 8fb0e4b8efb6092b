/*
 * temb_writer.h - builds a .temb file: metadata, vocabulary, added tokens and
 * tensors, laid out as docs/FORMAT.md says, written atomically.
 *
 * Calls record the first error (sticky, like a FILE's error flag); the final
 * temb_write reports it, so building code need not check every call.
 */
#ifndef TE_TEMB_WRITER_H
#define TE_TEMB_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "tinyembed.h"

typedef struct temb_writer temb_writer;

/* Produces a tensor's stored bytes into dst (exactly `bytes` long).
 * Returns TE_OK or an error (with err filled). */
typedef te_status (*temb_fill_fn)(void *user, void *dst, size_t bytes, te_error *err);

temb_writer *temb_writer_new(void);
void temb_writer_free(temb_writer *w);

void temb_kv_u32(temb_writer *w, const char *key, uint32_t v);
void temb_kv_f32(temb_writer *w, const char *key, float v);
void temb_kv_str(temb_writer *w, const char *key, const char *v);

/* The vocabulary: token i is tokens[i] (lens[i] bytes). The arrays must stay
 * valid until temb_write returns. A repeated token resolves to its last id. */
void temb_set_vocab(temb_writer *w, const char *const *tokens, const uint32_t *lens, uint32_t n);

void temb_add_added_token(temb_writer *w, uint32_t id, uint32_t flags, const char *content);

/* Records an error of the caller's (first error wins). */
void temb_fail(temb_writer *w, te_status code, const char *msg);

/* The HOT section: embedding rows for te_warmup, ascending (copied). */
void temb_set_hot_rows(temb_writer *w, const uint32_t *ids, uint32_t n);

/* Declares a tensor. `new_block` starts it on a 4096-byte boundary (used for
 * the first tensor of each layer). `fill` is called once, during temb_write. */
void temb_add_tensor(temb_writer *w, const char *name, te_dtype dtype, te_layout layout,
                     int n_dims, const uint64_t *dims, int new_block,
                     temb_fill_fn fill, void *user);

/* Produces a late tensor's bytes from the finished file, which te_open reads
 * by `readable_path` (its other late tensors still zero). */
typedef te_status (*temb_late_fn)(void *user, const char *readable_path, void *dst, size_t bytes, te_error *err);

/* Declares an f32 tensor whose content depends on the model itself (the
 * calibrated output range): it is written as zeros, then, once the file is
 * complete but before it appears under its name, `fill` computes it and its
 * bytes, CRC and the header are rewritten in place. */
void temb_add_late_tensor(temb_writer *w, const char *name, int n_dims, const uint64_t *dims, temb_late_fn fill,
                          void *user);

/* Writes the file to a temporary name next to `path` and renames it into
 * place when complete. `progress` (may be NULL) gets tensor bytes written.
 * First the metadata goes through the reader's checks (te_meta_validate):
 * metadata te_open would refuse fails here, "metadata KEY: ...", and nothing
 * is written. */
te_status temb_write(temb_writer *w, const char *path,
                     void (*progress)(void *user, uint64_t done, uint64_t total),
                     void *progress_user, te_error *err);

#endif
