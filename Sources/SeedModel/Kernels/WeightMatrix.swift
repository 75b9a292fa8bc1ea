import CBLAS
import CKernels

/// A weight matrix as stored in the file: `rows` output features, each a row of `cols` inputs,
/// in the file's own element type. It points into the memory-mapped file; no copy is made.
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    public let rowBytes: Int

    init(tensor: GGUFTensorInfo, file: GGUFFile) {
        type = tensor.type
        cols = tensor.rowLength
        rows = tensor.rowCount
        data = file.data(of: tensor).baseAddress!
        rowBytes = tensor.rowBytes
    }

    public var byteCount: Int { rows * rowBytes }

    /// Widens rows [first, first + count) to f32 into `dst` (count × cols floats).
    func dequantizeRows(_ first: Int, _ count: Int, into dst: UnsafeMutablePointer<Float>) {
        if type == .f16 {
            // One call for the whole tile: rows are contiguous.
            sf_f16_to_f32((data + first * rowBytes).assumingMemoryBound(to: UInt16.self), dst, count * cols)
            return
        }
        for r in 0..<count {
            TensorEncoding.dequantizeRow(type, data + (first + r) * rowBytes, dst + r * cols, count: cols)
        }
    }
}

/// Matrix products against stored weights: Y[T × rows] = X[T × cols] · Wᵀ.
///
/// One input row (decode) is bound by the bytes of weights read, so it runs a fused kernel
/// straight from the mapping: f16 widened in registers, quantized blocks unpacked in registers
/// and multiplied in integers against the input rounded to 8 bits. More rows (batched decode,
/// verification, prefill) reuse each weight row, or unpacked block, for up to 8 inputs, in
/// blocks of rows that stay in cache for the next 8. f16 products of more rows than that kernel
/// takes (`smallBatchLimit`) widen one tile of weights at a time into a per-thread f32 buffer
/// that stays in cache and hand it to `cblas_sgemm`: the widening is paid once per tile, not
/// once per input row, and no f32 copy of the model ever exists.
public final class LinearKernels: @unchecked Sendable {
    public let pool: ThreadPool
    /// Per-thread tile buffers for the sgemm path.
    private var tiles: [UnsafeMutablePointer<Float>] = []
    private var tileCapacity = 0
    /// Inputs rounded to 8 bits for the quantized integer path (grown as needed, kept).
    private var prepared: UnsafeMutableRawPointer?
    private var preparedCapacity = 0
    /// f16 inputs of at most this many rows use the register-blocked kernel (up to 8 inputs per
    /// sweep over a block of weight rows, which the later sweeps read from L1); more rows widen
    /// tiles for sgemm. The AVX-512 tiles were ahead of widen + sgemm at every size measured:
    /// per decode step, alternating in one process (`bench batch`, 150 to 1000 rows), 0–11 % on
    /// the benchmark target and 1–6 % on the demo target; `bench model` prefill of the 0.5B
    /// shape, 256 to 1024 tokens, 7–39 %. So they take every product of up to 1024 rows.
    /// The AVX2 and portable kernels compute one dot product per row and input, which sgemm
    /// beats beyond a few inputs (a harness on weights beyond the cache, 2 threads: level at
    /// 128), so they keep 128.
    static var smallBatchLimit: Int { sf_gemm_f16_tiled() != 0 ? 1024 : 128 }
    /// Quantized weights take the 8-bit integer kernel (input rounded to 8 bits, as ggml does);
    /// where it cannot prepare its inputs (no AVX2), the exact portable kernel for up to 8 rows
    /// and widened tiles with sgemm beyond.
    static let quantizedSmallBatchLimit = 8
    /// Inputs rounded at a time by the quantized path: a longer product runs in slices of this
    /// many rows (each slice sweeps the weights once more, which a prefill of that size, being
    /// compute-bound, does not notice).
    static let preparedRowLimit = 256
    /// Widened tile size in floats (≈ 512 KB: inside the L2 of the cores this was tuned on).
    static let tileFloats = 128 * 1024

    /// Whether this model's weights exceed the last-level cache, so that every product reads
    /// them from memory (the f16 kernel then takes 2–3 inputs one row at a time).
    public let weightsStream: Bool

    public init(pool: ThreadPool, weightBytes: Int) {
        self.pool = pool
        weightsStream = weightBytes > CPUCache.lastLevelBytes
    }

