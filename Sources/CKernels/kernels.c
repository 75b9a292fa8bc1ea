#include "ckernels.h"
#include "internal.h"
#include <math.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// Portable bodies: the reference for the vector ones and the path on other processors.

static inline float bf16_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static void f16_to_f32_portable(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = half_to_float(src[i]);
}

static float dot_f16_portable(const uint16_t *w, const float *x, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) s += half_to_float(w[i]) * x[i];
    return s;
}

static void gemv_f16_portable(const uint16_t *w, size_t cols, size_t r0, size_t r1, const float *x, float *y) {
    for (size_t r = r0; r < r1; r++) y[r] = dot_f16_portable(w + r * cols, x, cols);
}

static void gemm_f16_small_portable(const uint16_t *w, size_t cols, size_t r0, size_t r1,
                                    const float *x, size_t ldx, size_t nx, float *y, size_t ldy) {
    for (size_t r = r0; r < r1; r++)
        for (size_t m = 0; m < nx; m++) y[m * ldy + r] = dot_f16_portable(w + r * cols, x + m * ldx, cols);
}

// Panels (`sf_pack_f16_panels`): element (r, i) of the row-major matrix.
static inline size_t panel_index(size_t r, size_t i, size_t cols) { return r / 16 * 16 * cols + i * 16 + r % 16; }

// The panel product in the order of the AVX-512 tiles: each output is the first column's
// product, then one fused multiply-add per column, so the two bodies give the same bits.
static void gemm_f16_panels_portable(const uint16_t *pw, size_t cols, size_t r0, size_t r1,
                                     const float *x, size_t ldx, size_t nx, float *y, size_t ldy,
                                     int streaming) {
    (void)streaming;
    for (size_t m = 0; m < nx; m++)
        for (size_t r = r0; r < r1; r++) {
            const float *xm = x + m * ldx;
            float s = cols ? half_to_float(pw[panel_index(r, 0, cols)]) * xm[0] : 0;
            for (size_t i = 1; i < cols; i++) s = fmaf(half_to_float(pw[panel_index(r, i, cols)]), xm[i], s);
            y[m * ldy + r] = s;
        }
}

float sf_dot_f32_portable(const float *a, const float *b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static void axpy_f32_portable(float alpha, const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

#ifdef SF_X86
// ---------------------------------------------------------------------------------------------
// AVX-512 bodies (Zen 4, Ice Lake and later).

AVX512 static void f16_to_f32_avx512(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
    for (; i < n; i++) dst[i] = half_to_float(src[i]);
}

// f16 weights in panels: 16 rows side by side, column by column (`sf_pack_f16_panels`). One
// load widens one column of 16 rows, and a broadcast input element multiplies all of them, so
// each accumulator holds 16 finished outputs. Row-major tiles had each accumulator hold 16
// partial sums of one output, folded across lanes at the end: at the demo target's 256 columns
// (16 products per accumulator) the folds and scattered stores were a quarter of a tile's time
// in a workflow run, and a standalone harness (one core, in cache, 24–64 inputs) measured the
// panel tile at 110–113 GFLOP/s, the FMA peak, against 95–99 for the row-major one (1.13–1.16×;
// 1.03× at 768 columns).
//
// Every output is summed in column order, one FMA after the first product, whatever tile, group
// or row range computes it: a request's logits do not depend on what else is in its batch, and
// the portable body gives the same bits.

/// The lanes of panel p (rows 16p…16p + 15) inside [r0, r1); the panel must overlap the range.
static inline __mmask16 panel_lanes(size_t p, size_t r0, size_t r1) {
    const size_t lo = p * 16, from = r0 > lo ? r0 - lo : 0, to = r1 - lo < 16 ? r1 - lo : 16;
    return (__mmask16)(((1u << to) - 1) & ~((1u << from) - 1));
}

// P panels against N inputs per call, instantiated for each (P, N) so the P·N accumulators stay
// in registers (3 × 8 = 24 of the 32). Each widened column feeds N FMAs and each broadcast input
// element P. With `prefetch`, each tile asks for the panels two tiles ahead, one cache line (two
// columns) per panel at a time.
#define PANEL_TILE_AVX512(P, N)                                                                     \
    AVX512 static void panel_tile_avx512_##P##_##N(const uint16_t *pw, size_t cols, const float *x, \
                                                   size_t ldx, float *y, size_t ldy,              \
                                                   const __mmask16 *mask, int prefetch) {         \
        const size_t stride = 16 * cols;                                                           \
        __m512 acc[P * N], wv[P];                                                                  \
        /* The first column sets the accumulators: zeroing them compiles to a memset of the       \
           array on the stack. */                                                                  \
        if (cols == 0) {                                                                           \
            for (int k = 0; k < P * N; k++) acc[k] = _mm512_setzero_ps();                          \
        } else {                                                                                   \
            for (int a = 0; a < P; a++) wv[a] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(pw + a * stride))); \
            for (int m = 0; m < N; m++) {                                                          \
                const __m512 xv = _mm512_set1_ps(x[m * ldx]);                                      \
                for (int a = 0; a < P; a++) acc[m * P + a] = _mm512_mul_ps(wv[a], xv);             \
            }                                                                                      \
        }                                                                                          \
        for (size_t i = 1; i < cols; i++) {                                                        \
            if ((i & 1) && prefetch)                                                               \
                for (int a = 0; a < P; a++)                                                        \
                    /* Integer arithmetic: the address may lie past the panels (a hint never faults). */ \
                    _mm_prefetch((const char *)((uintptr_t)pw + 2 * ((2 * P + a) * stride + (i + 1) * 16)), _MM_HINT_T0); \
            for (int a = 0; a < P; a++)                                                            \
                wv[a] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(pw + a * stride + i * 16))); \
            for (int m = 0; m < N; m++) {                                                          \
                const __m512 xv = _mm512_set1_ps(x[m * ldx + i]);                                  \
                for (int a = 0; a < P; a++) acc[m * P + a] = _mm512_fmadd_ps(wv[a], xv, acc[m * P + a]); \
            }                                                                                      \
        }                                                                                          \
        for (int m = 0; m < N; m++)                                                                \
            for (int a = 0; a < P; a++) _mm512_mask_storeu_ps(y + m * ldy + 16 * a, mask[a], acc[m * P + a]); \
    }
