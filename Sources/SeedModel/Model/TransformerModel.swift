import CKernels
import Foundation

/// Which logits a sequence of a batch wants back.
public enum LogitsSelection: Sendable, Equatable {
    case none, last, all
    /// The last n tokens' logits (speculative verification needs k + 1 rows, not the prefix's).
    case tail(Int)

    func rows(tokens n: Int) -> Int {
        switch self {
        case .none: 0
        case .last: min(1, n)
        case .all: n
        case let .tail(k): max(0, min(k, n))
        }
    }
}

/// One sequence's part of a ragged batch: its new tokens, the position of the first, the
/// blocks its keys and values go to (positions before `startPosition` must already be there).
public struct ForwardInput: @unchecked Sendable {
    public var tokens: [Int]
    public var startPosition: Int
    public var cache: KVBlockTable
    public var logits: LogitsSelection

    public init(tokens: [Int], startPosition: Int, cache: KVBlockTable, logits: LogitsSelection) {
        self.tokens = tokens
        self.startPosition = startPosition
        self.cache = cache
        self.logits = logits
    }
}

/// The logits a forward pass produced, `rows × vocabularySize`, in the order of the batch's
/// inputs (one row per input asking for `.last`, one per token for `.all`). A view into the
/// model's workspace: valid until the next forward pass.
public struct LogitsView: @unchecked Sendable {
    public let base: UnsafePointer<Float>
    public let rows: Int
    public let vocabularySize: Int
    /// First row of each input (equal to the next input's when it asked for none).
    public let firstRow: [Int]

    public subscript(row: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: base + row * vocabularySize, count: vocabularySize)
    }

    /// The logits after the last token of input `index`.
    public func last(of index: Int) -> UnsafeBufferPointer<Float> {
        let end = index + 1 < firstRow.count ? firstRow[index + 1] : rows
        return self[end - 1]
    }
}

public enum ForwardError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case contextOverflow(position: Int, limit: Int)
    case tokenOutOfRange(token: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case let .contextOverflow(position, limit):
            return "position \(position) is beyond the context of \(limit) tokens — shorten the prompt or lower -n"
        case let .tokenOutOfRange(token, vocabularySize):
            return "token id \(token) is outside the vocabulary (0..<\(vocabularySize))"
        }
    }

    public var errorDescription: String? { description }
}

/// The decoder of every registered architecture (`Architectures.all`) over memory-mapped GGUF
/// weights, computing in f32: the shared blocks (RMS norms, RoPE, attention over the paged
/// cache, gated feed-forward), each layer run as its architecture's `DecoderRecipe` says.
///
/// `forward` runs a ragged batch — many sequences, each with one or more new tokens — with one
/// matrix product per projection for all tokens together and attention per sequence over its
/// own block table. A class because it owns the mapping and the workspace; one forward pass runs
/// at a time.
public final class TransformerModel: LanguageModel, @unchecked Sendable {
    public let file: GGUFFile
    public let config: ModelConfig
    public let recipe: DecoderRecipe
    public let tokenizer: any Tokenizer
    public let pool: ThreadPool
    let weights: ModelWeights
    private let kernels: LinearKernels
    private let ropeTable: RopeTable
    /// The sliding layers' RoPE, where their base or scaling differs from the global layers'.
    private let slidingRopeTable: RopeTable?
    private var workspace = Workspace()

    public convenience init(path: String, threads: Int = ThreadPool.defaultThreads) throws {
        try self.init(file: GGUFFile(path: path), pool: ThreadPool(threads: threads))
    }

    deinit { weights.deallocate() }

    public init(file: GGUFFile, pool: ThreadPool) throws {
        self.file = file
        config = try ModelConfig(file: file)
        recipe = Architectures.recipe(of: config)
        tokenizer = try loadTokenizer(from: file)
        weights = try ModelWeights(file: file, config: config, recipe: recipe, pool: pool)
        self.pool = pool
        kernels = LinearKernels(pool: pool, weightBytes: weights.byteCount)
        ropeTable = RopeTable(config: config, base: config.ropeBase, linearScale: config.ropeLinearScale,
                              frequencyFactors: weights.ropeFrequencyFactors)
        let slidingDiffers = config.ropeBaseSliding != config.ropeBase || config.ropeLinearScaleSliding != config.ropeLinearScale
        slidingRopeTable = config.slidingWindow != nil && slidingDiffers
            ? RopeTable(config: config, base: config.ropeBaseSliding, linearScale: config.ropeLinearScaleSliding,
                        frequencyFactors: weights.ropeFrequencyFactors)
            : nil
    }

