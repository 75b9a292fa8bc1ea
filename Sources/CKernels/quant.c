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
    T_Q4_0 = 2, T_Q4_1 = 3, T_Q5_0 = 6, T_Q5_1 = 7, T_Q8_0 = 8, T_Q2_K = 10, T_Q3_K = 11, T_Q4_K = 12,
    T_Q5_K = 13, T_Q6_K = 14, T_IQ4_NL = 20, T_IQ4_XS = 23,
};

// The decoded types, once: X(type id, name of its block decoder's suffix, A) for each, so the
// switches over types below cannot drift apart.
#define FOR_EACH_QUANT_TYPE(X, A)                                                              \
    X(T_Q4_0, q4_0, A) X(T_Q4_1, q4_1, A) X(T_Q5_0, q5_0, A) X(T_Q5_1, q5_1, A)                \
    X(T_Q8_0, q8_0, A) X(T_Q2_K, q2_K, A) X(T_Q3_K, q3_K, A) X(T_Q4_K, q4_K, A)                \
    X(T_Q5_K, q5_K, A) X(T_Q6_K, q6_K, A) X(T_IQ4_NL, iq4_nl, A) X(T_IQ4_XS, iq4_xs, A)

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

// Q4_1: d, m (f16), then nibbles as in Q4_0; unsigned values times d plus m.
INLINE void dequant_q4_1(const uint8_t *b, float *y) {
    const float d = load_half(b), m = load_half(b + 2);
    const uint8_t *qs = b + 4;
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)(qs[j] & 0xF) + m;
        y[j + 16] = d * (float)(qs[j] >> 4) + m;
    }
}

// The sixteen levels of IQ4_NL and IQ4_XS: a nibble indexes this table instead of standing for
// itself (ggml's non-linear grid, denser near zero).
static const int8_t iq4_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// IQ4_NL: d, then nibbles as in Q4_0, each an index into iq4_levels.
INLINE void dequant_iq4_nl(const uint8_t *b, float *y) {
    const float d = load_half(b);
    const uint8_t *qs = b + 2;
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)iq4_levels[qs[j] & 0xF];
        y[j + 16] = d * (float)iq4_levels[qs[j] >> 4];
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
//
// scales_mins_k4 unpacks all sixteen at once into sixteen bytes (the scales of sub-blocks 0–7,
// then their minimums), as words so the vector kernels can take them straight into a register.
INLINE void scales_mins_k4(const uint8_t *q, uint32_t u[4]) {
    uint32_t in[3];
    memcpy(in, q, 12);
    u[0] = in[0] & 0x3f3f3f3f;                                             // scales 0–3
    u[1] = (in[2] & 0x0f0f0f0f) | (((in[0] >> 6) & 0x03030303) << 4);     // scales 4–7
    u[2] = in[1] & 0x3f3f3f3f;                                             // minimums 0–3
    u[3] = ((in[2] >> 4) & 0x0f0f0f0f) | (((in[1] >> 6) & 0x03030303) << 4); // minimums 4–7
}

// Q4_K: then 128 bytes of nibbles; each 32 bytes hold two sub-blocks (low nibbles, then high).
// The eight sub-blocks' factors of a Q4_K or Q5_K block: element = scale · q − minimum.
INLINE void factors_k4(const uint8_t *b, float scale[8], float minimum[8]) {
    const float d = load_half(b), dmin = load_half(b + 2);
    uint32_t words[4];
    scales_mins_k4(b + 4, words);
    uint8_t sm[16];
    memcpy(sm, words, 16);
    for (int j = 0; j < 8; j++) {
        scale[j] = d * (float)sm[j];
        minimum[j] = dmin * (float)sm[8 + j];
    }
}

