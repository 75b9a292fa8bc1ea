import Foundation

/// A random-weight model of a chosen architecture, shape and tensor type, written as GGUF: test
/// models for every supported architecture and type, and benchmark models of real shapes
/// without downloading real ones. The tokenizer is a small SentencePiece vocabulary (298 tokens:
/// `<unk>`, `<s>`, `</s>`, 256 byte tokens, 39 pieces), like the reference benchmark runs.
public struct RandomModel: Sendable {
    public var architecture = "llama"
    public var embeddingLength: Int
    public var blockCount: Int
    public var headCount: Int
    public var headCountKV: Int
    public var feedForwardLength: Int
    public var contextLength = 2048
    public var ropeBase: Float = 10_000
    /// Element type of the weight matrices. A matrix whose rows are not a whole number of its
    /// blocks falls back as llama.cpp's quantizer falls back: Q2_K and Q3_K to Q4_0, Q4_K to Q5_0,
    /// Q5_K to Q5_1, IQ4_XS to IQ4_NL, Q6_K (and others) to Q8_0, then F16.
    public var weightType: GGMLType = .f16
    /// No `output.weight`: logits come from the token embedding.
    public var tiedOutput = false
    /// Llama 3 style `rope_freqs.weight` (rope dimensions / 2 divisors), or none.
    public var ropeFrequencyFactors: [Float]?
    /// LongRoPE's two tables (`rope_factors_long.weight`, `rope_factors_short.weight`: rope
    /// dimensions / 2 divisors each, phi3), or none.
    public var ropeLongShortFactors: (long: [Float], short: [Float])?
    /// `rope.scaling.original_context_length` and `rope.scaling.attn_factor`, or no key.
    public var ropeOriginalContext: Int?
    public var ropeAttentionFactor: Float?
    /// Random values for every layer (tests), or layer 0's tensors repeated in every layer
    /// (benchmarks: speed does not depend on the values, and drawing and encoding a billion of
    /// them costs minutes).
    public var distinctLayers = true
    public var seed: UInt64 = 1
    /// The attention window of the sliding layers (`attention.sliding_window`), for the
    /// architectures that have them (gemma2, gemma3); nil writes no key.
    public var slidingWindow: Int?
    /// The period of sliding and global layers (`attention.sliding_window_pattern`), or none.
    public var slidingWindowPeriod: Int?
    /// The sliding layers' RoPE base (`rope.freq_base_swa`), or none.
    public var ropeBaseSliding: Float?
    /// A file whose tokenizer (every `tokenizer.ggml.*` key) replaces the built-in vocabulary, so
    /// the random model can stand in for — or draft for — a model with that tokenizer.
    public var tokenizerSource: GGUFFile?

    public init(architecture: String = "llama", embeddingLength: Int, blockCount: Int, headCount: Int,
                headCountKV: Int, feedForwardLength: Int, weightType: GGMLType = .f16) {
        self.architecture = architecture
        self.embeddingLength = embeddingLength
        self.blockCount = blockCount
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.feedForwardLength = feedForwardLength
        self.weightType = weightType
    }

    /// Qwen2.5-0.5B's shape (a llama block layout; the benchmark compares against llama.cpp
    /// running the same shape).
    public static func shape0_5B(_ type: GGMLType) -> RandomModel {
        var m = RandomModel(embeddingLength: 896, blockCount: 24, headCount: 14, headCountKV: 2,
                            feedForwardLength: 4864, weightType: type)
        m.distinctLayers = false
        return m
    }

    /// TinyLlama-1.1B's shape.
    public static func shape1_1B(_ type: GGMLType) -> RandomModel {
        var m = RandomModel(embeddingLength: 2048, blockCount: 22, headCount: 32, headCountKV: 4,
                            feedForwardLength: 5632, weightType: type)
        m.distinctLayers = false
        return m
    }

    public static let vocabulary: [String] = {
        let pieces = ["\u{2581}"] + (UnicodeScalar("a").value...UnicodeScalar("z").value).map { String(UnicodeScalar($0)!) }
            + (0...9).map(String.init) + [".", ","]
        return ["<unk>", "<s>", "</s>"] + (0..<256).map { String(format: "<0x%02X>", $0) } + pieces
    }()

