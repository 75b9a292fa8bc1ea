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
        XCTAssertEqual(error, .unknownModel(path: path, model: "bert", supported: ["gpt2", "llama", "gemma4"]))
        XCTAssertTrue(error.description.contains("gpt2, llama, gemma4"))
    }

    func testUnknownPreTokenizer() throws {
        let (error, _) = try tokenizerError {
            $0.set("tokenizer.ggml.model", "gpt2")
            $0.set("tokenizer.ggml.pre", "mystery")
            $0.set("tokenizer.ggml.tokens", strings: ["a", "b"])
        }
        guard case let .unknownPreTokenizer(_, pre, supported, nearest) = error else { return XCTFail("\(error)") }
        XCTAssertEqual(pre, "mystery")
        XCTAssertNil(nearest, "nothing is close to 'mystery'")
        for name in ["gpt-2", "llama-bpe", "qwen2", "qwen35", "smollm", "deepseek-v3", "tekken", "gpt-4o", "falcon"] {
            XCTAssertTrue(supported.contains(name), name)
        }
        XCTAssertTrue(error.description.contains("smollm, "), error.description)
    }

    func testMisspelledPreTokenizerNamesTheNearest() throws {
        let (error, path) = try tokenizerError {
            $0.set("tokenizer.ggml.model", "gpt2")
            $0.set("tokenizer.ggml.pre", "smolllm")
            $0.set("tokenizer.ggml.tokens", strings: ["a", "b"])
        }
        guard case let .unknownPreTokenizer(_, _, _, nearest) = error else { return XCTFail("\(error)") }
        XCTAssertEqual(nearest, "smollm")
        XCTAssertTrue(error.description.hasPrefix(path), error.description)
        XCTAssertTrue(error.description.contains("nearest supported name is 'smollm'"), error.description)
        XCTAssertEqual(PreTokenizer.nearestName(to: "Qwen-2"), "qwen2")
        XCTAssertEqual(PreTokenizer.nearestName(to: "llama3"), "llama3")
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
        // Printable ASCII but a and b, tab, newline, carriage return, and the bytes of multi-byte
        // UTF-8 up to plane 3; bytes that never occur in UTF-8, other control bytes and the lead
        // bytes of planes 4–16 need no token.
        XCTAssertEqual(bytes.count, 93 + 3 + 64 + 47)
        XCTAssertFalse(bytes.contains(UInt8(ascii: "a")))
        XCTAssertFalse(bytes.contains(0x03))
        XCTAssertTrue(error.description.contains("207 byte values (0x09, 0x0A, 0x0D, 0x20"), error.description)
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
