import XCTest
@testable import SeedModel

/// The tokenizer details of the model families users bring (Llama 3, Qwen2, Llama 2 / Mistral):
/// which tokens end a chat turn, whether BOS is added, and that a chat template's markers become
/// single special tokens. Llama 3 and Qwen2 vocabularies are shaped from the GPT-2 byte-level
/// vocabulary plus each family's special tokens, written as a random-weight model.
final class TokenizerFamilyTests: XCTestCase {
    /// A random-weight llama model whose tokenizer is GPT-2's with `pre` and extra control tokens.
    private func familyModel(pre: String, specials: [String], bos: String?, eos: String, eot: String?,
                             addBOS: Bool?) throws -> TransformerModel {
        let gpt2 = try GGUFFile(path: TestPaths.resource("vocab/ggml-vocab-gpt-2.gguf").path)
        let base = try XCTUnwrap(gpt2.stringArray("tokenizer.ggml.tokens"))
        let tokens = base + specials
        // The family's vocabulary alone first; the random model then borrows it.
        var vocabulary = GGUFWriter()
        vocabulary.set("tokenizer.ggml.model", "gpt2")
        vocabulary.set("tokenizer.ggml.pre", pre)
        vocabulary.set("tokenizer.ggml.tokens", strings: tokens)
        vocabulary.set("tokenizer.ggml.token_type", .array(.int32, tokens.indices.map { .int32($0 < base.count ? 1 : 3) }))
        vocabulary.set("tokenizer.ggml.merges", try XCTUnwrap(gpt2.value("tokenizer.ggml.merges")))
        if let bos { vocabulary.set("tokenizer.ggml.bos_token_id", uint32: try XCTUnwrap(tokens.firstIndex(of: bos))) }
        vocabulary.set("tokenizer.ggml.eos_token_id", uint32: try XCTUnwrap(tokens.firstIndex(of: eos)))
        if let eot { vocabulary.set("tokenizer.ggml.eot_token_id", uint32: try XCTUnwrap(tokens.firstIndex(of: eot))) }
        if let addBOS { vocabulary.set("tokenizer.ggml.add_bos_token", .bool(addBOS)) }
        let directory = try TestPaths.temporaryDirectory()
        let vocabularyPath = directory.appendingPathComponent("\(pre)-vocab.gguf").path
        try vocabulary.write(to: vocabularyPath)
        var model = RandomModel(embeddingLength: 32, blockCount: 1, headCount: 2, headCountKV: 1,
                                feedForwardLength: 64, weightType: .f32)
        model.tokenizerSource = try GGUFFile(path: vocabularyPath)
        let path = directory.appendingPathComponent("\(pre).gguf").path
        try model.write(to: path)
        return try TransformerModel(path: path, threads: 1)
    }

    func testLlama3() throws {
        let model = try familyModel(pre: "llama-bpe",
                                    specials: ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                                               "<|end_header_id|>", "<|eot_id|>"],
                                    bos: "<|begin_of_text|>", eos: "<|end_of_text|>", eot: "<|eot_id|>", addBOS: nil)
        let t = model.tokenizer
        let id = { (s: String) in (0..<t.vocabularySize).first { t.piece($0) == s }! }
        XCTAssertTrue(t.addsBOS, "Llama 3 adds <|begin_of_text|> when the file does not say")
        XCTAssertEqual(t.endOfGenerationTokenIDs, [id("<|end_of_text|>"), id("<|eot_id|>")])
        let chat = ChatTemplate(family: .llama3).render(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
        let special = t.encode(chat, addBOS: t.addsBOS, parseSpecial: true)
        XCTAssertEqual(special.first, id("<|begin_of_text|>"))
        XCTAssertEqual(special.filter { $0 == id("<|start_header_id|>") }.count, 2, "user and assistant headers")
        XCTAssertTrue(special.contains(id("<|eot_id|>")))
        let plain = t.encode(chat, addBOS: false, parseSpecial: false)
        XCTAssertFalse(plain.contains(id("<|eot_id|>")), "marker text is text unless special tokens are asked for")
        XCTAssertEqual(t.decode(special, includeSpecial: true), "<|begin_of_text|>" + chat, "BOS and the markers come back as their own text")
        XCTAssertFalse(t.decode(special).contains("<|"), "and decode to nothing otherwise")
    }

    func testQwen2() throws {
        // GPT-2's vocabulary already ends in <|endoftext|> (id 50256), as Qwen's does.
        let model = try familyModel(pre: "qwen2", specials: ["<|im_start|>", "<|im_end|>"],
                                    bos: nil, eos: "<|endoftext|>", eot: nil, addBOS: false)
        let t = model.tokenizer
        let id = { (s: String) in (0..<t.vocabularySize).first { t.piece($0) == s }! }
        XCTAssertFalse(t.addsBOS)
        XCTAssertEqual(t.endOfGenerationTokenIDs, [id("<|endoftext|>"), id("<|im_end|>")],
                       "<|im_end|> ends a turn although the file names only <|endoftext|>")
        let chat = ChatTemplate(family: .chatML).render(messages: [ChatMessage(role: "system", content: "Be brief."),
                                                                   ChatMessage(role: "user", content: "2+2?")],
                                                        addGenerationPrompt: true)
        let ids = t.encode(chat, addBOS: t.addsBOS, parseSpecial: true)
        XCTAssertEqual(ids.filter { $0 == id("<|im_start|>") }.count, 3)
        XCTAssertEqual(ids.filter { $0 == id("<|im_end|>") }.count, 2)
        // qwen2 splits digits one by one.
        XCTAssertEqual(t.encode("12345", addBOS: false, parseSpecial: false).count, 5)
    }

    func testLlama2AndMistralSentencePiece() throws {
        let file = try GGUFFile(path: TestPaths.resource("vocab/ggml-vocab-llama-spm.gguf").path)
        let t = try loadTokenizer(from: file)
        XCTAssertTrue(t.addsBOS)
        XCTAssertEqual(t.bosTokenID, 1)
        XCTAssertEqual(t.endOfGenerationTokenIDs, [2])
        // The space prefix: "Hello" is the word-initial piece "▁Hello".
        let ids = t.encode("Hello", addBOS: true, parseSpecial: false)
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(t.piece(ids[1]), "\u{2581}Hello")
        XCTAssertEqual(t.decode(ids), "Hello")
        // The Llama 2 chat format encodes with its [INST] markers as text and BOS once.
        let chat = ChatTemplate(family: .llama2).render(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
        let chatIDs = t.encode(chat, addBOS: true, parseSpecial: true)
        XCTAssertEqual(chatIDs.filter { $0 == 1 }.count, 1, "BOS comes from the tokenizer, not twice")
    }
}
