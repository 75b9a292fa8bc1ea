// Quantized ggml block formats: dequantization and fused dequantize-and-dot products.
//
// Each format's block decoder is written once, in plain C, and inlined into one function per
// instruction set marked with that set's target attribute: clang vectorizes the same loops for
// AVX-512, AVX2 or nothing, so the formats' bit layouts live in exactly one place.
#include "ckernels.h"
#include "internal.h"
#include <math.h>

#define INLINE static inline __attribute__((always_inline))

enum {
    T_Q4_0 = 2, T_Q5_0 = 6, T_Q5_1 = 7, T_Q8_0 = 8, T_Q4_K = 12, T_Q5_K = 13, T_Q6_K = 14,
};

// The half-precision scales: clang turns this into one F16C instruction where the caller's
// target has it and into a short integer sequence where not.
INLINE float load_half(const uint8_t *p) {
    _Float16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

// ---------------------------------------------------------------------------------------------
// Block decoders (ggml's layouts). 32-element blocks: one scale (and for Q5_1 a minimum) per block.

// Q4_0: d (f16), 16 bytes; byte j holds element j in its low nibble and j + 16 in its high one,
// both offset by 8.
INLINE void dequant_q4_0(const uint8_t *b, float *y) {
    const float d = load_half(b);
    const uint8_t *qs = b + 2;
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)((qs[j] & 0xF) - 8);
        y[j + 16] = d * (float)((qs[j] >> 4) - 8);
    }
}