    /// The type a matrix with rows of `cols` values is stored in.
    public func storedType(cols: Int) -> GGMLType {
        let fallback: GGMLType = switch weightType {
        case .q2_K, .q3_K: .q4_0
        case .q4_K: .q5_0
        case .q5_K: .q5_1
        case .iq4_xs: .iq4_nl
        default: .q8_0
        }
        for type in [weightType, fallback, .q8_0] where cols % type.blockSize == 0 { return type }
        return .f16
    }

    /// In words, the matrices not stored as `weightType` (their rows are not whole blocks of
    /// it), so that a benchmark says what it measured; empty when every one is.
    public func fallbackNote() -> String {
        let widths = Set([embeddingLength, feedForwardLength]).sorted()
        return widths.filter { storedType(cols: $0) != weightType }.map { cols in
            "matrices with rows of \(cols) are stored as \(storedType(cols: cols).name) (not whole \(weightType.name) blocks), as llama.cpp would store them"
        }.joined(separator: "; ")
    }

    public func writer() -> GGUFWriter {
        var rng = SplitMix64(seed: seed)
        var w = GGUFWriter()
        let arch = architecture
        let dim = embeddingLength, headDim = embeddingLength / headCount
        let recipe = Architectures.all.first { $0.name == arch }?.recipe
        let borrowed = tokenizerSource.flatMap { try? $0.stringArray("tokenizer.ggml.tokens") }
        let vocab = borrowed ?? Self.vocabulary
        w.set("general.architecture", arch)
        // llama.cpp gives Phi-3's special tokens their attributes when the model's name contains
        // "phi3", by looking up `<|endoftext|>`, which the built-in vocabulary lacks: the name
        // of a random phi3 model avoids the word.
        let nameArch = arch == "phi3" ? "phi_3" : arch
        w.set("general.name", "random-\(nameArch)-\(dim)x\(blockCount)-\(weightType.name)")
        w.set("\(arch).embedding_length", uint32: dim)
        w.set("\(arch).block_count", uint32: blockCount)
        w.set("\(arch).attention.head_count", uint32: headCount)
        w.set("\(arch).attention.head_count_kv", uint32: headCountKV)
        w.set("\(arch).feed_forward_length", uint32: feedForwardLength)
        w.set("\(arch).context_length", uint32: contextLength)
        w.set("\(arch).rope.freq_base", float: ropeBase)
        w.set("\(arch).attention.layer_norm_rms_epsilon", float: 1e-5)
        if let window = slidingWindow { w.set("\(arch).attention.sliding_window", uint32: window) }
        if let period = slidingWindowPeriod { w.set("\(arch).attention.sliding_window_pattern", uint32: period) }
        if let base = ropeBaseSliding { w.set("\(arch).rope.freq_base_swa", float: base) }
        if let original = ropeOriginalContext { w.set("\(arch).rope.scaling.original_context_length", uint32: original) }
        if let factor = ropeAttentionFactor { w.set("\(arch).rope.scaling.attn_factor", float: factor) }
        if let source = tokenizerSource, borrowed != nil {
            for key in source.metadataKeys where key.hasPrefix("tokenizer.ggml.") {
                if let value = source.value(key) { w.set(key, value) }
            }
        } else {
            w.set("tokenizer.ggml.model", "llama")
            w.set("tokenizer.ggml.tokens", strings: vocab)
            w.set("tokenizer.ggml.scores", .array(.float32, vocab.indices.map { .float32(-Float($0)) }))
            w.set("tokenizer.ggml.token_type", .array(.int32, vocab.indices.map { id in
                .int32(id == 0 ? 2 : id < 3 ? 3 : id < 259 ? 6 : 1)
            }))
            w.set("tokenizer.ggml.bos_token_id", uint32: 1)
            w.set("tokenizer.ggml.eos_token_id", uint32: 2)
            w.set("tokenizer.ggml.unknown_token_id", uint32: 0)
        }

        // Uniform weights with variance 1/cols keep activations near unit size through the layers.
        func matrix(_ name: String, cols: Int, rows: Int) {
            let a = (3 / Float(cols)).squareRoot()
            let values = (0..<rows * cols).map { _ in rng.uniform(-a, a) }
            w.addTensor(name, dimensions: [cols, rows], type: storedType(cols: cols), values: values)
        }
        func vector(_ name: String, _ n: Int, around center: Float, spread: Float) {
            w.addTensor(name, dimensions: [n], values: (0..<n).map { _ in center + rng.uniform(-spread, spread) })
        }
        matrix("token_embd.weight", cols: dim, rows: vocab.count)
        if !tiedOutput { matrix("output.weight", cols: dim, rows: vocab.count) }
        vector("output_norm.weight", dim, around: 1, spread: 0.2)
        if let factors = ropeFrequencyFactors {
            precondition(factors.count == headDim / 2, "rope_freqs needs one factor per rotated pair")
            w.addTensor("rope_freqs.weight", dimensions: [factors.count], values: factors)
        }
        if let (long, short) = ropeLongShortFactors {
            precondition(long.count == headDim / 2 && short.count == headDim / 2, "LongRoPE needs one factor per rotated pair")
            w.addTensor("rope_factors_long.weight", dimensions: [long.count], values: long)
            w.addTensor("rope_factors_short.weight", dimensions: [short.count], values: short)
        }
        let firstLayer = w.tensors.count
        var layerZero: [GGUFWriter.Tensor] = []
        for layer in 0..<blockCount {
            let p = "blk.\(layer)."
            if layer == 1 { layerZero = Array(w.tensors[firstLayer...]) }
            if layer > 0 && !distinctLayers {
                for t in layerZero {
                    w.addTensor(p + t.name.dropFirst("blk.0.".count), dimensions: t.dimensions, type: t.type, bytes: t.bytes)
                }
                continue
            }
            vector(p + "attn_norm.weight", dim, around: 1, spread: 0.2)
            if recipe?.fusedQKV == true {
                matrix(p + "attn_qkv.weight", cols: dim, rows: (headCount + 2 * headCountKV) * headDim)
            } else {
                matrix(p + "attn_q.weight", cols: dim, rows: headCount * headDim)
                matrix(p + "attn_k.weight", cols: dim, rows: headCountKV * headDim)
                matrix(p + "attn_v.weight", cols: dim, rows: headCountKV * headDim)
            }
            if arch == "qwen2" {
                vector(p + "attn_q.bias", headCount * headDim, around: 0, spread: 0.5)
                vector(p + "attn_k.bias", headCountKV * headDim, around: 0, spread: 0.5)
                vector(p + "attn_v.bias", headCountKV * headDim, around: 0, spread: 0.5)
            }
            if recipe?.queryKeyNorms == true {
                vector(p + "attn_q_norm.weight", headDim, around: 1, spread: 0.2)
                vector(p + "attn_k_norm.weight", headDim, around: 1, spread: 0.2)
            }
            matrix(p + "attn_output.weight", cols: headCount * headDim, rows: dim)
            if recipe?.postNorms == true { vector(p + "post_attention_norm.weight", dim, around: 1, spread: 0.2) }
            vector(p + "ffn_norm.weight", dim, around: 1, spread: 0.2)
            if recipe?.fusedGateUp == true {
                matrix(p + "ffn_up.weight", cols: dim, rows: 2 * feedForwardLength)
            } else {
                matrix(p + "ffn_gate.weight", cols: dim, rows: feedForwardLength)
                matrix(p + "ffn_up.weight", cols: dim, rows: feedForwardLength)
            }
            matrix(p + "ffn_down.weight", cols: feedForwardLength, rows: dim)
            if recipe?.postNorms == true { vector(p + "post_ffw_norm.weight", dim, around: 1, spread: 0.2) }
        }
        return w
    }

    public func write(to path: String) throws(GGUFWriteError) {
        try writer().write(to: path)
    }

    /// Writes the model to a new file in the temporary directory and returns its path; the
    /// caller removes it. A write that fails (a full disk) removes what it wrote.
    public func writeTemporary() throws(GGUFWriteError) -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("seedflow-random-\(UUID().uuidString).gguf").path
        do {
            try write(to: path)
        } catch {
            unlink(path)
            throw error
        }
        return path
    }
}

/// SplitMix64: tiny, seedable, and enough to fill weight tensors reproducibly (and to seed
/// larger generators).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [lo, hi), from the top 24 bits.
    public mutating func uniform(_ lo: Float, _ hi: Float) -> Float {
        lo + (hi - lo) * Float(next() >> 40) * 0x1p-24
    }
}
