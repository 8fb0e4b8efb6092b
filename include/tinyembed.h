/*
 * tinyembed.h - sentence embeddings from BERT-family models, in plain C.
 *
 * This header is the public API and its manual, with the two it includes:
 * tinyembed_registry.h (many models by name) and tinyembed_index.h (the
 * search index); tinyembed_json.h offers the library's JSON reader. The
 * library is libtinyembed.a; link with -ltinyembed -lm -lpthread.
 *
 * ---------------------------------------------------------------------------
 * Tutorial
 * ---------------------------------------------------------------------------
 *
 * 1. Convert a Hugging Face model directory once (or run `tinyembed convert`):
 *
 *        te_error err;
 *        if (te_convert("all-MiniLM-L6-v2/", "minilm.temb", NULL, &err) != TE_OK)
 *            fprintf(stderr, "%s\n", te_errmsg(&err));
 *
 * 2. Open the .temb file. It is mmap'ed, not parsed: te_open validates the
 *    header and the tensor directory and returns in well under a millisecond
 *    without reading any weights. The model is read-only after opening and can
 *    be shared by any number of threads.
 *
 *        te_model *m = te_open("minilm.temb", NULL, &err);
 *        if (!m) { fprintf(stderr, "%s\n", te_errmsg(&err)); return 1; }
 *
 *        te_model_info info;
 *        te_model_get_info(m, &info);
 *        printf("%s: %d layers, hidden %d\n", info.name, info.num_layers, info.hidden_size);
 *
 * 3. Close it when done:
 *
 *        te_close(m);
 *
 * Errors: every function that can fail returns a te_status (or NULL) and, when
 * given a te_error, fills it with the code and a message that names the file,
 * tensor or field at fault. The library never prints and never exits.
 * Passing NULL for `err` is allowed.
 */
#ifndef TINYEMBED_H
#define TINYEMBED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TE_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------- */

typedef enum te_status {
    TE_OK = 0,
    TE_ERR_ARG,         /* invalid argument from the caller */
    TE_ERR_IO,          /* a system call failed (the message has strerror) */
    TE_ERR_NOT_FOUND,   /* a file or directory does not exist */
    TE_ERR_FORMAT,      /* input is malformed (bad magic, bad JSON, bad tensor...) */
    TE_ERR_TRUNCATED,   /* input ends before the data it declares */
    TE_ERR_VERSION,     /* file written by a newer, incompatible tinyembed */
    TE_ERR_UNSUPPORTED, /* well-formed, but a feature this build does not handle */
    TE_ERR_SHAPE,       /* a tensor has the wrong shape or dtype */
    TE_ERR_CHECKSUM,    /* CRC32 mismatch: the file is damaged */
    TE_ERR_NOMEM,       /* out of memory */
    TE_ERR_TIMEOUT      /* te_wait_ready: still loading when the time ran out */
} te_status;

/* Filled by any call that takes one; msg is always NUL-terminated. */
typedef struct te_error {
    te_status code;
    char msg[512];
} te_error;

/* The message of `err`, or a generic text for its code if it has none. */
const char *te_errmsg(const te_error *err);
/* A short stable name for a status code, e.g. "TE_ERR_FORMAT". */
const char *te_status_name(te_status code);

/* ---------------------------------------------------------------------------
 * Model metadata
 * ------------------------------------------------------------------------- */

typedef enum te_dtype {
    TE_DTYPE_F32 = 0,
    TE_DTYPE_F16 = 1,
    TE_DTYPE_I8 = 2,
    TE_DTYPE_BF16 = 3, /* bfloat16: a float's top 16 bits (8-bit exponent, 7-bit mantissa) */
    TE_DTYPE_U8 = 4    /* raw bytes (the tokenizer's charsmap, trie and scores); never a weight dtype */
} te_dtype;

typedef enum te_pooling {
    TE_POOL_MEAN = 0, /* mean over the real tokens (special tokens included) */
    TE_POOL_CLS = 1,  /* the hidden state of the first ([CLS]) token */
    TE_POOL_LAST = 2  /* the hidden state of the last token (decoders: Qwen3-Embedding) */
} te_pooling;

typedef enum te_activation {
    TE_ACT_GELU = 0,      /* exact GELU: x * (1 + erf(x / sqrt 2)) / 2 */
    TE_ACT_GELU_TANH = 1, /* tanh approximation ("gelu_new", "gelu_pytorch_tanh") */
    TE_ACT_RELU = 2,
    TE_ACT_SILU = 3       /* x * sigmoid(x); with a gated feed-forward this is SwiGLU */
} te_activation;

/* What a model computes. */
typedef enum te_model_kind {
    TE_KIND_EMBEDDING = 0,  /* a pooled, optionally normalized vector per text (te_embed) */
    TE_KIND_CLASSIFIER = 1, /* a score per label for a text (te_classify) */
    TE_KIND_RERANKER = 2    /* one relevance score for a (query, passage) pair (te_rerank) */
} te_model_kind;