// Q5_0: d, a 32-bit word of fifth bits (bit j for element j), then nibbles as in Q4_0; offset 16.
INLINE void dequant_q5_0(const uint8_t *b, float *y) {
    const float d = load_half(b);
    uint32_t qh;
    memcpy(&qh, b + 2, 4);
    const uint8_t *qs = b + 6;
    for (int j = 0; j < 16; j++) {
        const int lo = (qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
        const int hi = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
        y[j] = d * (float)(lo - 16);
        y[j + 16] = d * (float)(hi - 16);
    }
}

// Q5_1: d, m (f16), the fifth bits, the nibbles; unsigned values times d plus m.
INLINE void dequant_q5_1(const uint8_t *b, float *y) {
    const float d = load_half(b), m = load_half(b + 2);
    uint32_t qh;
    memcpy(&qh, b + 4, 4);
    const uint8_t *qs = b + 8;
    for (int j = 0; j < 16; j++) {
        const int lo = (qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
        const int hi = (qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
        y[j] = d * (float)lo + m;
        y[j + 16] = d * (float)hi + m;
    }
}

// Q8_0: d, 32 signed bytes.
INLINE void dequant_q8_0(const uint8_t *b, float *y) {
    const float d = load_half(b);
    const int8_t *qs = (const int8_t *)(b + 2);
    for (int j = 0; j < 32; j++) y[j] = d * (float)qs[j];
}

// 256-element super-blocks. Q4_K and Q5_K: d and dmin (f16), then twelve bytes holding eight
// 6-bit scales and eight 6-bit minimums of the 32-element sub-blocks: sub-blocks 0–3 in the low
// six bits of bytes 0–3 (scales) and 4–7 (minimums); 4–7 in the nibbles of bytes 8–11 with their
// top two bits in the spare top bits of bytes 0–7.
INLINE void scale_min_k4(int j, const uint8_t *q, int *sc, int *mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// Q4_K: then 128 bytes of nibbles; each 32 bytes hold two sub-blocks (low nibbles, then high).
INLINE void dequant_q4_K(const uint8_t *b, float *y) {
    const float d = load_half(b), dmin = load_half(b + 2);
    const uint8_t *scales = b + 4, *qs = b + 16;
    for (int pair = 0; pair < 4; pair++) {
        int sc0, m0, sc1, m1;
        scale_min_k4(2 * pair, scales, &sc0, &m0);
        scale_min_k4(2 * pair + 1, scales, &sc1, &m1);
        const float d0 = d * (float)sc0, min0 = dmin * (float)m0;
        const float d1 = d * (float)sc1, min1 = dmin * (float)m1;
        for (int l = 0; l < 32; l++) {
            y[l] = d0 * (float)(qs[l] & 0xF) - min0;
            y[l + 32] = d1 * (float)(qs[l] >> 4) - min1;
        }
        qs += 32;
        y += 64;
    }
}

// Q5_K: then 32 bytes of fifth bits (bit s of byte l is element l of sub-block s), then the
// nibbles as in Q4_K.
INLINE void dequant_q5_K(const uint8_t *b, float *y) {
    const float d = load_half(b), dmin = load_half(b + 2);
    const uint8_t *scales = b + 4, *qh = b + 16, *qs = b + 48;
    for (int pair = 0; pair < 4; pair++) {
        int sc0, m0, sc1, m1;
        scale_min_k4(2 * pair, scales, &sc0, &m0);
        scale_min_k4(2 * pair + 1, scales, &sc1, &m1);
        const float d0 = d * (float)sc0, min0 = dmin * (float)m0;
        const float d1 = d * (float)sc1, min1 = dmin * (float)m1;
        for (int l = 0; l < 32; l++) {
            const int lo = (qs[l] & 0xF) | (((qh[l] >> (2 * pair)) & 1) << 4);
            const int hi = (qs[l] >> 4) | (((qh[l] >> (2 * pair + 1)) & 1) << 4);
            y[l] = d0 * (float)lo - min0;
            y[l + 32] = d1 * (float)hi - min1;
        }
        qs += 32;
        y += 64;
    }
}

// Q6_K: 128 bytes of low nibbles, 64 bytes of 2-bit high parts, sixteen signed 8-bit scales
// (one per 16 elements), d last. Each half of 128 elements takes 64 low-nibble bytes and 32
// high bytes: byte l of the high part carries bits 4–5 of elements l, l+32, l+64, l+96.
INLINE void dequant_q6_K(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    const float d = load_half(b + 208);
    for (int half = 0; half < 2; half++) {
        for (int l = 0; l < 32; l++) {
            const int s = l / 16;
            const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * (float)sc[s] * (float)q1;
            y[l + 32] = d * (float)sc[s + 2] * (float)q2;
            y[l + 64] = d * (float)sc[s + 4] * (float)q3;
            y[l + 96] = d * (float)sc[s + 6] * (float)q4;
        }
        ql += 64;
        qh += 32;
        sc += 8;
        y += 128;
    }
}

int sf_quant_block(int type, size_t *elements, size_t *bytes) {
    switch (type) {
    case T_Q4_0: *elements = 32; *bytes = 18; return 1;
    case T_Q5_0: *elements = 32; *bytes = 22; return 1;
    case T_Q5_1: *elements = 32; *bytes = 24; return 1;
    case T_Q8_0: *elements = 32; *bytes = 34; return 1;
    case T_Q4_K: *elements = 256; *bytes = 144; return 1;
    case T_Q5_K: *elements = 256; *bytes = 176; return 1;
    case T_Q6_K: *elements = 256; *bytes = 210; return 1;
    default: return 0;
    }
}

// ---------------------------------------------------------------------------------------------
// Row loops and the fused product, instantiated once per instruction set.

// Elements decoded at a time by the fused product: one K-quant super-block or eight small
// blocks, 1 KiB of floats that stay in L1 between decoding and the dot products.
#define CHUNK 256

#define DECODE_LOOP(fn, elems, bytes)                                                         \
    for (size_t i = 0; i < n / elems; i++) fn(src + i * bytes, dst + i * elems);              \
    return;

#define QUANT_BODIES(ISA, ATTR)                                                                \
    ATTR static void dequant_row_##ISA(int type, const uint8_t *src, float *dst, size_t n) {  \
        switch (type) {                                                                       \
        case T_Q4_0: DECODE_LOOP(dequant_q4_0, 32, 18)                                       \
        case T_Q5_0: DECODE_LOOP(dequant_q5_0, 32, 22)                                       \
        case T_Q5_1: DECODE_LOOP(dequant_q5_1, 32, 24)                                       \
        case T_Q8_0: DECODE_LOOP(dequant_q8_0, 32, 34)                                       \
        case T_Q4_K: DECODE_LOOP(dequant_q4_K, 256, 144)                                     \
        case T_Q5_K: DECODE_LOOP(dequant_q5_K, 256, 176)                                     \
        case T_Q6_K: DECODE_LOOP(dequant_q6_K, 256, 210)                                     \
        }                                                                                     \
    }                                                                                         \
    ATTR static void gemm_quant_##ISA(int type, const uint8_t *w, size_t row_bytes, size_t cols, \
                                      size_t r0, size_t r1, const float *x, size_t ldx,       \
                                      size_t nx, float *y, size_t ldy) {                      \
        size_t elems, bytes;                                                                  \
        sf_quant_block(type, &elems, &bytes);                                                 \
        const size_t chunk_bytes = CHUNK / elems * bytes;                                     \
        float buf[CHUNK] __attribute__((aligned(64)));                                        \
        for (size_t r = r0; r < r1; r++) {                                                    \
            const uint8_t *row = w + r * row_bytes;                                           \
            float acc[8] = {0};                                                               \
            for (size_t c = 0; c < cols; c += CHUNK) {                                        \
                const size_t len = cols - c < CHUNK ? cols - c : CHUNK;                       \
                dequant_row_##ISA(type, row + c / CHUNK * chunk_bytes, buf, len);             \
                for (size_t m = 0; m < nx; m++)                                               \
                    acc[m] += sf_dot_f32_##ISA(buf, x + m * ldx + c, len);                    \
            }                                                                                 \
            for (size_t m = 0; m < nx; m++) y[m * ldy + r] = acc[m];                          \
        }                                                                                     \
    }

QUANT_BODIES(portable, )
#ifdef SF_X86
QUANT_BODIES(avx512, AVX512)
QUANT_BODIES(avx2, AVX2)
#endif

void sf_dequantize_row(int type, const void *src, float *dst, size_t n) {
    DISPATCH(dequant_row, type, (const uint8_t *)src, dst, n)
}

// ---------------------------------------------------------------------------------------------
// Integer products for Q8_0, Q4_K and Q6_K (AVX2 and up), the way ggml does them: the input row
// is quantized once to signed bytes in blocks of 32 (scale dx, and the block's sum for the
// K-quant minimums), then each weight block meets it in 8-bit multiply-adds (vpmaddubsw:
// unsigned × signed bytes into 16-bit pairs, vpmaddwd into 32-bit lanes) and one float
// multiply-add per 32 elements. Decoding to floats first costs about twice the instructions,
// and one-row products are compute-bound at that rate on two cores. The input's rounding
// (half a step of its block's 1/127 scale) is the price, as in llama.cpp.

#ifdef SF_X86
typedef struct {
    int8_t *q;     // cols signed bytes
    float *d;      // one scale per 32
    int32_t *sum;  // one sum of q per 32
} q8_input;

AVX2 static void quantize_input(const float *x, size_t cols, q8_input in) {
    for (size_t b = 0; b < cols / 32; b++) {
        const float *v = x + b * 32;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(v[j]));
        const float d = amax / 127, inv = amax > 0 ? 127 / amax : 0;
        int32_t sum = 0;
        for (int j = 0; j < 32; j++) {
            const int q = (int)nearbyintf(v[j] * inv);
            in.q[b * 32 + j] = (int8_t)q;
            sum += q;
        }
        in.d[b] = d;
        in.sum[b] = sum;
    }
}

AVX2 static inline float hsum_ps256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Σ u·s over 32 bytes as eight 32-bit lanes; u unsigned (< 128 or paired so no 16-bit overflow).
AVX2 static inline __m256i dot_u8_s8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

AVX2 static float dot_q8_0(const uint8_t *w, size_t cols, q8_input in) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < cols / 32; b++, w += 34) {
        const __m256i q = _mm256_loadu_si256((const __m256i *)(w + 2));
        const __m256i x = _mm256_loadu_si256((const __m256i *)(in.q + b * 32));
        // Signs moved onto the input so the weight side is unsigned, as vpmaddubsw wants.
        const __m256i p = dot_u8_s8(_mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(load_half(w) * in.d[b]), _mm256_cvtepi32_ps(p), acc);
    }
    return hsum_ps256(acc);
}

