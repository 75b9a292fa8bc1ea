/// The tensors of a decoder, named as llama.cpp names them, checked against the config, as
/// views into the mapped file: the common ones, and those the architecture's recipe adds.
/// Norm and bias vectors are small and widened to f32 once.
struct ModelWeights {
    struct Layer {
        let attentionNorm: UnsafeMutablePointer<Float>
        let query, key, value, attentionOutput: WeightMatrix
        /// qwen2's Q/K/V biases (nil for llama).
        let queryBias, keyBias, valueBias: UnsafeMutablePointer<Float>?
        let feedForwardNorm: UnsafeMutablePointer<Float>
        let gate, up, down: WeightMatrix
        /// Per-head Q and K norms (headDim values), where the recipe has them.
        let queryNorm, keyNorm: UnsafeMutablePointer<Float>?
        /// Norms of the attention and feed-forward outputs, where the recipe has them.
        let postAttentionNorm, postFeedForwardNorm: UnsafeMutablePointer<Float>?
    }

    let tokenEmbedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: UnsafeMutablePointer<Float>
    /// Per-frequency RoPE divisors (rope dimensions / 2 values): Llama 3's `rope_freqs.weight`,
    /// or LongRoPE's `rope_factors_long` / `rope_factors_short`, whichever the config's context
    /// calls for (`ModelConfig.usesLongRopeFactors`).
    let ropeFrequencyFactors: UnsafeMutablePointer<Float>?
    let layers: [Layer]
    /// Bytes of weights one decoded token reads (every matrix except the embedding table).
    let byteCount: Int
    private let norms: [UnsafeMutablePointer<Float>]

    /// The matrices a forward pass multiplies (and so packs into panels): every layer's
    /// projections and the output, which is the token embedding when the output is tied.
    static func productTensorNames(_ c: ModelConfig) -> [String] {
        (0..<c.blockCount).flatMap { i in
            ["attn_q", "attn_k", "attn_v", "attn_qkv", "attn_output", "ffn_gate", "ffn_up", "ffn_down"].map { "blk.\(i).\($0).weight" }
        } + [c.tiedOutput ? "token_embd.weight" : "output.weight"]
    }

