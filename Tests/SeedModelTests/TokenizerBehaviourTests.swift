import Foundation
import XCTest
@testable import SeedModel

/// Round trips, streaming, special tokens and pre-tokenizer splits on every vocabulary we have.
final class TokenizerBehaviourTests: XCTestCase {
    static let vocabularies = ["ggml-vocab-llama-spm", "ggml-vocab-phi-3", "ggml-vocab-gpt-2"]

    private func allTokenizers() throws -> [(String, any Tokenizer)] {
        var result: [(String, any Tokenizer)] = [("demo", try loadTokenizer(from: GGUFFile(path: TestPaths.target)))]
        for name in Self.vocabularies {
            let file = try GGUFFile(path: TestPaths.resource("vocab/\(name).gguf").path)
            result.append((name, try loadTokenizer(from: file)))
        }
        return result
    }

    static let samples = [
        "", " ", "Hello world", " leading space", "trailing space ", "  two  spaces\tand\ttabs\n\n\n",
        "\n", "\t \n \r\n", "emoji 🎲🦙🚀 family 👨‍👩‍👧 flag 🇯🇵 and 😶‍🌫️",
        "数字 24 は難しい、中文测试。한국어", "combining: e\u{301} a\u{308}\u{323} \u{0915}\u{094D}\u{0937}",
        "Ünïcödé façade — “quotes” ‘single’ …", "don't WON'T it's I'M we'll", "1234567890 3.14159 ١٢٣",
        "mixed\u{00A0}nbsp\u{2003}em space\u{3000}ideographic", "control \u{0001}\u{007F} bytes",
        "нещо на Български", "កាន់តែពិសេសអាចខលចេញ", "    indented code {\n        return x;\n    }\n",
    ]

    func testRoundTripOnAllVocabularies() throws {
        for (name, tokenizer) in try allTokenizers() {
            for text in Self.samples {
                let ids = tokenizer.encode(text, addBOS: false, parseSpecial: false)
                XCTAssertEqual(tokenizer.decode(ids), text, "\(name): \(text.debugDescription) → \(ids)")
                XCTAssertTrue(ids.allSatisfy { (0..<tokenizer.vocabularySize).contains($0) }, name)
                let withBOS = tokenizer.encode(text, addBOS: true, parseSpecial: false)
                XCTAssertEqual(tokenizer.decode(withBOS), text, "\(name) with BOS: \(text.debugDescription)")
            }
        }
    }

