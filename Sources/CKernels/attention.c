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
SPECIALISE_SCORES(AVX2, avx2)
SPECIALISE_ACCUMULATE(AVX2, avx2)
#endif
SPECIALISE_SCORES(, portable)
SPECIALISE_ACCUMULATE(, portable)

// ---------------------------------------------------------------------------------------------
// AVX-512: V query vectors at a time against one block. The query heads that share a KV head
// (grouped-query attention) and the rows of a verification or prefill pass all read the same
// keys and values; one vector at a time, a block's work is bound by loads (17 per 16 FMAs), not
// by FMAs, and groups of V vectors load each key (or value) row once for V FMAs. The one-vector
// kernels are the V = 1 case of the same code, so every output is computed exactly the same way
// whatever its group: a score's FMAs run over the head in order from zero and are summed by the
// same fold, and a value sum takes its keys in ascending order with one FMA each (explicit
// intrinsics, not left to the compiler's contraction of a * b + c). A query's attention thus
// does not depend on how many others share its pass, and a verification row matches one-token
// decoding bit for bit.
#if defined(__x86_64__)
// V vectors × 16 / V keys per sweep: the 16 accumulators one hsum16 folds. Lane v·KEYS + j of the
// fold is vector v's score of key j; its accumulator is 4 (lane % 4) + lane / 4 (hsum16_avx512).
// Vector v stores its scores of the keys it sees, seen[v] ≤ count; keys past `count` are not read.
#define SCORES_GROUP_AVX512(V)                                                                          \
    INLINE AVX512 void scores_group##V##_avx512(const float *const *q, const float *k, size_t stride,   \
                                                size_t count, size_t hd, float scale,                   \
                                                float *const *scores, const size_t *seen) {             \
        enum { KEYS = 16 / V };                                                                         \
        const __m512 scale_v = _mm512_set1_ps(scale);                                                   \
        const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);    \
        for (size_t first = 0; first < count; first += KEYS) {                                          \
            const size_t n = count - first < KEYS ? count - first : KEYS;                               \
            __m512 acc[16];                                                                             \
            for (int s = 0; s < 16; s++) acc[s] = _mm512_setzero_ps();                                  \
            for (size_t d = 0; d < hd; d += 16) {                                                       \
                __m512 qv[V];                                                                           \
                for (int v = 0; v < V; v++) qv[v] = _mm512_loadu_ps(q[v] + d);                          \
                /* A constant trip count keeps the accumulators in registers. */                        \
                _Pragma("clang loop unroll(full)")                                                      \
                for (int j = 0; j < KEYS; j++) {                                                        \
                    if ((size_t)j < n) {                                                                \
                        const __m512 kv = _mm512_loadu_ps(k + (first + j) * stride + d);                \
                        for (int v = 0; v < V; v++) {                                                   \
                            const int lane = v * KEYS + j, a = 4 * (lane % 4) + lane / 4;               \
                            acc[a] = _mm512_fmadd_ps(qv[v], kv, acc[a]);                                \
                        }                                                                               \
                    }                                                                                   \
                }                                                                                       \
            }                                                                                           \
            const __m512 sums = _mm512_mul_ps(hsum16_avx512(acc), scale_v);                             \
            for (int v = 0; v < V; v++) {                                                               \
                if (seen[v] <= first) continue;                                                         \
                const size_t live = seen[v] - first < n ? seen[v] - first : n;                          \
                const __m512i mine = _mm512_permutexvar_epi32(_mm512_add_epi32(iota, _mm512_set1_epi32(v * KEYS)), \
                                                              _mm512_castps_si512(sums));               \
                _mm512_mask_storeu_ps(scores[v] + first, lanes16(live), _mm512_castsi512_ps(mine));     \
            }                                                                                           \
        }                                                                                               \
    }
SCORES_GROUP_AVX512(4)
SCORES_GROUP_AVX512(2)
SCORES_GROUP_AVX512(1)