/* How a model knows where a token is. */
typedef enum te_position {
    TE_POS_ABSOLUTE = 0, /* a learned table row per position (BERT, DistilBERT, MPNet) */
    TE_POS_RELATIVE = 1, /* absolute table plus a bias on the attention scores from bucketed
                            key - query distances, shared by all layers (MPNet) */
    TE_POS_ROTARY = 2    /* queries and keys rotated by position; no table (NomicBERT) */
} te_position;

/* What a classifier's or reranker's scores are made of. */
typedef enum te_score_fn {
    TE_SCORE_SOFTMAX = 0,  /* probabilities over the labels (several labels) */
    TE_SCORE_SIGMOID = 1,  /* sigmoid of each logit (one label: a cross-encoder) */
    TE_SCORE_IDENTITY = 2  /* the logits as they are */
} te_score_fn;

/* Names for the enums above, as used in the file format and by `info`. */
const char *te_dtype_name(te_dtype d);
/* "f32", "f16", "int8" or "bf16" -> *out; returns 0, or -1 for another name. */
int te_dtype_parse(const char *name, te_dtype *out);
const char *te_pooling_name(te_pooling p);
const char *te_activation_name(te_activation a);
const char *te_kind_name(te_model_kind k); /* "embedding", "classifier", "reranker" */
const char *te_position_name(te_position p); /* "absolute", "relative", "rotary" */
const char *te_score_fn_name(te_score_fn f); /* "softmax", "sigmoid", "identity" */

/* Tokenizer settings, as stored in the model file. The BERT fields describe
 * a BertNormalizer; other pipelines are in `pipeline`. */
typedef struct te_tokenizer_info {
    int lowercase;          /* lowercase the text (full Unicode mapping) */
    int strip_accents;      /* NFD-decompose and drop combining marks (Mn) */
    int chinese_chars;      /* put spaces around CJK ideographs */
    int clean_text;         /* drop control characters, map whitespace to ' ' */
    int32_t cls_id, sep_id, pad_id, unk_id, mask_id; /* -1 when absent (XLM-R: <s>, </s>, <pad>, <unk>, <mask>) */
    const char *subword_prefix; /* WordPiece's continuation prefix, normally "##" ("" for other models) */
    int max_chars_per_word; /* WordPiece: longer words become [UNK] (normally 100) */
    int n_added_tokens;     /* special tokens matched in raw text ([CLS], ...) */
    const char *model;      /* "wordpiece", "unigram" or "bpe" (byte-level) */
    const char *pipeline;   /* tokenizer.json's normalizer, pre_tokenizer and model settings (JSON),
                               or NULL: BERT's, from the fields above (files before format 1.3) */
} te_tokenizer_info;

/* Everything te_open read from the file header. Strings point into the model
 * and stay valid until te_close. */
typedef struct te_model_info {
    const char *arch;       /* "bert", "distilbert", "mpnet" or "nomic_bert" */
    te_model_kind kind;     /* what it outputs */
    te_position position;   /* position scheme */
    int gated_ffn;          /* feed-forward is act(x Wg) * (x Wv), then down (SwiGLU with silu) */
    int num_labels;         /* classifier / reranker: outputs per input; 0 for embedding models */
    const char *const *labels; /* [num_labels] label names (id2label), or NULL */
    te_score_fn score_fn;   /* classifier / reranker: what te_classify and te_rerank return */
    const char *name;       /* model name given at conversion */
    const char *source;     /* where it was converted from */
    const char *converter;  /* "tinyembed X.Y.Z" that wrote the file */
    int format_major, format_minor;
    int hidden_size;        /* width of every hidden state */
    int num_layers;         /* transformer layers */
    int num_heads;          /* attention heads; head size = hidden_size / num_heads */
    int intermediate_size;  /* feed-forward inner width */
    int vocab_size;         /* rows of the word-embedding table */
    int vocab_tokens;       /* entries in the tokenizer vocabulary (<= vocab_size) */
    int max_position;       /* positions the model was trained for (rows of the position table,
                               which rotary models do not have) */
    int type_vocab_size;    /* rows of the token-type table; 0 when the model has none */
    float layer_norm_eps;
    te_activation activation;
    te_pooling pooling;
    int normalize;          /* L2-normalize the pooled vector */
    int max_seq_length;     /* default truncation, special tokens included */
    te_dtype dtype;         /* dtype of the big weight matrices */
    uint64_t file_bytes;    /* bytes of the model (inside a bundle: of the appended model) */
    uint64_t file_offset;   /* where the model starts in its file: 0, or its offset in a bundle */
    uint32_t fingerprint;   /* CRC32 of the file header, which holds the checksum of every
                               section and (through the directory) every tensor: it changes
                               whenever the file's content does */
    te_tokenizer_info tokenizer;
    unsigned outputs;       /* TE_OUTPUT_* bits te_embed_multi can give: DENSE and TOKENS for every embedding
                               model, SPARSE and COLBERT with bge-m3's heads; 0 for classifiers and rerankers */
    int colbert_dim;        /* floats per ColBERT vector; 0 without that head */
    const char *default_prompt_name; /* the prompt to use when a caller names none (te_model_prompt_text), or NULL */
    const float *output_range; /* embedding models: [2 * hidden_size], each dimension's min, then each one's max,
                                  of the model's own embeddings of a fixed sample (te_embedding_quantize); NULL
                                  in a file written before it (te_calibrate adds it) and for other kinds */
    int output_range_texts; /* texts output_range was calibrated on (0 without one) */
} te_model_info;