INLINE void dequant_q4_K(const uint8_t *b, float *y) {
    const uint8_t *qs = b + 16;
    float sc[8], mn[8];
    factors_k4(b, sc, mn);
    for (int pair = 0; pair < 4; pair++) {
        const float d0 = sc[2 * pair], min0 = mn[2 * pair], d1 = sc[2 * pair + 1], min1 = mn[2 * pair + 1];
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
    const uint8_t *qh = b + 16, *qs = b + 48;
    float sc[8], mn[8];
    factors_k4(b, sc, mn);
    for (int pair = 0; pair < 4; pair++) {
        const float d0 = sc[2 * pair], min0 = mn[2 * pair], d1 = sc[2 * pair + 1], min1 = mn[2 * pair + 1];
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

// Q2_K: sixteen bytes of 4-bit pairs (low nibble: the scale, high: the minimum, of each
// 16-element sub-block), 64 bytes of 2-bit values, then d and dmin (f16). Each half of 128
// elements takes 32 bytes: element 32j + l of the half is bits 2j, 2j + 1 of byte l.
// element = d·scale × q − dmin·minimum.
INLINE void dequant_q2_K(const uint8_t *b, float *y) {
    const uint8_t *sc = b, *qs = b + 16;
    const float d = load_half(b + 80), dmin = load_half(b + 82);
    for (int half = 0; half < 2; half++) {
        for (int j = 0; j < 4; j++) {
            for (int l = 0; l < 32; l++) {
                const uint8_t s = sc[8 * half + 2 * j + l / 16];
                y[32 * j + l] = d * (float)(s & 0xF) * (float)((qs[l] >> (2 * j)) & 3) - dmin * (float)(s >> 4);
            }
        }
        qs += 32;
        y += 128;
    }
}

// Q3_K's sixteen 6-bit scales from its twelve bytes, as unsigned bytes (the scale plus 32):
// the low nibbles of sub-blocks 0–7 in the low nibbles of bytes 0–7 and those of 8–15 in their
// high nibbles; the top two bits of sub-block s in byte 8 + s % 4, bits 2·(s / 4). Word-wide:
// four sub-blocks per 32-bit word.
INLINE void scales_q3_K(const uint8_t *q, uint8_t out[16]) {
    uint32_t in[3], w[4];
    memcpy(in, q, 12);
    const uint32_t nibbles = 0x0f0f0f0f, pairs = 0x03030303;
    w[0] = (in[0] & nibbles) | (in[2] & pairs) << 4;
    w[1] = (in[1] & nibbles) | (in[2] >> 2 & pairs) << 4;
    w[2] = (in[0] >> 4 & nibbles) | (in[2] >> 4 & pairs) << 4;
    w[3] = (in[1] >> 4 & nibbles) | (in[2] >> 6 & pairs) << 4;
    memcpy(out, w, 16);
}

// Q3_K: 32 bytes of third bits, 64 bytes of 2-bit values laid out as in Q2_K, twelve bytes of
// scales, d last. Element 32j + l of half h has its third bit in bit 4h + j of byte l of the
// first 32; the value is the 2-bit one minus 4 where that bit is clear. element = d·scale × q.
INLINE void dequant_q3_K(const uint8_t *b, float *y) {
    const uint8_t *hm = b, *qs = b + 32;
    uint8_t sc[16];
    scales_q3_K(b + 96, sc);
    const float d = load_half(b + 108);
    for (int half = 0; half < 2; half++) {
        for (int j = 0; j < 4; j++) {
            for (int l = 0; l < 32; l++) {
                const int q = ((qs[l] >> (2 * j)) & 3) - ((hm[l] >> (4 * half + j)) & 1 ? 0 : 4);
                y[32 * j + l] = d * (float)((int)sc[8 * half + 2 * j + l / 16] - 32) * (float)q;
            }
        }
        qs += 32;
        y += 128;
    }
}

// IQ4_XS: d, a 16-bit word of the top two bits of the eight 6-bit sub-block scales (bits 2s,
// 2s + 1), four bytes of their low nibbles (sub-block s: byte s / 2, low nibble for even s),
// then eight 16-byte IQ4_NL bodies. element = d·(scale − 32) × iq4_levels[nibble].
INLINE int scale_iq4_xs(const uint8_t *b, int s) {
    const int high = (b[2 + s / 4] >> (2 * (s % 4))) & 3;
    return (((b[4 + s / 2] >> (4 * (s % 2))) & 0xF) | high << 4) - 32;
}

INLINE void dequant_iq4_xs(const uint8_t *b, float *y) {
    const float d = load_half(b);
    for (int s = 0; s < 8; s++) {
        const float dl = d * (float)scale_iq4_xs(b, s);
        const uint8_t *qs = b + 8 + 16 * s;
        for (int j = 0; j < 16; j++) {
            y[32 * s + j] = dl * (float)iq4_levels[qs[j] & 0xF];
            y[32 * s + j + 16] = dl * (float)iq4_levels[qs[j] >> 4];
        }
    }
}

// Elements and bytes of one block of each format (0 for a type that is not one of them).
INLINE size_t block_elems(int type) {
    switch (type) {
    case T_Q4_0: case T_Q4_1: case T_Q5_0: case T_Q5_1: case T_Q8_0: case T_IQ4_NL: return 32;
    case T_Q2_K: case T_Q3_K: case T_Q4_K: case T_Q5_K: case T_Q6_K: case T_IQ4_XS: return 256;
    default: return 0;
    }
}

INLINE size_t block_bytes(int type) {
    switch (type) {
    case T_Q4_0: return 18;
    case T_Q4_1: return 20;
    case T_Q5_0: return 22;
    case T_Q5_1: return 24;
    case T_Q8_0: return 34;
    case T_Q4_K: return 144;
    case T_Q5_K: return 176;
    case T_Q6_K: return 210;
    case T_Q2_K: return 84;
    case T_Q3_K: return 110;
    case T_IQ4_NL: return 18;
    case T_IQ4_XS: return 136;
    default: return 0;
    }
}

int sf_quant_block(int type, size_t *elements, size_t *bytes) {
    *elements = block_elems(type);
    *bytes = block_bytes(type);
    return *bytes != 0;
}

// ---------------------------------------------------------------------------------------------
// Row decoding, instantiated once per instruction set (the widened-tile path of many-row
// products), and the portable fused product.

#define DECODE_LOOP(fn, T)                                                                    \
    for (size_t i = 0; i < n / block_elems(T); i++)                                           \
        fn(src + i * block_bytes(T), dst + i * block_elems(T));                               \
    return;

#define DECODE_CASE(T, name, _) case T: DECODE_LOOP(dequant_##name, T)
#define DEQUANT_ROW(ISA, ATTR)                                                                 \
    ATTR static void dequant_row_##ISA(int type, const uint8_t *src, float *dst, size_t n) {  \
        switch (type) { FOR_EACH_QUANT_TYPE(DECODE_CASE, _) }                                 \
    }

DEQUANT_ROW(portable, )
#ifdef SF_X86
DEQUANT_ROW(avx512, AVX512)
DEQUANT_ROW(avx2, AVX2)
#endif

// Elements decoded at a time by the portable fused product: one K-quant super-block or eight
// small blocks, 1 KiB of floats that stay in L1 between decoding and the dot products. Exact in
// the input (no rounding of it to 8 bits); the vector bodies use the integer products below.
#define CHUNK 256

static void gemm_quant_portable(int type, const uint8_t *w, size_t row_bytes, size_t cols, size_t r0,
                                size_t r1, const float *x, size_t ldx, size_t nx, float *y, size_t ldy) {
    const size_t chunk_bytes = CHUNK / block_elems(type) * block_bytes(type);
    float buf[CHUNK];
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * row_bytes;
        float acc[8] = {0};
        for (size_t c = 0; c < cols; c += CHUNK) {
            const size_t len = cols - c < CHUNK ? cols - c : CHUNK;
            dequant_row_portable(type, row + c / CHUNK * chunk_bytes, buf, len);
            for (size_t m = 0; m < nx; m++) acc[m] += sf_dot_f32_portable(buf, x + m * ldx + c, len);
        }
        for (size_t m = 0; m < nx; m++) y[m * ldy + r] = acc[m];
    }
}

void sf_dequantize_row(int type, const void *src, float *dst, size_t n) {
    DISPATCH(dequant_row, type, (const uint8_t *)src, dst, n)
}

// ---------------------------------------------------------------------------------------------
// Integer products (AVX2 and up), the way ggml does them: the input rows are quantized once to
// signed bytes in blocks of 32 (scale d, and d times the block's sum of bytes for the formats
// with an offset), then each weight block is unpacked in registers to 32 bytes and meets every
// input in 8-bit multiply-adds (vpmaddubsw: unsigned × signed bytes into 16-bit pairs, vpmaddwd
// into 32-bit lanes; or one AVX512_VNNI vpdpbusd) and one float multiply-add per 32 elements.
// Decoding to floats first costs about twice the instructions, and one-row products are
// compute-bound at that rate on two cores. The input's rounding (half a step of its block's
// 1/127 scale) is the price, as in llama.cpp. The unpacking below follows the block decoders
// above, which define the layouts; block sizes come from the same table.

#ifdef SF_X86
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,f16c,fma")))

enum { MAX_NX = 8 };

typedef struct {
    const int8_t *q;    // cols signed bytes
    const float *d;     // one scale per 32
    const float *s;     // d × the sum of the block's bytes, per 32
    const float *s16;   // d × the sum of each half block's bytes, per 16 (Q2_K's minimums)
} q8_input;

AVX2 static void quantize_input(const float *x, size_t cols, int8_t *q, float *d, float *s, float *s16) {
    for (size_t b = 0; b < cols / 32; b++) {
        const float *v = x + b * 32;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(v[j]));
        const float scale = amax / 127, inv = amax > 0 ? 127 / amax : 0;
        int32_t sum[2] = {0, 0};
        for (int j = 0; j < 32; j++) {
            const int level = (int)nearbyintf(v[j] * inv);
            q[b * 32 + j] = (int8_t)level;
            sum[j / 16] += level;
        }
        d[b] = scale;
        s[b] = scale * (float)(sum[0] + sum[1]);
        s16[2 * b] = scale * (float)sum[0];
        s16[2 * b + 1] = scale * (float)sum[1];
    }
}