    /// Bytes of weights read for one decoded token.
    public var weightBytes: Int { weights.byteCount }

    /// Runs the batch and returns the requested logits.
    public func forward(_ inputs: [ForwardInput]) throws -> LogitsView {
        let cfg = config
        var totalTokens = 0
        var logitRows = 0
        var firstRow: [Int] = []
        firstRow.reserveCapacity(inputs.count)
        for input in inputs {
            let end = input.startPosition + input.tokens.count
            let limit = min(cfg.contextLength, input.cache.capacity)
            if input.startPosition < 0 || end > limit {
                throw ForwardError.contextOverflow(position: end - 1, limit: limit)
            }
            for t in input.tokens where t < 0 || t >= cfg.vocabularySize {
                throw ForwardError.tokenOutOfRange(token: t, vocabularySize: cfg.vocabularySize)
            }
            firstRow.append(logitRows)
            totalTokens += input.tokens.count
            logitRows += input.logits.rows(tokens: input.tokens.count)
        }
        let longest = inputs.reduce(0) { max($0, $1.startPosition + $1.tokens.count) }
        workspace.ensure(tokens: totalTokens, logitRows: logitRows, config: cfg,
                         scoreRows: Self.attentionRowsPerTask * (cfg.headCount / cfg.headCountKV),
                         scoreLength: longest, threads: pool.threads)
        let ws = workspace
        if totalTokens == 0 {
            return LogitsView(base: ws.logits, rows: 0, vocabularySize: cfg.vocabularySize, firstRow: firstRow)
        }

        // Token embeddings and the position of every token of the batch.
        var t = 0
        for (index, input) in inputs.enumerated() {
            for (i, token) in input.tokens.enumerated() {
                weights.tokenEmbedding.dequantizeRows(token, 1, into: ws.x + t * cfg.embeddingLength)
                ws.positions[t] = input.startPosition + i
                ws.tokenInput[t] = index
                t += 1
            }
        }
        if recipe.scaleEmbeddings {
            let dim = cfg.embeddingLength, x = ws.x
            let factor = Float(dim).squareRoot()
            forEachToken(totalTokens) { range in
                for i in range.lowerBound * dim..<range.upperBound * dim { x[i] *= factor }
            }
        }
        // The attention tasks are the same for every layer: listed once per pass, in a buffer
        // that keeps its capacity across passes.
        ws.attentionTasks.removeAll(keepingCapacity: true)
        var tokenBase = 0
        for (index, input) in inputs.enumerated() {
            for row in stride(from: 0, to: input.tokens.count, by: Self.attentionRowsPerTask) {
                ws.attentionTasks.append(AttentionTask(input: index, firstRow: row, firstToken: tokenBase))
            }
            tokenBase += input.tokens.count
        }
        for layer in 0..<cfg.blockCount {
            attentionBlock(layer: layer, inputs: inputs, tokens: totalTokens)
            feedForwardBlock(layer: layer, tokens: totalTokens)
        }

        // Final norm and output projection, only for the rows asked for.
        var row = 0
        t = 0
        for input in inputs {
            let n = input.tokens.count
            for i in (n - input.logits.rows(tokens: n))..<n {
                Self.rmsNorm(ws.x + (t + i) * cfg.embeddingLength, weights.outputNorm, cfg.rmsEpsilon,
                             into: ws.xn + row * cfg.embeddingLength, count: cfg.embeddingLength)
                row += 1
            }
            t += n
        }
        kernels.multiply(weights.output, ws.xn, rows: logitRows, into: ws.logits)
        if let cap = cfg.finalLogitSoftcap {
            Self.softcap(ws.logits, count: logitRows * cfg.vocabularySize, cap: cap)
        }
        return LogitsView(base: ws.logits, rows: logitRows, vocabularySize: cfg.vocabularySize, firstRow: firstRow)
    }


    /// Query rows of one sequence that an attention task takes together.
    static let attentionRowsPerTask = 8

    // MARK: blocks

