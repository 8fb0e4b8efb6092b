/*
 * calibrate.c - computing an embedding model's output range and quantizing
 * its vectors to int8 / uint8 by it (see calibrate.h).
 *
 * The rule (the header's te_embedding_quantize): with lo, hi the dimension's
 * range, u = floor((v - lo) * 255 / (hi - lo) + 0.5) clamped to 0..255;
 * uint8 is u, int8 is u - 128 (as binary is ubinary - 128). Rounding to the
 * nearest step halves sentence-transformers' truncation error; values outside
 * the calibrated range saturate.
 */
#include "calibrate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model.h"

/* Embeds every text (one te_embed call: the context batches) and keeps each dimension's min and max. */
static te_status range_of(te_model *m, const char *const *texts, size_t n, float *range, te_error *err) {
    size_t h = (size_t)m->info.hidden_size, floats;
    if (!te_mul_size(n, h, &floats)) return te_fail(err, TE_ERR_NOMEM, "calibration: too many texts");
    float *v = malloc(floats * sizeof *v);
    te_ctx *c = v ? te_ctx_new(m, NULL, err) : NULL;
    te_status st = !v ? te_fail(err, TE_ERR_NOMEM, "out of memory") : !c ? err->code : TE_OK;
    if (st == TE_OK) st = te_embed(c, texts, NULL, n, v, err);
    for (size_t d = 0; st == TE_OK && d < h; d++) {
        float lo = v[d], hi = v[d];
        for (size_t i = 1; i < n; i++) {
            float x = v[i * h + d];
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        range[d] = lo;
        range[h + d] = hi;
    }
    te_ctx_free(c);
    free(v);
    return st;
}

/* temb_late_fn: the range of the model the writer has just written. */
static te_status fill_range(void *user, const char *readable_path, void *dst, size_t bytes, te_error *err) {
    const te_calib_plan *plan = user;
    te_open_opts o = {0};
    te_model *m = te_open(readable_path, &o, err);
    if (!m) return err->code;
    te_status st = TE_OK;
    if (bytes != 2 * (size_t)m->info.hidden_size * sizeof(float))
        st = te_fail(err, TE_ERR_SHAPE, "calibration: the range holds %zu bytes for a width of %d", bytes,
                     m->info.hidden_size);
    if (st == TE_OK) st = range_of(m, plan->texts, plan->n, dst, err);
    if (st != TE_OK) te_error_prefix(err, "calibrating the int8 output range");
    te_close(m);
    return st;
}

void te_calib_declare(temb_writer *w, te_calib_plan *plan, const char *const *texts, size_t n, uint64_t hidden) {
    plan->texts = texts;
    plan->n = n;
    if (!texts) plan->texts = te_calib_builtin(&plan->n);
    if (plan->n == 0 || plan->n > UINT32_MAX) {
        temb_fail(w, TE_ERR_ARG, "calibration needs at least one text");
        return;
    }
    temb_kv_u32(w, TEMB_RANGE_TEXTS_KEY, (uint32_t)plan->n);
    uint64_t dims[2] = {2, hidden};
    temb_add_late_tensor(w, TEMB_RANGE_TENSOR, 2, dims, fill_range, plan);
}

te_status te_embedding_quantize(const te_model *m, const float *v, size_t dim, int as_uint8, void *out,
                                te_error *err) {
    const te_model_info *in = &m->info;
    if (!in->output_range)
        return te_fail(err, TE_ERR_UNSUPPORTED, "%s has no calibrated output range (int8 / uint8 need one): "
                       "run `tinyembed calibrate` on it, or convert it again", in->name);
    if (dim != (size_t)in->hidden_size)
        return te_fail(err, TE_ERR_ARG, "int8 / uint8 use the range calibrated on the model's whole %d-dimension "
                       "output; got %zu dimensions", in->hidden_size, dim);
    const float *lo = in->output_range, *hi = in->output_range + dim;
    uint8_t *u = out;
    for (size_t d = 0; d < dim; d++) {
        if (!(hi[d] >= lo[d]) || !isfinite(hi[d] - lo[d]))
            return te_fail(err, TE_ERR_FORMAT, "%s: the calibrated range of dimension %zu is damaged", in->name, d);
        /* One rounding per operation, in f32 (no fused multiply-add: a separate statement), as the reference. */
        float steps = hi[d] > lo[d] ? (v[d] - lo[d]) * (255.0f / (hi[d] - lo[d])) : 0.0f;
        float q = floorf(steps + 0.5f);
        unsigned b = q <= 0.0f ? 0u : q >= 255.0f ? 255u : (unsigned)q; /* NaN lands on 0 */
        u[d] = (uint8_t)(as_uint8 ? b : b ^ 0x80u); /* the int8 u - 128 in two's complement */
    }
    return TE_OK;
}