// V output rows of up to 16 / V vectors each (at most 8) stay in registers while a block's
// values go by; wider heads take several sweeps.
#define ACCUMULATE_GROUP_AVX512(V)                                                                      \
    INLINE AVX512 void accumulate_group##V##_avx512(const float *const *w, const float *v, size_t stride, \
                                                    size_t count, size_t hd, float *const *out) {       \
        enum { CHUNKS = 16 / V < 8 ? 16 / V : 8 };                                                      \
        for (size_t d0 = 0; d0 < hd; d0 += 16 * CHUNKS) {                                               \
            const size_t chunks = (hd - d0) / 16 < CHUNKS ? (hd - d0) / 16 : CHUNKS;                    \
            __m512 acc[V][CHUNKS];                                                                      \
            for (int r = 0; r < V; r++)                                                                 \
                for (size_t c = 0; c < chunks; c++) acc[r][c] = _mm512_loadu_ps(out[r] + d0 + 16 * c);  \
            for (size_t s = 0; s < count; s++) {                                                        \
                const float *row = v + s * stride + d0;                                                 \
                __m512 ws[V];                                                                           \
                for (int r = 0; r < V; r++) ws[r] = _mm512_set1_ps(w[r][s]);                            \
                _Pragma("clang loop unroll(full)")                                                      \
                for (size_t c = 0; c < CHUNKS; c++) {                                                   \
                    if (c < chunks) {                                                                   \
                        const __m512 x = _mm512_loadu_ps(row + 16 * c);                                 \
                        for (int r = 0; r < V; r++) acc[r][c] = _mm512_fmadd_ps(ws[r], x, acc[r][c]);   \
                    }                                                                                   \
                }                                                                                       \
            }                                                                                           \
            for (int r = 0; r < V; r++)                                                                 \
                for (size_t c = 0; c < chunks; c++) _mm512_storeu_ps(out[r] + d0 + 16 * c, acc[r][c]);  \
        }                                                                                               \
    }
ACCUMULATE_GROUP_AVX512(4)
ACCUMULATE_GROUP_AVX512(2)
ACCUMULATE_GROUP_AVX512(1)

AVX512 static void scores_avx512(const float *q, const float *k, size_t stride, size_t count, size_t hd,
                                 float scale, float *scores) {
    const float *qs[1] = {q};
    float *outs[1] = {scores};
    const size_t seen[1] = {count};
    if (hd == 64) scores_group1_avx512(qs, k, stride, count, 64, scale, outs, seen);
    else if (hd == 128) scores_group1_avx512(qs, k, stride, count, 128, scale, outs, seen);
    else if (hd % 16 == 0) scores_group1_avx512(qs, k, stride, count, hd, scale, outs, seen);
    else scores_body(q, k, stride, count, hd, scale, scores);
}

AVX512 static void accumulate_avx512(const float *w, const float *v, size_t stride, size_t count, size_t hd,
                                     float *out) {
    const float *ws[1] = {w};
    float *outs[1] = {out};
    if (hd == 64) accumulate_group1_avx512(ws, v, stride, count, 64, outs);
    else if (hd == 128) accumulate_group1_avx512(ws, v, stride, count, 128, outs);
    else if (hd % 16 == 0) accumulate_group1_avx512(ws, v, stride, count, hd, outs);
    else accumulate_body(w, v, stride, count, hd, out);
}
#endif

/// Keys of the block that row `row` sees: the first first_visible + row, within 0…count.
static inline size_t keys_seen(ptrdiff_t first_visible, size_t row, size_t count) {
    const ptrdiff_t n = first_visible + (ptrdiff_t)row;
    return n <= 0 ? 0 : (size_t)n < count ? (size_t)n : count;
}

#if defined(__x86_64__)
// The vectors of a rows call in groups of 4, then 2; returns how many it took (the rest go one
// at a time). Vector m is row m / heads, so later vectors see as many keys or more.
AVX512 static size_t scores_groups_avx512(const float *q, size_t q_row_stride, size_t heads, size_t rows,
                                          const float *k, size_t stride, ptrdiff_t first_visible, size_t count,
                                          size_t hd, float scale, float *scores, size_t score_stride) {
    const size_t vectors = heads * rows;
    size_t m = 0;
    for (size_t group = 4; group >= 2; group /= 2) {
        for (; m + group <= vectors; m += group) {
            const float *qs[4];
            float *outs[4];
            size_t seen[4];
            for (size_t g = 0; g < group; g++) {
                qs[g] = q + ((m + g) / heads) * q_row_stride + ((m + g) % heads) * hd;
                outs[g] = scores + (m + g) * score_stride;
                seen[g] = keys_seen(first_visible, (m + g) / heads, count);
            }
            const size_t most = seen[group - 1];
            if (most == 0) continue;
            if (group == 4) scores_group4_avx512(qs, k, stride, most, hd, scale, outs, seen);
            else scores_group2_avx512(qs, k, stride, most, hd, scale, outs, seen);
        }
    }
    return m;
}

