// Innermost numeric kernels of seedflow, in C so that clang emits the vector instructions
// (f16→f32 conversion, FMA) that Swift's code generation does not. Each entry point picks an
// AVX-512, AVX2+F16C or portable body once, at run time, so the binary runs on any x86-64
// and on arm64. Thread-parallelism lives in the caller; these functions are single-threaded.
#ifndef SEEDFLOW_CKERNELS_H
#define SEEDFLOW_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "sf_interrupt.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Name of the instruction set the kernels dispatched to ("avx512", "avx2", "portable").
const char *sf_kernel_isa(void);
/// Makes the kernels use the named body ("avx512", "avx2", "portable"), or the detected one
/// again for NULL, so that tests can check every body on one machine. Returns 0, changing
/// nothing, for an unknown name or one this processor cannot run. Not for use while kernels run.
int sf_kernel_force_isa(const char *name);

/// dst[i] = (float)src[i] for IEEE half-precision src.
void sf_f16_to_f32(const uint16_t *src, float *dst, size_t n);
/// dst[i] = (float)src[i] for bfloat16 src.
void sf_bf16_to_f32(const uint16_t *src, float *dst, size_t n);

/// y[r] = dot(W[r, :], x) for r in [row_begin, row_end); W is f16, row-major with `cols` columns.
void sf_gemv_f16(const uint16_t *w, size_t cols, size_t row_begin, size_t row_end,
                 const float *x, float *y);
/// The same for f32 weights.
void sf_gemv_f32(const float *w, size_t cols, size_t row_begin, size_t row_end,
                 const float *x, float *y);

/// Y[m, r] = dot(W[r, :], X[m, :]) for m < n_x, r in [row_begin, row_end); n_x = 0 writes nothing.
/// ldx / ldy are the row strides of X and Y in floats. One dot product per row and input: the
/// AVX2 and portable bodies (AVX-512 processors multiply panels, below).
void sf_gemm_f16_small(const uint16_t *w, size_t cols, size_t row_begin, size_t row_end,
                       const float *x, size_t ldx, size_t n_x, float *y, size_t ldy);

/// f16 weights repacked in panels of 16 rows, stored column by column (16 halves per column,
/// the last panel padded with zero rows), for the AVX-512 products: `sf_f16_panels_preferred`
/// says whether this processor runs them (elsewhere the portable body does, correctly but
/// slowly). `sf_f16_panels_halves` is the size of the packed matrix in halves;
/// `sf_pack_f16_panels` packs panels [panel_begin, panel_end) of the row-major W (disjoint
/// ranges may run on different threads).
int sf_f16_panels_preferred(void);
size_t sf_f16_panels_halves(size_t rows, size_t cols);
void sf_pack_f16_panels(const uint16_t *w, size_t rows, size_t cols, size_t panel_begin, size_t panel_end,
                        uint16_t *panels);
/// Rows [row_begin, row_end) of W, packed in panels, widened to row-major f32 in dst
/// ((row_end − row_begin) × cols floats).
void sf_f16_panels_to_f32(const uint16_t *panels, size_t cols, size_t row_begin, size_t row_end, float *dst);
/// Y[m, r] = dot(W[r, :], X[m, :]) for m < n_x, r in [row_begin, row_end), W packed in panels.
/// Every output is summed in column order (the first product, then one fused multiply-add per
/// column), so it is bit-identical whatever the range, the number of inputs or the body. The
/// AVX-512 body takes up to 8 inputs per sweep of a tile of three panels, so a few rows at once
/// (batched decode, speculative verification) cost nearly what one costs when weights dominate.
/// `streaming` is nonzero when the weights are read from memory, not cache (a model larger than
/// the last-level cache): up to 3 inputs then leave the prefetching to the hardware.
void sf_gemm_f16_panels(const uint16_t *panels, size_t cols, size_t row_begin, size_t row_end,
                        const float *x, size_t ldx, size_t n_x, float *y, size_t ldy, int streaming);

/// Elements and bytes of one block of the quantized ggml type `type` (its GGUF type id); returns
/// 0 for a type these kernels do not decode (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K,
/// Q5_K, Q6_K, IQ4_NL and IQ4_XS are).
int sf_quant_block(int type, size_t *elements, size_t *bytes);
/// Decodes n elements (whole blocks) of the quantized type `type` from src into dst.
void sf_dequantize_row(int type, const void *src, float *dst, size_t n);
/// Y[m, r] = dot(W[r, :], X[m, :]) for m < n_x, r in [row_begin, row_end), W quantized as
/// `type` with rows of `cols` elements, `row_bytes` apart. Each weight block is unpacked once, in
/// registers, for up to eight inputs: the one-row product (decode) and the few-row one
/// (verification). The vector bodies (AVX2, AVX512_VNNI) round each input to 8 bits per 32
/// elements and multiply in integers, as ggml does; the portable body is exact in the input.
void sf_gemm_quant_small(int type, const void *w, size_t row_bytes, size_t cols, size_t row_begin,
                         size_t row_end, const float *x, size_t ldx, size_t n_x, float *y, size_t ldy);

