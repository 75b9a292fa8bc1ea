import XCTest
@testable import SeedFlow

final class YAMLLoaderTests: XCTestCase {
    /// Every text given here holds a document: a nil from the loader is a regression and must
    /// fail the test (a skip would hide it).
    private func parse(_ text: String, limits: YAMLLimits = YAMLLimits(),
                       file: StaticString = #filePath, line: UInt = #line) throws -> YAMLNode {
        try XCTUnwrap(try YAMLLoader.parse(text, file: "t.yaml", limits: limits),
                      "the loader found no document", file: file, line: line)
    }

    private func error(_ text: String, limits: YAMLLimits = YAMLLimits()) -> YAMLError? {
        do {
            _ = try YAMLLoader.parse(text, file: "t.yaml", limits: limits)
            XCTFail("parsed, expected an error")
        } catch {
            return error
        }
        return nil
    }

    func testMarksOfKeysValuesAndItems() throws {
        let root = try parse("""
        a: 1
        b:
          c: [x, 'y']
          d:
            - e
            - { f: g }
        """)
        let entries = try XCTUnwrap(root.mapping)
        XCTAssertEqual(entries.map(\.key), ["a", "b"])
        XCTAssertEqual(entries[0].keyMark.description, "t.yaml:1:1")
        XCTAssertEqual(entries[0].value.mark.description, "t.yaml:1:4")
        XCTAssertEqual(entries[1].keyMark.description, "t.yaml:2:1")
        let c = try XCTUnwrap(root["b"]?["c"])
        XCTAssertEqual(c.mark.description, "t.yaml:3:6")
        XCTAssertEqual(c.sequence?[1].mark.description, "t.yaml:3:10")
        let d = try XCTUnwrap(root["b"]?["d"]?.sequence)
        XCTAssertEqual(d[0].mark.description, "t.yaml:5:7")
        XCTAssertEqual(d[1]["f"]?.mark.description, "t.yaml:6:12")
        XCTAssertEqual(d[1].mapping?.first?.keyMark.description, "t.yaml:6:9")
    }

    func testKeyOrderIsKept() throws {
        let root = try parse("z: 1\na: 2\nm: 3\n")
        XCTAssertEqual(root.mapping?.map(\.key), ["z", "a", "m"])
    }

    func testScalarStylesAndTagsDecideTypes() throws {
        let root = try parse("""
        plain: 42
        single: '42'
        double: "42"
        tagged: !!str 42
        float: 0.7
        yes: true
        none: ~
        word: five
        block: |
          two
          lines
        """)
        XCTAssertEqual(root["plain"]?.scalar?.resolved, .int(42))
        XCTAssertEqual(root["single"]?.scalar?.resolved, .string("42"))
        XCTAssertEqual(root["single"]?.scalar?.style, .singleQuoted)
        XCTAssertEqual(root["double"]?.scalar?.resolved, .string("42"))
        XCTAssertEqual(root["tagged"]?.scalar?.resolved, .string("42"))
        XCTAssertEqual(root["float"]?.scalar?.resolved, .float(0.7))
        XCTAssertEqual(root["yes"]?.scalar?.resolved, .bool(true))
        XCTAssertEqual(root["none"]?.scalar?.resolved, .null)
        XCTAssertEqual(root["word"]?.scalar?.resolved, .string("five"))
        XCTAssertEqual(root["block"]?.scalar?.resolved, .string("two\nlines"))  // clip chomping, no final newline in the text
        XCTAssertEqual(root["block"]?.scalar?.style, .literal)
    }

    func testHexAndOctalAreDigitsOnlyAfterTheirPrefix() throws {
        let root = try parse("a: 0x1F\nb: 0x-3\nc: 0o17\nd: 0o8\ne: 0x\n")
        XCTAssertEqual(root["a"]?.scalar?.resolved, .int(31))
        XCTAssertEqual(root["b"]?.scalar?.resolved, .string("0x-3"), "a sign after the prefix is text")
        XCTAssertEqual(root["c"]?.scalar?.resolved, .int(15))
        XCTAssertEqual(root["d"]?.scalar?.resolved, .string("0o8"))
        XCTAssertEqual(root["e"]?.scalar?.resolved, .string("0x"))
    }

    /// Long lists and mappings build in linear time (each item used to copy the list so far);
    /// a list near the node limit is read whole, in order.
    func testALongListIsReadWholeAndInOrder() throws {
        let count = 90_000
        let text = "a:\n" + (0..<count).map { "  - \($0)\n" }.joined()
        let items = try XCTUnwrap(try parse(text)["a"]?.sequence)
        XCTAssertEqual(items.count, count)
        XCTAssertEqual(items.last?.scalar?.value, "\(count - 1)")
        XCTAssertEqual(items[12_345].mark.line, 12_347)
    }

    func testATabInTheIndentationIsNamed() throws {
        let e = error("a:\n\tb: 1\n")
        XCTAssertTrue(e?.description.hasPrefix("t.yaml:2:1: ") ?? false, "\(String(describing: e))")
        XCTAssertTrue(e?.description.hasSuffix("— YAML indents with spaces, not tabs: replace the tab") ?? false, "\(String(describing: e))")
        XCTAssertFalse(error("a: [1,\n  2\n")?.description.contains("tab") ?? true, "other syntax errors do not mention tabs")
        // In flow context tabs are allowed: an error elsewhere on such a line is not theirs.
        XCTAssertFalse(error("a: {\n\tb: 3,\n\tc: 4 ]\n}\n")?.description.contains("tab") ?? true)
    }