AVX2 static float dot_q4_K(const uint8_t *w, size_t cols, q8_input in) {
    __m256 acc = _mm256_setzero_ps();
    float minimums = 0;
    const __m256i low = _mm256_set1_epi8(0xF);
    for (size_t sb = 0; sb < cols / 256; sb++, w += 144) {
        const float d = load_half(w), dmin = load_half(w + 2);
        const int8_t *xq = in.q + sb * 256;
        const float *xd = in.d + sb * 8;
        const int32_t *xs = in.sum + sb * 8;
        for (int pair = 0; pair < 4; pair++) {
            int sc0, m0, sc1, m1;
            scale_min_k4(2 * pair, w + 4, &sc0, &m0);
            scale_min_k4(2 * pair + 1, w + 4, &sc1, &m1);
            const __m256i bytes = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * pair));
            const __m256i q0 = _mm256_and_si256(bytes, low);
            const __m256i q1 = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low);
            const __m256i p0 = dot_u8_s8(q0, _mm256_loadu_si256((const __m256i *)(xq + 64 * pair)));
            const __m256i p1 = dot_u8_s8(q1, _mm256_loadu_si256((const __m256i *)(xq + 64 * pair + 32)));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)sc0 * xd[2 * pair]), _mm256_cvtepi32_ps(p0), acc);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)sc1 * xd[2 * pair + 1]), _mm256_cvtepi32_ps(p1), acc);
            minimums += dmin * ((float)m0 * xd[2 * pair] * (float)xs[2 * pair] +
                                (float)m1 * xd[2 * pair + 1] * (float)xs[2 * pair + 1]);
        }
    }
    return hsum_ps256(acc) - minimums;
}

