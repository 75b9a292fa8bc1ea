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
                                    const float *x, size_t ldx, size_t nx, float *y, size_t ldy,
                                    int streaming) {
    (void)streaming;
    for (size_t r = r0; r < r1; r++)
        for (size_t m = 0; m < nx; m++) y[m * ldy + r] = dot_f16_portable(w + r * cols, x + m * ldx, cols);
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

AVX512 static inline float dot_f16_avx512(const uint16_t *w, const float *x, size_t n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i))), _mm512_loadu_ps(x + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i + 16))), _mm512_loadu_ps(x + i + 16), a1);
    }
    for (; i + 16 <= n; i += 16)
        a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + i))), _mm512_loadu_ps(x + i), a0);
    float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; i < n; i++) s += half_to_float(w[i]) * x[i];
    return s;
}

AVX512 static void gemv_f16_avx512(const uint16_t *w, size_t cols, size_t r0, size_t r1, const float *x, float *y) {
    for (size_t r = r0; r < r1; r++) y[r] = dot_f16_avx512(w + r * cols, x, cols);
}

// Horizontal sums of a tile's accumulators: `hsum16_avx512` and `hsum8_avx512` (internal.h)
// sum 16 or 8 at once. Summing each vector on its own (extract, add, shuffle, add: eight
// dependent operations for one float) took a fifth of a three-row tile's time at the demo
// target's 256 columns, as much as the first of its 16 chunks of products. Every sum is formed
// in the order of _mm512_reduce_add_ps, which the one-row and one-input paths use, so an output
// is bit-identical whichever tile or group size produced it, and a request's result does not
// depend on what else is in its batch.

// Writes the sums of v[0..<n] to out[0..<n].
AVX512 static inline void reduce_many(const __m512 *v, int n, float *out) {
    float lanes[16];
    int k = 0;
    for (; k + 16 <= n; k += 16) {
        _mm512_storeu_ps(lanes, hsum16_avx512(v + k));
        for (int s = 0; s < 16; s++) out[k + s] = lanes[4 * (s & 3) + (s >> 2)];
    }
    if (k + 8 <= n) {
        _mm512_storeu_ps(lanes, hsum8_avx512(v + k));
        for (int s = 0; s < 8; s++) out[k + s] = lanes[4 * (s & 3) + (s >> 2)];
        k += 8;
    }
    for (; k < n; k++) out[k] = _mm512_reduce_add_ps(v[k]);
}

// R weight rows against N inputs per call, instantiated for each (R, N) so the R·N accumulators
// stay in registers (3 × 8 = 24 of the 32, plus 3 weight vectors and one input). Every input
// load feeds R FMAs and every widened weight vector N: three rows per sweep keep the load and
// convert ports below the one 512-bit FMA per cycle Zen 4 retires, where two rows did not
// (measured in a standalone harness, 2 threads, 24–64 inputs: ≈ 170–180 GFLOP/s against
// ≈ 145 for two rows). Rows stream from memory when the weights exceed the cache: each tile
// asks for the rows two tiles ahead (measured: 1.5× from DRAM, no loss in cache).
#define GEMM_TILE_AVX512(R, N)                                                                      \
    AVX512 static void gemm_f16_tile_avx512_##R##_##N(const uint16_t *w, size_t cols, size_t r,   \
                                                       const float *x, size_t ldx, float *y,       \
                                                       size_t ldy) {                               \
        const uint16_t *wr = w + r * cols;                                                         \
        __m512 acc[N * R], wv[R];                                                                  \
        /* The first chunk sets the accumulators: zeroing them instead compiles to a memset of   \
           the array on the stack, 3 % of a verification pass. */                                  \
        size_t i = 16;                                                                             \
        if (cols >= 16) {                                                                          \
            for (int a = 0; a < R; a++) wv[a] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(wr + a * cols))); \
            for (int m = 0; m < N; m++) {                                                          \
                __m512 xv = _mm512_loadu_ps(x + m * ldx);                                          \
                for (int a = 0; a < R; a++) acc[m * R + a] = _mm512_mul_ps(wv[a], xv);             \
            }                                                                                      \
        } else {                                                                                   \
            i = 0;                                                                                 \
            for (int k = 0; k < N * R; k++) acc[k] = _mm512_setzero_ps();                          \
        }                                                                                          \
        for (; i + 16 <= cols; i += 16) {                                                          \
            for (int a = 0; a < R; a++) {                                                          \
                _mm_prefetch((const char *)(wr + a * cols + i + 2 * R * cols), _MM_HINT_T0);       \
                wv[a] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(wr + a * cols + i))); \
            }                                                                                      \
            for (int m = 0; m < N; m++) {                                                          \
                __m512 xv = _mm512_loadu_ps(x + m * ldx + i);                                      \
                for (int a = 0; a < R; a++) acc[m * R + a] = _mm512_fmadd_ps(wv[a], xv, acc[m * R + a]); \
            }                                                                                      \
        }                                                                                          \
        float sums[N * R];                                                                         \
        reduce_many(acc, N * R, sums);                                                             \
        for (int m = 0; m < N; m++)                                                                \
            for (int a = 0; a < R; a++) {                                                          \
                float s = sums[m * R + a];                                                         \
                for (size_t j = i; j < cols; j++) s += half_to_float(wr[a * cols + j]) * x[m * ldx + j]; \
                y[m * ldy + r + a] = s;                                                            \
            }                                                                                      \
    }