    func testStreamingNeverSplitsCharactersAndMatchesDecode() throws {
        for (name, tokenizer) in try allTokenizers() {
            for text in Self.samples {
                let ids = tokenizer.encode(text, addBOS: true, parseSpecial: false)
                var stream = StreamingDetokenizer(tokenizer: tokenizer)
                var pieces: [String] = []
                for id in ids { pieces.append(stream.append(id)) }
                pieces.append(stream.finish())
                for piece in pieces {
                    XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}"), "\(name): split character in \(piece.debugDescription)")
                }
                XCTAssertEqual(pieces.joined(), tokenizer.decode(ids), "\(name): \(text.debugDescription)")
            }
        }
    }

    /// A completion continues its prompt: a SentencePiece word's space stays (the prompt "Hello"
    /// and the completion "▁world" read "Hello world"). After BOS alone it is the start of a text,
    /// and the space goes as `decode` drops it.
    func testAStreamAfterAPromptWithTextKeepsItsLeadingSpace() throws {
        let llama = try loadTokenizer(from: GGUFFile(path: TestPaths.resource("vocab/ggml-vocab-llama-spm.gguf").path))
        let prompt = llama.encode("Hello", addBOS: true, parseSpecial: false)
        let completion = llama.encode("world again", addBOS: false, parseSpecial: false)
        func streamed(after prompt: [Int]) -> String {
            var stream = StreamingDetokenizer(tokenizer: llama, continuing: prompt)
            return completion.map { stream.append($0) }.joined() + stream.finish()
        }
        XCTAssertEqual(streamed(after: prompt), " world again")
        XCTAssertEqual(llama.decode(prompt + completion), "Hello world again", "the same text as the whole decoded")
        XCTAssertEqual(streamed(after: [1]), "world again", "after BOS alone: the start of a text")
        XCTAssertEqual(streamed(after: []), "world again")

        // Byte-level BPE keeps every space as it is, prompt or not.
        let gpt2 = try loadTokenizer(from: GGUFFile(path: TestPaths.resource("vocab/ggml-vocab-gpt-2.gguf").path))
        var stream = StreamingDetokenizer(tokenizer: gpt2, continuing: gpt2.encode("Hello", addBOS: false, parseSpecial: false))
        XCTAssertEqual(gpt2.encode(" world", addBOS: false, parseSpecial: false).map { stream.append($0) }.joined() + stream.finish(), " world")
    }

    /// Byte tokens in any order, valid UTF-8 or not: the pieces still add up to `decode`.
    func testStreamingOfArbitraryBytesMatchesDecode() throws {
        let tokenizer = try loadTokenizer(from: GGUFFile(path: TestPaths.resource("vocab/ggml-vocab-llama-spm.gguf").path))
        var generator = SystemRandomNumberGenerator()
        let interesting: [UInt8] = [0x41, 0x80, 0xBF, 0xC2, 0xC3, 0xE0, 0xE2, 0xED, 0xF0, 0xF4, 0xF5, 0xFF, 0x9F]
        for _ in 0..<300 {
            let bytes = (0..<Int.random(in: 1...12, using: &generator)).map { _ in interesting.randomElement(using: &generator)! }
            let ids = bytes.map { 3 + Int($0) }  // <0x00> is id 3 in the Llama vocabulary
            var stream = StreamingDetokenizer(tokenizer: tokenizer)
            let streamed = ids.map { stream.append($0) }.joined() + stream.finish()
            XCTAssertEqual(streamed, tokenizer.decode(ids), "\(bytes)")
        }
    }

    func testControlTokensNeedParseSpecial() throws {
        let demo = try loadTokenizer(from: GGUFFile(path: TestPaths.target))
        XCTAssertFalse(demo.encode("<s>hi", addBOS: false, parseSpecial: false).contains(0))
        XCTAssertEqual(demo.encode("<s>hi", addBOS: false, parseSpecial: true).first, 0)
        XCTAssertEqual(demo.encode("a</s>", addBOS: false, parseSpecial: true).last, 1)

        let llama = try loadTokenizer(from: GGUFFile(path: TestPaths.resource("vocab/ggml-vocab-llama-spm.gguf").path))
        XCTAssertFalse(llama.encode("<s>hi", addBOS: false, parseSpecial: false).contains(1))
        let parsed = llama.encode("<s>hi", addBOS: false, parseSpecial: true)
        XCTAssertEqual(parsed.first, 1)
        XCTAssertEqual(llama.decode(parsed, includeSpecial: true), "<s> hi")
        XCTAssertEqual(llama.decode(parsed), "hi", "the prefixed space goes with the first token that has text")
        XCTAssertEqual(llama.bytes(of: 1, includeSpecial: false), [])
        XCTAssertEqual(llama.bytes(of: 1, includeSpecial: true), Array("<s>".utf8))
        XCTAssertEqual(llama.piece(1), "<s>")
    }

    func testUserDefinedTokensAlwaysMatch() throws {
        // Phi-3 marks "</s>" (id 2) as a user-defined token.
        let phi = try loadTokenizer(from: GGUFFile(path: TestPaths.resource("vocab/ggml-vocab-phi-3.gguf").path))
        XCTAssertTrue(phi.encode("a</s>b", addBOS: false, parseSpecial: false).contains(2))
        XCTAssertFalse(phi.encode("<|end|>", addBOS: false, parseSpecial: false).contains(32007))
        XCTAssertEqual(phi.encode("<|end|>", addBOS: false, parseSpecial: true), [32007])
    }

    func testMetadata() throws {
        let tokenizers = Dictionary(uniqueKeysWithValues: try allTokenizers())
        let phi = try XCTUnwrap(tokenizers["ggml-vocab-phi-3"])
        XCTAssertEqual(phi.eosTokenID, 32000)
        XCTAssertTrue(phi.endOfGenerationTokenIDs.isSuperset(of: [32000, 32007]))
        XCTAssertTrue(phi.addsBOS)
        let llama = try XCTUnwrap(tokenizers["ggml-vocab-llama-spm"])
        XCTAssertEqual(llama.endOfGenerationTokenIDs, [2])
        XCTAssertEqual(llama.bosTokenID, 1)
        XCTAssertEqual(llama.encode("Hi").first, 1, "Llama adds BOS by default")
        let gpt2 = try XCTUnwrap(tokenizers["ggml-vocab-gpt-2"])
        XCTAssertFalse(gpt2.addsBOS, "gpt2 BPE does not add BOS when the file does not say so")
        XCTAssertEqual(gpt2.endOfGenerationTokenIDs, [50256])
        XCTAssertEqual(gpt2.bytes(of: 50256, includeSpecial: false), [])
        XCTAssertEqual(gpt2.piece(220), "Ġ")
        XCTAssertEqual(gpt2.bytes(of: 220, includeSpecial: false), [0x20])
        XCTAssertEqual(llama.bytes(of: 3 + 0x0A, includeSpecial: false), [0x0A])
    }

    /// Long inputs stay fast: every algorithm step is O(n log n) per word.
    func testLongTextsEncode() throws {
        let unit = Self.samples.joined(separator: " ")
        let long = String(repeating: unit, count: 40)
        let noSpaces = String(repeating: "abc数字🎲", count: 2000)
        for (name, tokenizer) in try allTokenizers() {
            for text in [long, noSpaces] {
                XCTAssertEqual(tokenizer.decode(tokenizer.encode(text, addBOS: false, parseSpecial: false)), text, name)
            }
        }
    }

    /// The Llama 3 and Qwen 2 scanners on a real byte-level vocabulary (GPT-2's, relabelled):
    /// whatever the splits, every text must come back unchanged and long texts stay fast.
    func testOtherPreTokenizersRoundTrip() throws {
        let source = try GGUFFile(path: TestPaths.resource("vocab/ggml-vocab-gpt-2.gguf").path)
        for pre in ["llama-bpe", "qwen2"] {
            var writer = GGUFWriter()
            for key in source.metadataKeys {
                if let value = source.value(key) { writer.set(key, value) }
            }
            writer.set("tokenizer.ggml.pre", pre)
            let path = try TestPaths.temporaryDirectory().appendingPathComponent("\(pre).gguf").path
            try writer.write(to: path)
            let tokenizer = try loadTokenizer(from: GGUFFile(path: path))
            XCTAssertEqual((tokenizer as? BPETokenizer)?.preTokenizer, PreTokenizer.byName[pre])
            for text in Self.samples + [String(repeating: Self.samples.joined(separator: "\n"), count: 20)] {
                XCTAssertEqual(tokenizer.decode(tokenizer.encode(text)), text, "\(pre): \(text.prefix(40).debugDescription)")
            }
            // Llama 3 keeps a word that is a whole token; digits go in threes (qwen2: ones).
            let digits = tokenizer.encode("1234567", addBOS: false, parseSpecial: false)
            XCTAssertEqual(digits.map { tokenizer.piece($0) }, pre == "qwen2" ? ["1", "2", "3", "4", "5", "6", "7"] : ["123", "456", "7"])
        }
    }

    private func words(_ pre: PreTokenizer, _ text: String) -> [String] {
        let bytes = Array(text.utf8)
        return pre.words(in: bytes, range: 0..<bytes.count).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    func testPreTokenizerSplits() {
        let text = "Hello world's 12345 ,,!!\n\n  x"
        XCTAssertEqual(words(.gpt2, text), ["Hello", " world", "'s", " 12345", " ,,!!", "\n\n ", " x"])
        XCTAssertEqual(words(.llama3, text), ["Hello", " world", "'s", " ", "123", "45", " ,,!!\n\n", " ", " x"])
        XCTAssertEqual(words(.qwen2, text), ["Hello", " world", "'s", " ", "1", "2", "3", "4", "5", " ,,!!\n\n", " ", " x"])
        XCTAssertEqual(words(.llama3, "I'M \n\n  \n a"), ["I", "'M", " \n\n  \n", " a"])
        XCTAssertEqual(words(.gpt2, "I'M"), ["I", "'", "M"], "GPT-2's contractions are lower case only")
        XCTAssertEqual(words(.gpt2, "end  "), ["end", "  "])
        XCTAssertEqual(words(.llama3, "(x)=y"), ["(x", ")=", "y"])
    }
}