// A half-precision scale from memory. Loaded as a whole 32-bit word into a fresh register: a
// 16-bit load compiles to a one-lane insert that merges into a live register and so chains each
// block to the one before. The word's other half is the next field of the block.
AVX2 INLINE float scale_half(const uint8_t *p) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_loadu_si32(p)));
}

AVX2 static inline float hsum_ps256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Not always_inline: it is only ever inlined into the VNNI instantiations below (the AVX2 ones
// pass vnni = 0 and never reach the call).
VNNI static inline __m256i dot_u8_s8_vnni(__m256i u, __m256i s) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
}

// Σ u·s over each 4 bytes, as eight 32-bit lanes; u unsigned, at most 128 (so the 16-bit pairs of
// vpmaddubsw cannot saturate: 2 · 128 · 127 < 32768).
AVX2 INLINE __m256i dot_u8_s8(const int vnni, __m256i u, __m256i s) {
    if (vnni) return dot_u8_s8_vnni(u, s);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Σ q·x for signed weight bytes q: the signs move onto the input so the weight side is unsigned.
AVX2 INLINE __m256i dot_s8_s8(const int vnni, __m256i q, __m256i x) {
    return dot_u8_s8(vnni, _mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q));
}

// The 32 nibbles of a Q4_0 / Q5_0 / Q5_1 block in element order (low nibbles are elements 0–15).
AVX2 INLINE __m256i nibbles32(const uint8_t *qs) {
    const __m128i b = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0xF));
}

