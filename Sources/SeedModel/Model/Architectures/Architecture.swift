/// One decoder architecture, as a GGUF file names it in `general.architecture`: the keys of its
/// own that shape it, the tensors it has beyond the common ones, and the recipe its layers follow,
/// built from the shared blocks of `TransformerModel` (RMS norms, RoPE, attention, feed-forward).
/// Adding an architecture is one file conforming to this protocol and one line in
/// `Architectures.all`.
public protocol Architecture: Sendable {
    /// The `general.architecture` value.
    static var name: String { get }
    /// How its layers compute.
    static var recipe: DecoderRecipe { get }
    /// Reads the hyperparameters only this architecture has, after the common ones
    /// (`embedding_length`, `block_count`, head counts, RoPE base and scaling, norm epsilon).
    static func readHyperparameters(_ config: inout ModelConfig, from file: GGUFFile) throws
}

extension Architecture {
    public static func readHyperparameters(_ config: inout ModelConfig, from file: GGUFFile) throws {}
}

/// The layer recipe of an architecture: which of the shared blocks each layer runs, and how.
/// Plain flags read once per layer by the decoder, so that the per-element loops stay the
/// same loops for every architecture. Q/K/V biases (`attn_q.bias` …) are read wherever a file
/// has them, as llama.cpp does for these architectures.
public struct DecoderRecipe: Sendable, Equatable {
    public enum Activation: String, Sendable {
        /// silu(gate) · up (SwiGLU).
        case silu
        /// gelu(gate) · up with the tanh approximation of GELU (GeGLU).
        case geluTanh
    }

    /// How RoPE pairs the dimensions of a head (llama's converter permutes Q and K to adjacent
    /// pairs; the others keep the Hugging Face halves).
    public var ropeStyle: ModelConfig.RopeStyle
    /// Token embeddings multiplied by √embedding_length (Gemma).
    public var scaleEmbeddings = false
    /// Per-head RMS norms of queries and keys before RoPE (`attn_q_norm`, `attn_k_norm`: one
    /// weight per head dimension, shared by the heads).
    public var queryKeyNorms = false
    /// RMS norms of the attention output and of the feed-forward output before each is added to
    /// the residual (Gemma 2 and 3: `post_attention_norm`, `post_ffw_norm`).
    public var postNorms = false
    public var activation: Activation = .silu
    /// The gate and up projections are one tensor, `ffn_up` with 2 × feed_forward_length rows:
    /// the gate's rows first, then the up projection's (phi3).
    public var fusedGateUp = false
    /// The architecture's files store Q, K and V as one tensor, `attn_qkv` (Q's rows, then K's,
    /// then V's), as the random models of it are written. Files of any architecture may have
    /// either form; the loader takes the fused one where a file has it, as llama.cpp does.
    public var fusedQKV = false

    public init(ropeStyle: ModelConfig.RopeStyle, scaleEmbeddings: Bool = false, queryKeyNorms: Bool = false,
                postNorms: Bool = false, activation: Activation = .silu, fusedGateUp: Bool = false,
                fusedQKV: Bool = false) {
        self.ropeStyle = ropeStyle
        self.scaleEmbeddings = scaleEmbeddings
        self.queryKeyNorms = queryKeyNorms
        self.postNorms = postNorms
        self.activation = activation
        self.fusedGateUp = fusedGateUp
        self.fusedQKV = fusedQKV
    }
}

/// The registry: every architecture seedflow runs, one line each.
public enum Architectures {
    public static let all: [any Architecture.Type] = [
        LlamaArchitecture.self,
        Qwen2Architecture.self,
        Qwen3Architecture.self,
        Gemma2Architecture.self,
        Gemma3Architecture.self,
        Phi3Architecture.self,
    ]

    public static var names: [String] { all.map { $0.name } }

    /// The architecture a file names, or a refusal that lists the supported ones and the
    /// nearest name.
    static func named(_ name: String, path: String) throws -> any Architecture.Type {
        guard let found = all.first(where: { $0.name == name }) else {
            throw ModelError.unsupportedArchitecture(path: path, architecture: name, supported: names)
        }
        return found
    }

    /// The recipe of a config's architecture (the config was read through the registry).
    static func recipe(of config: ModelConfig) -> DecoderRecipe {
        all.first { $0.name == config.architecture }?.recipe ?? LlamaArchitecture.recipe
    }
}

/// Sliding-window keys shared by the architectures that interleave windowed and global layers:
/// the window, and which layers slide — an explicit per-layer array
/// (`attention.sliding_window_pattern` as booleans), a period n (layers i with i % n < n − 1
/// slide: Gemma 3's 5 : 1 for n = 6), or the architecture's default period.
enum SlidingWindowKeys {
    static func read(_ c: inout ModelConfig, from file: GGUFFile, defaultWindow: Int?, defaultPeriod: Int) throws {
        let arch = c.architecture
        let window = try file.int("\(arch).attention.sliding_window") ?? defaultWindow
        guard let window, window > 0 else {
            c.slidingWindow = nil
            c.slidingLayers = []
            return
        }
        c.slidingWindow = window
        let key = "\(arch).attention.sliding_window_pattern"
        if case let .array(_, values)? = file.value(key) {
            var layers: [Bool] = []
            for value in values {
                guard let flag = value.intValue else {
                    throw GGUFError.wrongKeyType(path: file.path, key: key, expected: "an array of booleans")
                }
                layers.append(flag != 0)
            }
            c.slidingLayers = layers
        } else {
            let period = try file.int(key) ?? defaultPeriod
            c.slidingLayers = (0..<c.blockCount).map { period == 0 || $0 % period < period - 1 }
        }
    }
}
