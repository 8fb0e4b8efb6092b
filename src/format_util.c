/*
 * format_util.c - tensor sizes for the .temb format (see format_util.h).
 */
#include "format_util.h"

#include "internal.h"

size_t te_dtype_size(te_dtype d) {
    switch (d) {
    case TE_DTYPE_F32: return 4;
    case TE_DTYPE_F16:
    case TE_DTYPE_BF16: return 2;
    case TE_DTYPE_I8:
    case TE_DTYPE_U8: return 1;
    }
    return 0;
}

uint64_t te_tensor_stored_bytes(te_dtype d, te_layout layout, int n_dims, const uint64_t *dims) {
    size_t es = te_dtype_size(d);
    if (es == 0 || n_dims < 1 || n_dims > TEMB_MAX_DIMS) return 0;
    uint64_t count = 1;
    for (int i = 0; i < n_dims; i++) {
        if (dims[i] == 0 || dims[i] > TEMB_MAX_DIM) return 0;
        uint64_t d_i = dims[i];
        if (layout != TE_LAYOUT_ROWS && i == 0) d_i = te_align_up(d_i, TEMB_PANEL);
        if (layout == TE_LAYOUT_PANEL16X4 && i == 1) d_i = te_align_up(d_i, 4);
        if (!te_mul_u64(count, d_i, &count)) return 0;
    }
    if (layout != TE_LAYOUT_ROWS && n_dims != 2) return 0;
    if (layout == TE_LAYOUT_PANEL16X4 && d != TE_DTYPE_I8) return 0;
    if (layout != TE_LAYOUT_ROWS && layout != TE_LAYOUT_PANEL16 && layout != TE_LAYOUT_PANEL16X4) return 0;
    uint64_t bytes;
    if (!te_mul_u64(count, es, &bytes)) return 0;
    return bytes;
}
