/// A causal language model the engine can run: what the scheduler, the KV pools, the draft
/// pool, the cost model, the benchmarks and the runner see of a model. It runs ragged batches
/// over block tables (`KVLayout(config:)` gives the layout of its cache) and hands back logits.
/// `TransformerModel` runs every architecture of `Architectures.all`; `loadLanguageModel` opens
/// a file.
public protocol LanguageModel: AnyObject, Sendable {
    var file: GGUFFile { get }
    var config: ModelConfig { get }
    var tokenizer: any Tokenizer { get }
    /// The threads its products run on (drafts may share the target's).
    var pool: ThreadPool { get }
    /// Bytes of weights read for one decoded token.
    var weightBytes: Int { get }
    /// Runs the batch and returns the requested logits, valid until the next call. One call at
    /// a time.
    func forward(_ inputs: [ForwardInput]) throws -> LogitsView
}

/// Opens the model in a GGUF file, whatever its (supported) architecture.
public func loadLanguageModel(file: GGUFFile, pool: ThreadPool) throws -> any LanguageModel {
    try TransformerModel(file: file, pool: pool)
}

public func loadLanguageModel(path: String, threads: Int = ThreadPool.defaultThreads) throws -> any LanguageModel {
    try TransformerModel(path: path, threads: threads)
}