/* One entry of the tensor directory (see docs/FORMAT.md). */
typedef enum te_layout {
    TE_LAYOUT_ROWS = 0,    /* row-major, dims[0] outermost */
    TE_LAYOUT_PANEL16 = 1, /* linear weight [N,K] as ceil(N/16) panels of [K][16] */
    TE_LAYOUT_PANEL16X4 = 2 /* int8 linear weight [N,K] as ceil(N/16) panels of ceil(K/4) groups of [16][4] */
} te_layout;

typedef struct te_tensor_info {
    const char *name;
    te_dtype dtype;
    te_layout layout;
    int n_dims;
    uint64_t dims[4];       /* logical shape, outermost first */
    uint64_t offset;        /* byte offset in the file */
    uint64_t bytes;         /* stored bytes (panels pad N up to 16) */
    uint32_t crc32;         /* CRC-32 (zlib polynomial) of the stored bytes */
} te_tensor_info;

/* ---------------------------------------------------------------------------
 * Opening a model
 * ------------------------------------------------------------------------- */

typedef struct te_model te_model;

/* How the weights get from the file into memory. Every strategy gives the
 * same embeddings, bit for bit; they differ in when the I/O happens.
 *   LAZY        map only; pages fault in when the forward pass first reads
 *               them. Embedding-table rows no input uses are never read.
 *   EAGER       read the whole file before te_open returns.
 *   BACKGROUND  te_open returns at once; a thread reads the whole file.
 *   PROGRESSIVE te_open returns at once; a thread reads the file layer by
 *               layer in forward order, and an encode waits only for the
 *               layer it is about to run (so reading layer k+1 overlaps
 *               computing layer k); the word-embedding table comes last.
 *   AUTO        one of the above from the machine's resources; the choice
 *               and the reason are in te_model_status. */
typedef enum te_strategy {
    TE_STRATEGY_LAZY = 0,
    TE_STRATEGY_EAGER,
    TE_STRATEGY_BACKGROUND,
    TE_STRATEGY_PROGRESSIVE,
    TE_STRATEGY_AUTO
} te_strategy;

const char *te_strategy_name(te_strategy s);
/* "lazy", "eager", "background", "progressive", "auto"; returns 0 on success, -1 if unknown. */
int te_strategy_parse(const char *name, te_strategy *out);

typedef struct te_open_opts {
    /* Nonzero: also check the CRC32 of every section and tensor before
     * returning (reads the whole file; te_verify does the same later). */
    int verify_checksums;
    te_strategy strategy;  /* default (zero) TE_STRATEGY_LAZY */
} te_open_opts;

/* Maps `path` read-only and validates it: header, version, every section and
 * tensor bounds-checked against the file size, shapes checked against the
 * hyper-parameters. Touches no tensor page. `opts` may be NULL. Returns NULL
 * and fills `err` on failure. `path` may also be a bundle (an executable
 * with a model appended, see te_bundle_write): the appended model is mapped
 * in place and behaves exactly like a separate file.
 * The file must stay whole while it is open: replace a model by writing a new
 * file and renaming it over the old (as every tinyembed writer does), never by
 * truncating or rewriting it in place. If another process truncates it anyway,
 * reading a page past the new end raises SIGBUS on Linux, which a library cannot
 * catch without taking over the process's signal handling: te_verify and the
 * loader check first and fail with TE_ERR_TRUNCATED / TE_LOAD_FAILED, and
 * te_model_get_status reports file_bytes_present < file_bytes, but an encode
 * that reads a lost page is killed. */
te_model *te_open(const char *path, const te_open_opts *opts, te_error *err);

/* Unmaps and frees. NULL is a no-op. */
void te_close(te_model *m);

void te_model_get_info(const te_model *m, te_model_info *out);

/* Prompts, as sentence-transformers keeps them (config_sentence_transformers.json):
 * named texts a model wants in front of some inputs, e.g. {"query": "query: ",
 * "passage": "passage: "}, and default_prompt_name. te_embed embeds texts as
 * given; callers put a prompt in front (the CLI's --prompt-name and the
 * server's prompt_name do, and use the default when asked for none).
 * te_model_prompt gives prompt i's name and text (valid until te_close) and
 * returns 0, or -1 when i is out of range. te_model_prompt_text gives the
 * text of prompt `name` -- name NULL: of default_prompt_name, or "" when the
 * model has none; an unknown name is TE_ERR_ARG listing the model's prompts. */