#define PANEL_TILES_AVX512(P)                                                                      \
    PANEL_TILE_AVX512(P, 1) PANEL_TILE_AVX512(P, 2) PANEL_TILE_AVX512(P, 3) PANEL_TILE_AVX512(P, 4) \
    PANEL_TILE_AVX512(P, 5) PANEL_TILE_AVX512(P, 6) PANEL_TILE_AVX512(P, 7) PANEL_TILE_AVX512(P, 8) \
    static void (*const panel_tiles_avx512_##P[9])(const uint16_t *, size_t, const float *, size_t, \
                                                   float *, size_t, const __mmask16 *, int) = {     \
        NULL, panel_tile_avx512_##P##_1, panel_tile_avx512_##P##_2, panel_tile_avx512_##P##_3,     \
        panel_tile_avx512_##P##_4, panel_tile_avx512_##P##_5, panel_tile_avx512_##P##_6,          \
        panel_tile_avx512_##P##_7, panel_tile_avx512_##P##_8};
PANEL_TILES_AVX512(3)
PANEL_TILES_AVX512(1)

// One input (decode): eight panels side by side, so that eight independent FMA chains hide the
// FMA latency (each output's sum is one chain, in column order).
PANEL_TILE_AVX512(8, 1)

AVX512 static void gemm_f16_panels_avx512(const uint16_t *pw, size_t cols, size_t r0, size_t r1,
                                          const float *x, size_t ldx, size_t nx, float *y, size_t ldy,
                                          int streaming) {
    if (r0 >= r1 || nx == 0) return;
    const size_t stride = 16 * cols, last = (r1 + 15) / 16;
    // One input: eight panels at a time. More: tiles of three panels, each swept by every group
    // of inputs while it is in L1 (48 rows of 256 columns: 24 KB) or L2. Groups of at most
    // eight, as even as they can be: 9 inputs as 5 + 4, not 8 + 1, whose second sweep would widen
    // every column for a single FMA. The last one or two panels take the one-panel tile.
    // The software prefetch pays from cache (demo target, 3–16 inputs: 2–5 % per decode step)
    // and from memory with many inputs (benchmark target, 8–16: 4 %), but with 2 or 3 inputs
    // against weights streaming from memory the hardware prefetcher does better alone (5–10 %).
    // Measured per decode step, alternating in one process (`bench batch`).
    const size_t groups = (nx + 7) / 8;
    const int prefetch = !streaming || nx > 3;
    for (size_t p = r0 / 16; p < last;) {
        const size_t np = nx == 1 && last - p >= 8 ? 8 : last - p >= 3 ? 3 : 1;
        __mmask16 mask[8];
        for (size_t a = 0; a < np; a++) mask[a] = panel_lanes(p + a, r0, r1);
        if (np == 8) {
            // No software prefetch: eight sequential streams are what the hardware prefetcher
            // follows best.
            panel_tile_avx512_8_1(pw + p * stride, cols, x, ldx, y + p * 16, ldy, mask, 0);
            p += np;
            continue;
        }
        for (size_t g = 0, first = 0; g < groups; g++) {
            const size_t n = (nx - first) / (groups - g) + ((nx - first) % (groups - g) != 0);
            (np == 3 ? panel_tiles_avx512_3 : panel_tiles_avx512_1)[n](
                pw + p * stride, cols, x + first * ldx, ldx, y + first * ldy + p * 16, ldy, mask, prefetch);
            first += n;
        }
        p += np;
    }
}

// Rows [r0, r1) of packed panels widened back to row-major f32: each column of a panel is one
// widened vector, scattered to its 16 rows.
AVX512 static void f16_panels_to_f32_avx512(const uint16_t *pw, size_t cols, size_t r0, size_t r1, float *dst) {
    const __m512i rows = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                            _mm512_set1_epi32((int)cols));
    for (size_t p = r0 / 16; p * 16 < r1; p++) {
        const size_t lo = p * 16, from = r0 > lo ? r0 - lo : 0;
        const __mmask16 mask = panel_lanes(p, r0, r1);
        // Row lo + l goes to dst row lo + l - r0; lanes below `from` are masked off, so the base
        // is computed without stepping before dst.
        float *base = dst + (lo + from - r0) * cols;
        const __m512i index = _mm512_sub_epi32(rows, _mm512_set1_epi32((int)(from * cols)));
        for (size_t i = 0; i < cols; i++) {
            const __m512 v = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(pw + p * 16 * cols + i * 16)));
            _mm512_mask_i32scatter_ps(base + i, mask, index, v, 4);
        }
    }
}

