import Foundation

/// The shape of a transformer, read from GGUF metadata (`{architecture}.*` keys).
public struct ModelConfig: Sendable, Codable, Equatable {
    public var architecture: String
    public var embeddingLength: Int
    public var blockCount: Int
    public var headCount: Int
    public var headCountKV: Int
    public var headDim: Int
    public var feedForwardLength: Int
    public var contextLength: Int
    public var vocabularySize: Int
    public var ropeDimensions: Int
    public var ropeBase: Float
    public var rmsEpsilon: Float
    /// How RoPE pairs the dimensions of a head.
    public var ropeStyle: RopeStyle
    /// Linear RoPE scaling (`rope.scaling.type = linear`): positions are divided by this.
    public var ropeLinearScale: Float
    /// The attention window of the layers that slide (`attention.sliding_window`), for the
    /// architectures whose layers slide (Gemma 2 and 3); nil where every layer attends to the
    /// whole context. llama files that carry the key (Mistral) are run with full attention, as
    /// llama.cpp runs them.
    public var slidingWindow: Int?
    /// Per layer, whether it attends over the sliding window only (empty when none does).
    public var slidingLayers: [Bool] = []
    /// RoPE base and linear scale of the sliding layers (Gemma 3: a local base of 10 000, no
    /// scaling, while the global layers take `rope.freq_base` and the file's scaling).
    public var ropeBaseSliding: Float = 10_000
    public var ropeLinearScaleSliding: Float = 1
    /// Factor of the query·key products: 1/√headDim unless the architecture says otherwise.
    public var attentionScale: Float = 0
    /// Gemma 2's soft caps: scores become cap·tanh(score/cap); nil for none.
    public var attentionSoftcap: Float?
    public var finalLogitSoftcap: Float?
    /// The context the model was trained with before its RoPE was stretched
    /// (`rope.scaling.original_context_length`; the context length when absent). LongRoPE files
    /// (phi3) carry two tables of frequency divisors, and, as llama.cpp chooses, the long one
    /// applies when the context the model runs with is longer than this, the short one otherwise.
    public var ropeOriginalContext: Int = 0
    /// Factor of the rotated values' cosines and sines (`rope.scaling.attn_factor`, 1 when
    /// absent): LongRoPE's √(1 + ln(scale) / ln(original context)) magnitude correction.
    public var ropeAttentionFactor: Float = 1
    /// No `output.weight`: the output projection reuses the token embedding.
    public var tiedOutput: Bool
    public var parameterCount: Int

    /// Whether layer `layer` attends over the sliding window only.
    public func slides(layer: Int) -> Bool { slidingWindow != nil && layer < slidingLayers.count && slidingLayers[layer] }

    /// Whether LongRoPE's long factors apply: seedflow runs every model with its whole context
    /// (`contextLength`), and llama.cpp takes the long table when that context exceeds the
    /// original one.
    public var usesLongRopeFactors: Bool { contextLength > ropeOriginalContext }

    /// Width of the K and V rows of one token (all KV heads).
    public var kvDim: Int { headCountKV * headDim }
    public var queryDim: Int { headCount * headDim }

    public enum RopeStyle: String, Sendable, Codable {
        /// (x[2i], x[2i+1]): llama, whose GGUF converter permutes Q and K rows to make pairs adjacent.
        case adjacentPairs
        /// (x[i], x[i + d/2]): the Hugging Face layout, kept as is by the converter for qwen2.
        case halves
    }

    /// Architectures whose weights seedflow can run: the names of the architecture registry.
    public static var supportedArchitectures: [String] { Architectures.names }
    public static let supportedRopeScaling = ["none", "linear"]

