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