int te_model_n_prompts(const te_model *m);
int te_model_prompt(const te_model *m, int i, const char **name, const char **text);
te_status te_model_prompt_text(const te_model *m, const char *name, const char **text, te_error *err);

/* Tensor directory: te_model_tensor fills `out` for 0 <= i < n and returns 0,
 * or returns -1 when i is out of range. */
size_t te_model_n_tensors(const te_model *m);
int te_model_tensor(const te_model *m, size_t i, te_tensor_info *out);

/* Waits until a BACKGROUND or PROGRESSIVE model is fully in memory: TE_OK
 * when loaded, TE_ERR_TIMEOUT if timeout_ms passed first (0: do not wait,
 * negative: wait forever), or the error that stopped loading. Encoding
 * before then is allowed and gives the same results. */
te_status te_wait_ready(const te_model *m, int timeout_ms);

typedef enum te_load_state { TE_LOAD_LOADING = 0, TE_LOAD_READY, TE_LOAD_FAILED } te_load_state;

#define TE_STATUS_MAX_LAYERS 64

/* What te_model_get_status reports. Residency is measured with mincore():
 * bytes of the file in the page cache, whether or not this process touched
 * them. */
typedef struct te_model_status {
    te_load_state state;
    te_strategy strategy;          /* in effect (AUTO resolved) */
    char strategy_reason[192];     /* why this strategy */
    int layers_ready;              /* layers loaded (progressive); all when ready */
    int layers_total;
    uint64_t file_bytes, file_resident;
    uint64_t meta_bytes, meta_resident;           /* header, metadata, vocabulary */
    uint64_t word_emb_bytes, word_emb_resident;   /* the word-embedding table */
    uint64_t other_emb_bytes, other_emb_resident; /* position, token-type, norm (and int8 word scales) */
    uint64_t layers_bytes, layers_resident;       /* all transformer layers */
    uint64_t layer_resident[TE_STATUS_MAX_LAYERS]; /* per layer (first 64) */
    uint64_t hot_rows;             /* rows in the warmup list */
    double load_ms;                /* te_open to fully in memory (while loading: so far) */
    double warmup_ms;              /* the last te_warmup */
    int warmed_up, warmup_ok;
    te_error last_error;           /* why loading or warmup failed */
    uint64_t file_bytes_present;   /* of file_bytes, how many the file still holds: less only when it was
                                      truncated after te_open (see te_open; the rest cannot be read) */
} te_model_status;

te_status te_model_get_status(const te_model *m, te_model_status *out);

/* The machine, as the AUTO strategy sees it. */
typedef struct te_sysinfo {
    int online_cores;
    uint64_t mem_total, mem_available;  /* bytes; available from /proc/meminfo MemAvailable */
    long page_size;
    const char *simd;                   /* best kernel set this CPU runs */
    int rotational;                     /* the disk holding `path`: 1 rotational, 0 not, -1 unknown */
} te_sysinfo;

/* `path` (may be NULL) is the file whose disk to look at. */
te_status te_sysinfo_get(const char *path, te_sysinfo *out, te_error *err);

/* Page-cache helpers for honest cold-start measurements (no root needed):
 * evict a file (posix_fadvise DONTNEED, tried up to five times 20 ms apart
 * while reads in flight finish; fails if pages stay) and count its
 * resident bytes (mincore). On a bundle both act on the appended model only
 * (the executable's own pages stay mapped while it runs). */
te_status te_page_cache_evict(const char *path, te_error *err);
te_status te_page_cache_resident(const char *path, uint64_t *resident, uint64_t *total, te_error *err);

/* Bundles: one executable file that carries its model (docs/FORMAT.md,
 * "Bundles"). te_bundle_write copies `exe` (without the model when `exe` is
 * itself a bundle), pads to `align` (0: 16384; a power of two >= 4096 that
 * is a multiple of the page size of the machines that will run it), appends
 * the model at `model_path` (checked with every checksum first; when it is a
 * bundle, its model) and a trailer; `out` is written atomically (a temporary
 * file renamed over it) with mode 0755. te_bundle_locate says where the
 * model of the bundle at `path` lies: TE_OK, or TE_ERR_NOT_FOUND when `path`
 * has no bundled model (other codes: it cannot be read, or its trailer is
 * damaged). */
te_status te_bundle_write(const char *exe, const char *model_path, const char *out, size_t align, te_error *err);
te_status te_bundle_locate(const char *path, uint64_t *offset, uint64_t *bytes, te_error *err);

