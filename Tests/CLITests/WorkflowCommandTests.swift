import Foundation
import XCTest

/// `seedflow validate`, `graph`, `run` and `compare` as a user runs them, from the repository root.
final class WorkflowCommandTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("seedflow-wf-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory!
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    }

    private func write(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: validate

    func testShippedWorkflowsValidate() throws {
        for name in ["game24", "game24-dfs"] {
            let result = try Seedflow.run(["validate", "workflows/\(name).yaml"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.output.hasPrefix("workflows/\(name).yaml: ok — '\(name)'"), result.output)
            XCTAssertTrue(result.stderr.isEmpty, result.stderr)
        }
        // The chat workflows name no model of their own: with one given they validate...
        for name in ["gsm8k", "creative-writing"] {
            let result = try Seedflow.run(["validate", "workflows/\(name).yaml", "--set", "models.target.path=\(Seedflow.targetModel)"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.output.contains(": ok — '\(name)'"), result.output)
        }
        // ...and without one the placeholder is reported with its position and how to fix it.
        let missing = try Seedflow.run(["validate", "workflows/gsm8k.yaml"])
        assertFails(missing, status: 1, mentioning: ["workflows/gsm8k.yaml:", "YOUR-TARGET-MODEL.gguf", "does not exist"])
    }

    func testABrokenWorkflowIsReportedWithPositions() throws {
        // Three problems, all reported at once, each at file:line:col.
        let path = try write("broken.yaml", """
            version: 1
            name: broken
            models:
              target: { path: \(Seedflow.repoRoot.path)/\(Seedflow.targetModel) }
            inputs: { file: \(Seedflow.repoRoot.path)/data/game24-heldout.txt }
            search:
              depth: 99
              bredth: 5
              generate: { prompt: \(Seedflow.repoRoot.path)/prompts/game24/propose.txt }
              evaluate: { prompt: no-such-prompt.txt }

            """)
        let result = try Seedflow.run(["validate", path])
        assertFails(result, status: 1, mentioning: ["\(path):7:10: ", "\(path):8:3: ", "did you mean 'breadth'", "\(path):10:23: ",
                                                    "3 problems found"])
    }

    // MARK: graph

    func testGraphInBothFormats() throws {
        let dot = try Seedflow.run(["graph", "workflows/game24.yaml", "--format", "dot"])
        XCTAssertEqual(dot.status, 0, dot.stderr)
        XCTAssertTrue(dot.output.hasPrefix("digraph"), dot.output)
        XCTAssertTrue(dot.output.contains("->"))
        XCTAssertTrue(dot.output.hasSuffix("}\n"))
        let mermaid = try Seedflow.run(["graph", "workflows/game24-dfs.yaml", "--format", "mermaid"])
        XCTAssertEqual(mermaid.status, 0, mermaid.stderr)
        XCTAssertTrue(mermaid.output.hasPrefix("flowchart") || mermaid.output.hasPrefix("graph"), mermaid.output)
        XCTAssertTrue(mermaid.output.contains("-->"))
        assertFails(try Seedflow.run(["graph", "workflows/game24.yaml", "--format", "png"]), status: 2, mentioning: ["dot or mermaid"])
    }

    // MARK: run, resume, compare

    /// Runs game24 on the first puzzle into `results` (a cheap greedy chain: breadth 1, one value sample).
    private func runGame24(_ results: String, _ extra: [String] = []) throws -> Seedflow.Result {
        try Seedflow.run(["run", "workflows/game24.yaml", "--limit", "1", "--results", results, "--json",
                          "--set", "search.breadth=1", "--set", "search.evaluate.samples=1"] + extra)
    }

    /// --overwrite never deletes what is not a results file, and a run refused before it starts
    /// leaves no empty file behind to block the next one. (A run that fails or is stopped after
    /// opening its file removes it: RunnerTests.testARunEndedBeforeItsFirstResultRemovesTheFileItCreated.)
    func testOverwriteRefusesADirectoryAndAFailedRunLeavesNoFile() throws {
        let kept = directory + "/d"
        try FileManager.default.createDirectory(atPath: kept + "/inner", withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: kept + "/inner/f"))
        assertFails(try runGame24(kept, ["--overwrite"]), status: 3, mentioning: ["\(kept) is a directory", "give --results the path of a file"])
        XCTAssertEqual(try String(contentsOfFile: kept + "/inner/f", encoding: .utf8), "keep")

        let results = directory + "/failed.jsonl"
        assertFails(try runGame24(results, ["--set", "chat.template=auto"]), status: 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: results), "no empty results file is left")
        XCTAssertEqual(try runGame24(results).status, 0, "and the next run needs no --resume")
    }

    /// One input the model cannot take is recorded with why, the others run, and the exit
    /// status says the run is incomplete.
    func testAnInputLongerThanTheContextFailsAloneWithStatus4() throws {
        let long = Array(repeating: "7", count: 400).joined(separator: " ")
        let inputs = try write("inputs.txt", "1 2 2 6\n\(long)\n")
        let results = directory + "/long.jsonl"
        let result = try Seedflow.run(["run", "workflows/game24.yaml", "--results", results, "--set", "inputs.file=\(inputs)",
                                       "--set", "search.breadth=1", "--set", "search.evaluate.samples=1"])
        XCTAssertEqual(result.status, 4, result.stderr)
        XCTAssertTrue(result.output.contains("failed"), result.output)
        for fragment in ["1 input could not run (the others ran;", "input 1 (\(inputs):2)", "propose.txt", "context holds 256"] {
            XCTAssertTrue(result.stderr.contains(fragment), "'\(fragment)' in: \(result.stderr)")
        }
        XCTAssertEqual(try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n").count, 2)

        // When no input could run, the message does not speak of others.
        let alone = try write("alone.txt", "\(long)\n")
        let none = try Seedflow.run(["run", "workflows/game24.yaml", "--results", directory + "/alone.jsonl",
                                     "--set", "inputs.file=\(alone)"])
        XCTAssertEqual(none.status, 4, none.stderr)
        XCTAssertTrue(none.stderr.contains("1 input could not run (every result is in the results file)"), none.stderr)
    }

    /// A missing workflow file is a missing file (3); a directory is named as one; a KV budget
    /// beyond the machine's memory is refused before anything is allocated.
    func testMissingWorkflowsDirectoriesAndOversizedBudgets() throws {
        assertFails(try Seedflow.run(["run", "no-such.yaml"]), status: 3, mentioning: ["no-such.yaml' not found"])
        assertFails(try Seedflow.run(["validate", "workflows"]), status: 3, mentioning: ["it is a directory"])
        assertFails(try Seedflow.run(["generate", "-m", Seedflow.targetModel, "-f", "prompts"]), status: 3,
                    mentioning: ["it is a directory, not a text file"])
        let huge = "\(ProcessInfo.processInfo.physicalMemory / (1 << 30) + 64)GiB"
        assertFails(try Seedflow.run(["generate", "-m", Seedflow.targetModel, "-p", "x", "--kv-memory", huge]), status: 2,
                    mentioning: ["more than this machine's", "--kv-memory"])
        assertFails(try Seedflow.run(["validate", "workflows/game24.yaml", "--set", "models.kv_cache.memory=\(huge)"]), status: 1,
                    mentioning: ["'memory' is", "more than this machine's"])
    }

    func testRunResumeAndCompare() throws {
        let a = directory + "/a.jsonl"
        let result = try runGame24(a)
        XCTAssertEqual(result.status, 0, result.stderr)
        let summary = try result.jsonObject()
        for key in ["results", "inputs", "skipped", "solved", "strategy", "model_calls", "generated_tokens", "wall_s",
                    "acceptance", "tokens_per_target_pass", "draft_s", "verify_s", "interrupted"] {
            XCTAssertNotNil(summary[key], "'\(key)' in the summary")
        }
        XCTAssertEqual(summary["results"] as? String, a)
        XCTAssertEqual(summary["inputs"] as? Int, 1)
        XCTAssertEqual(summary["skipped"] as? Int, 0)
        XCTAssertEqual(summary["strategy"] as? String, "seed")
        XCTAssertEqual(summary["interrupted"] as? Bool, false)
        XCTAssertGreaterThan(summary["generated_tokens"] as? Int ?? 0, 0)
        let lines = try String(contentsOfFile: a, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1)

        // The same results file again is refused and left alone.
        let before = try Data(contentsOf: URL(fileURLWithPath: a))
        assertFails(try runGame24(a), status: 1, mentioning: [a, "already exists", "--resume", "--overwrite"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), before)

        // --resume with a larger limit runs only the new input.
        let resumed = try Seedflow.run(["run", "workflows/game24.yaml", "--limit", "2", "--results", a, "--json", "--resume",
                                        "--set", "search.breadth=1", "--set", "search.evaluate.samples=1"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let resumedSummary = try resumed.jsonObject()
        XCTAssertEqual(resumedSummary["skipped"] as? Int, 1)
        XCTAssertEqual(resumedSummary["inputs"] as? Int, 1)
        XCTAssertEqual(try String(contentsOfFile: a, encoding: .utf8).split(separator: "\n").count, 2)

        // --resume and --overwrite together contradict each other.
        assertFails(try runGame24(a, ["--resume", "--overwrite"]), status: 2, mentioning: ["--resume and --overwrite"])

        // A second run, autoregressive, to compare with; --overwrite replaces what is there.
        let b = directory + "/b.jsonl"
        try Data("junk\n".utf8).write(to: URL(fileURLWithPath: b))
        let second = try runGame24(b, ["--strategy", "autoregressive", "--overwrite", "--limit", "2"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try second.jsonObject()["strategy"] as? String, "autoregressive")

        let text = try Seedflow.run(["compare", a, b])
        XCTAssertEqual(text.status, 0, text.stderr)
        for fragment in ["A: \(a)", "B: \(b)", "solved", "generated tokens", "acceptance", "solved by A only", "solved by B only"] {
            XCTAssertTrue(text.output.contains(fragment), "'\(fragment)' in:\n\(text.output)")
        }
        let json = try Seedflow.run(["compare", a, b, "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let comparison = try json.jsonObject()
        let sideA = try XCTUnwrap(comparison["a"] as? [String: Any])
        let sideB = try XCTUnwrap(comparison["b"] as? [String: Any])
        XCTAssertEqual(sideA["inputs"] as? Int, 2)
        XCTAssertEqual(sideB["inputs"] as? Int, 2)
        XCTAssertNotNil(sideA["acceptance"] as? Double, "seed drafts")
        XCTAssertNil(sideB["acceptance"] as? Double, "autoregressive does not")
        XCTAssertNotNil(comparison["only_a"] as? [String])
        XCTAssertNotNil(comparison["only_b"] as? [String])
        XCTAssertEqual(comparison["unmatched"] as? Int, 0)
        XCTAssertNotNil(sideA["generated_tokens"] as? Int, "snake_case keys, as run --json has")
        XCTAssertNotNil(sideA["mean_input_s"] as? Double)

        assertFails(try Seedflow.run(["compare", a, directory + "/missing.jsonl"]), status: 3, mentioning: ["missing.jsonl"])
    }

    /// A workflow file that cannot be read is a file problem (status 3), not a workflow with
    /// problems (1). Only a user other than root is refused a mode-000 file, so the command runs
    /// as nobody; without root or runuser there is no such user to be.
    func testAnUnreadableWorkflowIsAFileProblem() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") else {
            throw XCTSkip("needs root and runuser to run the command as another user")
        }
        let path = NSTemporaryDirectory() + "seedflow-unreadable-\(UUID().uuidString).yaml"
        try "version: 1\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        chmod(path, 0)
        for command in ["validate", "graph", "run"] {
            let result = try Seedflow.execute(URL(fileURLWithPath: "/usr/sbin/runuser"),
                                              ["-u", "nobody", "--", try Seedflow.binary.path, command, path])
            XCTAssertEqual(result.status, 3, "\(command): \(result.stderr)")
            XCTAssertEqual(result.stderr, "seedflow: cannot read '\(path)': Permission denied\n", command)
        }
    }
}