    func testDuplicateKeyIsAnError() {
        let e = error("a: 1\nb: 2\na: 3\n")
        XCTAssertEqual(e, .duplicateKey(SourceMark(file: "t.yaml", line: 3, column: 1), key: "a",
                                        first: SourceMark(file: "t.yaml", line: 1, column: 1)))
        XCTAssertEqual(e?.description, "t.yaml:3:1: duplicate key 'a' (first at t.yaml:1:1) — keep one of them")
    }

    func testSyntaxErrorNamesFileLineAndColumn() throws {
        let e = try XCTUnwrap(error("a: [1, 2\nb: 3\n"))
        guard case let .syntax(mark, problem) = e else { return XCTFail("\(e)") }
        XCTAssertEqual(mark.line, 2)
        XCTAssertFalse(problem.isEmpty)
        XCTAssertTrue(e.description.hasPrefix("t.yaml:2:"), e.description)
        let tab = try XCTUnwrap(error("a:\n\tb: 1\n"))
        XCTAssertTrue(tab.description.hasPrefix("t.yaml:2:1: "), tab.description)
    }

    /// Bad bytes are placed where they are (libyaml gives only their offset), and UTF-16 is
    /// named as such.
    func testEncodingErrorsNameTheirLineAndColumn() throws {
        func bytesError(_ bytes: [UInt8]) -> String {
            do {
                _ = try YAMLLoader.parse(bytes, file: "t.yaml", limits: YAMLLimits())
                return "parsed"
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(bytesError(Array("version: 1\nname: caf".utf8) + [0xE9, 0x0A]),
                       "t.yaml:2:10: incomplete UTF-8 octet sequence (byte 0xE9) — save the file as UTF-8 text")
        XCTAssertEqual(bytesError(Array("a: 1\nb".utf8) + [0x00] + Array(": 2\n".utf8)),
                       "t.yaml:2:2: control characters are not allowed (byte 0x00)")
        XCTAssertEqual(bytesError([0xFF, 0xFE, 0x61, 0x00]), "t.yaml:1:1: the file is UTF-16 text — save it as UTF-8")
        XCTAssertEqual(bytesError([0xEF, 0xBB, 0xBF] + Array("a: caf".utf8) + [0xE9, 0x0A]),
                       "t.yaml:1:7: incomplete UTF-8 octet sequence (byte 0xE9) — save the file as UTF-8 text", "a byte-order mark is no column")
    }

    func testBillionLaughsFailsFast() throws {
        var text = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        var previous = "a"
        for name in ["b", "c", "d", "e", "f", "g", "h", "i"] {
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n"
            previous = name
        }
        let start = Date()
        let e = try XCTUnwrap(error(text))
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0)
        guard case let .tooManyNodes(mark, limit) = e else { return XCTFail("\(e)") }
        XCTAssertEqual(limit, 100_000)
        XCTAssertEqual(mark.line, 6)  // a…e hold ≈ 75,000 nodes; f's aliases of e push past the limit
        XCTAssertEqual(mark.column, 8)  // the first *e: 75,000 + 66,000 nodes
        XCTAssertTrue(e.description.contains("billion laughs"), e.description)
    }

    func testSmallAliasesStillWork() throws {
        let root = try parse("base: &b { x: 1 }\nother: *b\n")
        XCTAssertEqual(root["other"]?["x"]?.scalar?.resolved, .int(1))
        XCTAssertEqual(error("a: *nope\n"), .undefinedAlias(SourceMark(file: "t.yaml", line: 1, column: 4), name: "nope"))
    }

    func testDeepNestingIsRefused() throws {
        let text = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        let e = try XCTUnwrap(error(text))
        XCTAssertEqual(e, .tooDeep(SourceMark(file: "t.yaml", line: 1, column: 65), limit: 64))
        // 64 levels are fine.
        XCTAssertNoThrow(try parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
    }

    func testBigFileIsRefused() throws {
        let path = NSTemporaryDirectory() + "seedflow-big-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let line = "# " + String(repeating: "x", count: 1000) + "\n"
        try String(repeating: line, count: 1100).write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try YAMLLoader.load(path: path)) { error in
            guard case let .fileTooLarge(p, bytes, limit) = error as? YAMLError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
            XCTAssertEqual(bytes, 1100 * 1003)
            XCTAssertEqual(limit, 1 << 20)
        }
    }

    func testMultipleDocumentsAndComplexKeysAreRefused() {
        XCTAssertEqual(error("a: 1\n---\nb: 2\n"), .multipleDocuments(SourceMark(file: "t.yaml", line: 2, column: 1)))
        XCTAssertEqual(error("? [a]\n: 1\n"), .nonScalarKey(SourceMark(file: "t.yaml", line: 1, column: 3)))
    }

    func testEmptyFileHasNoDocument() throws {
        XCTAssertNil(try YAMLLoader.parse("# nothing\n", file: "t.yaml"))
    }
}
