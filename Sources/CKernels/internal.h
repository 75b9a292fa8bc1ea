// Shared between the kernel files of this target, not part of its interface.
#ifndef SEEDFLOW_CKERNELS_INTERNAL_H
#define SEEDFLOW_CKERNELS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define SF_X86 1
#include <immintrin.h>
#endif

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,f16c,fma")))
#define AVX2 __attribute__((target("avx2,f16c,fma")))

#ifdef SF_X86
/// The lanes of a 16-float vector that hold one of the `left` elements still to do.
static inline __mmask16 lanes16(size_t left) {
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/// Horizontal sums of many vectors at once, pairing vectors at every step: three operations per
/// sum where summing each vector on its own takes about eight. Every lane sum is formed in the
/// order of _mm512_reduce_add_ps (lanes i and i + 8 first, then i and i + 4, i and i + 2,
/// i and i + 1), so the two ways give bit-identical sums.

/// Lanes i + (i + 8) of a in lanes 0–7, of b in lanes 8–15.
AVX512 static inline __m512 fold_halves(__m512 a, __m512 b) {
    return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
}
/// From two vectors of two half-folded sources each: the four 128-bit chunks, one source each,
/// hold that source's lanes i + (i + 4): a's two sources, then b's.
AVX512 static inline __m512 fold_quarters(__m512 a, __m512 b) {
    return _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xDD));
}
/// Per chunk, from [p0 p1 p2 p3] of a and of b: [a.p0+a.p2, a.p1+a.p3, b.p0+b.p2, b.p1+b.p3].
AVX512 static inline __m512 fold_pairs(__m512 a, __m512 b) {
    return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x44), _mm512_shuffle_ps(a, b, 0xEE));
}
/// Per chunk, from [q0 q1 q2 q3] of a and of b: [a.q0+a.q1, a.q2+a.q3, b.q0+b.q1, b.q2+b.q3].
AVX512 static inline __m512 fold_neighbours(__m512 a, __m512 b) {
    return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xDD));
}

/// The sums of v[0..<16]: lane 4c + j of the result is the sum of v[4j + c] (a 4 × 4 transpose
/// of the order, which callers undo by storing the accumulator of sum s in v[4 (s % 4) + s / 4]
/// or by reading sum s from lane 4 (s % 4) + s / 4).
AVX512 static inline __m512 hsum16_avx512(const __m512 *v) {
    __m512 h[8], q[4];
    for (int i = 0; i < 8; i++) h[i] = fold_halves(v[2 * i], v[2 * i + 1]);
    for (int i = 0; i < 4; i++) q[i] = fold_quarters(h[2 * i], h[2 * i + 1]);
    return fold_neighbours(fold_pairs(q[0], q[1]), fold_pairs(q[2], q[3]));
}

#endif

enum { ISA_PORTABLE = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

/// The instruction set the entry points dispatch to (detected once, or forced by tests).
int sf_isa(void);

#ifdef SF_X86
#define DISPATCH(name, ...)                                              \
    switch (sf_isa()) {                                                  \
    case ISA_AVX512: return name##_avx512(__VA_ARGS__);                  \
    case ISA_AVX2: return name##_avx2(__VA_ARGS__);                      \
    default: return name##_portable(__VA_ARGS__);                        \
    }
#else
#define DISPATCH(name, ...) return name##_portable(__VA_ARGS__);
#endif

static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400) == 0) { mant <<= 1; exp--; }
            mant &= 0x3ff;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000 | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// dot(a, b) over n floats, one body per instruction set (the quantized kernels call the
/// body of their own level directly).
float sf_dot_f32_portable(const float *a, const float *b, size_t n);
#ifdef SF_X86
float sf_dot_f32_avx512(const float *a, const float *b, size_t n);
float sf_dot_f32_avx2(const float *a, const float *b, size_t n);
#endif

#endif
