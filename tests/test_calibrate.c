/*
 * test_calibrate.c - the calibrated output range and the int8 / uint8 rule:
 * the range te_convert writes is each dimension's min and max of the written
 * model's own te_embed vectors of the built-in sample (and te_calibrate's of
 * given texts); te_quantize calibrates on the quantized model; rewriting a
 * file with the same sample changes nothing; te_embedding_quantize maps the
 * range's ends to 0 and 255, saturates outside it, gives int8 = uint8 - 128,
 * and refuses a wrong width, a file without a range and a damaged range.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "calibrate.h"
#include "format.h"
#include "harness.h"
#include "model.h"
#include "tinyembed.h"

static char tmpdir[] = "/tmp/te_calibrate_XXXXXX";

static const char *tmp(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", tmpdir, name);
    return buf;
}

/* Whether m's range is exactly each dimension's min and max of its te_embed vectors of texts. */
static int range_is_min_max(te_model *m, const char *const *texts, size_t n) {
    te_model_info in;
    te_model_get_info(m, &in);
    size_t h = (size_t)in.hidden_size;
    float *v = malloc(n * h * sizeof *v);
    te_error err;
    te_ctx *c = v ? te_ctx_new(m, NULL, &err) : NULL;
    int ok = c && te_embed(c, texts, NULL, n, v, &err) == TE_OK && in.output_range;
    for (size_t d = 0; ok && d < h; d++) {
        float lo = v[d], hi = v[d];
        for (size_t i = 1; i < n; i++) {
            lo = fminf(lo, v[i * h + d]);
            hi = fmaxf(hi, v[i * h + d]);
        }
        ok = in.output_range[d] == lo && in.output_range[h + d] == hi;
    }
    te_ctx_free(c);
    free(v);
    return ok;
}

static int same_file(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *pa = th_read_file(a, &na), *pb = th_read_file(b, &nb);
    int same = pa && pb && na == nb && memcmp(pa, pb, na) == 0;
    free(pa);
    free(pb);
    return same;
}

TEST(convert_calibrates_on_the_builtin_sample) {
    char hf[1024], out[1200];
    te_error err;
    CHECK_MSG(te_convert(th_path(hf, sizeof hf, "TE_HF", "tiny-mean"), tmp(out, sizeof out, "f32.temb"), NULL, &err) == TE_OK,
              "%s", err.msg);
    te_model *m = te_open(out, NULL, &err);
    CHECK(m);
    size_t n;
    const char *const *texts = te_calib_builtin(&n);
    te_model_info in;
    te_model_get_info(m, &in);
    int ok = in.output_range_texts == (int)n && range_is_min_max(m, texts, n);
    int widths = 1;
    for (int d = 0; in.output_range && d < in.hidden_size; d++) widths &= in.output_range[in.hidden_size + d] > in.output_range[d];
    te_close(m);
    CHECK(n >= 64);
    CHECK(ok);
    CHECK(widths);
}

TEST(quantize_calibrates_on_the_quantized_model) {
    char f32[1200], i8[1200], hf[1024], conv[1200];
    te_error err;
    tmp(f32, sizeof f32, "f32.temb");
    CHECK_MSG(te_quantize(f32, tmp(i8, sizeof i8, "q8.temb"), TE_DTYPE_I8, NULL, NULL, &err) == TE_OK, "%s", err.msg);
    te_convert_opts o;
    te_convert_opts_default(&o);
    o.dtype = TE_DTYPE_I8;
    CHECK_MSG(te_convert(th_path(hf, sizeof hf, "TE_HF", "tiny-mean"), tmp(conv, sizeof conv, "c8.temb"), &o, &err) == TE_OK,
              "%s", err.msg);
    CHECK(same_file(i8, conv)); /* both calibrate last, on the model they wrote */
    te_model *a = te_open(f32, NULL, &err), *b = te_open(i8, NULL, &err);
    size_t n;
    const char *const *texts = te_calib_builtin(&n);
    int own = a && b && range_is_min_max(b, texts, n);
    te_model_info ia, ib;
    if (a) te_model_get_info(a, &ia);
    if (b) te_model_get_info(b, &ib);
    int differs = a && b && memcmp(ia.output_range, ib.output_range, 2 * (size_t)ia.hidden_size * sizeof(float)) != 0;
    te_close(a);
    te_close(b);
    CHECK(own);
    CHECK(differs); /* int8 weights move the vectors, so the range moves */
}

TEST(calibrate_rewrites_only_the_range) {
    char f32[1200], again[1200], mine[1200];
    const char *texts[] = {"the first text", "a second, longer text about cats and dogs", "3"};
    te_error err;
    tmp(f32, sizeof f32, "f32.temb");
    CHECK_MSG(te_calibrate(f32, tmp(again, sizeof again, "again.temb"), NULL, 0, &err) == TE_OK, "%s", err.msg);
    CHECK(same_file(f32, again));
    CHECK_MSG(te_calibrate(f32, tmp(mine, sizeof mine, "mine.temb"), texts, 3, &err) == TE_OK, "%s", err.msg);
    te_model *m = te_open(mine, &(te_open_opts){.verify_checksums = 1}, &err);
    CHECK_MSG(m, "%s", err.msg);
    te_model_info in;
    te_model_get_info(m, &in);
    int ok = in.output_range_texts == 3 && range_is_min_max(m, texts, 3);
    te_close(m);
    CHECK(ok);
    /* In place, as the CLI's default: the same bytes as written to another name. */
    CHECK(te_calibrate(mine, mine, NULL, 0, &err) == TE_OK);
    CHECK(same_file(mine, f32));
}

