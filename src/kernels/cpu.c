/*
 * cpu.c - picks the kernel set for this CPU at run time. The choice is made
 * per context (te_ctx), never stored in a global: the tables themselves are
 * immutable.
 */
#include <string.h>

#include "kernels.h"

/* Kernel sets in order of preference, with a test for CPU support. */
static int always(void) { return 1; }

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>

/* F16C (CPUID.1:ECX bit 29); not every compiler's __builtin_cpu_supports knows it. */
static int has_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}

/* __builtin_cpu_supports also checks that the OS saves the wide registers. */
static int has_avx2(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
}
static int has_avx512(void) {
    return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
static int has_avx512vnni(void) { return has_avx512() && __builtin_cpu_supports("avx512vnni"); }
/* AVX512-BF16: CPUID.(7,1):EAX bit 5. */
static int has_avx512bf16(void) {
    unsigned a, b, c, d;
    return has_avx512vnni() && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
}
/* AVX-VNNI: CPUID.(7,1):EAX bit 4 (the OS check is AVX2's: same registers). */
static int has_avxvnni(void) {
    unsigned a, b, c, d;
    return has_avx2() && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4));
}
/* No AVX-VNNI, but the EVEX form of the same ymm instruction. */
static int has_vnni256_evex_only(void) { return !has_avxvnni() && has_avx512vnni(); }
#endif

static const struct {
    const te_kernels *k;
    int (*supported)(void);
} sets[] = {
#if defined(__x86_64__) || defined(_M_X64)
    {&te_kernels_avx512bf16, has_avx512bf16},
    {&te_kernels_avx512vnni, has_avx512vnni},
    {&te_kernels_avx512, has_avx512},
    {&te_kernels_avxvnni, has_avxvnni},
    {&te_kernels_avxvnni_evex, has_vnni256_evex_only},
    {&te_kernels_avx2, has_avx2},
#endif
#if defined(__aarch64__)
    {&te_kernels_neon, always},
#endif
    {&te_kernels_scalar, always},
};

int te_kernels_available(const te_kernels **out, int cap) {
    int n = 0;
    for (size_t i = 0; i < sizeof sets / sizeof *sets && n < cap; i++)
        if (sets[i].supported()) out[n++] = sets[i].k;
    return n;
}

const te_kernels *te_kernels_select(const char *want) {
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        if (!sets[i].supported()) continue;
        if (!want || !*want || strcmp(want, sets[i].k->name) == 0) return sets[i].k;
    }
    return NULL;
}