// 0xFF in byte j where bit j of the 32-bit word at p is set (the fifth bits of Q5_0 / Q5_1).
AVX2 INLINE __m256i bits32(const uint8_t *p) {
    uint32_t word;
    memcpy(&word, p, 4);
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)word),
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
    // Byte j of spread is byte j / 8 of the word; set every bit but j % 8, then test for all ones.
    const __m256i others = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe);
    return _mm256_cmpeq_epi8(_mm256_or_si256(spread, others), _mm256_set1_epi64x(-1));
}

// iq4_levels in both 128-bit lanes, for a byte shuffle that looks sixteen nibbles up at once.
AVX2 INLINE __m256i iq4_table(void) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)iq4_levels));
}

// One 32-element block against nx inputs: acc[m] += d·dx · Σ q·x, off[m] += m·dx·Σx (Q4_1, Q5_1).
AVX2 INLINE void block32(const int type, const int nx, const int vnni, const uint8_t *w, size_t b,
                         const q8_input *in, __m256 *acc, float *off) {
    __m256i q;
    float m = 0;
    switch (type) {
    case T_Q8_0: q = _mm256_loadu_si256((const __m256i *)(w + 2)); break;
    case T_Q4_0: q = _mm256_sub_epi8(nibbles32(w + 2), _mm256_set1_epi8(8)); break;
    case T_IQ4_NL: q = _mm256_shuffle_epi8(iq4_table(), nibbles32(w + 2)); break;
    case T_Q4_1:
        q = nibbles32(w + 4);
        m = scale_half(w + 2);
        break;
    // nibble | 16 · bit, minus 16: the nibble alone where the bit is set, nibble − 16 where not.
    case T_Q5_0: q = _mm256_or_si256(nibbles32(w + 6), _mm256_andnot_si256(bits32(w + 2), _mm256_set1_epi8((char)0xF0))); break;
    default /* T_Q5_1 */:
        q = _mm256_or_si256(nibbles32(w + 8), _mm256_and_si256(bits32(w + 4), _mm256_set1_epi8(16)));
        m = scale_half(w + 2);
    }
    const float d = scale_half(w);
    for (int k = 0; k < nx; k++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(in[k].q + b * 32));
        const int offset = type == T_Q5_1 || type == T_Q4_1;
        const __m256i p = offset ? dot_u8_s8(vnni, q, x) : dot_s8_s8(vnni, q, x);
        acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(d * in[k].d[b]), _mm256_cvtepi32_ps(p), acc[k]);
        if (offset) off[k] += m * in[k].s[b];
    }
}

// Q4_K / Q5_K super-block: pairs of 32-element sub-blocks share 32 bytes of nibbles; Q5_K's
// fifth bits for pair p are bits 2p and 2p + 1 of the 32 bytes at offset 16. The eight scales
// and minimums are widened together; each input's eight factors d·sc·dx form one vector, from
// which each sub-block broadcasts its lane, and Σ dmin·mn·dx·Σx is subtracted as one vector.
AVX2 INLINE void block_q45_K(const int type, const int nx, const int vnni, const uint8_t *w, size_t sb,
                             const q8_input *in, __m256 *acc0, __m256 *acc1) {
    const __m128 dm = _mm_cvtph_ps(_mm_loadu_si32(w));  // d, dmin
    uint32_t u[4];
    scales_mins_k4(w + 4, u);
    const __m128i packed = _mm_set_epi32((int)u[3], (int)u[2], (int)u[1], (int)u[0]);
    const __m256 scales = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(packed)), _mm256_broadcastss_ps(dm));
    const __m256 dmin = _mm256_broadcastss_ps(_mm_movehdup_ps(dm));
    const __m256 minimums = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(packed, packed))), dmin);
    const uint8_t *qs = w + (type == T_Q5_K ? 48 : 16);
    const __m256i low = _mm256_set1_epi8(0xF), fifth = _mm256_set1_epi8(16);
    __m256i high = type == T_Q5_K ? _mm256_loadu_si256((const __m256i *)(w + 16)) : _mm256_setzero_si256();
    __m256 factors[MAX_NX];
    for (int k = 0; k < nx; k++) {
        factors[k] = _mm256_mul_ps(scales, _mm256_loadu_ps(in[k].d + sb * 8));
        acc1[k] = _mm256_fnmadd_ps(minimums, _mm256_loadu_ps(in[k].s + sb * 8), acc1[k]);
    }
    for (int pair = 0; pair < 4; pair++) {
        const __m256i bytes = _mm256_loadu_si256((const __m256i *)(qs + 32 * pair));
        __m256i q0 = _mm256_and_si256(bytes, low);
        __m256i q1 = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low);
        if (type == T_Q5_K) {
            // Bits 0 and 1 of each byte (after the shifts so far) to bit 4; the 16-bit shifts
            // carry bits between bytes only into positions the masks drop.
            q0 = _mm256_or_si256(q0, _mm256_and_si256(_mm256_slli_epi16(high, 4), fifth));
            q1 = _mm256_or_si256(q1, _mm256_and_si256(_mm256_slli_epi16(high, 3), fifth));
            high = _mm256_srli_epi16(high, 2);
        }
        const __m256i lane0 = _mm256_set1_epi32(2 * pair), lane1 = _mm256_set1_epi32(2 * pair + 1);
        for (int k = 0; k < nx; k++) {
            const int8_t *x = in[k].q + sb * 256 + 64 * pair;
            const __m256i p0 = dot_u8_s8(vnni, q0, _mm256_loadu_si256((const __m256i *)x));
            const __m256i p1 = dot_u8_s8(vnni, q1, _mm256_loadu_si256((const __m256i *)(x + 32)));
            acc0[k] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(factors[k], lane0), _mm256_cvtepi32_ps(p0), acc0[k]);
            acc1[k] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(factors[k], lane1), _mm256_cvtepi32_ps(p1), acc1[k]);
        }
    }
}

