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