    /// Runs `body` over the batch's tokens, split across the pool once there are enough of them
    /// to pay for the hand-off: the per-token pieces (norms, RoPE, activations) would otherwise
    /// run on one core while the other waits.
    private func forEachToken(_ tokens: Int, _ body: (Range<Int>) -> Void) {
        if tokens < 4 {
            body(0..<tokens)
        } else {
            pool.chunks(tokens, body)
        }
    }

    /// xn = RMSNorm(x) · weight for every token of the batch: the input of a block.
    private func normalizeResidual(_ tokens: Int, weight: UnsafePointer<Float>) {
        let ws = workspace
        let dim = config.embeddingLength, eps = config.rmsEpsilon
        forEachToken(tokens) { range in
            for t in range { Self.rmsNorm(ws.x + t * dim, weight, eps, into: ws.xn + t * dim, count: dim) }
        }
    }

    /// y = RMSNorm(y) · weight for every token's row of `y` (width embedding_length): the
    /// post-norms of Gemma's blocks.
    private func normalizeInPlace(_ y: UnsafeMutablePointer<Float>, _ tokens: Int, weight: UnsafePointer<Float>) {
        let dim = config.embeddingLength, eps = config.rmsEpsilon
        forEachToken(tokens) { range in
            for t in range { Self.rmsNorm(y + t * dim, weight, eps, into: y + t * dim, count: dim) }
        }
    }