AVX512 float sf_dot_f32_avx512(const float *a, const float *b, size_t n) {
    __m512 acc = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
    float s = _mm512_reduce_add_ps(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

AVX512 static void axpy_f32_avx512(float alpha, const float *x, float *y, size_t n) {
    __m512 av = _mm512_set1_ps(alpha);
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(av, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += alpha * x[i];
}

// ---------------------------------------------------------------------------------------------
// AVX2 + F16C bodies (Haswell and later, Zen 1–3).

AVX2 static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static void f16_to_f32_avx2(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = half_to_float(src[i]);
}

AVX2 static inline float dot_f16_avx2(const uint16_t *w, const float *x, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i))), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8))), _mm256_loadu_ps(x + i + 8), a1);
    }
    float s = hsum256(_mm256_add_ps(a0, a1));
    for (; i < n; i++) s += half_to_float(w[i]) * x[i];
    return s;
}

AVX2 static void gemv_f16_avx2(const uint16_t *w, size_t cols, size_t r0, size_t r1, const float *x, float *y) {
    for (size_t r = r0; r < r1; r++) y[r] = dot_f16_avx2(w + r * cols, x, cols);
}

AVX2 static void gemm_f16_small_avx2(const uint16_t *w, size_t cols, size_t r0, size_t r1,
                                     const float *x, size_t ldx, size_t nx, float *y, size_t ldy) {
    for (size_t r = r0; r < r1; r++)
        for (size_t m = 0; m < nx; m++) y[m * ldy + r] = dot_f16_avx2(w + r * cols, x + m * ldx, cols);
}