    /// `pool` packs the f16 matrices into panels where the processor runs them.
    /// `recipe` defaults to the config's architecture's.
    init(file: GGUFFile, config c: ModelConfig, recipe: DecoderRecipe? = nil, pool: ThreadPool) throws {
        let recipe = recipe ?? Architectures.recipe(of: c)
        if file.tensors.isEmpty { throw ModelError.noWeights(path: file.path) }
        var norms: [UnsafeMutablePointer<Float>] = []
        func tensor(_ name: String, _ shape: [Int]) throws -> GGUFTensorInfo {
            guard let t = file.tensor(named: name) else { throw GGUFError.missingTensor(path: file.path, tensor: name) }
            guard t.dimensions == shape else {
                throw ModelError.tensorShape(path: file.path, tensor: name, expected: shape, found: t.dimensions)
            }
            guard t.type.isComputable else {
                throw GGUFError.unsupportedTensorType(path: file.path, tensor: name, type: t.type.name,
                                                      supported: GGMLType.computable.map(\.name).sorted())
            }
            return t
        }
        func matrix(_ name: String, cols: Int, rows: Int, forProducts: Bool = true) throws -> WeightMatrix {
            WeightMatrix(tensor: try tensor(name, [cols, rows]), file: file, packingOn: forProducts ? pool : nil)
        }
        func vector(_ name: String, _ n: Int) throws -> UnsafeMutablePointer<Float> {
            let t = try tensor(name, [n])
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            TensorEncoding.dequantizeRow(t.type, file.data(of: t).baseAddress!, p, count: n)
            norms.append(p)
            return p
        }
        func optionalVector(_ name: String, _ n: Int) throws -> UnsafeMutablePointer<Float>? {
            file.tensor(named: name) == nil ? nil : try vector(name, n)
        }
        /// A fused tensor of `parts` (in rows, stored one after the other) as one matrix per part.
        func fused(_ name: String, cols: Int, parts: [Int]) throws -> [WeightMatrix] {
            let t = try tensor(name, [cols, parts.reduce(0, +)])
            var first = 0
            return parts.map { rows in
                defer { first += rows }
                return WeightMatrix(tensor: t, file: file, rows: first..<first + rows, packingOn: pool)
            }
        }
        do {
            let dim = c.embeddingLength
            let pairs = c.ropeDimensions / 2
            ropeFrequencyFactors = try optionalVector("rope_freqs.weight", pairs)
                ?? optionalVector(c.usesLongRopeFactors ? "rope_factors_long.weight" : "rope_factors_short.weight", pairs)
            // Looked up by row, never multiplied: no panels (a tied output matrix gets its own).
            tokenEmbedding = try matrix("token_embd.weight", cols: dim, rows: c.vocabularySize, forProducts: false)
            output = try matrix(c.tiedOutput ? "token_embd.weight" : "output.weight", cols: dim, rows: c.vocabularySize)
            outputNorm = try vector("output_norm.weight", dim)
            var layers: [Layer] = []
            for i in 0..<c.blockCount {
                let p = "blk.\(i)."
                if file.tensor(named: p + "attn_qkv.bias") != nil {
                    throw ModelError.badConfig(path: file.path, problem: "tensor '\(p)attn_qkv.bias' (a fused Q/K/V bias) is not supported; convert the model with separate attn_q/attn_k/attn_v biases")
                }
                // Q, K and V from one fused tensor where the file has it (phi3), else three.
                let qkv = file.tensor(named: p + "attn_qkv.weight") != nil
                    ? try fused(p + "attn_qkv.weight", cols: dim, parts: [c.queryDim, c.kvDim, c.kvDim])
                    : [try matrix(p + "attn_q.weight", cols: dim, rows: c.queryDim),
                       try matrix(p + "attn_k.weight", cols: dim, rows: c.kvDim),
                       try matrix(p + "attn_v.weight", cols: dim, rows: c.kvDim)]
                let gateUp = recipe.fusedGateUp
                    ? try fused(p + "ffn_up.weight", cols: dim, parts: [c.feedForwardLength, c.feedForwardLength])
                    : [try matrix(p + "ffn_gate.weight", cols: dim, rows: c.feedForwardLength),
                       try matrix(p + "ffn_up.weight", cols: dim, rows: c.feedForwardLength)]
                layers.append(Layer(
                    attentionNorm: try vector(p + "attn_norm.weight", dim),
                    query: qkv[0],
                    key: qkv[1],
                    value: qkv[2],
                    attentionOutput: try matrix(p + "attn_output.weight", cols: c.queryDim, rows: dim),
                    queryBias: try optionalVector(p + "attn_q.bias", c.queryDim),
                    keyBias: try optionalVector(p + "attn_k.bias", c.kvDim),
                    valueBias: try optionalVector(p + "attn_v.bias", c.kvDim),
                    feedForwardNorm: try vector(p + "ffn_norm.weight", dim),
                    gate: gateUp[0],
                    up: gateUp[1],
                    down: try matrix(p + "ffn_down.weight", cols: c.feedForwardLength, rows: dim),
                    queryNorm: recipe.queryKeyNorms ? try vector(p + "attn_q_norm.weight", c.headDim) : nil,
                    keyNorm: recipe.queryKeyNorms ? try vector(p + "attn_k_norm.weight", c.headDim) : nil,
                    postAttentionNorm: recipe.postNorms ? try vector(p + "post_attention_norm.weight", dim) : nil,
                    postFeedForwardNorm: recipe.postNorms ? try vector(p + "post_ffw_norm.weight", dim) : nil))
            }
            self.layers = layers
        } catch {
            norms.forEach { $0.deallocate() }
            throw error
        }
        self.norms = norms
        byteCount = output.byteCount + layers.reduce(0) { sum, l in
            sum + [l.query, l.key, l.value, l.attentionOutput, l.gate, l.up, l.down].reduce(0) { $0 + $1.byteCount }
        }
    }

    /// Frees the widened norm vectors; called by the model that owns these weights.
    func deallocate() { norms.forEach { $0.deallocate() } }
}