// Q6_K super-block: two halves of 128; quarter k of a half takes the low or high nibbles of 32
// ql bytes and bits 2k, 2k + 1 of the 32 qh bytes; a signed scale per 16 elements.
AVX2 INLINE void block_q6_K(const int nx, const int vnni, const uint8_t *w, size_t sb,
                            const q8_input *in, __m256 *acc0, __m256 *acc1) {
    // d is the block's last field: load the word that ends with it.
    const __m256 d = _mm256_broadcastss_ps(_mm_movehdup_ps(_mm_cvtph_ps(_mm_loadu_si32(w + 206))));
    const __m128i sc = _mm_loadu_si128((const __m128i *)(w + 192));
    const __m256 scales[2] = {_mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc))),
                              _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(sc, sc))))};
    const __m256i low = _mm256_set1_epi8(0xF), two = _mm256_set1_epi8(3), offset = _mm256_set1_epi8(32);
    for (int half = 0; half < 2; half++) {
        const uint8_t *ql = w + 64 * half, *qh = w + 128 + 32 * half;
        const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
        const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
        const __m256i h = _mm256_loadu_si256((const __m256i *)qh);
        const __m256i nib[4] = {_mm256_and_si256(l0, low), _mm256_and_si256(l1, low),
                                _mm256_and_si256(_mm256_srli_epi16(l0, 4), low),
                                _mm256_and_si256(_mm256_srli_epi16(l1, 4), low)};
        for (int k = 0; k < 4; k++) {
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(h, 2 * k), two);
            const __m256i q = _mm256_sub_epi8(_mm256_or_si256(nib[k], _mm256_slli_epi16(hi, 4)), offset);
            // Lanes 0–3 hold the first 16 elements (scale 2k of this half), lanes 4–7 the next 16.
            const __m256 scale = _mm256_permutevar8x32_ps(scales[half], _mm256_set_epi32(2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1,
                                                                                         2 * k, 2 * k, 2 * k, 2 * k));
            const size_t e = sb * 256 + half * 128 + k * 32;
            for (int m = 0; m < nx; m++) {
                const __m256i p = dot_s8_s8(vnni, q, _mm256_loadu_si256((const __m256i *)(in[m].q + e)));
                __m256 *acc = k & 1 ? acc1 : acc0;
                acc[m] = _mm256_fmadd_ps(_mm256_mul_ps(scale, _mm256_broadcast_ss(in[m].d + e / 32)), _mm256_cvtepi32_ps(p), acc[m]);
            }
        }
    }
}

// The 16-bit words of a product vector's two halves: sixteen copies of byte `lo` of the 128-bit
// table `t` (in both lanes), then sixteen of byte `lo + 1`, each word the byte repeated, so
// that an arithmetic shift by 8 gives it sign-extended.
AVX2 INLINE __m256i pick_scales16(__m256i t, int lo) {
    const __m256i pattern = _mm256_set_m128i(_mm_set1_epi16((short)((lo + 1) * 0x101)), _mm_set1_epi16((short)(lo * 0x101)));
    return _mm256_srai_epi16(_mm256_shuffle_epi8(t, pattern), 8);
}

// Σ u·s·scale over each 4 bytes as eight 32-bit lanes, for unsigned u ≤ 4 and a 16-bit scale
// per byte pair: the scales of 16-element sub-blocks are multiplied in integers, as ggml does.
// (Not the VNNI instruction: it sums into 32 bits before a scale could apply.)
AVX2 INLINE __m256i dot_scaled(__m256i u, __m256i s, __m256i scales16) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scales16);
}