    private func attentionBlock(layer: Int, inputs: [ForwardInput], tokens: Int) {
        let cfg = config
        let ws = workspace
        let lw = weights.layers[layer]
        let dim = cfg.embeddingLength
        normalizeResidual(tokens, weight: lw.attentionNorm)
        kernels.multiply(lw.query, into: ws.q, lw.key, into: ws.k, lw.value, into: ws.v, input: ws.xn, rows: tokens)
        func addBias(_ bias: UnsafeMutablePointer<Float>?, to out: UnsafeMutablePointer<Float>, width: Int) {
            guard let bias else { return }
            for t in 0..<tokens { Self.add(bias, into: out + t * width, count: width) }
        }
        addBias(lw.queryBias, to: ws.q, width: cfg.queryDim)
        addBias(lw.keyBias, to: ws.k, width: cfg.kvDim)
        addBias(lw.valueBias, to: ws.v, width: cfg.kvDim)

        let kvDim = cfg.kvDim
        let hd = cfg.headDim
        let eps = cfg.rmsEpsilon
        let slides = cfg.slides(layer: layer)
        let table = slides ? slidingRopeTable ?? ropeTable : ropeTable
        let queryNorm = lw.queryNorm, keyNorm = lw.keyNorm
        // Q/K norms (per head) and RoPE on queries and keys, then keys and values into each sequence's blocks (every
        // token owns its slot, so tokens can go in parallel).
        forEachToken(tokens) { range in
            for t in range {
                // The input's fields are read in place: a copy of the ForwardInput would retain
                // and release its token array and cache owner for every token of every layer.
                let e = ws.tokenInput[t]
                let position = ws.positions[t]
                let q = ws.q + t * cfg.queryDim, k = ws.k + t * kvDim
                if let queryNorm, let keyNorm {
                    for h in 0..<cfg.headCount { Self.rmsNorm(q + h * hd, queryNorm, eps, into: q + h * hd, count: hd) }
                    for h in 0..<cfg.headCountKV { Self.rmsNorm(k + h * hd, keyNorm, eps, into: k + h * hd, count: hd) }
                }
                table.rotate(q, heads: cfg.headCount, headDim: hd, position: position)
                table.rotate(k, heads: cfg.headCountKV, headDim: hd, position: position)
                inputs[e].cache.key(position: position, layer: layer).update(from: ws.k + t * kvDim, count: kvDim)
                inputs[e].cache.value(position: position, layer: layer).update(from: ws.v + t * kvDim, count: kvDim)
            }
        }

        // Attention. A task is one sequence's KV head and up to `rowsPerTask` of its query rows,
        // with every query head that shares that KV head: all their score rows are computed
        // block by block, so each block of keys and values is read from memory once, and the
        // AVX-512 kernels load each key and value row once for up to four of the vectors
        // (grouped-query heads, verification and prefill rows). Measured per pass (bench batch,
        // 3–8 sequences of 5–7 verification-shaped rows, interleaved in one process): 1–6 %
        // faster on the demo target than one vector at a time in seven of eight pairs, no change
        // on the benchmark target.
        let groups = cfg.headCount / cfg.headCountKV
        let rowsPerTask = Self.attentionRowsPerTask
        let tasks = ws.attentionTasks
        let scale = cfg.attentionScale
        let scoreStride = ws.scoreRowCapacity
        // A sliding layer's row at position p sees the keys of positions p − window + 1 … p
        // (as llama.cpp masks them); a global layer's sees 0 … p.
        let window = slides ? cfg.slidingWindow ?? Int.max : Int.max
        let softcap = cfg.attentionSoftcap
        pool.run(tasks.count * cfg.headCountKV) { task in
            let work = tasks[task / cfg.headCountKV]
            let e = work.input, firstRow = work.firstRow, firstToken = work.firstToken
            let kvHead = task % cfg.headCountKV
            // Fields read in place, as above: no copy of the input per task.
            let rows = min(rowsPerTask, inputs[e].tokens.count - firstRow)
            let startPosition = inputs[e].startPosition
            // This layer's page of each block: pages[b * layers + layer].
            let layout = inputs[e].cache.layout
            let layers = layout.layers
            let blocks = inputs[e].cache.pages + layer
            let blockTokens = layout.blockTokens
            let keyBase = layout.keyOffset(slot: 0) + kvHead * hd
            let valueBase = layout.valueOffset(slot: 0) + kvHead * hd
            // Vector m is query row m / groups, head kvHead·groups + m % groups; row r sees the
            // keys up to its own position, startPosition + firstRow + r.
            let vectors = rows * groups
            let scores = ws.scores + Int(sf_pool_current_thread()) * ws.scoreThreadFloats
            let queries = ws.q + (firstToken + firstRow) * cfg.queryDim + kvHead * groups * hd
            let outputs = ws.attention + (firstToken + firstRow) * cfg.queryDim + kvHead * groups * hd
            let longest = startPosition + firstRow + rows
            // The next block's keys (then values) are asked for while this block is computed.
            // A head's rows are strided (the other KV heads' rows lie between them) and each block
            // is a separate allocation, so the hardware prefetcher starts late on every block.
            // Measured per decode step (bench batch, 16–64 sequences): 2–6 % faster on the demo
            // target, 2–3 % on the benchmark one; asking for a whole sequence at once was not faster.
            func prefetch(_ base: Int, block: Int) {
                let first = block * blockTokens
                if first < longest { sf_prefetch_rows(blocks[block * layers] + base, kvDim, min(blockTokens, longest - first), hd) }
            }
            // Keys of a block that row 0 sees, counted from the block's start (later rows see more).
            let firstVisible = startPosition + firstRow + 1
            // The first key any row of the task sees under a window; blocks before it are not
            // read (the pool may have freed them).
            let firstKey = window == Int.max ? 0 : max(0, firstVisible - window)
            let firstBlock = firstKey / blockTokens
            let blockStarts = stride(from: firstBlock * blockTokens, to: longest, by: blockTokens)
            prefetch(keyBase, block: firstBlock)
            for blockStart in blockStarts {
                let b = blockStart / blockTokens
                if blockStart + blockTokens < longest { prefetch(keyBase, block: b + 1) } else { prefetch(valueBase, block: firstBlock) }
                sf_attention_scores_rows(queries, cfg.queryDim, groups, rows, blocks[b * layers] + keyBase, kvDim,
                                         firstVisible - blockStart, min(blockTokens, longest - blockStart),
                                         hd, scale, scores + blockStart, scoreStride)
            }
            for m in 0..<vectors {
                let row = scores + m * scoreStride
                let seen = firstVisible + m / groups
                let first = window == Int.max ? 0 : max(0, seen - window)
                if let softcap { Self.softcap(row + first, count: seen - first, cap: softcap) }
                sf_softmax(row + first, seen - first)
                // Keys of the first block read that fall before this row's window weigh nothing.
                let skipped = firstBlock * blockTokens
                if first > skipped { (row + skipped).update(repeating: 0, count: first - skipped) }
                (outputs + (m / groups) * cfg.queryDim + (m % groups) * hd).update(repeating: 0, count: hd)
            }
            for blockStart in blockStarts {
                let b = blockStart / blockTokens
                prefetch(valueBase, block: b + 1)
                sf_attention_accumulate_rows(scores + blockStart, scoreStride, groups, rows, blocks[b * layers] + valueBase, kvDim,
                                             firstVisible - blockStart, min(blockTokens, longest - blockStart),
                                             hd, outputs, cfg.queryDim)
            }
        }
        kernels.multiply(lw.attentionOutput, ws.attention, rows: tokens, into: ws.projected)
        if let norm = lw.postAttentionNorm { normalizeInPlace(ws.projected, tokens, weight: norm) }
        Self.add(ws.projected, into: ws.x, count: tokens * dim)
    }

