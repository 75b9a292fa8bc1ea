// Attention over one block of cached keys/values: the inner loops of the forward pass. One call
// per block instead of one per position keeps dispatch and call overhead out of the hot path, and
// with the head dimension known at compile time (64 and 128 are specialised) the output row of
// the value sum stays in registers for the whole block.
#include "ckernels.h"
#include "internal.h"

#define INLINE static inline __attribute__((always_inline))

// 16 independent partial sums: vectorizes without reassociating a single float sum.
INLINE void scores_body(const float *q, const float *k, size_t stride, size_t count, size_t hd,
                        float scale, float *scores) {
    for (size_t s = 0; s < count; s++) {
        const float *kr = k + s * stride;
        float lanes[16] = {0};
        size_t d = 0;
        for (; d + 16 <= hd; d += 16)
            for (int l = 0; l < 16; l++) lanes[l] += q[d + l] * kr[d + l];
        float acc = 0;
        for (int l = 0; l < 16; l++) acc += lanes[l];
        for (; d < hd; d++) acc += q[d] * kr[d];
        scores[s] = acc * scale;
    }
}

INLINE void accumulate_body(const float *w, const float *v, size_t stride, size_t count, size_t hd,
                            float *out) {
    for (size_t s = 0; s < count; s++) {
        const float *vr = v + s * stride;
        float ws = w[s];
        for (size_t d = 0; d < hd; d++) out[d] += ws * vr[d];
    }
}

#if defined(__x86_64__)
// Scores of up to 16 keys at a time: one accumulator per key, reduced together. One reduction
// per key was most of the work (a 64-wide dot product is only 4 FMAs).
INLINE AVX512 void scores_avx512_body(const float *q, const float *k, size_t stride, size_t count, size_t hd,
                                      float scale, float *scores) {
    const __m512 scale_v = _mm512_set1_ps(scale);
    for (size_t first = 0; first < count; first += 16) {
        const size_t n = count - first < 16 ? count - first : 16;
        __m512 acc[16];
        for (int j = 0; j < 16; j++) acc[j] = _mm512_setzero_ps();
        for (size_t d = 0; d < hd; d += 16) {
            const __m512 qv = _mm512_loadu_ps(q + d);
            // A constant trip count keeps the accumulators in registers; keys past `n` are
            // skipped, not read.
#pragma clang loop unroll(full)
            for (int j = 0; j < 16; j++) {
                if ((size_t)j < n)
                    acc[4 * (j % 4) + j / 4] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k + (first + j) * stride + d),
                                                               acc[4 * (j % 4) + j / 4]);
            }
        }
        const __mmask16 live = lanes16(n);
        _mm512_mask_storeu_ps(scores + first, live, _mm512_mul_ps(hsum16_avx512(acc), scale_v));
    }
}

AVX512 static void scores_avx512(const float *q, const float *k, size_t stride, size_t count, size_t hd,
                                 float scale, float *scores) {
    if (hd == 64) scores_avx512_body(q, k, stride, count, 64, scale, scores);
    else if (hd == 128) scores_avx512_body(q, k, stride, count, 128, scale, scores);
    else if (hd % 16 == 0) scores_avx512_body(q, k, stride, count, hd, scale, scores);
    else scores_body(q, k, stride, count, hd, scale, scores);
}
#endif

// Specialised head dimensions: constants let the compiler unroll the row into registers.
#define SPECIALISE_SCORES(ATTR, SUFFIX)                                                                 \
    ATTR static void scores_##SUFFIX(const float *q, const float *k, size_t stride, size_t count,       \
                                     size_t hd, float scale, float *scores) {                           \
        if (hd == 64) scores_body(q, k, stride, count, 64, scale, scores);                              \
        else if (hd == 128) scores_body(q, k, stride, count, 128, scale, scores);                       \
        else scores_body(q, k, stride, count, hd, scale, scores);                                       \
    }
#define SPECIALISE_ACCUMULATE(ATTR, SUFFIX)                                                             \
    ATTR static void accumulate_##SUFFIX(const float *w, const float *v, size_t stride, size_t count,   \
                                         size_t hd, float *out) {                                       \
        if (hd == 64) {                                                                                 \
            float row[64];                                                                              \
            for (int d = 0; d < 64; d++) row[d] = out[d];                                               \
            accumulate_body(w, v, stride, count, 64, row);                                              \
            for (int d = 0; d < 64; d++) out[d] = row[d];                                               \
        } else if (hd == 128) {                                                                         \
            float row[128];                                                                             \
            for (int d = 0; d < 128; d++) row[d] = out[d];                                              \
            accumulate_body(w, v, stride, count, 128, row);                                             \
            for (int d = 0; d < 128; d++) out[d] = row[d];                                              \
        } else {                                                                                        \
            accumulate_body(w, v, stride, count, hd, out);                                              \
        }                                                                                               \
    }

#if defined(__x86_64__)
SPECIALISE_ACCUMULATE(AVX512, avx512)
SPECIALISE_SCORES(AVX2, avx2)
SPECIALISE_ACCUMULATE(AVX2, avx2)
#endif
SPECIALISE_SCORES(, portable)
SPECIALISE_ACCUMULATE(, portable)

void sf_attention_scores(const float *q, const float *k, size_t stride, size_t count, size_t hd,
                         float scale, float *scores) {
#if defined(__x86_64__)
    switch (sf_isa()) {
    case ISA_AVX512: scores_avx512(q, k, stride, count, hd, scale, scores); return;
    case ISA_AVX2: scores_avx2(q, k, stride, count, hd, scale, scores); return;
    default: break;
    }
#endif
    scores_portable(q, k, stride, count, hd, scale, scores);
}

void sf_attention_accumulate(const float *w, const float *v, size_t stride, size_t count, size_t hd,
                             float *out) {
#if defined(__x86_64__)
    switch (sf_isa()) {
    case ISA_AVX512: accumulate_avx512(w, v, stride, count, hd, out); return;
    case ISA_AVX2: accumulate_avx2(w, v, stride, count, hd, out); return;
    default: break;
    }
#endif
    accumulate_portable(w, v, stride, count, hd, out);
}

void sf_prefetch_rows(const float *base, size_t stride, size_t count, size_t hd) {
    // One hint per 64-byte line of each row.
    for (size_t s = 0; s < count; s++)
        for (size_t d = 0; d < hd; d += 16) __builtin_prefetch(base + s * stride + d, 0, 3);
}
