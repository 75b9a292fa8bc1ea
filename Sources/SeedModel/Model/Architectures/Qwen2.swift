/// qwen2: llama's layers with Q/K/V biases and RoPE on the two halves of each head.
public enum Qwen2Architecture: Architecture {
    public static let name = "qwen2"
    public static let recipe = DecoderRecipe(ropeStyle: .halves)
}
