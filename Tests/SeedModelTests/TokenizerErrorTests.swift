import Foundation
import XCTest
@testable import SeedModel

/// A broken tokenizer description is reported with the file's path and what is wrong.
final class TokenizerErrorTests: XCTestCase {
    private func tokenizerError(_ configure: (inout GGUFWriter) -> Void,
                                file: StaticString = #filePath, line: UInt = #line) throws -> (TokenizerError, String) {
        var writer = GGUFWriter()
        writer.set("general.architecture", "llama")
        configure(&writer)
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("vocab.gguf").path
        try writer.write(to: path)
        let gguf = try GGUFFile(path: path)
        do {
            _ = try loadTokenizer(from: gguf)
        } catch let error as TokenizerError {
            XCTAssertTrue(error.description.contains(path), "message does not name the file: \(error)", file: file, line: line)
            XCTAssertEqual(error.localizedDescription, error.description, file: file, line: line)
            return (error, path)
        }
        XCTFail("no error", file: file, line: line)
        throw XCTSkip("no error thrown")
    }

    func testMissingTokens() throws {
        let (error, path) = try tokenizerError { $0.set("tokenizer.ggml.model", "gpt2") }
        XCTAssertEqual(error, .missingTokens(path: path))
    }

    func testUnknownModel() throws {
        let (error, path) = try tokenizerError {
            $0.set("tokenizer.ggml.model", "bert")
            $0.set("tokenizer.ggml.tokens", strings: ["a", "b"])
        }
        XCTAssertEqual(error, .unknownModel(path: path, model: "bert", supported: ["gpt2", "llama"]))
        XCTAssertTrue(error.description.contains("gpt2, llama"))
    }

    func testUnknownPreTokenizer() throws {
        let (error, _) = try tokenizerError {
            $0.set("tokenizer.ggml.model", "gpt2")
            $0.set("tokenizer.ggml.pre", "mystery")
            $0.set("tokenizer.ggml.tokens", strings: ["a", "b"])
        }
        guard case let .unknownPreTokenizer(_, pre, supported) = error else { return XCTFail("\(error)") }
        XCTAssertEqual(pre, "mystery")
        XCTAssertTrue(supported.contains("gpt-2") && supported.contains("llama-bpe") && supported.contains("qwen2"))
    }

    func testMismatchedScores() throws {
        let (error, path) = try tokenizerError {
            $0.set("tokenizer.ggml.model", "llama")
            $0.set("tokenizer.ggml.tokens", strings: ["<unk>", "a", "b"])
            $0.set("tokenizer.ggml.scores", .array(.float32, [.float32(0), .float32(-1)]))
        }
        XCTAssertEqual(error, .mismatchedLength(path: path, key: "tokenizer.ggml.scores", count: 2, expected: 3))
    }

    func testMismatchedTokenTypes() throws {
        let (error, path) = try tokenizerError {
            $0.set("tokenizer.ggml.model", "gpt2")
            $0.set("tokenizer.ggml.tokens", strings: ["a", "b"])
            $0.set("tokenizer.ggml.token_type", .array(.int32, [.int32(1)]))
        }
        XCTAssertEqual(error, .mismatchedLength(path: path, key: "tokenizer.ggml.token_type", count: 1, expected: 2))
    }

    func testBadMergeLine() throws {
        let (error, path) = try tokenizerError {
            $0.set("tokenizer.ggml.model", "gpt2")
            $0.set("tokenizer.ggml.tokens", strings: ["a", "b", "ab"])
            $0.set("tokenizer.ggml.merges", strings: ["a b", "ab"])
        }
        XCTAssertEqual(error, .badMerge(path: path, index: 1, line: "ab"))
    }

    func testSpecialTokenOutOfRange() throws {
        let (error, path) = try tokenizerError {
            $0.set("tokenizer.ggml.model", "gpt2")
            $0.set("tokenizer.ggml.tokens", strings: ["a", "b"])
            $0.set("tokenizer.ggml.eos_token_id", uint32: 7)
        }
        XCTAssertEqual(error, .tokenIDOutOfRange(path: path, key: "tokenizer.ggml.eos_token_id", id: 7, vocabularySize: 2))
    }

    /// A tiny hand-made vocabulary: merges apply in file order, not by length.
    /// A byte-level vocabulary that cannot spell some byte, with no unknown token to stand for
    /// it, is refused: that byte would otherwise vanish from every text without a word.
    func testMissingByteTokensWithoutAnUnknownTokenAreRefused() throws {
        let (error, path) = try tokenizerError {
            $0.set("tokenizer.ggml.model", "gpt2")
            $0.set("tokenizer.ggml.tokens", strings: ["a", "b", "ab"])
            $0.set("tokenizer.ggml.merges", strings: ["a b"])
        }
        guard case let .missingByteTokens(p, bytes) = error else { return XCTFail("\(error)") }
        XCTAssertEqual(p, path)
        XCTAssertEqual(bytes.count, 254 - 13, "bytes that never occur in UTF-8 need no token")
        XCTAssertFalse(bytes.contains(UInt8(ascii: "a")))
        XCTAssertTrue(error.description.contains("241 byte values (0x00, 0x01"), error.description)
    }

    func testMergeOrderFollowsFile() throws {
        var writer = GGUFWriter()
        writer.set("tokenizer.ggml.model", "gpt2")
        // Not every byte has a token: the unknown token stands for the others.
        writer.set("tokenizer.ggml.tokens", strings: ["a", "b", "c", "ab", "bc", "<unk>"])
        writer.set("tokenizer.ggml.unknown_token_id", uint32: 5)
        writer.set("tokenizer.ggml.merges", strings: ["b c", "a b"])
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("tiny.gguf").path
        try writer.write(to: path)
        let tokenizer = try loadTokenizer(from: GGUFFile(path: path))
        XCTAssertEqual(tokenizer.encode("abc"), [0, 4])
        XCTAssertEqual(tokenizer.encode("abab"), [3, 3])
        XCTAssertEqual(tokenizer.decode([0, 4]), "abc")
    }
}
