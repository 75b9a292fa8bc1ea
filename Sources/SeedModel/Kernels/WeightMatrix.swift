import CBLAS
import CKernels

/// A weight matrix as stored in the file: `rows` output features, each a row of `cols` inputs,
/// in the file's own element type. It points into the memory-mapped file; the products of an
/// f16 matrix on an AVX-512 processor read a packed copy instead (`panels`).
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    public let rowBytes: Int
    /// The f16 rows repacked for the AVX-512 products, or nil (another type or processor, or a
    /// matrix only looked up by row, like the token embedding).
    let panels: F16Panels?

    /// `packingOn`: the matrix will be multiplied, so an f16 one gets its panels, packed on this
    /// pool, where this processor runs them.
    init(tensor: GGUFTensorInfo, file: GGUFFile, packingOn pool: ThreadPool?) {
        self.init(tensor: tensor, file: file, rows: 0..<tensor.rowCount, packingOn: pool)
    }

    /// The rows `rowRange` of the tensor as a matrix of their own: one part of a fused tensor
    /// (phi3's `attn_qkv` holds Q, K and V one after the other, its `ffn_up` the gate and the
    /// up projection). Rows are stored whole, so a part is a contiguous view of the mapping.
    init(tensor: GGUFTensorInfo, file: GGUFFile, rows rowRange: Range<Int>, packingOn pool: ThreadPool?) {
        type = tensor.type
        cols = tensor.rowLength
        rows = rowRange.count
        rowBytes = tensor.rowBytes
        data = file.data(of: tensor).baseAddress! + rowRange.lowerBound * tensor.rowBytes
        if let pool, type == .f16, sf_f16_panels_preferred() != 0 {
            panels = F16Panels(data.assumingMemoryBound(to: UInt16.self), rows: rows, cols: cols, pool: pool)
            // Packing read every page of the matrix; without this the process would hold the
            // weights twice (a 0.5B f16 model's peak resident memory went from 0.73 to 1.41 GB).
            file.releasePages(of: tensor)
        } else {
            panels = nil
        }
    }

    public var byteCount: Int { rows * rowBytes }

    /// Bytes of the panels, 0 without them.
    var panelBytes: Int { panels == nil ? 0 : F16Panels.byteCount(rows: rows, cols: cols) }

    /// Widens rows [first, first + count) to f32 into `dst` (count × cols floats).
    func dequantizeRows(_ first: Int, _ count: Int, into dst: UnsafeMutablePointer<Float>) {
        if let panels {
            // From the copy: the mapping's pages were released.
            sf_f16_panels_to_f32(panels.halves, cols, first, first + count, dst)
            return
        }
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

extension GGUFFile {
    /// Bytes of f16 panels a model loaded from this file copies its f16 matrices into, on this
    /// processor: those of `ModelWeights.productTensorNames`. 0 where the products read the
    /// mapping, or for a file seedflow cannot load as a model.
    public var f16PanelBytes: Int {
        guard sf_f16_panels_preferred() != 0, let config = try? ModelConfig(file: self) else { return 0 }
        return ModelWeights.productTensorNames(config).reduce(0) { sum, name in
            guard let t = tensor(named: name), t.type == .f16 else { return sum }
            return sum + F16Panels.byteCount(rows: t.rowCount, cols: t.rowLength)
        }
    }
}

/// An f16 matrix repacked in panels of 16 rows, stored column by column (`sf_pack_f16_panels`):
/// the layout of the AVX-512 products, whose accumulators then hold finished outputs instead of
/// partial sums to fold (see kernels.c). A class because it owns the copy, made once at load;
/// the file's pages of the matrix are released then, and everything that multiplies or widens
/// the matrix reads the copy. (The token embedding is looked up from the mapping, so a tied
/// output matrix gets back the pages of the tokens looked up.)
final class F16Panels: @unchecked Sendable {
    let halves: UnsafeMutablePointer<UInt16>

    /// The size of the panels of a rows × cols matrix (the last panel padded to 16 rows).
    static func byteCount(rows: Int, cols: Int) -> Int { 2 * sf_f16_panels_halves(rows, cols) }

    init(_ w: UnsafePointer<UInt16>, rows: Int, cols: Int, pool: ThreadPool) {
        let bytes = max(2, Self.byteCount(rows: rows, cols: cols))
        let halves = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            .bindMemory(to: UInt16.self, capacity: bytes / 2)
        pool.chunks((rows + 15) / 16) { panels in
            sf_pack_f16_panels(w, rows, cols, panels.lowerBound, panels.upperBound, halves)
        }
        self.halves = halves
    }

    deinit { halves.deallocate() }
}

/// Matrix products against stored weights: Y[T × rows] = X[T × cols] · Wᵀ.
///
/// One input row (decode) is bound by the bytes of weights read, so it runs a fused kernel
/// over the stored weights: f16 widened in registers (from the panels on AVX-512, from the
/// mapping elsewhere), quantized blocks unpacked in registers and multiplied in integers against
/// the input rounded to 8 bits. More rows (batched decode, verification, prefill) reuse each
/// widened panel column, weight row or unpacked block for up to 8 inputs, in blocks of rows that
/// stay in cache for the next 8. f16 products of more rows than that kernel
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
    /// f16 products of at most this many rows use the register-blocked kernels; more rows widen
    /// tiles for sgemm. The AVX-512 tiles were ahead of widen + sgemm at every size measured
    /// (row-major tiles, before panels, which are faster still): per decode step, alternating in
    /// one process (`bench batch`, 150 to 1000 rows), 0–11 % on the benchmark target and 1–6 %
    /// on the demo target; `bench model` prefill of the 0.5B shape, 256 to 1024 tokens, 7–39 %.
    /// So a matrix with panels takes every product of up to 1024 rows. The AVX2 and portable
    /// kernels compute one dot product per row and input, which sgemm beats beyond a few inputs
    /// (a harness on weights beyond the cache, 2 threads: level at 128), so they keep 128.
    static func smallBatchLimit(_ w: WeightMatrix) -> Int { w.panels != nil ? 1024 : 128 }
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
    /// them from memory (the f16 panel kernel then leaves 2–3 inputs' prefetching to the hardware).
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
        case .f16 where t <= LinearKernels.smallBatchLimit(w):
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
        func fits(_ w: WeightMatrix) -> Bool { w.type == .f16 && t <= LinearKernels.smallBatchLimit(w) }
        guard t > 0, fits(a), fits(b), c.map(fits) ?? true, (c == nil) == (yc == nil) else {
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

    /// Weight rows the row-major f16 kernel takes at a time when there are more than 8 inputs:
    /// few enough to stay in L1 while every input sweeps them. (Panels are blocked inside the
    /// kernel: each tile of 48 rows is swept by every group of inputs.)
    static let f16BlockRows = 12

    /// Outputs `outputs` of an f16 product of up to `smallBatchLimit` rows, on the calling thread.
    /// Every tile shape sums each output in the same order, so `streaming` never changes a result.
    private static func multiplyF16(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows t: Int,
                                    into y: UnsafeMutablePointer<Float>, outputs r: Range<Int>, streaming: Bool) {
        if let panels = w.panels {
            sf_gemm_f16_panels(panels.halves, w.cols, r.lowerBound, r.upperBound, x, w.cols, t, y, w.rows,
                               streaming ? 1 : 0)
            return
        }
        let wp = w.data.assumingMemoryBound(to: UInt16.self)
        if t == 1 {
            sf_gemv_f16(wp, w.cols, r.lowerBound, r.upperBound, x, y)
            return
        }
        let block = t <= 8 ? r.count : Self.f16BlockRows
        for r0 in stride(from: r.lowerBound, to: r.upperBound, by: block) {
            sf_gemm_f16_small(wp, w.cols, r0, min(r.upperBound, r0 + block), x, w.cols, t, y, w.rows)
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
