// Attention over one block of cached keys/values: the inner loops of the forward pass. One call
// per block instead of one per position keeps dispatch and call overhead out of the hot path, and
// with the head dimension known at compile time (64 and 128 are specialised) the output row of
// the value sum stays in registers for the whole block.
#include "ckernels.h"
#include "internal.h"

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,f16c,fma")))
#define AVX2 __attribute__((target("avx2,f16c,fma")))
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

// Specialised head dimensions: constants let the compiler unroll the row into registers.
#define SPECIALISE(ATTR, SUFFIX)                                                                        \
    ATTR static void scores_##SUFFIX(const float *q, const float *k, size_t stride, size_t count,       \
                                     size_t hd, float scale, float *scores) {                           \
        if (hd == 64) scores_body(q, k, stride, count, 64, scale, scores);                              \
        else if (hd == 128) scores_body(q, k, stride, count, 128, scale, scores);                       \
        else scores_body(q, k, stride, count, hd, scale, scores);                                       \
    }                                                                                                   \
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
SPECIALISE(AVX512, avx512)
SPECIALISE(AVX2, avx2)
#endif
SPECIALISE(, portable)

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
