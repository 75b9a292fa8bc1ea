// Elementwise pieces of the forward pass that need exp: the SwiGLU activation and the attention
// softmax. With the C library's scalar expf they took about 6 % of a verification pass on the
// benchmark target (one exp per feed-forward unit per token, one per attention score); the
// vector bodies evaluate 16 or 8 at once.
#include "ckernels.h"
#include "internal.h"
#include <math.h>

// exp(x) = 2^n · e^r with n = round(x / ln 2) and |r| ≤ ln 2 / 2; ln 2 is split in two so that
// x − n·ln 2 stays exact for every n that does not overflow. e^r is its Taylor polynomial to
// degree 7: the first term left out is below 6e-9 relative, so the error is the float rounding
// of the evaluation, a few ulp at most (checked against double precision by the tests).
#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693145751953125f
#define EXP_LN2_LO 1.42860682030941723212e-6f
// The shared core of the vector bodies, for a clamped x of vector type V: n = round(x / ln 2)
// and p = e^r, r = x − n·ln 2. Each body then scales p by 2^n its own way.
#define EXP_REDUCED(V, ROUND, MUL, FNMADD, FMA, SET, x, n, p)                 \
    const V n = ROUND(MUL(x, SET(EXP_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); \
    V r = FNMADD(n, SET(EXP_LN2_HI), x);                                     \
    r = FNMADD(n, SET(EXP_LN2_LO), r);                                       \
    V p = FMA(SET(1.0f / 5040), r, SET(1.0f / 720));                         \
    p = FMA(p, r, SET(1.0f / 120));                                          \
    p = FMA(p, r, SET(1.0f / 24));                                           \
    p = FMA(p, r, SET(1.0f / 6));                                            \
    p = FMA(p, r, SET(0.5f));                                                \
    p = FMA(p, r, SET(1.0f));                                                \
    p = FMA(p, r, SET(1.0f));

// ---------------------------------------------------------------------------------------------
// Portable bodies: the C library's expf, the reference for the vector ones.

static void exp_f32_portable(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

static void swiglu_portable(float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] = g[i] / (1 + expf(-g[i])) * u[i];
}

// GELU with the tanh approximation, 0.5·a·(1 + tanh(c·(a + 0.044715·a³))), written as
// a / (1 + e^(−2c·(a + 0.044715·a³))): the same function through the exp the bodies share.
#define GELU_2C 1.5957691216057308f  // 2·√(2/π)
#define GELU_CUBIC 0.044715f

static void geglu_tanh_portable(float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const float a = g[i];
        g[i] = a / (1 + expf(-GELU_2C * (a + GELU_CUBIC * a * a * a))) * u[i];
    }
}

static void softmax_portable(float *row, size_t n) {
    if (n == 0) return;
    float top = row[0];
    for (size_t i = 1; i < n; i++) top = row[i] > top ? row[i] : top;
    float sum = 0;
    for (size_t i = 0; i < n; i++) {
        row[i] = expf(row[i] - top);
        sum += row[i];
    }
    const float inv = 1 / sum;
    for (size_t i = 0; i < n; i++) row[i] *= inv;
}

#ifdef SF_X86
// ---------------------------------------------------------------------------------------------
// AVX-512: scalef applies 2^n with IEEE overflow and gradual underflow, so only the input needs
// a floor (below −104 every result is 0 anyway, and −∞ would make r a NaN).

AVX512 static inline __m512 exp512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    x = _mm512_min_ps(x, _mm512_set1_ps(89.0f));  // e^89 overflows to +∞ as it should
    EXP_REDUCED(__m512, _mm512_roundscale_ps, _mm512_mul_ps, _mm512_fnmadd_ps, _mm512_fmadd_ps, _mm512_set1_ps, x, n, p)
    return _mm512_scalef_ps(p, n);
}

AVX512 static void exp_f32_avx512(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 live = lanes16(n - i);
        _mm512_mask_storeu_ps(y + i, live, exp512(_mm512_maskz_loadu_ps(live, x + i)));
    }
}

AVX512 static void swiglu_avx512(float *g, const float *u, size_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 live = lanes16(n - i);
        const __m512 a = _mm512_maskz_loadu_ps(live, g + i);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), a));
        const __m512 silu = _mm512_div_ps(a, _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(g + i, live, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(live, u + i)));
    }
}