// Q2_K super-block: each half's 32 bytes of 2-bit values give four 32-element groups (shifts 0,
// 2, 4, 6), each two sub-blocks of 16 with their own scale. The minimums' part, dmin · Σ min ·
// Σx over the sixteen sub-blocks, comes from the inputs' sums per 16, two vectors per input.
AVX2 INLINE void block_q2_K(const int nx, const uint8_t *w, size_t sb, const q8_input *in,
                            __m256 *acc0, __m256 *acc1) {
    const __m128 dm = _mm_cvtph_ps(_mm_loadu_si32(w + 80));  // d, dmin
    const __m128i packed = _mm_loadu_si128((const __m128i *)w);
    const __m128i mins = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0xF));
    const __m256i scales = _mm256_broadcastsi128_si256(_mm_and_si128(packed, _mm_set1_epi8(0xF)));
    const __m256 dmin = _mm256_broadcastss_ps(_mm_movehdup_ps(dm)), d = _mm256_broadcastss_ps(dm);
    const __m256 min0 = _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mins)));
    const __m256 min1 = _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(mins, mins))));
    __m256 factors[MAX_NX];
    for (int k = 0; k < nx; k++) {
        factors[k] = _mm256_mul_ps(d, _mm256_loadu_ps(in[k].d + sb * 8));
        acc1[k] = _mm256_fnmadd_ps(min0, _mm256_loadu_ps(in[k].s16 + sb * 16), acc1[k]);
        acc1[k] = _mm256_fnmadd_ps(min1, _mm256_loadu_ps(in[k].s16 + sb * 16 + 8), acc1[k]);
    }
    for (int half = 0; half < 2; half++) {
        const __m256i bytes = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * half));
        for (int j = 0; j < 4; j++) {
            const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bytes, 2 * j), _mm256_set1_epi8(3));
            const __m256i sc = pick_scales16(scales, 8 * half + 2 * j);
            const __m256i lane = _mm256_set1_epi32(4 * half + j);
            for (int k = 0; k < nx; k++) {
                const __m256i x = _mm256_loadu_si256((const __m256i *)(in[k].q + sb * 256 + 128 * half + 32 * j));
                __m256 *acc = j & 1 ? acc1 : acc0;
                acc[k] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(factors[k], lane), _mm256_cvtepi32_ps(dot_scaled(q, x, sc)), acc[k]);
            }
        }
    }
}

// Q3_K super-block: the 2-bit values as in Q2_K, with the third bits of group j of half h in
// bit 4h + j of the 32 hmask bytes: q = (2-bit value | 4 · bit) − 4. Signed 6-bit scales.
AVX2 INLINE void block_q3_K(const int nx, const uint8_t *w, size_t sb, const q8_input *in,
                            __m256 *acc0, __m256 *acc1) {
    uint8_t sc8[16];
    scales_q3_K(w + 96, sc8);
    const __m256i scales = _mm256_broadcastsi128_si256(_mm_sub_epi8(_mm_loadu_si128((const __m128i *)sc8), _mm_set1_epi8(32)));
    const __m256 d = _mm256_broadcastss_ps(_mm_movehdup_ps(_mm_cvtph_ps(_mm_loadu_si32(w + 106))));  // d is last
    const __m256i hm = _mm256_loadu_si256((const __m256i *)w);
    const __m256i three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1), four = _mm256_set1_epi8(4);
    __m256 factors[MAX_NX];
    for (int k = 0; k < nx; k++) factors[k] = _mm256_mul_ps(d, _mm256_loadu_ps(in[k].d + sb * 8));
    for (int half = 0; half < 2; half++) {
        const __m256i bytes = _mm256_loadu_si256((const __m256i *)(w + 32 + 32 * half));
        for (int j = 0; j < 4; j++) {
            const __m256i low = _mm256_and_si256(_mm256_srli_epi16(bytes, 2 * j), three);
            const __m256i high = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * half + j), one);
            const __m256i q = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 2)), four);
            const __m256i u = _mm256_sign_epi8(q, q);  // the signs move onto the input
            const __m256i sc = pick_scales16(scales, 8 * half + 2 * j);
            const __m256i lane = _mm256_set1_epi32(4 * half + j);
            for (int k = 0; k < nx; k++) {
                const __m256i x = _mm256_loadu_si256((const __m256i *)(in[k].q + sb * 256 + 128 * half + 32 * j));
                const __m256i p = dot_scaled(u, _mm256_sign_epi8(x, q), sc);
                __m256 *acc = j & 1 ? acc1 : acc0;
                acc[k] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(factors[k], lane), _mm256_cvtepi32_ps(p), acc[k]);
            }
        }
    }
}

