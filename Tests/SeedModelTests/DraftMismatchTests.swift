import XCTest
@testable import SeedModel

/// The one rule for whether a draft model's tokens mean the same text as the target's.
final class DraftMismatchTests: XCTestCase {
    private func tokenizer(_ name: String) throws -> any Tokenizer {
        try loadTokenizer(from: GGUFFile(path: TestPaths.resource("vocab/\(name)").path))
    }

    func testSameVocabularyIsCompatible() throws {
        XCTAssertNil(try tokenizer("ggml-vocab-gpt-2.gguf").draftMismatch(try tokenizer("ggml-vocab-gpt-2.gguf")))
    }

    func testSizesFarApartAreRefused() throws {
        let problem = try tokenizer("ggml-vocab-gpt-2.gguf").draftMismatch(try tokenizer("ggml-vocab-llama-spm.gguf"))
        XCTAssertEqual(problem, "the draft has 32000 tokens and the target 50257, more than 128 apart")
    }

    func testExtraTokensWithinThePaddingAreAccepted() throws {
        // Phi-3's vocabulary is Llama 2's plus 64 added tokens.
        XCTAssertNil(try tokenizer("ggml-vocab-llama-spm.gguf").draftMismatch(try tokenizer("ggml-vocab-phi-3.gguf")))
    }

    func testFirstDifferingTokenIsNamed() throws {
        let source = try GGUFFile(path: TestPaths.resource("vocab/ggml-vocab-gpt-2.gguf").path)
        var writer = GGUFWriter()
        for key in source.metadataKeys { if let value = source.value(key) { writer.set(key, value) } }
        var tokens = try XCTUnwrap(source.stringArray("tokenizer.ggml.tokens"))
        tokens[300] = "not-gpt2"
        writer.set("tokenizer.ggml.tokens", strings: tokens)
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("changed.gguf").path
        try writer.write(to: path)
        let target = try tokenizer("ggml-vocab-gpt-2.gguf")
        let problem = target.draftMismatch(try loadTokenizer(from: GGUFFile(path: path)))
        XCTAssertEqual(problem, "token 300 is 'not-gpt2' in the draft but '\(target.piece(300))' in the target")
    }
}
