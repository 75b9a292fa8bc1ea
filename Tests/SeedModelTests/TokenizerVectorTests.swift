import Foundation
import XCTest
@testable import SeedModel

/// llama.cpp's test vectors for real vocabularies (see Resources/vocab/README.md) and the reference
/// tokenizations of the demo models (Resources/fixtures-public.json).
final class TokenizerVectorTests: XCTestCase {
    /// The test strings of a `.inp` file: separated by lines `__ggml_vocab_test__`, each string
    /// losing only the newline that precedes its separator. Split on bytes so nothing is normalised.
    static func testStrings(_ url: URL) throws -> [String] {
        let data = Array(try Data(contentsOf: url))
        let separator = Array("\n__ggml_vocab_test__\n".utf8)
        var strings: [String] = []
        var start = 0
        var i = 0
        while i + separator.count <= data.count {
            if data[i..<i + separator.count].elementsEqual(separator) {
                strings.append(String(decoding: data[start..<i], as: UTF8.self))
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        // gemma-4's file ends its last string without a separator.
        if start < data.count { strings.append(String(decoding: data[start...], as: UTF8.self)) }
        return strings
    }

    static func expectedIDs(_ url: URL) throws -> [[Int]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines.map { $0.split(separator: " ").compactMap { Int($0) } }
    }

    /// Checks a vocabulary against its vectors: `bundled` ones are committed under Resources/vocab,
    /// the larger ones are fetched into the real-model folder's vocab/ by `make real-models`.
    private func checkVocabulary(_ name: String, expectedType: Any.Type, bundled: Bool = true) throws {
        func url(_ suffix: String) throws -> URL {
            bundled ? TestPaths.resource("vocab/\(name)\(suffix)")
                : URL(fileURLWithPath: try RealModels.path("vocab/\(name)\(suffix)"))
        }
        let file = try GGUFFile(path: try url(".gguf").path)
        let tokenizer = try loadTokenizer(from: file)
        XCTAssertTrue(type(of: tokenizer) == expectedType, "\(name): \(type(of: tokenizer))")
        let strings = try Self.testStrings(try url(".gguf.inp"))
        let expected = try Self.expectedIDs(try url(".gguf.out"))
        XCTAssertEqual(strings.count, expected.count, "\(name): input and output counts differ")
        XCTAssertGreaterThan(strings.count, 30)
        var failures = 0
        for (text, ids) in zip(strings, expected) {
            let got = tokenizer.encode(text, addBOS: false, parseSpecial: false)
            if got != ids {
                failures += 1
                XCTFail("\(name): \(text.debugDescription)\n  expected \(ids)\n  got      \(got)")
            }
        }
        XCTAssertEqual(failures, 0, "\(name): \(failures) of \(strings.count) vectors differ")
    }

    func testLlamaSentencePieceVectors() throws {
        try checkVocabulary("ggml-vocab-llama-spm", expectedType: SentencePieceTokenizer.self)
    }

    func testPhi3Vectors() throws {
        try checkVocabulary("ggml-vocab-phi-3", expectedType: SentencePieceTokenizer.self)
    }

    func testGPT2Vectors() throws {
        try checkVocabulary("ggml-vocab-gpt-2", expectedType: BPETokenizer.self)
    }

    func testMPTVectors() throws {
        try checkVocabulary("ggml-vocab-mpt", expectedType: BPETokenizer.self)
    }

    func testStarCoderVectors() throws {
        try checkVocabulary("ggml-vocab-starcoder", expectedType: BPETokenizer.self)
    }

    func testRefactVectors() throws {
        try checkVocabulary("ggml-vocab-refact", expectedType: BPETokenizer.self)
    }

    func testFalconVectors() throws {
        try checkVocabulary("ggml-vocab-falcon", expectedType: BPETokenizer.self)
    }

    func testDeepSeekCoderVectors() throws {
        try checkVocabulary("ggml-vocab-deepseek-coder", expectedType: BPETokenizer.self)
    }

    func testDeepSeekLLMVectors() throws {
        try checkVocabulary("ggml-vocab-deepseek-llm", expectedType: BPETokenizer.self, bundled: false)
    }

    func testLlamaBPEVectors() throws {
        try checkVocabulary("ggml-vocab-llama-bpe", expectedType: BPETokenizer.self, bundled: false)
    }

    func testQwen2Vectors() throws {
        try checkVocabulary("ggml-vocab-qwen2", expectedType: BPETokenizer.self, bundled: false)
    }

    func testQwen35Vectors() throws {
        try checkVocabulary("ggml-vocab-qwen35", expectedType: BPETokenizer.self, bundled: false)
    }

    func testGemma4Vectors() throws {
        try checkVocabulary("ggml-vocab-gemma-4", expectedType: BPETokenizer.self, bundled: false)
    }

    func testCommandRVectors() throws {
        try checkVocabulary("ggml-vocab-command-r", expectedType: BPETokenizer.self, bundled: false)
    }

    private struct Fixtures: Decodable {
        struct Entry: Decodable {
            let text: String
            let ids: [Int]
        }
        struct Model: Decodable {
            let sequences: [Entry]
        }
        let tokenizer: [Entry]
        let models: [String: Model]
    }

    private func fixtures() throws -> Fixtures {
        let data = try Data(contentsOf: TestPaths.resource("fixtures-public.json"))
        return try JSONDecoder().decode(Fixtures.self, from: data)
    }

    func testDemoTokenizerFixtures() throws {
        let tokenizer = try loadTokenizer(from: GGUFFile(path: TestPaths.target))
        XCTAssertEqual(tokenizer.vocabularySize, 512)
        XCTAssertEqual(tokenizer.bosTokenID, 0)
        XCTAssertEqual(tokenizer.eosTokenID, 1)
        XCTAssertTrue(tokenizer.addsBOS)
        XCTAssertEqual(tokenizer.endOfGenerationTokenIDs, [1])
        let entries = try fixtures().tokenizer
        XCTAssertFalse(entries.isEmpty)
        for entry in entries {
            XCTAssertEqual(tokenizer.encode(entry.text, addBOS: false, parseSpecial: false), entry.ids,
                           entry.text.debugDescription)
            XCTAssertEqual(tokenizer.decode(entry.ids), entry.text)
        }
    }

    func testModelSequencesStartWithBOS() throws {
        let paths = ["target": TestPaths.target, "draft-m": TestPaths.draftM, "draft-s": TestPaths.draftS,
                     "target-l": TestPaths.benchTarget]
        var checked = 0
        for (name, model) in try fixtures().models {
            guard let path = paths[name] ?? nil else { continue }  // the bench model is optional
            let tokenizer = try loadTokenizer(from: GGUFFile(path: path))
            for sequence in model.sequences {
                XCTAssertEqual(tokenizer.encode(sequence.text), sequence.ids, "\(name): \(sequence.text.debugDescription)")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 9)
    }
}