/* Recomputes the CRC32 of every section and tensor (and, in a bundle, of the
 * whole appended model); on a mismatch returns
 * TE_ERR_CHECKSUM naming the first damaged tensor (in file order). Reads the
 * whole file -- after checking that it still has all its bytes: a file
 * truncated since te_open is TE_ERR_TRUNCATED, and no lost page is read. */
te_status te_verify(const te_model *m, te_error *err);

/* ---------------------------------------------------------------------------
 * Tokenizing
 * ------------------------------------------------------------------------- */

/* Splits UTF-8 `text` (len bytes, no terminator needed) into token ids exactly
 * as Hugging Face `tokenizers` does with the model's tokenizer.json: special
 * tokens written in the text ("[SEP]", "<mask>") are matched first; the rest
 * goes through the normalizers (BERT's: controls dropped, spaces around CJK
 * ideographs, accents stripped and lowercased as the model says;
 * SentencePiece's precompiled charsmap, NFKC, ...), the pre-tokenizers
 * (whitespace and punctuation, Metaspace's "▁") and the model: WordPiece
 * ("##"-prefixed continuations, unknown words -> [UNK]) or Unigram (the
 * best-scoring segmentation, as XLM-RoBERTa's SentencePiece).
 * The result is framed by the model's template (tokenizer.json's
 * post_processor): [CLS] pieces... [SEP] for BERT, <s> ... </s> for MPNet
 * and XLM-RoBERTa.
 * At most `max_ids` ids are written (at least the template's special tokens):
 * the text is truncated so that the total, special tokens included, fits --
 * pass info.max_seq_length for the model's default. Stops reading the text
 * once full. *n_ids gets the count.
 * Invalid UTF-8 never fails: each maximal ill-formed byte sequence becomes
 * U+FFFD, which the normalizer drops (as it drops a U+FFFD in valid text), so
 * "abÿcd" tokenizes like "abcd". Thread-safe; allocates nothing unless the
 * model allows words longer than 256 characters. */
te_status te_tokenize(const te_model *m, const char *text, size_t len, int32_t *ids, size_t max_ids,
                      size_t *n_ids, te_error *err);

/* A text pair as the model's pair template frames it -- BERT:
 * [CLS] a [SEP] b [SEP] with token types 0 up to the first [SEP] and 1 after;
 * MPNet / RoBERTa: <s> a </s></s> b </s>. A pair longer than max_ids is cut as
 * HF's `truncation=True` (LongestFirst) does: if the shorter text fits beside
 * the longer, only the longer is cut; else each gets half (the longer one the
 * odd token). b NULL: `a` alone, framed as te_tokenize does. type_ids (may be
 * NULL) receives the token types; *truncated (may be NULL) whether anything
 * was cut. Allocates one temporary buffer of max_ids ids for a pair. */
te_status te_tokenize_pair(const te_model *m, const char *a, size_t alen, const char *b, size_t blen, int32_t *ids,
                           uint8_t *type_ids, size_t max_ids, size_t *n_ids, int *truncated, te_error *err);

/* The vocabulary string of token `id` (not NUL-terminated, *len bytes): for
 * an added token past the vocabulary (Qwen3's <|endoftext|>), its text; for a
 * byte-level BPE token, the bytes it stands for (not GPT-2's printable
 * spelling, which `tinyembed tokenize --tokens` shows); NULL for an id that
 * is neither. */
const char *te_token_text(const te_model *m, int32_t id, size_t *len);

/* Where a token came from: bytes [start, end) of the text given. Special
 * tokens the template adds have TE_SPAN_NONE for both. */
#define TE_SPAN_NONE 0xFFFFFFFFu
typedef struct te_span {
    uint32_t start, end;
} te_span;

/* te_tokenize with each token's span in `text` (spans[max_ids]), through
 * every normalizer: a token covers the original bytes its characters came
 * from (a character the normalizer added covers where it was added, empty).
 * add_special 0 leaves the template's special tokens out. Allocates
 * buffers for the spans' bookkeeping. */
te_status te_tokenize_spans(const te_model *m, const char *text, size_t len, int add_special, int32_t *ids,
                            te_span *spans, size_t max_ids, size_t *n_ids, int *truncated, te_error *err);

/* Ids back to text, as Hugging Face's decode: each id's string through the
 * tokenizer's decoders (WordPiece joins "##" pieces, Metaspace turns "▁"
 * into spaces, ...); special tokens ([CLS], <s>) left out when skip_special.
 * Writes at most cap - 1 bytes and a NUL to out; *len gets the full length
 * (more than cap - 1: out was too small). An id outside the vocabulary is
 * TE_ERR_ARG. */
te_status te_decode(const te_model *m, const int32_t *ids, size_t n, int skip_special, char *out, size_t cap,
                    size_t *len, te_error *err);

/* ---------------------------------------------------------------------------
 * Embedding
 * ------------------------------------------------------------------------- */

