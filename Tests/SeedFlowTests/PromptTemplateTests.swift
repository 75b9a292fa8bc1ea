import XCTest
@testable import SeedFlow

final class PromptTemplateTests: XCTestCase {
    private let origin = SourceMark(file: "p.txt", line: 1, column: 1)

    func testVariablesWithPositions() throws {
        let t = try PromptTemplate(text: "Answer for: {{input}}\nSteps:\n{{ steps }} and {{parent.state}}\n", origin: origin)
        XCTAssertEqual(t.variables.map(\.name), ["input", "steps", "parent.state"])
        XCTAssertEqual(t.variables.map(\.mark.description), ["p.txt:1:13", "p.txt:3:1", "p.txt:3:17"])
        XCTAssertEqual(t.variableNames, ["input", "steps", "parent.state"])
    }

    func testRenderIsByteExact() throws {
        let text = "Propose steps for: {{state}}\r\n  {x} }} {\n"
        let t = try PromptTemplate(text: text, origin: origin)
        let out = try t.render(["state": "4 5 6 10"])
        XCTAssertEqual(Array(out.utf8), Array("Propose steps for: 4 5 6 10\r\n  {x} }} {\n".utf8))
    }

    func testFileIsReadByteForByte() throws {
        let scratch = try Scratch(self)
        let path = try scratch.write("p.txt", "Evaluate: {{state}}\n\n")
        let t = try PromptTemplate(contentsOfFile: path)
        XCTAssertEqual(t.path, path)
        XCTAssertEqual(try t.render(["state": "4 4 10"]), "Evaluate: 4 4 10\n\n")
        XCTAssertEqual(t.variables.first?.mark.description, "\(path):1:11")
    }

    /// A UTF-8 byte-order mark is not sent to the model; an empty or blank file, a directory
    /// and bytes that are not UTF-8 are refused at line 1 of the file.
    func testByteOrderMarkEmptyFilesAndBadBytes() throws {
        let scratch = try Scratch(self)
        let bom = scratch.directory + "/bom.txt"
        try Data([0xEF, 0xBB, 0xBF] + Array("Q: {{state}}\n".utf8)).write(to: URL(fileURLWithPath: bom))
        let t = try PromptTemplate(contentsOfFile: bom)
        XCTAssertEqual(try t.render(["state": "1"]), "Q: 1\n")
        XCTAssertEqual(t.variables.first?.mark.description, "\(bom):1:4")
        for text in ["", " \n\n"] {
            let empty = try scratch.write("empty.txt", text)
            XCTAssertThrowsError(try PromptTemplate(contentsOfFile: empty)) { error in
                XCTAssertEqual("\(error)", "\(empty):1:1: the prompt file is empty — write the prompt in it")
            }
        }
        let latin1 = scratch.directory + "/latin1.txt"
        try Data([0x63, 0x61, 0x66, 0xE9]).write(to: URL(fileURLWithPath: latin1))
        XCTAssertThrowsError(try PromptTemplate(contentsOfFile: latin1)) { error in
            XCTAssertEqual(error as? PromptTemplateError, .notUTF8(path: latin1))
        }
        XCTAssertThrowsError(try PromptTemplate(contentsOfFile: scratch.directory)) { error in
            XCTAssertEqual(error as? PromptTemplateError, .unreadable(path: scratch.directory))
        }
    }

    func testUnclosedVariable() {
        XCTAssertThrowsError(try PromptTemplate(text: "ok {{state}}\nbad {{state\n", origin: origin)) { error in
            XCTAssertEqual(error as? PromptTemplateError, .unclosed(SourceMark(file: "p.txt", line: 2, column: 5)))
            XCTAssertTrue("\(error)".hasPrefix("p.txt:2:5: '{{' is not closed"), "\(error)")
        }
    }

    func testInvalidName() {
        XCTAssertThrowsError(try PromptTemplate(text: "{{two words}}", origin: origin)) { error in
            XCTAssertEqual(error as? PromptTemplateError, .invalidName(origin, name: "two words"))
        }
        XCTAssertThrowsError(try PromptTemplate(text: "{{}}", origin: origin))
    }

    func testMissingValueIsAnError() throws {
        let t = try PromptTemplate(text: "{{state}} {{input}}", origin: origin)
        XCTAssertThrowsError(try t.render(["state": "1"])) { error in
            XCTAssertEqual(error as? PromptTemplateError, .missingValue(name: "input", template: "inline template"))
        }
    }
}
