import Foundation
import XCTest
@testable import SeedFlow

/// Paths and scratch folders for the SeedFlow tests, relative to this file so the tests run from
/// any working directory.
enum FlowTestPaths {
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func repo(_ relative: String) -> String { repoRoot.appendingPathComponent(relative).path }

    static let target = repo("models/seedflow-demo-target.gguf")
    static let draftS = repo("models/seedflow-demo-draft-s.gguf")
    static let inputs = repo("data/game24-heldout.txt")
}

/// A temporary folder holding a workflow and its prompt files; removed when the test ends.
final class Scratch {
    let directory: String

    init(_ test: XCTestCase) throws {
        directory = NSTemporaryDirectory() + "seedflow-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The standard prompts for a game24-like workflow.
    func writePrompts() throws {
        try write("propose.txt", "Propose steps for: {{state}}\n")
        try write("value.txt", "Evaluate: {{state}}\n")
        try write("answer.txt", "Answer for: {{input}}\nSteps:\n{{steps}}\n")
    }
}

/// A valid workflow in block style, one key a line, so tests can break one line and know its number.
/// Line numbers are listed beside it for the tests that rely on them.
func minimalWorkflow(target: String = FlowTestPaths.target, draft: String = FlowTestPaths.draftS,
                     inputs: String = FlowTestPaths.inputs) -> String {
    """
    version: 1
    name: test
    models:
      target:
        path: \(target)
      drafts:
        - path: \(draft)
          instances: 2
    decoding:
      strategy: seed
      draft_tokens: 4
    inputs:
      file: \(inputs)
    search:
      depth: 3
      breadth: 5
      generate:
        prompt: propose.txt
        temperature: 0.7
        parse:
          pattern: '^(?<step>.+) \\(left: (?<left>[0-9 ]+)\\)$'
          state: '{{left}}'
      evaluate:
        prompt: value.txt
        samples: 3
        score: { last_line: { sure: 20, likely: 1, impossible: 0.001 } }
      goal: { state_equals: "24" }
    finish:
      prompt: answer.txt
      extract: '^Answer: (?<expr>.+) = 24$'
      check: { arithmetic: '{{expr}}', equals: 24, uses_numbers_of: '{{input}}' }

    """
}

/// The diagnostics of loading `path`; fails the test when it loads cleanly.
func diagnostics(of path: String, overrides: [String] = [],
                 file: StaticString = #filePath, line: UInt = #line) -> [Diagnostic] {
    let report = validateWorkflow(path: path, overrides: overrides)
    XCTAssertFalse(report.isValid, "expected problems, the workflow validated", file: file, line: line)
    return report.diagnostics
}