/* A context holds what one caller needs to run a model: worker threads, the
 * SIMD kernel set chosen for this CPU, and scratch memory reused by every
 * call. Use one context per calling thread; any number of contexts can share
 * one model.
 *
 * Scratch grows with the calls: the buffers for a batch's tokens and for
 * attention over its longest text are allocated by the first call that needs
 * them, at least doubled when a larger call comes, and kept (the high-water
 * mark: te_ctx_scratch_in_use). Calls no larger than one already made
 * allocate nothing. A buffer is freed before its larger replacement is
 * allocated, so the scratch never exceeds its bound while it grows. A call
 * that needs more memory than the system gives fails with TE_ERR_NOMEM; the
 * context stays usable (it drops what it had grown and grows again). The bound below, which
 * max_memory limits, is what it can grow to (te_ctx_scratch_bytes); a
 * context whose calls embed a few short texts costs a small part of it.
 *
 * That bound, in floats, with T = max_batch_tokens, H = hidden size,
 * I' = the feed-forward's width (intermediate size; twice it for a gated
 * feed-forward), S = the context's max_seq_length rounded up to 16, d = head
 * size rounded up to 16, n = threads:
 *     4 T H  +  96 max(H, I')  +  n (96 I' + 96 * 256 + 2 S d + 64 S)
 * (hidden states and Q|K|V for a batch; packed activations; per thread the
 * feed-forward intermediate, a packed block, the keys and values of one
 * head and the scores of 64 queries at a time), plus n * 8192 for f16
 * models (widened weights), S * rotary dims for rotary models, and
 * heads * 2S for MPNet's relative bias (twice S * rotary dims with a local
 * rotary base: ModernBERT). Decoders with their own head width (Qwen3) hold
 * T (heads + 2 kv_heads) head_dim floats of Q|K|V in place of 3 T H, and
 * pre-norm models (ModernBERT, Qwen3) T H more, a block's normalized input.
 * int8 models quantize activations inside the packed-block buffers.
 * Nothing grows with S squared: T is at
 * least S, so a context for texts of S tokens costs about 4 H + 2 n (d + 32)
 * floats per token of S. E.g. all-MiniLM-L6-v2 with T = 4096 and 2 threads:
 * 27.4 MB; NomicBERT (H 768, I' 6144, 2 threads) for one 2,048-token text
 * (max_seq_length = max_batch_tokens = 2048): 35.0 MB, 60.2 MB with the
 * default T = 4096; for one 8,192-token text: 121.6 MB.
 * te_ctx_scratch_bytes reports the exact figure. */
typedef struct te_ctx te_ctx;

typedef struct te_ctx_opts {
    int threads;           /* 0: one per online core */
    int batch;             /* texts per forward pass; 0: 32 */
    int max_batch_tokens;  /* tokens per forward pass; 0: 4096 (never less than max_seq_length) */
    const char *simd;      /* NULL: the best this CPU has; or "avx512bf16", "avx512vnni", "avx512",
                              "avxvnni", "avx2", "neon", "scalar" */
    int max_seq_length;    /* truncate texts to this many tokens; 0: the model's max_seq_length (also the upper bound) */
    size_t max_memory;     /* 0, or a bound on scratch bytes (te_ctx_scratch_bytes): tokens per batch, then if
                              need be max_seq_length, are lowered until the formula above fits it (at least 16
                              tokens; else TE_ERR_NOMEM saying what 16 need). The model's mapping and the
                              worker threads' stacks (256 KB each) are not scratch. */
} te_ctx_opts;

te_ctx *te_ctx_new(const te_model *m, const te_ctx_opts *opts, te_error *err);
void te_ctx_free(te_ctx *c);

const char *te_ctx_simd(const te_ctx *c);    /* kernel set in use, e.g. "avx512" */
int te_ctx_threads(const te_ctx *c);
size_t te_ctx_scratch_bytes(const te_ctx *c);  /* the most scratch can grow to (the formula above) */
size_t te_ctx_scratch_in_use(const te_ctx *c); /* scratch allocated now: grown to the largest call so far */
int te_ctx_max_seq_length(const te_ctx *c);   /* in effect: after max_seq_length and max_memory */
int te_ctx_max_batch_tokens(const te_ctx *c); /* in effect: after max_memory */

/* This machine's fp32 FMA peak for the context's kernels and threads, in
 * GFLOP/s, measured now with independent FMA chains (takes about 0.2 s).
 * Benchmarks divide achieved GFLOP/s by it. */
double te_ctx_peak_gflops(te_ctx *c);

/* Gets a model ready to answer fast: pages in every dense layer weight and
 * the embedding-table rows real text uses most (the file's hot-row list;
 * not the whole table), then runs one short encode through `c` so its
 * threads and scratch are warm. Time and outcome show in te_model_status. */
te_status te_warmup(te_ctx *c, te_error *err);