AVX2 static float dot_q6_K(const uint8_t *w, size_t cols, q8_input in) {
    __m256 acc = _mm256_setzero_ps();
    const __m256i low = _mm256_set1_epi8(0xF), two = _mm256_set1_epi8(3), offset = _mm256_set1_epi8(32);
    for (size_t sb = 0; sb < cols / 256; sb++, w += 210) {
        const float d = load_half(w + 208);
        const int8_t *sc = (const int8_t *)(w + 192);
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = w + 64 * half, *qh = w + 128 + 32 * half;
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)qh);
            // Quarter k: low or high nibbles of l0 / l1, with bits 2k, 2k+1 of h on top.
            const __m256i nib[4] = {_mm256_and_si256(l0, low), _mm256_and_si256(l1, low),
                                    _mm256_and_si256(_mm256_srli_epi16(l0, 4), low),
                                    _mm256_and_si256(_mm256_srli_epi16(l1, 4), low)};
            for (int k = 0; k < 4; k++) {
                const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(h, 2 * k), two);
                const __m256i q = _mm256_sub_epi8(_mm256_or_si256(nib[k], _mm256_slli_epi16(hi, 4)), offset);
                const size_t e = sb * 256 + half * 128 + k * 32;
                const __m256i x = _mm256_loadu_si256((const __m256i *)(in.q + e));
                const __m256i p = dot_u8_s8(_mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q));
                // Lanes 0–3 hold the first 16 elements (scale s), lanes 4–7 the next 16.
                const int s = half * 8 + k * 2;
                const __m256 scale = _mm256_set_m128(_mm_set1_ps((float)sc[s + 1]), _mm_set1_ps((float)sc[s]));
                acc = _mm256_fmadd_ps(_mm256_mul_ps(scale, _mm256_set1_ps(d * in.d[e / 32])), _mm256_cvtepi32_ps(p), acc);
            }
        }
    }
    return hsum_ps256(acc);
}

AVX2 static void gemm_quant_int(int type, const uint8_t *w, size_t row_bytes, size_t cols, size_t r0,
                                size_t r1, const float *x, size_t ldx, size_t nx, float *y, size_t ldy) {
    int8_t q[cols] __attribute__((aligned(32)));
    float d[cols / 32];
    int32_t sum[cols / 32];
    const q8_input in = {q, d, sum};
    for (size_t m = 0; m < nx; m++) {
        quantize_input(x + m * ldx, cols, in);
        for (size_t r = r0; r < r1; r++) {
            const uint8_t *row = w + r * row_bytes;
            y[m * ldy + r] = type == T_Q8_0 ? dot_q8_0(row, cols, in)
                           : type == T_Q4_K ? dot_q4_K(row, cols, in) : dot_q6_K(row, cols, in);
        }
    }
}
#endif

void sf_gemm_quant_small(int type, const void *w, size_t row_bytes, size_t cols, size_t row_begin,
                         size_t row_end, const float *x, size_t ldx, size_t n_x, float *y, size_t ldy) {
#ifdef SF_X86
    if ((type == T_Q8_0 || type == T_Q4_K || type == T_Q6_K) && sf_isa() >= ISA_AVX2) {
        gemm_quant_int(type, (const uint8_t *)w, row_bytes, cols, row_begin, row_end, x, ldx, n_x, y, ldy);
        return;
    }
#endif
    // Up to eight inputs share each decoded chunk.
    for (; n_x > 0; x += 8 * ldx, y += 8 * ldy) {
        const size_t n = n_x < 8 ? n_x : 8;
        switch (sf_isa()) {
#ifdef SF_X86
        case ISA_AVX512: gemm_quant_avx512(type, w, row_bytes, cols, row_begin, row_end, x, ldx, n, y, ldy); break;
        case ISA_AVX2: gemm_quant_avx2(type, w, row_bytes, cols, row_begin, row_end, x, ldx, n, y, ldy); break;
#endif
        default: gemm_quant_portable(type, w, row_bytes, cols, row_begin, row_end, x, ldx, n, y, ldy);
        }
        n_x -= n;
    }
}
