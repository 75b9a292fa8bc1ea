/// qwen3: llama's layers with per-head RMS norms of queries and keys before RoPE, no Q/K/V
/// biases, RoPE on the two halves of each head.
public enum Qwen3Architecture: Architecture {
    public static let name = "qwen3"
    public static let recipe = DecoderRecipe(ropeStyle: .halves, queryKeyNorms: true)
}
