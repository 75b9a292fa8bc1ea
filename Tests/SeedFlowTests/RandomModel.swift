import Foundation
import SeedModel

/// A tiny llama model with random weights and the demo models' tokenizer, for tests that prove the
/// runner's plumbing on workflows whose real models are too large to ship (the chat workflows).
/// Its text is garbage, which is the point: every path through the search must still produce a
/// well-formed result line.
enum TinyRandomModel {
    /// dim 64, 2 layers, 2 heads, ffn 128. The context is 2048, not the demo models' 256: the chat
    /// workflows' prompts (instructions, a problem, a path of steps, five candidate plans) are
    /// longer than 256 tokens of this byte-level vocabulary, and the engine refuses such prompts.
    static func write(to path: String, seed: UInt64 = 1) throws {
        var model = SeedModel.RandomModel(embeddingLength: 64, blockCount: 2, headCount: 2, headCountKV: 2,
                                          feedForwardLength: 128)
        model.seed = seed
        // The demo tokenizer, so drafts and validation see the demo vocabulary.
        model.tokenizerSource = try GGUFFile(path: FlowTestPaths.target)
        try model.write(to: path)
    }
}
