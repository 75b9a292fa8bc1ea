import XCTest

final class TokenizeTests: XCTestCase {
    /// The reference tokenization of the demo propose prompt (its final newline is token 201).
    static let proposeIDs = [311, 309, 296, 28, 267, 272, 271, 278, 201]

    func testProposePromptFromFileAsJSON() throws {
        let result = try Seedflow.run(["tokenize", "-m", Seedflow.targetModel, "-f", Seedflow.proposePrompt, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try result.jsonObject()
        XCTAssertEqual(object["ids"] as? [Int], Self.proposeIDs)
        let pieces = try XCTUnwrap(object["pieces"] as? [String])
        XCTAssertEqual(pieces.count, Self.proposeIDs.count)
        // Byte-level BPE stores a newline as 'Ċ': the vocabulary's own string, not the decoded text.
        XCTAssertEqual(pieces.last, "Ċ")
    }

    func testTextArgumentIsTakenAsGiven() throws {
        let result = try Seedflow.run(["tokenize", "-m", Seedflow.targetModel, "Propose steps for: 4 5 6 10\n", "--json"])
        XCTAssertEqual(try result.jsonObject()["ids"] as? [Int], Self.proposeIDs)

        // A backslash-n typed on the command line is two characters, not a newline.
        let escaped = try Seedflow.run(["tokenize", "-m", Seedflow.targetModel, "Propose steps for: 4 5 6 10\\n", "--json"])
        XCTAssertNotEqual(try escaped.jsonObject()["ids"] as? [Int], Self.proposeIDs)
    }

    /// Bytes that are not UTF-8 on the command line are refused, not repaired into U+FFFD
    /// (Swift strings cannot hold them, so the shell puts them there).
    func testAnArgumentThatIsNotUTF8IsRefused() throws {
        let result = try Seedflow.execute(URL(fileURLWithPath: "/bin/sh"), [
            "-c", "exec \"$0\" tokenize -m \(Seedflow.targetModel) \"$(printf 'caf\\351')\"", try Seedflow.binary.path,
        ])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.hasPrefix("seedflow: argument 4 is not UTF-8 text"), result.stderr)
    }

    /// -f drops a UTF-8 byte-order mark (editors write one; it is not text) and refuses bytes
    /// that are not UTF-8, naming the first bad one.
    func testFileTextDropsAByteOrderMarkAndNamesAnInvalidByte() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seedflow-bom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = dir.appendingPathComponent("plain.txt"), marked = dir.appendingPathComponent("bom.txt")
        let bad = dir.appendingPathComponent("bad.txt")
        try Data("ab cd\n".utf8).write(to: plain)
        try Data([0xEF, 0xBB, 0xBF] + Array("ab cd\n".utf8)).write(to: marked)
        try Data([0xEF, 0xBB, 0xBF] + Array("caf".utf8) + [0xE9, 0x21]).write(to: bad)
        let withMark = try Seedflow.run(["tokenize", "-m", Seedflow.targetModel, "-f", marked.path, "--json"])
        let without = try Seedflow.run(["tokenize", "-m", Seedflow.targetModel, "-f", plain.path, "--json"])
        XCTAssertEqual(withMark.status, 0, withMark.stderr)
        XCTAssertEqual(withMark.stdout, without.stdout)
        let refused = try Seedflow.run(["tokenize", "-m", Seedflow.targetModel, "-f", bad.path])
        XCTAssertEqual(refused.status, 3)
        XCTAssertEqual(refused.stderr, "seedflow: '\(bad.path)' is not UTF-8 text: byte 6 (counting from 0) is not valid UTF-8 — save the file as UTF-8\n")
    }

    func testBOSOnlyWhenAsked() throws {
        let result = try Seedflow.run(["tokenize", "-m", Seedflow.targetModel, "-f", Seedflow.proposePrompt, "--json", "--bos"])
        XCTAssertEqual(try result.jsonObject()["ids"] as? [Int], [0] + Self.proposeIDs)
    }

    func testControlTokensOnlyWithSpecial() throws {
        let special = try Seedflow.run(["tokenize", "-m", Seedflow.targetModel, "</s>", "--json", "--special"])
        XCTAssertEqual(try special.jsonObject()["ids"] as? [Int], [1])
        let plain = try Seedflow.run(["tokenize", "-m", Seedflow.targetModel, "</s>", "--json"])
        let ids = try XCTUnwrap(try plain.jsonObject()["ids"] as? [Int])
        XCTAssertFalse(ids.contains(1), "'</s>' typed as text is not the EOS token")
    }

    func testTextOutputListsIdsAndPieces() throws {
        let result = try Seedflow.run(["tokenize", "-m", Seedflow.targetModel, "-f", Seedflow.proposePrompt])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.output.contains("311  'Propose'"), result.output)
        XCTAssertTrue(result.output.hasSuffix("9 tokens\n"), result.output)
    }

    func testVocabularyOnlyFileTokenizes() throws {
        let result = try Seedflow.run(["tokenize", "-m", Seedflow.gpt2Vocabulary, "Hello world", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try result.jsonObject()["ids"] as? [Int], [15496, 995])
    }
}