    private func feedForwardBlock(layer: Int, tokens: Int) {
        let cfg = config
        let ws = workspace
        let lw = weights.layers[layer]
        let dim = cfg.embeddingLength
        normalizeResidual(tokens, weight: lw.feedForwardNorm)
        kernels.multiply(lw.gate, into: ws.gate, lw.up, into: ws.up, input: ws.xn, rows: tokens)
        let width = cfg.feedForwardLength
        let g = ws.gate, u = ws.up
        switch recipe.activation {
        case .silu:
            forEachToken(tokens) { range in
                sf_swiglu(g + range.lowerBound * width, u + range.lowerBound * width, range.count * width)
            }
        case .geluTanh:
            forEachToken(tokens) { range in
                sf_geglu_tanh(g + range.lowerBound * width, u + range.lowerBound * width, range.count * width)
            }
        }
        kernels.multiply(lw.down, ws.gate, rows: tokens, into: ws.projected)
        if let norm = lw.postFeedForwardNorm { normalizeInPlace(ws.projected, tokens, weight: norm) }
        Self.add(ws.projected, into: ws.x, count: tokens * dim)
    }

    // MARK: elementwise pieces

    /// x = cap · tanh(x / cap): Gemma 2's soft cap of attention scores and logits.
    static func softcap(_ x: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
        let inverse = 1 / cap
        for i in 0..<count { x[i] = cap * tanh(x[i] * inverse) }
    }

    static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ eps: Float,
                        into y: UnsafeMutablePointer<Float>, count: Int) {
        let meanSquare = sf_dot_f32(x, x, count) / Float(count)
        let scale = 1 / (meanSquare + eps).squareRoot()
        for i in 0..<count { y[i] = x[i] * scale * weight[i] }
    }

    static func add(_ a: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        sf_axpy_f32(1, a, y, count)
    }
}

/// One attention task: query rows [firstRow, firstRow + rowsPerTask) of one input of the batch,
/// whose first token is row `firstToken` of the batch's activations.
struct AttentionTask {
    var input: Int
    var firstRow: Int
    var firstToken: Int
}

/// Activations of one forward pass, grown as batches grow and reused across passes.
final class Workspace {
    var attentionTasks: [AttentionTask] = []
    private(set) var tokenCapacity = 0
    private(set) var logitCapacity = 0
    /// Per thread: `scoreRows` rows of `scoreRowCapacity` scores.
    private(set) var scoreRowCapacity = 0
    private(set) var scoreThreadFloats = 0
    private(set) var scoreThreads = 0
    var x = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    var xn = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    var q = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    var k = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    var v = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    var attention = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    var projected = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    var gate = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    var up = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    var logits = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    var scores = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    var positions = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    var tokenInput = UnsafeMutablePointer<Int>.allocate(capacity: 1)

    func ensure(tokens: Int, logitRows: Int, config c: ModelConfig, scoreRows: Int, scoreLength: Int, threads: Int) {
        if scoreLength > scoreRowCapacity || scoreRows * scoreRowCapacity > scoreThreadFloats || threads > scoreThreads {
            // Rows rounded up to a cache line; grown by doubling, to the context at most.
            let length = max(scoreLength, min(c.contextLength, 2 * scoreRowCapacity))
            scoreRowCapacity = (length + 15) / 16 * 16
            scoreThreadFloats = scoreRows * scoreRowCapacity
            scoreThreads = threads
            scores.deallocate()
            scores = .allocate(capacity: scoreThreadFloats * threads)
        }
        if tokens > tokenCapacity {
            let n = max(tokens, tokenCapacity * 2)
            func grow(_ p: inout UnsafeMutablePointer<Float>, _ width: Int) {
                p.deallocate()
                p = .allocate(capacity: n * width)
            }
            grow(&x, c.embeddingLength)
            grow(&xn, max(c.embeddingLength, 1))
            grow(&q, c.queryDim)
            grow(&k, c.kvDim)
            grow(&v, c.kvDim)
            grow(&attention, c.queryDim)
            grow(&projected, c.embeddingLength)
            grow(&gate, c.feedForwardLength)
            grow(&up, c.feedForwardLength)
            positions.deallocate()
            positions = .allocate(capacity: n)
            tokenInput.deallocate()
            tokenInput = .allocate(capacity: n)
            tokenCapacity = n
        }
        if logitRows > logitCapacity {
            let n = max(logitRows, logitCapacity * 2)
            logits.deallocate()
            logits = .allocate(capacity: n * c.vocabularySize)
            logitCapacity = n
        }
    }

