/// llama: Llama 1–3, Mistral, TinyLlama, SmolLM2. Pre-norm layers, SwiGLU, RoPE on adjacent
/// pairs (the GGUF converter permutes Q and K rows), Llama 3's `rope_freqs` where present.
/// A `sliding_window` key (Mistral 7B v0.1) is not read: llama.cpp runs these files with full
/// attention over the whole context, and so does seedflow.
public enum LlamaArchitecture: Architecture {
    public static let name = "llama"
    public static let recipe = DecoderRecipe(ropeStyle: .adjacentPairs)
}
