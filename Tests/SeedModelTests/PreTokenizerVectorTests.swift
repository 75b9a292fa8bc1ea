import Foundation
import XCTest
@testable import SeedModel

/// Every pre-tokenizer family against llama.cpp on one vocabulary: GPT-2's bundled vocabulary with
/// `tokenizer.ggml.pre` rewritten to the family's name, tokenized by llama.cpp (see
/// Resources/real-models/README.md) over llama.cpp's GPT-2 test strings and ours. The vocabulary
/// is the same for all, so any difference comes from the splitting rules (and Llama 3's and
/// Tekken's whole-word lookups). This covers the names that llama.cpp ships no vocabulary file
/// for (deepseek-v3, tekken, gpt-4o, bloom, viking) and checks the others a second time.
final class PreTokenizerVectorTests: XCTestCase {
    static let families = ["smollm", "llama-bpe", "qwen2", "qwen35", "deepseek-llm", "deepseek-coder",
                           "deepseek-v3", "falcon", "tekken", "gpt-4o", "bloom", "viking"]

    private func relabelled(_ pre: String) throws -> any Tokenizer {
        let source = try GGUFFile(path: TestPaths.resource("vocab/ggml-vocab-gpt-2.gguf").path)
        var writer = GGUFWriter()
        for key in source.metadataKeys {
            if let value = source.value(key) { writer.set(key, value) }
        }
        writer.set("tokenizer.ggml.pre", pre)
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("gpt2-as-\(pre).gguf").path
        try writer.write(to: path)
        return try loadTokenizer(from: GGUFFile(path: path))
    }

    func testEveryFamilyMatchesLlamaCpp() throws {
        let strings = try TokenizerVectorTests.testStrings(TestPaths.resource("real-models/gpt2-relabelled.inp"))
        XCTAssertGreaterThan(strings.count, 60)
        for pre in Self.families {
            let tokenizer = try relabelled(pre)
            let expected = try TokenizerVectorTests.expectedIDs(TestPaths.resource("real-models/gpt2-as-\(pre).out"))
            XCTAssertEqual(expected.count, strings.count, pre)
            var failures = 0
            for (text, ids) in zip(strings, expected) {
                let got = tokenizer.encode(text, addBOS: false, parseSpecial: false)
                if got != ids {
                    failures += 1
                    XCTFail("\(pre): \(text.debugDescription)\n  expected \(ids)\n  got      \(got)")
                }
            }
            XCTAssertEqual(failures, 0, "\(pre): \(failures) of \(strings.count) differ")
        }
    }

    /// Every name of the table loads and splits without losing text.
    func testEveryNameRoundTrips() throws {
        let text = "Hello WORLD's 12345 — ÄÖü 日本語 ,,!!\n\n  x\t"
        let bytes = Array(text.utf8)
        for name in PreTokenizer.supportedNames {
            guard let pre = PreTokenizer.byName[name] else { return XCTFail(name) }
            let words = pre.words(in: bytes, range: 0..<bytes.count)
            XCTAssertEqual(words.map { String(decoding: bytes[$0], as: UTF8.self) }.joined(), text, name)
            XCTAssertFalse(words.contains { $0.isEmpty }, name)
        }
    }
}