AVX512 static void geglu_tanh_avx512(float *g, const float *u, size_t n) {
    const __m512 one = _mm512_set1_ps(1.0f), c = _mm512_set1_ps(-GELU_2C), cubic = _mm512_set1_ps(GELU_CUBIC);
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 live = lanes16(n - i);
        const __m512 a = _mm512_maskz_loadu_ps(live, g + i);
        const __m512 inner = _mm512_fmadd_ps(_mm512_mul_ps(cubic, a), _mm512_mul_ps(a, a), a);
        const __m512 e = exp512(_mm512_mul_ps(c, inner));
        const __m512 gelu = _mm512_div_ps(a, _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(g + i, live, _mm512_mul_ps(gelu, _mm512_maskz_loadu_ps(live, u + i)));
    }
}

AVX512 static void softmax_avx512(float *row, size_t n) {
    if (n == 0) return;
    __m512 top = _mm512_set1_ps(row[0]);
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 live = lanes16(n - i);
        top = _mm512_mask_max_ps(top, live, top, _mm512_maskz_loadu_ps(live, row + i));
    }
    const __m512 shift = _mm512_set1_ps(_mm512_reduce_max_ps(top));
    __m512 sum = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 live = lanes16(n - i);
        const __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, row + i), shift));
        sum = _mm512_mask_add_ps(sum, live, sum, e);
        _mm512_mask_storeu_ps(row + i, live, e);
    }
    const __m512 inv = _mm512_set1_ps(1 / _mm512_reduce_add_ps(sum));
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 live = lanes16(n - i);
        _mm512_mask_storeu_ps(row + i, live, _mm512_mul_ps(_mm512_maskz_loadu_ps(live, row + i), inv));
    }
}

// ---------------------------------------------------------------------------------------------
// AVX2: 2^n is built in the exponent bits, which holds for n in [−126, 127]; so the input is
// clamped to [−87.3, 88.3] (e^88.3 ≈ 2.2e38 stands in for anything larger; below, results under
// 1.2e-38 are not told apart from it). Tails go through the portable body.

AVX2 static inline __m256 exp256(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3f));
    EXP_REDUCED(__m256, _mm256_round_ps, _mm256_mul_ps, _mm256_fnmadd_ps, _mm256_fmadd_ps, _mm256_set1_ps, x, n, p)
    const __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(scale));
}

AVX2 static void exp_f32_avx2(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp256(_mm256_loadu_ps(x + i)));
    exp_f32_portable(x + i, y + i, n - i);
}

AVX2 static void swiglu_avx2(float *g, const float *u, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 a = _mm256_loadu_ps(g + i);
        const __m256 silu = _mm256_div_ps(a, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), a))));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(silu, _mm256_loadu_ps(u + i)));
    }
    swiglu_portable(g + i, u + i, n - i);
}

AVX2 static void geglu_tanh_avx2(float *g, const float *u, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), c = _mm256_set1_ps(-GELU_2C), cubic = _mm256_set1_ps(GELU_CUBIC);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 a = _mm256_loadu_ps(g + i);
        const __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(cubic, a), _mm256_mul_ps(a, a), a);
        const __m256 gelu = _mm256_div_ps(a, _mm256_add_ps(one, exp256(_mm256_mul_ps(c, inner))));
        _mm256_storeu_ps(g + i, _mm256_mul_ps(gelu, _mm256_loadu_ps(u + i)));
    }
    geglu_tanh_portable(g + i, u + i, n - i);
}

AVX2 static void softmax_avx2(float *row, size_t n) {
    if (n == 0) return;
    float top = row[0];
    for (size_t i = 1; i < n; i++) top = row[i] > top ? row[i] : top;
    const __m256 shift = _mm256_set1_ps(top);
    __m256 sum8 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(row + i), shift));
        sum8 = _mm256_add_ps(sum8, e);
        _mm256_storeu_ps(row + i, e);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, sum8);
    float sum = 0;
    for (int l = 0; l < 8; l++) sum += lanes[l];
    for (; i < n; i++) {
        row[i] = expf(row[i] - top);
        sum += row[i];
    }
    const float inv = 1 / sum;
    for (i = 0; i < n; i++) row[i] *= inv;
}
#endif

void sf_exp_f32(const float *x, float *y, size_t n) { DISPATCH(exp_f32, x, y, n) }

void sf_swiglu(float *g, const float *u, size_t n) { DISPATCH(swiglu, g, u, n) }

void sf_geglu_tanh(float *g, const float *u, size_t n) { DISPATCH(geglu_tanh, g, u, n) }

void sf_softmax(float *row, size_t n) { DISPATCH(softmax, row, n) }