TEST(calibrate_refuses_what_has_no_range) {
    char out[1200], ce[1024], f32[1200];
    te_error err;
    const char *texts[] = {"x"};
    CHECK_EQ_INT(te_calibrate(th_path(ce, sizeof ce, "TE_TESTDATA", "ce-minilm.temb"), tmp(out, sizeof out, "ce.temb"),
                              NULL, 0, &err), TE_ERR_ARG);
    CHECK_HAS(err.msg, "reranker");
    CHECK_EQ_INT(te_calibrate(tmp(f32, sizeof f32, "f32.temb"), tmp(out, sizeof out, "none.temb"), texts, 0, &err),
                 TE_ERR_ARG);
    CHECK(access(out, F_OK) != 0);
    te_model *m = th_open_model("ce-minilm");
    CHECK(m);
    te_model_info in;
    te_model_get_info(m, &in);
    float v[1] = {0};
    uint8_t b[1];
    te_status st = te_embedding_quantize(m, v, 1, 0, b, &err);
    te_close(m);
    CHECK(!in.output_range);
    CHECK_EQ_INT(st, TE_ERR_UNSUPPORTED);
    CHECK_HAS(err.msg, "tinyembed calibrate");
}

/* The rule at the range's ends, outside it, and int8 against uint8. */
TEST(quantize_rule) {
    char f32[1200];
    te_error err;
    te_model *m = te_open(tmp(f32, sizeof f32, "f32.temb"), NULL, &err);
    CHECK(m);
    te_model_info in;
    te_model_get_info(m, &in);
    size_t h = (size_t)in.hidden_size;
    const float *lo = in.output_range, *hi = lo + h;
    float *v = malloc(4 * h * sizeof *v);
    uint8_t *u = malloc(4 * h), *s = malloc(4 * h);
    int ok = v && u && s;
    for (size_t d = 0; ok && d < h; d++) {
        v[d] = lo[d];
        v[h + d] = hi[d];
        v[2 * h + d] = lo[d] - 1.0f;
        v[3 * h + d] = d % 2 ? hi[d] + 1.0f : NAN;
    }
    for (int r = 0; ok && r < 4; r++)
        ok = te_embedding_quantize(m, v + r * h, h, 1, u + r * h, &err) == TE_OK &&
             te_embedding_quantize(m, v + r * h, h, 0, s + r * h, &err) == TE_OK;
    for (size_t d = 0; ok && d < h; d++)
        ok = u[d] == 0 && u[h + d] == 255 && u[2 * h + d] == 0 && u[3 * h + d] == (d % 2 ? 255 : 0);
    for (size_t i = 0; ok && i < 4 * h; i++) ok = (int)(int8_t)s[i] == (int)u[i] - 128;
    /* The middle of the range: 127.5 steps, rounded up. */
    for (size_t d = 0; ok && d < h; d++) v[d] = lo[d] + (hi[d] - lo[d]) * 0.5f;
    ok = ok && te_embedding_quantize(m, v, h, 1, u, &err) == TE_OK;
    int mid = 1;
    for (size_t d = 0; ok && d < h; d++) mid &= u[d] == 127 || u[d] == 128;
    te_status wrong = ok ? te_embedding_quantize(m, v, h - 1, 1, u, &err) : TE_OK;
    free(v);
    free(u);
    free(s);
    te_close(m);
    CHECK(ok);
    CHECK(mid);
    CHECK_EQ_INT(wrong, TE_ERR_ARG);
}

/* A NaN written over the range (its CRC is only checked by verify) is refused, not turned into bytes. */
TEST(damaged_range_is_refused) {
    char f32[1200], bad[1200];
    te_error err;
    size_t n;
    char *bytes = th_read_file(tmp(f32, sizeof f32, "f32.temb"), &n);
    CHECK(bytes);
    te_model *m = te_open(f32, NULL, &err);
    const te_tensor *t = m ? te_model_find_tensor(m, TEMB_RANGE_TENSOR) : NULL;
    size_t off = t ? (size_t)t->offset + 4 * 3 : 0;
    te_close(m);
    float nan = NAN;
    if (off) memcpy(bytes + off, &nan, 4);
    int written = off && th_write_file(tmp(bad, sizeof bad, "bad.temb"), bytes, n) == 0;
    free(bytes);
    CHECK(written);
    m = te_open(bad, NULL, &err);
    CHECK(m);
    te_model_info in;
    te_model_get_info(m, &in);
    float *v = calloc((size_t)in.hidden_size, sizeof *v);
    uint8_t *u = malloc((size_t)in.hidden_size);
    te_status st = v && u ? te_embedding_quantize(m, v, (size_t)in.hidden_size, 0, u, &err) : TE_ERR_NOMEM;
    free(v);
    free(u);
    te_close(m);
    CHECK_EQ_INT(st, TE_ERR_FORMAT);
    CHECK_HAS(err.msg, "dimension 3");
    CHECK(!te_open(bad, &(te_open_opts){.verify_checksums = 1}, &err));
    CHECK_EQ_INT(err.code, TE_ERR_CHECKSUM);
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 2;
    RUN(convert_calibrates_on_the_builtin_sample);
    RUN(quantize_calibrates_on_the_quantized_model);
    RUN(calibrate_rewrites_only_the_range);
    RUN(calibrate_refuses_what_has_no_range);
    RUN(quantize_rule);
    RUN(damaged_range_is_refused);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 2;
    return th_done();
}