/* Embeds n texts (UTF-8; lens[i] bytes each, or NUL-terminated if lens is
 * NULL) into out[n * hidden_size], in input order. Each text is tokenized
 * and truncated to the model's max_seq_length, encoded, pooled as the model
 * says (mean or [CLS]) and L2-normalized if it says so. A text's vector does
 * not depend on the other texts of the call, nor on the thread count. */
te_status te_embed(te_ctx *c, const char *const *texts, const size_t *lens, size_t n, float *out, te_error *err);

/* The same from token ids ([CLS] and [SEP] included): sequence i is
 * ids[i][0 .. n_ids[i]), 1..max_seq_length ids, each below vocab_size. */
te_status te_embed_tokens(te_ctx *c, const int32_t *const *ids, const size_t *n_ids, size_t n, float *out,
                          te_error *err);

/* te_embed that also says which texts were cut to fit: truncated[i] = 1 when
 * text i had more tokens than the context's max_seq_length (truncated may be
 * NULL). Truncation is never an error; callers that must not lose text check
 * this. */
te_status te_embed_ex(te_ctx *c, const char *const *texts, const size_t *lens, size_t n, float *out,
                      uint8_t *truncated, te_error *err);

/* Classifiers (info.kind TE_KIND_CLASSIFIER, e.g. a DistilBERT sentiment
 * model): out[n * num_labels] gets, per text in input order, one score per
 * label in label id order (info.labels[i] names label i): the probabilities
 * of info.score_fn (softmax over the labels; sigmoid for one label), or the
 * raw logits when raw is nonzero -- what the Hugging Face
 * `text-classification` pipeline gives with top_k=None, before sorting.
 * truncated: as te_embed_ex. Same context, threads and batching as te_embed;
 * an embedding model is refused with TE_ERR_ARG, and te_embed refuses a
 * classifier. */
te_status te_classify(te_ctx *c, const char *const *texts, const size_t *lens, size_t n, int raw, float *out,
                      uint8_t *truncated, te_error *err);

/* The same from token ids with their token types (type_ids NULL, or
 * type_ids[i] NULL: all 0), e.g. pairs tokenized by te_tokenize_pair. */
te_status te_classify_tokens(te_ctx *c, const int32_t *const *ids, const uint8_t *const *type_ids,
                             const size_t *n_ids, size_t n, int raw, float *out, te_error *err);

/* Cross-encoder reranking (info.kind TE_KIND_RERANKER, e.g.
 * ms-marco-MiniLM-L-6-v2): out[i] = the relevance of texts[i] to the query,
 * scored on the pair (query, texts[i]) framed as te_tokenize_pair does and
 * cut the same way when too long. The score is info.score_fn of the logit
 * (sigmoid, as sentence-transformers' CrossEncoder, unless the model's
 * config named another), or the logit when raw is nonzero. Input order is
 * kept: sorting by score is the caller's. */
te_status te_rerank(te_ctx *c, const char *query, size_t query_len, const char *const *texts, const size_t *lens,
                    size_t n, int raw, float *out, uint8_t *truncated, te_error *err);

/* ---------------------------------------------------------------------------
 * Several outputs from one forward pass (bge-m3)
 * ------------------------------------------------------------------------- */

/* What te_embed_multi computes, as FlagEmbedding's BGEM3 does (info.outputs
 * says which a model has; te_convert reads sparse_linear.pt and
 * colbert_linear.pt beside the checkpoint). */
#define TE_OUTPUT_DENSE 1u   /* the pooled vector, exactly as te_embed */
#define TE_OUTPUT_SPARSE 2u  /* lexical weights: relu(sparse head) per token, the max per token id, the
                                special tokens (<s> </s> <pad> <unk>) and weights of 0 left out */
#define TE_OUTPUT_COLBERT 4u /* a vector per token but the first (<s>): the ColBERT head, L2-normalized */
#define TE_OUTPUT_TOKENS 8u  /* every token's last hidden state, special tokens included, as it leaves the
                                encoder (before pooling or normalizing): TEI's /embed_all */

typedef struct te_sparse_entry {
    int32_t id;     /* token id (te_token_text names it) */
    float weight;   /* > 0 */
} te_sparse_entry;

/* One text's outputs; arrays allocated by te_embed_multi, released by
 * te_multi_free. Outputs not asked for are NULL with count 0. */
typedef struct te_multi {
    float *dense;              /* [hidden_size] */
    te_sparse_entry *sparse;   /* [n_sparse], ids ascending */
    size_t n_sparse;
    float *colbert;            /* [n_colbert][colbert_dim]: tokens 1 .. n-1 of the text's n */
    size_t n_colbert;
    float *tokens;             /* [n_tokens][hidden_size] */
    size_t n_tokens;           /* n: the text's tokens after truncation, special tokens included */
} te_multi;

/* Embeds n texts as te_embed_ex does (same tokenizing, truncation, batching
 * and threads) and fills out[i] with the `outputs` bits asked for, all from
 * one forward pass per batch. Asking for an output the model lacks is
 * TE_ERR_ARG naming it. On failure every out[i] is left empty. */
