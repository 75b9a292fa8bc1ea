import Foundation
import SeedModel

/// A tiny llama model with random weights and the demo models' tokenizer, for tests that prove the
/// runner's plumbing on workflows whose real models are too large to ship (the chat workflows).
/// Its text is garbage, which is the point: every path through the search must still produce a
/// well-formed result line.
enum RandomModel {
    /// dim 64, 2 layers, 2 heads, ffn 128. The context is 2048, not the demo models' 256: the chat
    /// workflows' prompts (instructions, a problem, a path of steps, five candidate plans) are
    /// longer than 256 tokens of this byte-level vocabulary, and the engine refuses such prompts.
    static func write(to path: String, seed: UInt64 = 1, context: Int = 2048) throws {
        let source = try GGUFFile(path: FlowTestPaths.target)
        var writer = GGUFWriter()
        writer.set("general.architecture", "llama")
        writer.set("general.name", "seedflow-test-random")
        // The tokenizer is copied key by key so drafts and validation see the demo vocabulary.
        for key in source.metadataKeys where key.hasPrefix("tokenizer.ggml.") {
            if let value = source.value(key) { writer.set(key, value) }
        }
        let dim = 64, layers = 2, heads = 2, ffn = 128
        let vocabulary = try source.stringArray("tokenizer.ggml.tokens")?.count ?? 512
        writer.set("llama.embedding_length", uint32: dim)
        writer.set("llama.block_count", uint32: layers)
        writer.set("llama.attention.head_count", uint32: heads)
        writer.set("llama.attention.head_count_kv", uint32: heads)
        writer.set("llama.feed_forward_length", uint32: ffn)
        writer.set("llama.context_length", uint32: context)
        writer.set("llama.rope.freq_base", float: 10_000)
        writer.set("llama.attention.layer_norm_rms_epsilon", float: 1e-5)

        var rng = SplitMix(seed: seed)
        func random(_ count: Int, scale: Float) -> [Float] { (0..<count).map { _ in (rng.unit() * 2 - 1) * scale } }
        // Matrices F16 (as the real files), norms F32; ggml order: dimensions[0] is the row length.
        func matrix(_ name: String, cols: Int, rows: Int) {
            writer.addTensor(name, dimensions: [cols, rows], type: .f16, values: random(cols * rows, scale: 1 / Float(cols).squareRoot()))
        }
        func norm(_ name: String) { writer.addTensor(name, dimensions: [dim], type: .f32, values: [Float](repeating: 1, count: dim)) }
        matrix("token_embd.weight", cols: dim, rows: vocabulary)
        matrix("output.weight", cols: dim, rows: vocabulary)
        norm("output_norm.weight")
        for i in 0..<layers {
            let p = "blk.\(i)."
            norm(p + "attn_norm.weight")
            matrix(p + "attn_q.weight", cols: dim, rows: dim)
            matrix(p + "attn_k.weight", cols: dim, rows: dim)
            matrix(p + "attn_v.weight", cols: dim, rows: dim)
            matrix(p + "attn_output.weight", cols: dim, rows: dim)
            norm(p + "ffn_norm.weight")
            matrix(p + "ffn_gate.weight", cols: dim, rows: ffn)
            matrix(p + "ffn_up.weight", cols: dim, rows: ffn)
            matrix(p + "ffn_down.weight", cols: ffn, rows: dim)
        }
        try writer.write(to: path)
    }

    /// SplitMix64: reproducible weights without depending on the engine's samplers.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
    }
}