    public init(file: GGUFFile) throws {
        let arch = try file.requiredString("general.architecture")
        let architecture = try Architectures.named(arch, path: file.path)
        self.architecture = arch
        func required(_ key: String) throws -> Int { try file.requiredInt("\(arch).\(key)") }
        func optional(_ key: String) throws -> Int? { try file.int("\(arch).\(key)") }
        embeddingLength = try required("embedding_length")
        blockCount = try required("block_count")
        headCount = try required("attention.head_count")
        headCountKV = try optional("attention.head_count_kv") ?? headCount
        feedForwardLength = try required("feed_forward_length")
        contextLength = try required("context_length")
        headDim = try optional("attention.key_length") ?? (headCount > 0 ? embeddingLength / headCount : 0)
        ropeDimensions = try optional("rope.dimension_count") ?? headDim
        ropeBase = Float(try file.double("\(arch).rope.freq_base") ?? 10_000)
        rmsEpsilon = Float(try file.double("\(arch).attention.layer_norm_rms_epsilon") ?? 1e-5)
        ropeStyle = architecture.recipe.ropeStyle
        // Llama 3's rope scaling arrives as the `rope_freqs` tensor (read with the weights);
        // the older linear kind as two keys.
        let scaling = try file.string("\(arch).rope.scaling.type") ?? "none"
        guard ModelConfig.supportedRopeScaling.contains(scaling) else {
            throw ModelError.badConfig(path: file.path, problem: "rope scaling '\(scaling)' is not supported (supported: \(ModelConfig.supportedRopeScaling.joined(separator: ", ")))")
        }
        ropeLinearScale = scaling == "linear" ? Float(try file.double("\(arch).rope.scaling.factor") ?? 1) : 1
        ropeOriginalContext = try optional("rope.scaling.original_context_length") ?? contextLength
        ropeAttentionFactor = Float(try file.double("\(arch).rope.scaling.attn_factor") ?? 1)
        let embedding = file.tensor(named: "token_embd.weight")
        vocabularySize = try optional("vocab_size")
            ?? embedding.map { $0.rowCount }
            ?? (try file.stringArray("tokenizer.ggml.tokens")?.count ?? 0)
        tiedOutput = file.tensor(named: "output.weight") == nil
        parameterCount = file.tensors.reduce(0) { $0 + $1.elementCount }
        attentionScale = 1 / Float(max(headDim, 1)).squareRoot()
        try architecture.readHyperparameters(&self, from: file)

        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw ModelError.badConfig(path: file.path, problem: what) }
        }
        let limit = 1 << 20
        try check((1...limit).contains(embeddingLength), "embedding_length \(embeddingLength) is out of range")
        try check((1...4096).contains(blockCount), "block_count \(blockCount) is out of range")
        try check((1...4096).contains(headCount), "head_count \(headCount) is out of range")
        try check((1...headCount).contains(headCountKV) && headCount % headCountKV == 0,
                  "head_count_kv \(headCountKV) must divide head_count \(headCount)")
        try check((1...1024).contains(headDim) && headDim % 2 == 0, "head dimension \(headDim) must be even and at most 1024")
        try check((1...limit).contains(feedForwardLength), "feed_forward_length \(feedForwardLength) is out of range")
        try check((1...(1 << 24)).contains(contextLength), "context_length \(contextLength) is out of range")
        try check((1...(1 << 24)).contains(vocabularySize), "vocabulary size \(vocabularySize) is out of range")
        try check(ropeDimensions > 0 && ropeDimensions <= headDim && ropeDimensions % 2 == 0,
                  "rope.dimension_count \(ropeDimensions) must be even and at most the head dimension \(headDim)")
        try check(ropeBase > 0 && ropeBase.isFinite, "rope.freq_base must be positive")
        try check(rmsEpsilon > 0 && rmsEpsilon.isFinite, "layer_norm_rms_epsilon must be positive")
        try check(ropeLinearScale > 0 && ropeLinearScale.isFinite, "rope.scaling.factor must be positive")
        try check(ropeOriginalContext > 0, "rope.scaling.original_context_length \(ropeOriginalContext) must be positive")
        try check(ropeAttentionFactor > 0 && ropeAttentionFactor.isFinite, "rope.scaling.attn_factor must be positive")
        try check(ropeBaseSliding > 0 && ropeBaseSliding.isFinite, "rope.freq_base_swa must be positive")
        try check(attentionScale > 0 && attentionScale.isFinite, "the attention scale must be positive")
        if let window = slidingWindow {
            try check(window > 0, "attention.sliding_window \(window) must be positive")
            try check(slidingLayers.count == blockCount,
                      "attention.sliding_window_pattern has \(slidingLayers.count) entries for \(blockCount) layers")
        }
        for (cap, key) in [(attentionSoftcap, "attn_logit_softcapping"), (finalLogitSoftcap, "final_logit_softcapping")] {
            if let cap { try check(cap > 0 && cap.isFinite, "\(key) must be positive") }
        }
    }
}

/// Problems with a model file beyond its GGUF encoding.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case unsupportedArchitecture(path: String, architecture: String, supported: [String])
    case badConfig(path: String, problem: String)
    case tensorShape(path: String, tensor: String, expected: [Int], found: [Int])
    case noWeights(path: String)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(path, architecture, supported):
            let near = NearestName.closest(to: architecture, among: supported).map { " — the nearest supported name is '\($0)'" } ?? ""
            return "\(path): architecture '\(architecture)' is not supported yet (supported: \(supported.joined(separator: ", ")))\(near). Its vocabulary can still be used with `seedflow tokenize`."
        case let .badConfig(path, problem):
            return "\(path): \(problem) — the model metadata is inconsistent"
        case let .tensorShape(path, tensor, expected, found):
            return "\(path): tensor '\(tensor)' has shape \(found), expected \(expected) from the model metadata"
        case let .noWeights(path):
            return "\(path): holds no weights (a vocabulary-only file?) — it can tokenize but not generate"
        }
    }

    public var errorDescription: String? { description }
}
