/// gemma2: Gemma 3's layers without the Q/K norms, with soft-capped attention scores
/// (`attn_logit_softcapping`, default 50) and logits (`final_logit_softcapping`, default 30),
/// and sliding-window layers alternating with global ones (window 4096 unless the file says;
/// period 2), all with the same RoPE base. Queries are scaled as Gemma 3's.
public enum Gemma2Architecture: Architecture {
    public static let name = "gemma2"
    public static let recipe = DecoderRecipe(ropeStyle: .halves, scaleEmbeddings: true, postNorms: true,
                                             activation: .geluTanh)

    public static func readHyperparameters(_ c: inout ModelConfig, from file: GGUFFile) throws {
        try SlidingWindowKeys.read(&c, from: file, defaultWindow: 4096, defaultPeriod: 2)
        c.ropeBaseSliding = Float(try file.double("gemma2.rope.freq_base_swa") ?? Double(c.ropeBase))
        c.ropeLinearScaleSliding = c.ropeLinearScale
        c.attentionSoftcap = Float(try file.double("gemma2.attn_logit_softcapping") ?? 50)
        c.finalLogitSoftcap = Float(try file.double("gemma2.final_logit_softcapping") ?? 30)
        if c.blockCount == 46 {
            c.attentionScale = 1 / Float(c.embeddingLength / c.headCount).squareRoot()
        }
    }
}
