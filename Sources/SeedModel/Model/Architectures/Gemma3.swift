/// gemma3: embeddings scaled by √d; per-head Q/K RMS norms; RMS norms after attention and after
/// the feed-forward as well as before; GeGLU (tanh GELU); RoPE on halves. Five sliding-window
/// layers to one global one (`sliding_window_pattern`, default period 6), the sliding ones with
/// their own RoPE base (`rope.freq_base_swa`, default 10 000) and no RoPE scaling, the global
/// ones with `rope.freq_base` and the file's scaling. Queries are scaled by 1/√key_length, except
/// for the 27B (62 layers), whose scale is 1/√(embedding_length / head_count)
/// (`query_pre_attn_scalar`). The converter stores the norm weights with Gemma's +1 already
/// added, so the norms multiply by the stored weights as they are.
public enum Gemma3Architecture: Architecture {
    public static let name = "gemma3"
    public static let recipe = DecoderRecipe(ropeStyle: .halves, scaleEmbeddings: true, queryKeyNorms: true,
                                             postNorms: true, activation: .geluTanh)

    public static func readHyperparameters(_ c: inout ModelConfig, from file: GGUFFile) throws {
        try SlidingWindowKeys.read(&c, from: file, defaultWindow: nil, defaultPeriod: 6)
        c.ropeBaseSliding = Float(try file.double("gemma3.rope.freq_base_swa") ?? 10_000)
        c.ropeLinearScaleSliding = 1
        c.finalLogitSoftcap = try file.double("gemma3.final_logit_softcapping").flatMap { $0 > 0 ? Float($0) : nil }
        if c.blockCount == 62 {
            c.attentionScale = 1 / Float(c.embeddingLength / c.headCount).squareRoot()
        }
    }
}