te_status te_embed_multi(te_ctx *c, const char *const *texts, const size_t *lens, size_t n, unsigned outputs,
                         te_multi *out, uint8_t *truncated, te_error *err);
/* Frees the arrays of out[0..n) and zeroes them; NULL is a no-op. */
void te_multi_free(te_multi *out, size_t n);

/* bge-m3's scores: the lexical score (the sum over the ids both hold of the
 * product of their weights; both sorted by id, as te_embed_multi gives them)
 * and the ColBERT score (the mean over the query's vectors of the best dot
 * product with the document's). */
double te_sparse_score(const te_sparse_entry *a, size_t na, const te_sparse_entry *b, size_t nb);
double te_colbert_score(const float *q, size_t nq, const float *d, size_t nd, int dim);

/* ---------------------------------------------------------------------------
 * Converting a Hugging Face model
 * ------------------------------------------------------------------------- */

typedef struct te_convert_opts {
    te_dtype dtype;          /* weight dtype to write: f32, f16, bf16 or int8 (linear weights and the word table) */
    const char *name;        /* model name to record; NULL: the directory name */
    int pooling;             /* -1: from 1_Pooling/config.json (mean if absent), else te_pooling */
    int normalize;           /* -1: from modules.json (off if absent), else 0/1 */
    int max_seq_length;      /* 0: from sentence_bert_config.json / tokenizer_config.json */
    /* Progress: called with bytes of tensor data written so far and the total. */
    void (*progress)(void *user, uint64_t done, uint64_t total);
    /* Notes for a verbose mode (e.g. "ignored tensor pooler.dense.weight"). */
    void (*note)(void *user, const char *msg);
    void *user;
    /* The texts an embedding model's output range is calibrated on (te_calibrate); NULL: the built-in sample. */
    const char *const *calibration_texts;
    size_t n_calibration_texts;
} te_convert_opts;

/* Defaults: f32, names and settings from the model directory. */
void te_convert_opts_default(te_convert_opts *o);

/* Reads config.json, model.safetensors (F32/F16/BF16), the vocabulary
 * (tokenizer.json or vocab.txt), tokenizer_config.json and the
 * sentence-transformers files from `hf_dir` and writes `out_path`.
 * The file is written under a temporary name and renamed into place only when
 * complete: a failed or interrupted conversion leaves no .temb behind. */
te_status te_convert(const char *hf_dir, const char *out_path,
                     const te_convert_opts *opts, te_error *err);

/* Rewrites an f32 .temb file with its linear weights and word table in
 * `dtype` (TE_DTYPE_F16, TE_DTYPE_BF16 or TE_DTYPE_I8); everything else is copied. The
 * result is byte for byte what te_convert writes with that dtype from the
 * same weights. Atomic like te_convert; `progress` may be NULL. */
te_status te_quantize(const char *in_path, const char *out_path, te_dtype dtype,
                      void (*progress)(void *user, uint64_t done, uint64_t total), void *user, te_error *err);

/* ---------------------------------------------------------------------------
 * int8 / uint8 embeddings
 * ------------------------------------------------------------------------- */

/* An embedding model's int8 / uint8 output maps each dimension's calibrated
 * range (info.output_range: the min and max over the model's own embeddings
 * of a fixed sample of texts) onto 256 steps, so a text's bytes never depend
 * on the batch it came in. te_convert, te_quantize and te_calibrate write the
 * range, computed on the model they write (a quantized file's own range). The
 * rule, per dimension d with range [lo, hi]:
 *     u = floor((v - lo) * (255 / (hi - lo)) + 0.5), clamped to 0..255
 *         (each operation rounded to f32; u = 0 when hi = lo)
 *     uint8 = u,   int8 = u - 128
 * (sentence-transformers' quantize_embeddings with these ranges, but rounding
 * to the nearest step rather than down). Values outside the range saturate.
 * v is a te_embed vector (dim = hidden_size: the range holds for the model's
 * whole, unchanged output); out gets dim bytes (int8_t or uint8_t). Fails with
 * TE_ERR_UNSUPPORTED when the file has no range. */
te_status te_embedding_quantize(const te_model *m, const float *v, size_t dim, int as_uint8, void *out,
                                te_error *err);

/* Rewrites a .temb embedding model with its output range calibrated on
 * texts[0..n) (NULL: the built-in sample), everything else copied as it is:
 * for files written before the range existed, or to calibrate on text like
 * the text it will embed (a few hundred texts or more). Atomic like
 * te_convert; in_path and out_path may be the same file. */
te_status te_calibrate(const char *in_path, const char *out_path, const char *const *texts, size_t n,
                       te_error *err);

#ifdef __cplusplus
}
#endif

/* The registry and the search index, for one-include users. */
#include "tinyembed_registry.h"
#include "tinyembed_index.h"

#endif /* TINYEMBED_H */