#define GEMM_TILES_AVX512(R)                                                                       \
    GEMM_TILE_AVX512(R, 1) GEMM_TILE_AVX512(R, 2) GEMM_TILE_AVX512(R, 3) GEMM_TILE_AVX512(R, 4)     \
    GEMM_TILE_AVX512(R, 5) GEMM_TILE_AVX512(R, 6) GEMM_TILE_AVX512(R, 7) GEMM_TILE_AVX512(R, 8)     \
    static void (*const gemm_f16_tiles_avx512_##R[9])(const uint16_t *, size_t, size_t, const float *, \
                                                      size_t, float *, size_t) = {                  \
        NULL, gemm_f16_tile_avx512_##R##_1, gemm_f16_tile_avx512_##R##_2,                          \
        gemm_f16_tile_avx512_##R##_3, gemm_f16_tile_avx512_##R##_4, gemm_f16_tile_avx512_##R##_5,  \
        gemm_f16_tile_avx512_##R##_6, gemm_f16_tile_avx512_##R##_7, gemm_f16_tile_avx512_##R##_8};
GEMM_TILES_AVX512(3)
GEMM_TILES_AVX512(1)

static void gemm_f16_small_avx512(const uint16_t *w, size_t cols, size_t r0, size_t r1,
                                  const float *x, size_t ldx, size_t nx, float *y, size_t ldy,
                                  int streaming) {
    // Inputs in groups of at most eight, each group one sweep over the rows (the caller keeps
    // the rows few enough to stay in cache between groups); the last one or two rows take the
    // one-row tile. The groups are as even as they can be: 9 inputs as 5 + 4, not 8 + 1, whose
    // second sweep would widen every weight vector for a single FMA.
    // With weights streaming from memory, two or three inputs take the one-row tile throughout:
    // the product is then bound by reading the weights, which one row at a time does as fast as
    // the one-input kernel and three interleaved rows did not (harness, 2 threads, 50 MB of f16
    // rows: 2 inputs 3.4–4.0 → 2.5–2.9 ms, 3 inputs 3.4–3.7 → 2.7 ms; from 4 inputs on the
    // three-row tile is as fast or faster). From cache, the three-row tile's register reuse wins
    // (one-row tiles made 3-token passes of the 13 MB demo target 25 % slower). Even groups
    // leave at most three inputs only when there are at most three in all.
    const size_t groups = (nx + 7) / 8;
    for (size_t g = 0, first = 0; g < groups; g++) {
        const size_t n = (nx - first) / (groups - g) + ((nx - first) % (groups - g) != 0);
        const float *xg = x + first * ldx;
        float *yg = y + first * ldy;
        size_t r = r0;
        if (!streaming || n > 3)
            for (; r + 3 <= r1; r += 3) gemm_f16_tiles_avx512_3[n](w, cols, r, xg, ldx, yg, ldy);
        for (; r < r1; r++) gemm_f16_tiles_avx512_1[n](w, cols, r, xg, ldx, yg, ldy);
        first += n;
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
                                     const float *x, size_t ldx, size_t nx, float *y, size_t ldy,
                                     int streaming) {
    (void)streaming;
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

void sf_gemv_f16(const uint16_t *w, size_t cols, size_t r0, size_t r1, const float *x, float *y) {
    DISPATCH(gemv_f16, w, cols, r0, r1, x, y)
}

void sf_gemv_f32(const float *w, size_t cols, size_t r0, size_t r1, const float *x, float *y) {
    for (size_t r = r0; r < r1; r++) y[r] = sf_dot_f32(w + r * cols, x, cols);
}

void sf_gemm_f16_small(const uint16_t *w, size_t cols, size_t r0, size_t r1,
                       const float *x, size_t ldx, size_t nx, float *y, size_t ldy, int streaming) {
    DISPATCH(gemm_f16_small, w, cols, r0, r1, x, ldx, nx, y, ldy, streaming)
}

int sf_gemm_f16_tiled(void) { return sf_isa() == ISA_AVX512; }

float sf_dot_f32(const float *a, const float *b, size_t n) { DISPATCH(sf_dot_f32, a, b, n) }

void sf_axpy_f32(float alpha, const float *x, float *y, size_t n) { DISPATCH(axpy_f32, alpha, x, y, n) }
