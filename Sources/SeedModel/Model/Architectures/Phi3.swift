/// phi3: Phi-3 and Phi-3.5 (mini, medium). llama's pre-norm layers with RoPE on the two halves
/// of each head, Q, K and V in one `attn_qkv` tensor (separate ones are read too), the gate and
/// up projections in one `ffn_up` tensor of twice the feed-forward width (gate rows first, then
/// SwiGLU), and no `ffn_gate`. The 128k files carry LongRoPE: two tables of per-frequency
/// divisors, `rope_factors_long` and `rope_factors_short`, of which the long one applies when the
/// context exceeds `rope.scaling.original_context_length` (see
/// `ModelConfig.usesLongRopeFactors`), and a magnitude factor `rope.scaling.attn_factor` on the
/// rotated values, whichever table applies. A `sliding_window` key is not read: llama.cpp runs
/// phi3 files with full attention, and so does seedflow.
public enum Phi3Architecture: Architecture {
    public static let name = "phi3"
    public static let recipe = DecoderRecipe(ropeStyle: .halves, fusedGateUp: true, fusedQKV: true)
}