AVX2 float sf_dot_f32_avx2(const float *a, const float *b, size_t n) {
    __m256 acc = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float s = hsum256(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

AVX2 static void axpy_f32_avx2(float alpha, const float *x, float *y, size_t n) {
    __m256 av = _mm256_set1_ps(alpha);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += alpha * x[i];
}
#endif  // SF_X86

// ---------------------------------------------------------------------------------------------
// Dispatch, decided once.

static int detect_isa(void) {
#ifdef SF_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
#endif
    return ISA_PORTABLE;
}

static int isa_cached = -1;

int sf_isa(void) {
    int v = __atomic_load_n(&isa_cached, __ATOMIC_RELAXED);
    if (v < 0) {
        v = detect_isa();
        __atomic_store_n(&isa_cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

int sf_kernel_force_isa(const char *name) {
    int v;
    if (!name) v = detect_isa();
    else if (strcmp(name, "avx512") == 0) v = ISA_AVX512;
    else if (strcmp(name, "avx2") == 0) v = ISA_AVX2;
    else if (strcmp(name, "portable") == 0) v = ISA_PORTABLE;
    else return 0;
    // Each level's instructions are a subset of the next one's, so anything up to what the
    // processor supports can run.
    if (v > detect_isa()) return 0;
    __atomic_store_n(&isa_cached, v, __ATOMIC_RELAXED);
    return 1;
}

const char *sf_kernel_isa(void) {
    switch (sf_isa()) {
    case ISA_AVX512: return "avx512";
    case ISA_AVX2: return "avx2";
    default: return "portable";
    }
}

void sf_f16_to_f32(const uint16_t *src, float *dst, size_t n) { DISPATCH(f16_to_f32, src, dst, n) }

void sf_bf16_to_f32(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = bf16_to_float(src[i]);
}

// Row-major f16 products: AVX-512 processors multiply panels instead (`sf_f16_panels_preferred`)
// and run the AVX2 bodies here when asked.
#ifdef SF_X86
#define DISPATCH_ROW_MAJOR(name, ...)                                      \
    if (sf_isa() >= ISA_AVX2) return name##_avx2(__VA_ARGS__);           \
    return name##_portable(__VA_ARGS__);
#else
#define DISPATCH_ROW_MAJOR(name, ...) return name##_portable(__VA_ARGS__);
#endif

void sf_gemv_f16(const uint16_t *w, size_t cols, size_t r0, size_t r1, const float *x, float *y) {
    DISPATCH_ROW_MAJOR(gemv_f16, w, cols, r0, r1, x, y)
}

void sf_gemv_f32(const float *w, size_t cols, size_t r0, size_t r1, const float *x, float *y) {
    for (size_t r = r0; r < r1; r++) y[r] = sf_dot_f32(w + r * cols, x, cols);
}

void sf_gemm_f16_small(const uint16_t *w, size_t cols, size_t r0, size_t r1,
                       const float *x, size_t ldx, size_t nx, float *y, size_t ldy) {
    DISPATCH_ROW_MAJOR(gemm_f16_small, w, cols, r0, r1, x, ldx, nx, y, ldy)
}

int sf_f16_panels_preferred(void) { return sf_isa() == ISA_AVX512; }

size_t sf_f16_panels_halves(size_t rows, size_t cols) { return (rows + 15) / 16 * 16 * cols; }

void sf_pack_f16_panels(const uint16_t *w, size_t rows, size_t cols, size_t panel_begin, size_t panel_end,
                        uint16_t *panels) {
    for (size_t r = panel_begin * 16; r < panel_end * 16; r++)
        for (size_t i = 0; i < cols; i++) panels[panel_index(r, i, cols)] = r < rows ? w[r * cols + i] : 0;
}

void sf_f16_panels_to_f32(const uint16_t *panels, size_t cols, size_t r0, size_t r1, float *dst) {
#ifdef SF_X86
    // The scatter's 32-bit indices reach 16 rows: every index fits when 16 · cols does.
    if (sf_isa() == ISA_AVX512 && 16 * cols < 0x7fffffffu) return f16_panels_to_f32_avx512(panels, cols, r0, r1, dst);
#endif
    for (size_t r = r0; r < r1; r++)
        for (size_t i = 0; i < cols; i++) dst[(r - r0) * cols + i] = half_to_float(panels[panel_index(r, i, cols)]);
}

void sf_gemm_f16_panels(const uint16_t *panels, size_t cols, size_t r0, size_t r1,
                        const float *x, size_t ldx, size_t nx, float *y, size_t ldy, int streaming) {
#ifdef SF_X86
    if (sf_isa() == ISA_AVX512) return gemm_f16_panels_avx512(panels, cols, r0, r1, x, ldx, nx, y, ldy, streaming);
#endif
    gemm_f16_panels_portable(panels, cols, r0, r1, x, ldx, nx, y, ldy, streaming);
}

float sf_dot_f32(const float *a, const float *b, size_t n) { DISPATCH(sf_dot_f32, a, b, n) }

void sf_axpy_f32(float alpha, const float *x, float *y, size_t n) { DISPATCH(axpy_f32, alpha, x, y, n) }
