/*
 * hf_loader.h - what the readers of a Hugging Face model directory share
 * (hf_config.c: config.json and the sentence-transformers files;
 * hf_tokenizer.c: the tokenizer): the directory being read, its parsed
 * files, and helpers whose errors name the file and the field.
 */
#ifndef TE_HF_LOADER_H
#define TE_HF_LOADER_H

#include "hf_config.h"
#include "internal.h"

#define MAX_JSON_BYTES ((size_t)256 << 20)

typedef struct loader {
    hf_model *hf;
    const char *dir;
    const te_convert_opts *opts;
    te_error *err;
    /* Optional files, parsed once; NULL when absent. */
    const json_value *tokenizer_json, *tokenizer_config, *special_map, *modules, *sbert_config;
    const char *tokenizer_text; /* tokenizer.json's text: its numbers as written */
} loader;

/* A remark for the verbose mode (opts->note). */
TE_PRINTF(2, 3) void hf_note(const loader *L, const char *fmt, ...);
void hf_join(char *out, size_t cap, const char *dir, const char *name);
int hf_file_exists(const char *path);
/* Keeps b until hf_free. */
te_status hf_own_buf(loader *L, char *b);
/* DIR/name as JSON (kept until hf_free); TE_OK with *root NULL when absent and not required.
 * keep_text non-NULL: the file's text is kept too (a value's pos points into it). */
te_status hf_load_json(loader *L, const char *name, int required, const json_value **root, const char **keep_text);
/* An integer field in [lo, hi] (def < 0: required), a boolean one. */
te_status hf_get_int(loader *L, const json_value *o, const char *file, const char *key, int64_t def, int64_t lo,
                     int64_t hi, int *out);
/* tokenizer.json's byte-level BPE model (hf_bpe.c): vocabulary as bytes, the merges table. */
te_status hf_read_bpe(loader *L, const json_value *model);
te_status hf_get_bool(loader *L, const json_value *o, const char *file, const char *key, int def, int *out);

/* The tokenizer (hf_tokenizer.c). */
te_status hf_read_tokenizer(loader *L);

#endif
