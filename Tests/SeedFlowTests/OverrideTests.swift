import Foundation
import XCTest
@testable import SeedFlow

final class OverrideTests: XCTestCase {
    private func workflowPath() throws -> String {
        let scratch = try Scratch(self)
        try scratch.writePrompts()
        return try scratch.write("w.yaml", minimalWorkflow())
    }

    func testOverridesReplaceAndAddValues() throws {
        let path = try workflowPath()
        let workflow = try loadWorkflow(path: path, overrides: [
            "search.depth=4", "search.generate.temperature=0", "decoding.strategy=autoregressive",
            "decoding.seed=7", "search.evaluate.samples=1", "models.drafts.0.instances=5", "description=",
            "decoding.draft_confidence=0",
        ])
        XCTAssertEqual(workflow.search.depth, 4)
        XCTAssertEqual(workflow.search.generate.sampling.temperature, 0)
        XCTAssertEqual(workflow.decoding.strategy, .autoregressive)
        XCTAssertEqual(workflow.decoding.seed, 7)
        XCTAssertEqual(workflow.decoding.draftConfidence, 0)
        XCTAssertEqual(workflow.decoding.engineConfiguration(kvCache: workflow.models.kvCache).draftConfidence, 0)
        XCTAssertEqual(workflow.search.evaluate.samples, 1)
        XCTAssertEqual(workflow.models.drafts.first?.instances, 5)
        XCTAssertEqual(workflow.description, "")
    }

    func testDraftConfidenceOutsideZeroToOneIsRefused() throws {
        let path = try workflowPath()
        let found = diagnostics(of: path, overrides: ["decoding.draft_confidence=sure"])
        XCTAssertEqual(found.map(\.description), [
            "--set decoding.draft_confidence=sure: 'draft_confidence' must be a number, got \"sure\" — write a number such as 0.7",
        ])
        let high = diagnostics(of: path, overrides: ["decoding.draft_confidence=1.5"])
        XCTAssertEqual(high.map(\.description), [
            "--set decoding.draft_confidence=1.5: 'draft_confidence' must be from 0 to 1, got 1.5 — use a value in that range",
        ])
    }

    func testValueIsReadAsAYAMLScalar() throws {
        let path = try workflowPath()
        let found = diagnostics(of: path, overrides: ["search.depth='4'"])
        XCTAssertEqual(found.map(\.description),
                       ["--set search.depth='4': 'depth' must be a positive integer, got \"4\" — write a whole number from 1 to 32, without quotes"])
        XCTAssertEqual(diagnostics(of: path, overrides: ["search.depth=!foo 3"]).map(\.fix),
                       ["write a whole number from 1 to 32, without the tag"])
        XCTAssertEqual(diagnostics(of: path, overrides: ["search.depth=99999999999999999999999"]).map(\.fix),
                       ["this number is too large: write a whole number from 1 to 32"])
        // A KV budget is any YAML integer of bytes, or a size with a unit.
        for (size, bytes) in [("0x80000000", 1 << 31), ("+1073741824", 1 << 30), ("2GB", 2_000_000_000), ("512MiB", 1 << 29)] {
            XCTAssertEqual(try loadWorkflow(path: path, overrides: ["models.kv_cache.memory=\(size)"]).models.kvCache.memoryBytes, bytes, size)
        }
        let workflow = try loadWorkflow(path: path, overrides: ["search.goal.state_equals='24'", "name=\"a: b\""])
        XCTAssertEqual(workflow.search.goal?.stateEquals, "24")
        XCTAssertEqual(workflow.name, "a: b")
    }

    func testUnknownPathsAreReportedWithDidYouMean() throws {
        let path = try workflowPath()
        let found = diagnostics(of: path, overrides: ["search.bredth=3", "serch.depth=2"])
        XCTAssertEqual(found.map(\.kind), [.unknownKey, .unknownKey])
        XCTAssertEqual(found.map(\.description), [
            "--set search.bredth=3: unknown key 'bredth' in 'search' — did you mean 'breadth'?",
            "--set serch.depth=2: unknown key 'serch' at the top level — did you mean 'search'?",
        ])
    }

    func testMalformedOverrides() throws {
        let path = try workflowPath()
        let found = diagnostics(of: path, overrides: ["search.depth", "search..depth=3", "search.depth.x=1", "models.drafts.3.path=a"])
        XCTAssertEqual(found.map(\.kind), [.invalidValue, .invalidValue, .invalidValue, .invalidValue])
        XCTAssertEqual(found[2].description,
                       "--set search.depth.x=1: 'search.depth' is a single value (3), so it has no key 'x' — set 'search.depth' itself, or check the path 'search.depth.x'")
        XCTAssertEqual(found[3].message, "'models.drafts' is a list of 1, so '3' names nothing in it")
    }

    /// An empty section (`decoding:` with nothing after it) takes keys like a mapping; a list
    /// that is not there, or is empty, cannot be indexed into being.
    func testEmptySectionsTakeKeysAndMissingListsAreNamed() throws {
        let scratch = try Scratch(self)
        try scratch.writePrompts()
        let text = minimalWorkflow().replacingOccurrences(of: "decoding:\n  strategy: seed\n  draft_tokens: 4\n", with: "decoding:\n")
            .replacingOccurrences(of: "  drafts:\n    - path: \(FlowTestPaths.draftS)\n      instances: 2\n", with: "  drafts: []\n")
        XCTAssertTrue(text.contains("decoding:\n") && text.contains("drafts: []"), "the edits took")
        let path = try scratch.write("w.yaml", text)
        let workflow = try loadWorkflow(path: path, overrides: ["decoding.seed=3", "decoding.strategy=autoregressive"])
        XCTAssertEqual(workflow.decoding.seed, 3)
        let found = diagnostics(of: path, overrides: ["decoding.strategy=autoregressive", "models.drafts.0.path=a.gguf",
                                                      "output.extra.0=x", "chat.0=x"])
        XCTAssertEqual(found.map(\.description), [
            "--set models.drafts.0.path=a.gguf: 'models.drafts' is an empty list, so '0' names nothing in it — set the whole list, e.g. --set 'models.drafts=[...]'",
            "--set output.extra.0=x: there is nothing at 'output.extra' to take '0' of — set the whole value, e.g. --set 'output.extra=[...]' for a list or --set 'output.extra={0: ...}' for a mapping",
            "--set chat.0=x: there is nothing at 'chat' to take '0' of — set the whole value, e.g. --set 'chat=[...]' for a list or --set 'chat={0: ...}' for a mapping",
        ])
    }

    func testOverridePathsResolveAgainstTheCurrentDirectory() throws {
        let path = try workflowPath()
        let relative = "models/seedflow-demo-target.gguf"
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(FlowTestPaths.repoRoot.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        let workflow = try loadWorkflow(path: path, overrides: ["models.target.path=\(relative)"])
        XCTAssertEqual(workflow.models.target.path, FlowTestPaths.target)
        let shipped = try loadWorkflow(path: "workflows/game24.yaml")
        XCTAssertEqual(shipped.resolvedFile, FlowTestPaths.repo("workflows/game24.yaml"))
        XCTAssertEqual(shipped.inputs.file, FlowTestPaths.inputs)
        let found = diagnostics(of: path, overrides: ["models.target.path=nope.gguf"])
        XCTAssertEqual(found.map(\.kind), [.missingFile])
        XCTAssertEqual(found.first?.fix, "check the path; relative paths start at the current directory")
    }
}