    deinit {
        tiles.forEach { $0.deallocate() }
        prepared?.deallocate()
    }

    private func ensureTiles(_ floats: Int) {
        if tiles.count == pool.threads && tileCapacity >= floats { return }
        tiles.forEach { $0.deallocate() }
        tileCapacity = max(floats, LinearKernels.tileFloats)
        tiles = (0..<pool.threads).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: tileCapacity) }
    }

    public func multiply(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows t: Int, into y: UnsafeMutablePointer<Float>) {
        if t == 0 { return }
        switch w.type {
        case .f16 where t <= LinearKernels.smallBatchLimit:
            let streaming = weightsStream
            pool.chunks(w.rows, granule: 16) { r in Self.multiplyF16(w, x, rows: t, into: y, outputs: r, streaming: streaming) }
        case .f32:
            let wp = w.data.assumingMemoryBound(to: Float.self)
            pool.chunks(w.rows, granule: 16) { r in
                if t == 1 {
                    sf_gemv_f32(wp, w.cols, r.lowerBound, r.upperBound, x, y)
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(r.count), Int32(w.cols),
                                1, x, Int32(w.cols), wp + r.lowerBound * w.cols, Int32(w.cols),
                                0, y + r.lowerBound, Int32(w.rows))
                }
            }
        case _ where w.type.isQuantized && sf_quant_prepared_bytes(Int32(w.type.id), w.cols, t) > 0:
            multiplyQuantized(w, x, rows: t, into: y)
        case _ where w.type.isQuantized && t <= LinearKernels.quantizedSmallBatchLimit:
            pool.chunks(w.rows, granule: 16) { r in
                sf_gemm_quant_small(Int32(w.type.id), w.data, w.rowBytes, w.cols, r.lowerBound, r.upperBound,
                                    x, w.cols, t, y, w.rows)
            }
        default:
            multiplyWidened(w, x, rows: t, into: y)
        }
    }

    /// Products of two or three matrices with the same input, handed to the pool at once: the
    /// attention's query, key and value, the feed-forward's gate and up. On a small model each
    /// product is a few microseconds of work, about what a hand-off and the wait for the slower
    /// thread cost. Other types or many rows take the products one by one.
    public func multiply(_ a: WeightMatrix, into ya: UnsafeMutablePointer<Float>,
                         _ b: WeightMatrix, into yb: UnsafeMutablePointer<Float>,
                         _ c: WeightMatrix? = nil, into yc: UnsafeMutablePointer<Float>? = nil,
                         input x: UnsafePointer<Float>, rows t: Int) {
        let count = c == nil ? 2 : 3
        guard t > 0, t <= LinearKernels.smallBatchLimit, a.type == .f16, b.type == .f16,
              c.map({ $0.type == .f16 }) ?? true, (c == nil) == (yc == nil) else {
            multiply(a, x, rows: t, into: ya)
            multiply(b, x, rows: t, into: yb)
            if let c, let yc { multiply(c, x, rows: t, into: yc) }
            return
        }
        let parts = pool.threads
        let streaming = weightsStream
        pool.run(count * parts) { task in
            let (w, y) = switch task / parts {
            case 0: (a, ya)
            case 1: (b, yb)
            default: (c!, yc!)
            }
            let rows = ThreadPool.chunk(task % parts, of: w.rows, parts: parts, granule: 16)
            if !rows.isEmpty { Self.multiplyF16(w, x, rows: t, into: y, outputs: rows, streaming: streaming) }
        }
    }

    /// Weight rows the quantized multi-input kernel takes at a time when there are more than 8
    /// inputs: about 128 KB, read from memory by the first sweep of 8 inputs and from L2 by the
    /// others.
    private static func blockRows(_ w: WeightMatrix) -> Int { max(16, (128 << 10) / max(1, w.rowBytes)) }

    /// Weight rows the f16 kernel takes at a time when there are more than 8 inputs: four
    /// three-row tiles, which stay in L1 while every group of inputs sweeps them, so the weights
    /// are read from memory at an even pace throughout the product instead of in bursts by each
    /// block's first group. Measured per decode step, interleaved in one process (`bench batch`,
    /// 15 and 21 sequences): 3–7 % faster than 128 KB blocks on the demo target and 1–5 % on the
    /// benchmark target; 24 rows did about as well, and 8 or fewer inputs see no difference.
    static let f16BlockRows = 12

    /// Outputs `outputs` of an f16 product of up to `smallBatchLimit` rows, on the calling thread.
    /// Every tile shape sums each output in the same order, so `streaming` never changes a result.
    private static func multiplyF16(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows t: Int,
                                    into y: UnsafeMutablePointer<Float>, outputs r: Range<Int>, streaming: Bool) {
        let wp = w.data.assumingMemoryBound(to: UInt16.self)
        if t == 1 {
            sf_gemv_f16(wp, w.cols, r.lowerBound, r.upperBound, x, y)
            return
        }
        let block = t <= 8 ? r.count : Self.f16BlockRows
        for r0 in stride(from: r.lowerBound, to: r.upperBound, by: block) {
            sf_gemm_f16_small(wp, w.cols, r0, min(r.upperBound, r0 + block), x, w.cols, t, y, w.rows,
                              streaming ? 1 : 0)
        }
    }

    /// Quantized weights on a vector ISA: every product, whatever its row count, rounds its inputs
    /// to 8 bits once and multiplies in integers. One arithmetic for every batch size keeps a
    /// request's logits independent of what else is in its pass, and keeps speculative
    /// verification exactly as greedy as one-token decoding. It is also faster at a few inputs
    /// (about 160 against 70 GFLOP/s for widen + sgemm at 8, Q4_0, 2 threads, in a standalone
    /// harness) and level with widen + sgemm at 128 (`bench model` prefill, 0.5B Q8_0 and Q4_0).
    private func multiplyQuantized(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows t: Int, into y: UnsafeMutablePointer<Float>) {
        // A long prompt goes in slices, so the rounded inputs stay a few MB (7B shapes: 6 MB).
        let slice = LinearKernels.preparedRowLimit
        if t > slice {
            for first in stride(from: 0, to: t, by: slice) {
                multiplyQuantized(w, x + first * w.cols, rows: min(slice, t - first), into: y + first * w.rows)
            }
            return
        }
        let type = Int32(w.type.id)
        let bytes = sf_quant_prepared_bytes(type, w.cols, t)
        if bytes > preparedCapacity {
            prepared?.deallocate()
            prepared = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            preparedCapacity = bytes
        }
        guard let buffer = prepared else { preconditionFailure("no buffer for \(bytes) bytes of rounded inputs") }
        if t <= 8 {
            sf_quant_prepare_inputs(x, w.cols, w.cols, 0, t, buffer)
        } else {
            pool.chunks(t) { m in sf_quant_prepare_inputs(x, w.cols, w.cols, m.lowerBound, m.count, buffer) }
        }
        // Up to 8 inputs: one sweep over the rows. More: sweeps of 8 block by block.
        let block = t <= 8 ? w.rows : Self.blockRows(w)
        pool.chunks(w.rows, granule: 16) { r in
            for r0 in stride(from: r.lowerBound, to: r.upperBound, by: block) {
                sf_gemm_quant_prepared(type, w.data, w.rowBytes, w.cols, r0, min(r.upperBound, r0 + block),
                                       buffer, t, y, w.rows)
            }
        }
    }

    private func multiplyWidened(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows t: Int, into y: UnsafeMutablePointer<Float>) {
        // Every thread gets an equal share of the rows (a small matrix in one tile would leave
        // the other core idle), walked in tiles that stay in L2.
        let parts = max(1, min(pool.threads, w.rows / 16))
        let largestPart = ThreadPool.chunk(0, of: w.rows, parts: parts, granule: 16).count
        let tileRows = max(16, min(largestPart, LinearKernels.tileFloats / max(1, w.cols) / 16 * 16))
        ensureTiles(tileRows * w.cols)
        let tiles = self.tiles
        pool.run(parts) { part in
            let tile = tiles[part]
            let rows = ThreadPool.chunk(part, of: w.rows, parts: parts, granule: 16)
            var r0 = rows.lowerBound
            let end = rows.upperBound
            while r0 < end {
                let n = min(tileRows, end - r0)
                w.dequantizeRows(r0, n, into: tile)
                if t == 1 {
                    sf_gemv_f32(tile, w.cols, 0, n, x, y + r0)
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(t), Int32(n), Int32(w.cols),
                                1, x, Int32(w.cols), tile, Int32(w.cols), 0, y + r0, Int32(w.rows))
                }
                r0 += n
            }
        }
    }
}