// IQ4_XS super-block: eight IQ4_NL bodies of 32 with 6-bit scales; each input's eight factors
// d·(scale − 32)·dx form one vector, from which each sub-block broadcasts its lane.
AVX2 INLINE void block_iq4_xs(const int nx, const int vnni, const uint8_t *w, size_t sb, const q8_input *in,
                              __m256 *acc0, __m256 *acc1) {
    int32_t ls[8];
    for (int s = 0; s < 8; s++) ls[s] = scale_iq4_xs(w, s);
    const __m256 scales = _mm256_mul_ps(_mm256_set1_ps(scale_half(w)), _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)ls)));
    const __m256i table = iq4_table();
    __m256 factors[MAX_NX];
    for (int k = 0; k < nx; k++) factors[k] = _mm256_mul_ps(scales, _mm256_loadu_ps(in[k].d + sb * 8));
    for (int s = 0; s < 8; s++) {
        const __m256i q = _mm256_shuffle_epi8(table, nibbles32(w + 8 + 16 * s));
        const __m256i lane = _mm256_set1_epi32(s);
        for (int k = 0; k < nx; k++) {
            const __m256i p = dot_s8_s8(vnni, q, _mm256_loadu_si256((const __m256i *)(in[k].q + sb * 256 + 32 * s)));
            __m256 *acc = s & 1 ? acc1 : acc0;
            acc[k] = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(factors[k], lane), _mm256_cvtepi32_ps(p), acc[k]);
        }
    }
}

// Rows r0 ≤ r < r1 against nx inputs; type, nx and vnni are constants in each instantiation, so
// the accumulators (two per input, alternating, to hide the latency of the float adds) live in
// registers.
AVX2 INLINE void rows_int(const int type, const int nx, const int vnni, const uint8_t *w, size_t row_bytes,
                          size_t cols, size_t r0, size_t r1, const q8_input *in, float *y, size_t ldy) {
    const size_t bytes = block_bytes(type), blocks = cols / block_elems(type);
    for (size_t r = r0; r < r1; r++) {
        const uint8_t *row = w + r * row_bytes;
        __m256 acc0[MAX_NX], acc1[MAX_NX];
        float off[MAX_NX];
        for (int k = 0; k < nx; k++) {
            acc0[k] = acc1[k] = _mm256_setzero_ps();
            off[k] = 0;
        }
        size_t b = 0;
        switch (type) {
        case T_Q4_K:
        case T_Q5_K:
            for (; b < blocks; b++) block_q45_K(type, nx, vnni, row + b * bytes, b, in, acc0, acc1);
            break;
        case T_Q6_K:
            for (; b < blocks; b++) block_q6_K(nx, vnni, row + b * bytes, b, in, acc0, acc1);
            break;
        case T_Q2_K:
            for (; b < blocks; b++) block_q2_K(nx, row + b * bytes, b, in, acc0, acc1);
            break;
        case T_Q3_K:
            for (; b < blocks; b++) block_q3_K(nx, row + b * bytes, b, in, acc0, acc1);
            break;
        case T_IQ4_XS:
            for (; b < blocks; b++) block_iq4_xs(nx, vnni, row + b * bytes, b, in, acc0, acc1);
            break;
        default:
            for (; b + 2 <= blocks; b += 2) {
                block32(type, nx, vnni, row + b * bytes, b, in, acc0, off);
                block32(type, nx, vnni, row + (b + 1) * bytes, b + 1, in, acc1, off);
            }
            if (b < blocks) block32(type, nx, vnni, row + b * bytes, b, in, acc0, off);
        }
        for (int k = 0; k < nx; k++) y[k * ldy + r] = hsum_ps256(_mm256_add_ps(acc0[k], acc1[k])) + off[k];
    }
}

#define INT_ARGS w, row_bytes, cols, r0, r1, in, y, ldy
#define INT_BY_NX(T, V)                                                                        \
    switch (nx) {                                                                              \
    case 1: rows_int(T, 1, V, INT_ARGS); break;                                                \
    case 2: rows_int(T, 2, V, INT_ARGS); break;                                                \
    case 3: rows_int(T, 3, V, INT_ARGS); break;                                                \
    case 4: rows_int(T, 4, V, INT_ARGS); break;                                                \
    case 5: rows_int(T, 5, V, INT_ARGS); break;                                                \
    case 6: rows_int(T, 6, V, INT_ARGS); break;                                                \
    case 7: rows_int(T, 7, V, INT_ARGS); break;                                                \
    case 8: rows_int(T, 8, V, INT_ARGS); break;                                                \
    }                                                                                          \
    break;
#define INT_CASE(T, name, V) case T: INT_BY_NX(T, V)
#define INT_BODY(V) switch (type) { FOR_EACH_QUANT_TYPE(INT_CASE, V) }

AVX2 static void gemm_int_avx2(int type, int nx, const uint8_t *w, size_t row_bytes, size_t cols, size_t r0,
                               size_t r1, const q8_input *in, float *y, size_t ldy) {
    INT_BODY(0)
}