    deinit {
        for p in [x, xn, q, k, v, attention, projected, gate, up, logits, scores] { p.deallocate() }
        positions.deallocate()
        tokenInput.deallocate()
    }
}

/// cos and sin of position·θᵢ for every rotated pair, computed once per position instead of once
/// per layer and token; positions beyond the table (very long contexts) are computed on demand.
final class RopeTable: @unchecked Sendable {
    private let half: Int
    private let inverseFrequencies: [Float]
    /// Factor of every cosine and sine (`ModelConfig.ropeAttentionFactor`).
    private let magnitude: Double
    /// Where the partner of dimension i is: adjacent pairs (stride 2, offset 1) or halves (1, d/2).
    private let pairStride: Int
    private let pairOffset: Int
    private let tablePositions: Int
    private let table: UnsafeMutablePointer<Float>  // [position][cos half | sin half]
    /// Positions kept in the table (4096 × 64 pairs × 8 bytes = 2 MiB at most).
    static let maxTablePositions = 4096

    /// Rotates pairs of every head by position·base^(−2i/d) (divided by Llama 3's frequency
    /// factors and the linear scale where present); which dimensions pair up is the config's
    /// `ropeStyle` (GGUF llama: adjacent pairs, as the converter permutes Q and K rows; the
    /// others: i with i + d/2). Cosines and sines are multiplied by the config's
    /// `ropeAttentionFactor` (LongRoPE), as llama.cpp's rope multiplies them.
    init(config: ModelConfig, base: Float, linearScale: Float, frequencyFactors: UnsafePointer<Float>?) {
        half = config.ropeDimensions / 2
        magnitude = Double(config.ropeAttentionFactor)
        inverseFrequencies = (0..<half).map { i in
            let factor = Double(frequencyFactors?[i] ?? 1) * Double(linearScale)
            return Float(pow(Double(base), -Double(2 * i) / Double(config.ropeDimensions)) / factor)
        }
        (pairStride, pairOffset) = config.ropeStyle == .adjacentPairs ? (2, 1) : (1, half)
        tablePositions = min(config.contextLength, Self.maxTablePositions)
        table = .allocate(capacity: tablePositions * 2 * half)
        for p in 0..<tablePositions { Self.fill(table + p * 2 * half, position: p, inverseFrequencies, magnitude) }
    }

    deinit { table.deallocate() }

    private static func fill(_ out: UnsafeMutablePointer<Float>, position: Int, _ inverse: [Float], _ magnitude: Double) {
        let half = inverse.count
        for i in 0..<half {
            // Double for the angle: position × frequency loses digits in f32 at long contexts.
            let theta = Double(position) * Double(inverse[i])
            out[i] = Float(cos(theta) * magnitude)
            out[half + i] = Float(sin(theta) * magnitude)
        }
    }

    /// Rotates the pairs of each of `heads` heads of width `headDim` for `position`.
    func rotate(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int) {
        if position < tablePositions {
            let cosines = table + position * 2 * half, sines = cosines + half
            for h in 0..<heads {
                let v = x + h * headDim
                for i in 0..<half {
                    let j = pairStride * i
                    let a = v[j], b = v[j + pairOffset]
                    v[j] = a * cosines[i] - b * sines[i]
                    v[j + pairOffset] = a * sines[i] + b * cosines[i]
                }
            }
            return
        }
        for i in 0..<half {
            let theta = Double(position) * Double(inverseFrequencies[i])
            let c = Float(cos(theta) * magnitude), s = Float(sin(theta) * magnitude)
            for h in 0..<heads {
                let v = x + h * headDim
                let j = pairStride * i
                let a = v[j], b = v[j + pairOffset]
                v[j] = a * c - b * s
                v[j + pairOffset] = a * s + b * c
            }
        }
    }
}