/// The integer path with the inputs rounded once for a whole matrix product, instead of once per
/// call: `sf_quant_prepared_bytes` gives the buffer size for n_x inputs of `cols` elements, or 0
/// where this path is not available (no AVX2, or rows not whole 32-element blocks; use
/// `sf_gemm_quant_small` or widened weights there). `sf_quant_prepare_inputs` rounds inputs
/// [first, first + count) of X into the buffer (disjoint ranges may run on different threads);
/// `sf_gemm_quant_prepared` then computes Y[m, r] for m < n_x, r in [row_begin, row_end), with
/// exactly the arithmetic of `sf_gemm_quant_small` on the same inputs.
size_t sf_quant_prepared_bytes(int type, size_t cols, size_t n_x);
void sf_quant_prepare_inputs(const float *x, size_t ldx, size_t cols, size_t first, size_t count, void *buffer);
void sf_gemm_quant_prepared(int type, const void *w, size_t row_bytes, size_t cols, size_t row_begin,
                            size_t row_end, const void *inputs, size_t n_x, float *y, size_t ldy);

/// dot(a, b) over n floats.
float sf_dot_f32(const float *a, const float *b, size_t n);
/// y += alpha * x over n floats.
void sf_axpy_f32(float alpha, const float *x, float *y, size_t n);

/// y[i] = e^x[i]; the vector bodies are within a few ulp of expf (AVX2 saturates above 88.3).
/// x and y may be the same array.
void sf_exp_f32(const float *x, float *y, size_t n);
/// g[i] = silu(g[i]) · u[i], silu(a) = a / (1 + e^−a): the SwiGLU feed-forward activation.
void sf_swiglu(float *g, const float *u, size_t n);
/// row = softmax(row) in place over n floats (n = 0 leaves it alone).
void sf_softmax(float *row, size_t n);

/// scores[s] = scale · dot(q, k + s·stride) over hd floats, for s < count: one block of keys.
void sf_attention_scores(const float *q, const float *k, size_t stride, size_t count, size_t hd,
                         float scale, float *scores);
/// out += Σ_s w[s] · (v + s·stride) over hd floats: one block of values.
void sf_attention_accumulate(const float *w, const float *v, size_t stride, size_t count, size_t hd,
                             float *out);
/// A block of keys against the vectors of `rows` consecutive query positions × `heads` query heads
/// that share its KV head: vector m (row m / heads, head m % heads) is at
/// q + (m / heads)·q_row_stride + (m % heads)·hd, sees the block's first
/// min(count, max(0, first_visible + m / heads)) keys (causal attention: a later row sees more),
/// and gets their scores, as sf_attention_scores computes them, at scores + m·score_stride.
void sf_attention_scores_rows(const float *q, size_t q_row_stride, size_t heads, size_t rows,
                              const float *k, size_t stride, ptrdiff_t first_visible, size_t count,
                              size_t hd, float scale, float *scores, size_t score_stride);
/// The value sums for the same vectors: out_m += Σ_s w_m[s] · v_s over the keys vector m sees,
/// as sf_attention_accumulate computes them, with w_m at w + m·w_stride and out_m at
/// out + (m / heads)·out_row_stride + (m % heads)·hd.
void sf_attention_accumulate_rows(const float *w, size_t w_stride, size_t heads, size_t rows,
                                  const float *v, size_t stride, ptrdiff_t first_visible, size_t count,
                                  size_t hd, float *out, size_t out_row_stride);
/// Asks for rows base + s·stride, s < count, of hd floats each to be brought into cache (a hint:
/// it reads nothing and faults on nothing): the next block of keys or values.
void sf_prefetch_rows(const float *base, size_t stride, size_t count, size_t hd);

/// A pool of worker threads that run `fn(ctx, i)` for i in [0, n) together with the caller.
/// Workers spin briefly between jobs (a decode step issues dozens) and then sleep.
typedef struct sf_pool sf_pool;
typedef void (*sf_task_fn)(void *ctx, size_t index);
sf_pool *sf_pool_create(int threads);
void sf_pool_destroy(sf_pool *pool);
int sf_pool_threads(const sf_pool *pool);
void sf_pool_run(sf_pool *pool, sf_task_fn fn, void *ctx, size_t n);
/// The index of the calling thread within its pool: 0 for the thread that calls sf_pool_run,
/// 1 … threads − 1 for the workers (and 0 for any thread outside a pool).
int sf_pool_current_thread(void);

#ifdef __cplusplus
}
#endif
#endif