VNNI static void gemm_int_vnni(int type, int nx, const uint8_t *w, size_t row_bytes, size_t cols, size_t r0,
                               size_t r1, const q8_input *in, float *y, size_t ldy) {
    INT_BODY(1)
}

static int has_vnni(void) {
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx512vnni") ? 1 : 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

// Prepared inputs, one after another: the input's signed bytes, then its scales, its scaled
// sums per 32 and its scaled sums per 16, each input starting on a 64-byte boundary.
static size_t prepared_stride(size_t cols) { return (cols + 4 * (cols / 32) * sizeof(float) + 63) & ~(size_t)63; }

static q8_input prepared_input(const void *buf, size_t cols, size_t k) {
    const uint8_t *base = (const uint8_t *)buf + k * prepared_stride(cols);
    const float *d = (const float *)(base + cols);
    return (q8_input){(const int8_t *)base, d, d + cols / 32, d + 2 * (cols / 32)};
}

AVX2 static void prepare_inputs(const float *x, size_t ldx, size_t cols, size_t first, size_t count, void *buf) {
    for (size_t k = first; k < first + count; k++) {
        q8_input in = prepared_input(buf, cols, k);
        quantize_input(x + k * ldx, cols, (int8_t *)in.q, (float *)in.d, (float *)in.s, (float *)in.s16);
    }
}

AVX2 static void gemm_prepared(int type, const uint8_t *w, size_t row_bytes, size_t cols, size_t r0, size_t r1,
                               const void *buf, size_t n_x, float *y, size_t ldy) {
    const int vnni = sf_isa() >= ISA_AVX512 && has_vnni();
    q8_input in[MAX_NX];
    // Up to eight inputs share each weight block while it is in registers.
    for (size_t first = 0; first < n_x; first += MAX_NX) {
        const int nx = n_x - first < MAX_NX ? (int)(n_x - first) : MAX_NX;
        for (int k = 0; k < nx; k++) in[k] = prepared_input(buf, cols, first + (size_t)k);
        if (vnni) gemm_int_vnni(type, nx, w, row_bytes, cols, r0, r1, in, y + first * ldy, ldy);
        else gemm_int_avx2(type, nx, w, row_bytes, cols, r0, r1, in, y + first * ldy, ldy);
    }
}

AVX2 static void gemm_quant_int(int type, const uint8_t *w, size_t row_bytes, size_t cols, size_t r0, size_t r1,
                                const float *x, size_t ldx, size_t n_x, float *y, size_t ldy) {
    uint8_t buf[MAX_NX * prepared_stride(cols)] __attribute__((aligned(64)));
    for (size_t first = 0; first < n_x; first += MAX_NX) {
        const size_t nx = n_x - first < MAX_NX ? n_x - first : MAX_NX;
        prepare_inputs(x + first * ldx, ldx, cols, 0, nx, buf);
        gemm_prepared(type, w, row_bytes, cols, r0, r1, buf, nx, y + first * ldy, ldy);
    }
}
#endif

size_t sf_quant_prepared_bytes(int type, size_t cols, size_t n_x) {
#ifdef SF_X86
    if (block_bytes(type) && sf_isa() >= ISA_AVX2 && cols % 32 == 0) return n_x * prepared_stride(cols);
#endif
    (void)type, (void)cols, (void)n_x;
    return 0;
}

void sf_quant_prepare_inputs(const float *x, size_t ldx, size_t cols, size_t first, size_t count, void *buf) {
#ifdef SF_X86
    prepare_inputs(x, ldx, cols, first, count, buf);
#else
    (void)x, (void)ldx, (void)cols, (void)first, (void)count, (void)buf;
#endif
}

void sf_gemm_quant_prepared(int type, const void *w, size_t row_bytes, size_t cols, size_t row_begin, size_t row_end,
                            const void *inputs, size_t n_x, float *y, size_t ldy) {
#ifdef SF_X86
    gemm_prepared(type, (const uint8_t *)w, row_bytes, cols, row_begin, row_end, inputs, n_x, y, ldy);
#else
    (void)type, (void)w, (void)row_bytes, (void)cols, (void)row_begin, (void)row_end, (void)inputs, (void)n_x,
        (void)y, (void)ldy;
#endif
}

void sf_gemm_quant_small(int type, const void *w, size_t row_bytes, size_t cols, size_t row_begin,
                         size_t row_end, const float *x, size_t ldx, size_t n_x, float *y, size_t ldy) {
#ifdef SF_X86
    if (block_bytes(type) && sf_isa() >= ISA_AVX2) {
        gemm_quant_int(type, (const uint8_t *)w, row_bytes, cols, row_begin, row_end, x, ldx, n_x, y, ldy);
        return;
    }
#endif
    // Portable: up to eight inputs share each decoded chunk.
    for (; n_x > 0; x += 8 * ldx, y += 8 * ldy) {
        const size_t n = n_x < 8 ? n_x : 8;
        gemm_quant_portable(type, w, row_bytes, cols, row_begin, row_end, x, ldx, n, y, ldy);
        n_x -= n;
    }
}