AVX512 static size_t accumulate_groups_avx512(const float *w, size_t w_stride, size_t heads, size_t rows,
                                              const float *v, size_t stride, ptrdiff_t first_visible,
                                              size_t count, size_t hd, float *out, size_t out_row_stride) {
    const size_t vectors = heads * rows;
    size_t m = 0;
    // Four rows of up to 64 floats fill 16 registers, as do two of up to 128 (wider heads take
    // several sweeps either way).
    for (size_t group = hd <= 64 ? 4 : 2; group >= 2; group /= 2) {
        for (; m + group <= vectors; m += group) {
            const float *ws[4];
            float *outs[4];
            size_t seen[4];
            for (size_t g = 0; g < group; g++) {
                ws[g] = w + (m + g) * w_stride;
                outs[g] = out + ((m + g) / heads) * out_row_stride + ((m + g) % heads) * hd;
                seen[g] = keys_seen(first_visible, (m + g) / heads, count);
            }
            // Keys every vector of the group sees together, then each vector's own further keys
            // in order, so that each output takes its keys in ascending order.
            const size_t common = seen[0];
            if (common > 0) {
                if (group == 4) accumulate_group4_avx512(ws, v, stride, common, hd, outs);
                else accumulate_group2_avx512(ws, v, stride, common, hd, outs);
            }
            for (size_t g = 0; g < group; g++)
                if (seen[g] > common)
                    accumulate_avx512(ws[g] + common, v + common * stride, stride, seen[g] - common, hd, outs[g]);
        }
    }
    return m;
}
#endif

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

void sf_attention_scores_rows(const float *q, size_t q_row_stride, size_t heads, size_t rows,
                              const float *k, size_t stride, ptrdiff_t first_visible, size_t count,
                              size_t hd, float scale, float *scores, size_t score_stride) {
    size_t m = 0;
#if defined(__x86_64__)
    if (sf_isa() == ISA_AVX512 && hd % 16 == 0)
        m = scores_groups_avx512(q, q_row_stride, heads, rows, k, stride, first_visible, count, hd, scale,
                                 scores, score_stride);
#endif
    for (; m < heads * rows; m++) {
        const size_t n = keys_seen(first_visible, m / heads, count);
        if (n > 0) sf_attention_scores(q + (m / heads) * q_row_stride + (m % heads) * hd, k, stride, n, hd, scale,
                                       scores + m * score_stride);
    }
}

void sf_attention_accumulate_rows(const float *w, size_t w_stride, size_t heads, size_t rows,
                                  const float *v, size_t stride, ptrdiff_t first_visible, size_t count,
                                  size_t hd, float *out, size_t out_row_stride) {
    size_t m = 0;
#if defined(__x86_64__)
    if (sf_isa() == ISA_AVX512 && hd % 16 == 0)
        m = accumulate_groups_avx512(w, w_stride, heads, rows, v, stride, first_visible, count, hd, out,
                                     out_row_stride);
#endif
    for (; m < heads * rows; m++) {
        const size_t n = keys_seen(first_visible, m / heads, count);
        if (n > 0) sf_attention_accumulate(w + m * w_stride, v, stride, n, hd,
                                           out + (m / heads) * out_row_stride + (m % heads) * hd);
    }
}

void sf_prefetch_rows(const float *base, size_t stride, size_t count, size_t hd) {
    // One hint per 64-byte line of each row.
    for (size_t s = 0; s < count; s++)
        for (size_t d = 0; d < hd; d += 16) __builtin_prefetch(base + s * stride + d, 0, 3);
}
