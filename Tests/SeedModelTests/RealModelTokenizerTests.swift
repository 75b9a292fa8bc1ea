import Foundation
import XCTest
@testable import SeedModel

/// The two real files of `make real-models` tokenize a set of strings (code, Unicode, digits,
/// whitespace runs) exactly as llama.cpp does (Resources/real-models: strings.inp, smollm2.out,
/// gemma3.out; how they were made is in the README there).
final class RealModelTokenizerTests: XCTestCase {
    private func check(_ model: String, expected name: String, expectedType: Any.Type) throws {
        let tokenizer = try loadTokenizer(from: GGUFFile(path: try RealModels.path(model)))
        XCTAssertTrue(type(of: tokenizer) == expectedType, "\(model): \(type(of: tokenizer))")
        let strings = try TokenizerVectorTests.testStrings(TestPaths.resource("real-models/strings.inp"))
        let expected = try TokenizerVectorTests.expectedIDs(TestPaths.resource("real-models/\(name).out"))
        XCTAssertEqual(strings.count, expected.count)
        XCTAssertGreaterThan(strings.count, 20)
        var failures = 0
        for (text, ids) in zip(strings, expected) {
            let got = tokenizer.encode(text, addBOS: false, parseSpecial: false)
            if got != ids {
                failures += 1
                XCTFail("\(model): \(text.debugDescription)\n  expected \(ids)\n  got      \(got)")
            }
            XCTAssertEqual(tokenizer.decode(got), text, "\(model): decode(encode(text))")
        }
        XCTAssertEqual(failures, 0, "\(model): \(failures) of \(strings.count) differ")
    }

    func testSmolLM2MatchesLlamaCpp() throws {
        try check(RealModels.smolLM2, expected: "smollm2", expectedType: BPETokenizer.self)
    }

    func testGemma3MatchesLlamaCpp() throws {
        try check(RealModels.gemma3, expected: "gemma3", expectedType: SentencePieceTokenizer.self)
    }
}
