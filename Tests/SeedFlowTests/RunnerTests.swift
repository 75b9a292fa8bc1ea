import Foundation
import XCTest
@testable import SeedEngine
@testable import SeedFlow

/// The runner end to end on the shipped game24 workflows and the demo models: what a results
/// line holds, that speculation never changes a greedy answer, that results are appended as
/// inputs finish and never clobbered, and the finish check. Inputs are a few held-out puzzles
/// copied to a scratch file and given with `--set`-style overrides, as a user would.
final class RunnerTests: XCTestCase {
    /// Held-out puzzles the demo target solves with the shipped settings (seed 42).
    static let puzzles = ["1 2 2 6", "1 2 4 4", "1 3 3 5"]
    /// Settings for the tests of plumbing rather than search quality: a single greedy-ranked chain
    /// with one value sample is a third of the model calls.
    static let cheap = ["search.breadth=1", "search.evaluate.samples=1"]

    private var scratch: Scratch!

    override func setUpWithError() throws {
        scratch = try Scratch(self)
    }

    /// Runs a shipped workflow on `inputs` (a line each) with extra overrides; returns the summary
    /// and the results file's lines as raw JSON objects.
    private func run(_ workflow: String = "game24", inputs: [String] = RunnerTests.puzzles, overrides: [String] = [],
                     options: RunOptions = RunOptions(), results: String? = nil,
                     progress: (RunProgress) -> Void = { _ in }) throws -> (summary: RunSummary, lines: [[String: Any]], path: String) {
        let inputFile = try scratch.write("inputs-\(UUID().uuidString).txt", inputs.joined(separator: "\n") + "\n")
        let resultsPath = results ?? scratch.directory + "/results-\(UUID().uuidString).jsonl"
        let loaded = try loadWorkflow(path: FlowTestPaths.repo("workflows/\(workflow).yaml"),
                                      overrides: ["inputs.file=\(inputFile)", "output.results=\(resultsPath)"] + overrides)
        let summary = try WorkflowRunner(workflow: loaded, options: options).run(progress: progress)
        // A run stopped before its first result leaves no file.
        let lines = FileManager.default.fileExists(atPath: resultsPath) ? try Self.lines(resultsPath) : []
        return (summary, lines, resultsPath)
    }

    static func lines(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.isEmpty || text.hasSuffix("\n"), "every line is complete")
        return try text.split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "a JSON object a line")
        }
    }

    /// The results file's records in input order (lines are written in the order inputs finish).
    static func records(_ path: String) throws -> [RunRecord] {
        try ResultsFile.read(path: path).sorted { $0.index < $1.index }
    }

    // MARK: the results line

    func testEveryInputGetsOneCompleteLine() throws {
        let (summary, lines, path) = try run()
        XCTAssertEqual(lines.count, Self.puzzles.count)
        XCTAssertEqual(summary.inputs, Self.puzzles.count)
        // Lines come in the order inputs finish; each names its input by index.
        XCTAssertEqual(Set(lines.compactMap { $0["index"] as? Int }), Set(Self.puzzles.indices))
        for line in lines {
            let index = try XCTUnwrap(line["index"] as? Int)
            XCTAssertEqual(line["input"] as? String, Self.puzzles[index])
        }
        for line in lines {
            for key in ["index", "input", "solved", "best_path", "tree", "statistics", "provenance", "strategy", "seed"] {
                XCTAssertNotNil(line[key], "'\(key)' in \(line.keys.sorted())")
            }
            let stats = try XCTUnwrap(line["statistics"] as? [String: Any])
            for key in ["generated_tokens", "prompt_tokens", "model_calls", "target_passes", "drafted_tokens", "accepted_tokens", "wall_s"] {
                XCTAssertNotNil(stats[key], "statistics.\(key)")
            }
            XCTAssertGreaterThan(stats["generated_tokens"] as? Int ?? 0, 0)
            XCTAssertGreaterThan(stats["drafted_tokens"] as? Int ?? 0, 0, "the shipped workflow drafts (strategy seed)")
        }

        let records = try Self.records(path)
        XCTAssertGreaterThanOrEqual(records.filter(\.solved).count, 1, "the demo target solves most of these puzzles")
        for record in records {
            // The tree: a root, and every proposed state with its thought; each valued state holds its
            // three value samples and the value they sum to.
            XCTAssertEqual(record.tree.first?.parent, nil)
            XCTAssertEqual(record.tree.first?.state, record.input)
            XCTAssertGreaterThan(record.tree.count, 5)
            for node in record.tree.dropFirst() {
                XCTAssertFalse(node.thought.isEmpty)
                let parent = try XCTUnwrap(node.parent.flatMap { p in record.tree.first { $0.id == p } })
                XCTAssertEqual(node.depth, parent.depth + 1)
                if let value = node.value {
                    XCTAssertEqual(node.samples.count, 3, "three value samples")
                    let words: [String: Double] = ["sure": 20, "likely": 1, "impossible": 0.001]
                    let sum = node.samples.reduce(0.0) { total, sample in
                        let last = sample.split(separator: "\n").last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
                        return total + (last.map { words[$0.trimmingCharacters(in: .whitespaces).lowercased()] ?? 0 } ?? 0)
                    }
                    XCTAssertEqual(value, sum, accuracy: 1e-9, "value = sum of the scored samples")
                }
            }
            if record.solved {
                // The check passed: the answer is an expression over exactly the input's numbers that is 24.
                let expression = try XCTUnwrap(ArithmeticExpression(try XCTUnwrap(record.answer)))
                XCTAssertEqual(expression.value, Rational(24))
                XCTAssertTrue(expression.usesExactly(record.input.split(separator: " ").compactMap { Int($0) }))
                XCTAssertEqual(record.bestPath.count, 3, "three steps from four numbers to 24")
                XCTAssertNil(record.note)
            }

            // Provenance: content hashes of the workflow and its three prompts, both model files, git.
            let provenance = try XCTUnwrap(record.provenance)
            XCTAssertEqual(provenance.workflowSHA256, SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: FlowTestPaths.repo("workflows/game24.yaml")))))
            XCTAssertEqual(provenance.prompts.count, 3)
            for name in ["propose.txt", "value.txt", "answer.txt"] {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: FlowTestPaths.repo("prompts/game24/\(name)")))
                XCTAssertEqual(provenance.prompts[name], SHA256.hex(bytes), name)
            }
            XCTAssertEqual(provenance.models.map(\.path), [FlowTestPaths.target, FlowTestPaths.draftS])
            for model in provenance.models {
                XCTAssertEqual(model.sha256?.count, 64, "demo models are small enough to hash")
                XCTAssertGreaterThan(model.bytes, 0)
            }
            let git = try XCTUnwrap(provenance.git, "the workflow lives in a git repository")
            XCTAssertEqual(git.commit.count, 40)
            XCTAssertTrue(git.commit.allSatisfy(\.isHexDigit))
        }
    }

    func testAFailedSearchIsUnsolvedWithANote() throws {
        // One step cannot turn four numbers into 24: no state reaches the goal.
        let (summary, _, path) = try run(inputs: Array(Self.puzzles.prefix(2)), overrides: ["search.depth=1"])
        let records = try Self.records(path)
        XCTAssertEqual(records.count, 2, "a failed input still gets its line")
        XCTAssertEqual(summary.solved, 0)
        for record in records {
            XCTAssertFalse(record.solved)
            XCTAssertNil(record.answer)
            XCTAssertEqual(record.note, "no state reached the goal in 1 steps")
            XCTAssertGreaterThan(record.tree.count, 1, "the tree is recorded even when nothing was found")
        }
    }

    // MARK: speculation never changes a greedy answer

    func testGreedyAnswersAreTheSameUnderEveryStrategy() throws {
        let greedy = ["search.generate.temperature=0", "search.evaluate.temperature=0"] + Self.cheap
        var outcomes: [DecodingStrategy: [RunRecord]] = [:]
        for strategy in DecodingStrategy.allCases {
            let (summary, _, path) = try run(inputs: Array(Self.puzzles.prefix(2)), overrides: greedy, options: RunOptions(strategy: strategy))
            XCTAssertEqual(summary.strategy, strategy)
            outcomes[strategy] = try Self.records(path)
            XCTAssertEqual(outcomes[strategy]?.map(\.strategy), [strategy.rawValue, strategy.rawValue])
        }
        let reference = try XCTUnwrap(outcomes[.autoregressive])
        XCTAssertGreaterThan(reference.filter(\.solved).count, 0, "the greedy chain solves some of these")
        XCTAssertNil(reference.first?.statistics.acceptance, "autoregressive drafts nothing")
        XCTAssertGreaterThan(try XCTUnwrap(outcomes[.seed]).reduce(0) { $0 + $1.statistics.draftedTokens }, 0, "seed drafts")
        for strategy in DecodingStrategy.allCases where strategy != .autoregressive {
            let other = try XCTUnwrap(outcomes[strategy])
            XCTAssertEqual(other.map(\.answer), reference.map(\.answer), "\(strategy) answers")
            XCTAssertEqual(other.map(\.solved), reference.map(\.solved), "\(strategy) solved")
            XCTAssertEqual(other.map(\.bestPath), reference.map(\.bestPath), "\(strategy) paths")
            // The whole tree, every thought and every value sample, is the same text.
            XCTAssertEqual(other.map { $0.tree.map(\.thought) }, reference.map { $0.tree.map(\.thought) }, "\(strategy) trees")
            XCTAssertEqual(other.map { $0.tree.map(\.samples) }, reference.map { $0.tree.map(\.samples) }, "\(strategy) samples")
        }
    }

    /// A workflow whose pool is `lookup` alone, and one with lookup beside its draft model:
    /// greedy trees equal the autoregressive ones, the calls of a tree level draft from each
    /// other, and the summary and the result lines give lookup's share.
    func testLookupPoolsAreGreedyExactAndReported() throws {
        let greedy = ["search.generate.temperature=0", "search.evaluate.temperature=0"] + Self.cheap
        let inputs = Array(Self.puzzles.prefix(2))
        let (_, _, plainPath) = try run(inputs: inputs, overrides: greedy, options: RunOptions(strategy: .autoregressive))
        let reference = try Self.records(plainPath)
        for drafts in ["[{lookup: {}}]", "[{path: \(FlowTestPaths.draftS), instances: 2}, {lookup: {min_ngram: 1, max_ngram: 4}}]"] {
            let (summary, _, path) = try run(inputs: inputs, overrides: greedy + ["models.drafts=\(drafts)", "decoding.strategy=seed"])
            let records = try Self.records(path)
            XCTAssertEqual(records.map { $0.tree.map(\.thought) }, reference.map { $0.tree.map(\.thought) }, drafts)
            XCTAssertEqual(records.map(\.answer), reference.map(\.answer), drafts)
            let lookupDrafted = records.reduce(0) { $0 + $1.statistics.lookupDraftedTokens }
            XCTAssertGreaterThan(lookupDrafted, 0, drafts)
            XCTAssertGreaterThan(records.reduce(0) { $0 + $1.statistics.lookupSiblingProposals }, 0, "\(drafts): sibling calls drafted")
            let lookupRow = try XCTUnwrap(summary.sources.last, drafts)
            XCTAssertEqual(lookupRow.name, "lookup")
            XCTAssertNotNil(lookupRow.siblingShare, drafts)
            XCTAssertTrue(summary.render().contains("lookup "), summary.render())
            XCTAssertTrue(summary.render().contains("of its proposals from sibling calls"), summary.render())
            // Per call kind: the kinds that lookup drafted for, their totals the records' totals.
            XCTAssertEqual(summary.lookupByCall.values.reduce(0) { $0 + $1.drafted }, lookupDrafted, drafts)
            XCTAssertTrue(Set(summary.lookupByCall.keys).isSubset(of: ["propose", "evaluate", "answer"]), "\(summary.lookupByCall.keys)")
            XCTAssertNotNil(summary.lookupByCall["propose"], drafts)
            XCTAssertNotNil(summary.render().split(separator: "\n").first { $0.hasPrefix("lookup acceptance by call") && $0.contains(" propose ") }, summary.render())
        }
    }

    /// Inputs searched together share the engine's rounds, and each input's next step joins as
    /// soon as its last one is back, so batches are made up differently with every `--jobs`. A
    /// sampled (not greedy) search must still come out the same, tree for tree and sample for
    /// sample: every call draws from its own stream and the arithmetic does not depend on the batch.
    func testSampledResultsDoNotDependOnHowManyInputsRunTogether() throws {
        var outcomes: [[RunRecord]] = []
        for jobs in [1, 3] {
            let (_, _, path) = try run(options: RunOptions(jobs: jobs, strategy: .autoregressive))
            outcomes.append(try Self.records(path))
        }
        let (alone, together) = (outcomes[0], outcomes[1])
        XCTAssertEqual(alone.count, Self.puzzles.count)
        XCTAssertEqual(together.map { $0.tree.map(\.thought) }, alone.map { $0.tree.map(\.thought) }, "trees")
        XCTAssertEqual(together.map { $0.tree.map(\.samples) }, alone.map { $0.tree.map(\.samples) }, "value samples")
        XCTAssertEqual(together.map(\.answer), alone.map(\.answer), "answers")
    }

    // MARK: results are appended, never clobbered

    func testResultsAreAppendedAsEachInputFinishes() throws {
        let path = scratch.directory + "/appended.jsonl"
        var seen: [Int] = []
        let (summary, lines, _) = try run(overrides: Self.cheap, options: RunOptions(jobs: 1), results: path) { progress in
            // Each progress report follows a step; whatever finished is already on disk.
            let onDisk = (try? Self.lines(path).count) ?? -1
            XCTAssertEqual(onDisk, progress.inputsDone, "lines on disk when \(progress.inputsDone) inputs were done")
            if seen.last != onDisk { seen.append(onDisk) }
        }
        XCTAssertEqual(seen, Array(0...Self.puzzles.count), "one input at a time, each written as it finished")
        XCTAssertEqual(lines.count, summary.inputs)
    }

    func testAnExistingFileIsRefusedAndResumeSkipsFinishedInputs() throws {
        let path = scratch.directory + "/resume.jsonl"
        _ = try run(overrides: Self.cheap, options: RunOptions(limit: 1), results: path)
        let first = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(try Self.lines(path).count, 1)

        // Without resume the file is refused, untouched, and the message says how to go on.
        XCTAssertThrowsError(try run(overrides: Self.cheap, options: RunOptions(limit: 2), results: path)) { error in
            XCTAssertEqual(error as? ResultsError, .exists(path: path))
            let message = "\(error)"
            XCTAssertTrue(message.contains("--resume"), message)
            XCTAssertTrue(message.contains("--overwrite"), message)
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), first)

        // With resume the finished input is skipped; every input ends with exactly one line.
        let (summary, _, _) = try run(overrides: Self.cheap, options: RunOptions(resultsMode: .resume), results: path)
        XCTAssertEqual(summary.skipped, 1)
        XCTAssertEqual(summary.inputs, Self.puzzles.count - 1)
        let records = try Self.records(path)
        XCTAssertEqual(records.map(\.index).sorted(), Array(Self.puzzles.indices))
        XCTAssertEqual(records.map(\.input).sorted(), Self.puzzles.sorted())
        XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).hasPrefix(first), "the first line is kept as it was")

        // Resuming a complete file runs nothing and adds nothing.
        let (again, _, _) = try run(overrides: Self.cheap, options: RunOptions(resultsMode: .resume), results: path)
        XCTAssertEqual(again.inputs, 0)
        XCTAssertEqual(again.skipped, Self.puzzles.count)
        XCTAssertEqual(try Self.records(path).count, Self.puzzles.count)
    }

    /// One input whose prompt is longer than the model's context does not cost the others: its
    /// line records why, every other input runs, and the summary counts it as failed.
    func testAnInputTooLongForTheContextIsRecordedAndTheOthersRun() throws {
        let long = Array(repeating: "7", count: 400).joined(separator: " ")
        let inputs = [Self.puzzles[0], long, Self.puzzles[1]]
        let (summary, _, path) = try run(inputs: inputs, overrides: Self.cheap)
        XCTAssertEqual(summary.inputs, 3)
        XCTAssertEqual(summary.failures.count, 1)
        let failure = try XCTUnwrap(summary.failures.first)
        XCTAssertTrue(failure.hasPrefix("input 1 ("), failure)
        XCTAssertTrue(failure.contains(".txt:2)"), "names the inputs file and line: \(failure)")
        let records = try Self.records(path)
        XCTAssertEqual(records.map(\.index), [0, 1, 2])
        let error = try XCTUnwrap(records[1].error)
        XCTAssertTrue(error.contains("the generate step's prompt (") && error.contains("propose.txt"), error)
        XCTAssertTrue(error.contains("context holds 256") && error.contains("shorten the input or the prompt"), error)
        XCTAssertFalse(records[1].solved)
        XCTAssertNil(records[0].error)
        XCTAssertTrue(records[0].solved && records[2].solved, "the other inputs ran as always")
        XCTAssertTrue(summary.render().contains("failed"), summary.render())
    }

    /// In `parse.state`, {{parent.state}} is the state of the node being expanded: the new
    /// child's parent (the input at depth 1), not that node's own parent.
    func testParentStateInParseStateIsTheExpandedNode() throws {
        let puzzle = Self.puzzles[0]
        let (_, _, path) = try run(inputs: [puzzle], overrides: Self.cheap + ["search.depth=2",
                                   "search.generate.parse.state=P[{{parent.state}}] {{left}}"])
        let record = try XCTUnwrap(try Self.records(path).first)
        let first = record.tree.filter { $0.depth == 1 }
        XCTAssertFalse(first.isEmpty)
        for node in first { XCTAssertTrue(node.state.hasPrefix("P[\(puzzle)] "), node.state) }
        for node in record.tree where node.depth == 2 {
            let parent = try XCTUnwrap(record.tree.first { $0.id == node.parent })
            XCTAssertTrue(node.state.hasPrefix("P[\(parent.state)] "), "\(node.state) under \(parent.state)")
        }
    }

    /// `score.number` reads the last number, sign included where it is one.
    func testScoreNumberReadsTheLastSignedNumber() {
        XCTAssertEqual(SearchTask.lastNumber(in: "I'd say -3"), -3)
        XCTAssertEqual(SearchTask.lastNumber(in: "10-3 = 7, so 7.5/10"), 10)
        XCTAssertEqual(SearchTask.lastNumber(in: "from 10-3"), 3)
        XCTAssertEqual(SearchTask.lastNumber(in: "score: 8.25"), 8.25)
        XCTAssertNil(SearchTask.lastNumber(in: "no idea"))
    }

    /// --resume runs a failed input again (its new line follows the old one), and a failure that
    /// comes back is counted again.
    func testResumeRunsFailedInputsAgain() throws {
        let path = scratch.directory + "/retry.jsonl"
        let long = Array(repeating: "7", count: 400).joined(separator: " ")
        let inputs = [Self.puzzles[0], long]
        let first = try run(inputs: inputs, overrides: Self.cheap, results: path).summary
        XCTAssertEqual(first.failures.count, 1)
        let again = try run(inputs: inputs, overrides: Self.cheap, options: RunOptions(resultsMode: .resume), results: path).summary
        XCTAssertEqual(again.skipped, 1)
        XCTAssertEqual(again.inputs, 1)
        XCTAssertEqual(again.failures.count, 1)
        let all = try ResultsFile.read(path: path)
        XCTAssertEqual(all.map(\.index).sorted(), [0, 1, 1])
        XCTAssertEqual(all.last?.index, 1, "the retried input's line comes last")
        XCTAssertEqual(ResultsFile.latest(all).map(\.index), [0, 1])
    }

    /// Lines written before overrides were recorded say nothing about them: resuming them with
    /// --set is not refused. Overrides of the KV budget never make a different run.
    func testResumeToleratesUnrecordedAndKVCacheOverrides() throws {
        let path = scratch.directory + "/old.jsonl"
        _ = try run(overrides: Self.cheap, options: RunOptions(limit: 1, overrides: Self.cheap), results: path)
        var object = try XCTUnwrap(try Self.lines(path).first)
        var provenance = try XCTUnwrap(object["provenance"] as? [String: Any])
        provenance["overrides"] = nil
        object["provenance"] = provenance
        try (String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self) + "\n")
            .write(toFile: path, atomically: false, encoding: .utf8)
        let options = RunOptions(limit: 2, resultsMode: .resume, overrides: Self.cheap + ["search.depth=2"])
        XCTAssertEqual(try run(overrides: Self.cheap, options: options, results: path).summary.inputs, 1)
        let kv = RunOptions(limit: 3, resultsMode: .resume, overrides: Self.cheap + ["search.depth=2", "models.kv_cache.memory=1GiB"])
        XCTAssertEqual(try run(overrides: Self.cheap, options: kv, results: path).summary.inputs, 1)
    }

    /// A run that fails or is stopped before its first result leaves no results file behind.
    func testARunEndedBeforeItsFirstResultRemovesTheFileItCreated() throws {
        let inputs = try scratch.write("gone.txt", Self.puzzles[0] + "\n")
        let failing = scratch.directory + "/failing.jsonl"
        let workflow = try loadWorkflow(path: FlowTestPaths.repo("workflows/game24.yaml"),
                                        overrides: ["inputs.file=\(inputs)", "output.results=\(failing)"] + Self.cheap)
        let runner = try WorkflowRunner(workflow: workflow, options: RunOptions())
        try FileManager.default.removeItem(atPath: inputs)
        XCTAssertThrowsError(try runner.run())
        XCTAssertFalse(FileManager.default.fileExists(atPath: failing))

        let stopped = scratch.directory + "/stopped.jsonl"
        var raised = false
        let (summary, _, _) = try run(inputs: [Self.puzzles[0]], overrides: Self.cheap, results: stopped) { _ in
            if !raised { raised = true; raise(SIGINT) }
        }
        XCTAssertTrue(summary.interrupted)
        XCTAssertEqual(summary.inputs, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stopped))
    }

    /// --resume continues the same run only: a file whose inputs, strategy or overrides differ
    /// is refused, naming the line and the difference, and left as it was.
    func testResumeRefusesAResultsFileOfADifferentRun() throws {
        let path = scratch.directory + "/resume-other.jsonl"
        _ = try run(overrides: Self.cheap, options: RunOptions(limit: 1, overrides: Self.cheap), results: path)
        let before = try String(contentsOfFile: path, encoding: .utf8)
        func refused(_ inputs: [String], _ options: RunOptions, mentions text: String) {
            XCTAssertThrowsError(try run(inputs: inputs, overrides: Self.cheap, options: options, results: path)) { error in
                guard case .differentRun(path, 1, let what)? = error as? ResultsError else { return XCTFail("\(error)") }
                XCTAssertTrue(what.contains(text), what)
                XCTAssertTrue("\(error)".contains("--results NEW.jsonl"), "\(error)")
            }
            XCTAssertEqual(try? String(contentsOfFile: path, encoding: .utf8), before)
        }
        refused(["9 9 9 9"] + Self.puzzles, RunOptions(resultsMode: .resume, overrides: Self.cheap), mentions: "input 0 is '\(Self.puzzles[0])' there but '9 9 9 9'")
        refused(Self.puzzles, RunOptions(resultsMode: .resume, strategy: .autoregressive, overrides: Self.cheap), mentions: "strategy seed")
        refused(Self.puzzles, RunOptions(resultsMode: .resume, overrides: Self.cheap + ["search.depth=2"]),
                mentions: "--set search.depth=2")
    }

    /// Inputs files written on Windows (CRLF) give one input a line, as LF files do.
    func testCRLFInputsFilesAreSplitIntoLines() throws {
        let lines = try scratch.write("crlf.txt", "1 1 3 4\r\n4 5 6 10\r\n\r\n")
        XCTAssertEqual(try WorkflowRunner.readInputs(InputsSection(file: lines, format: .lines, fields: [])).map(\.input), ["1 1 3 4", "4 5 6 10"])
        let jsonl = try scratch.write("crlf.jsonl", "{\"input\": \"1 1 3 4\"}\r\n{\"input\": \"2 2 2 2\"}\r\n")
        let read = try WorkflowRunner.readInputs(InputsSection(file: jsonl, format: .jsonl, fields: []))
        XCTAssertEqual(read.map(\.input), ["1 1 3 4", "2 2 2 2"])
        XCTAssertEqual(read.map(\.line), [1, 2])
    }

    /// Two prompt files with one name in different folders are both in the provenance, so a
    /// change to either makes `--resume` refuse the file.
    func testResumeSeesAChangeToEitherOfTwoPromptsWithOneName() throws {
        try scratch.writePrompts()
        try scratch.write("a/p.txt", "Propose steps for: {{state}}\n")
        try scratch.write("b/p.txt", "Evaluate: {{state}}\n")
        // The workflow in a folder of its own, its prompts beside it and one above it.
        let text = minimalWorkflow().replacingOccurrences(of: "prompt: propose.txt", with: "prompt: ../a/p.txt")
            .replacingOccurrences(of: "prompt: value.txt", with: "prompt: b/p.txt")
            .replacingOccurrences(of: "prompt: answer.txt", with: "prompt: ../answer.txt")
        try scratch.write("w/b/p.txt", "Evaluate: {{state}}\n")
        try scratch.write("w/same-names.yaml", text)
        try scratch.write("two.txt", Self.puzzles.prefix(2).joined(separator: "\n") + "\n")
        let recorded = Self.cheap + ["search.depth=1"]
        func run(in folder: String, limit: Int, mode: ResultsOpenMode) throws {
            let overrides = recorded + ["inputs.file=\(folder)/two.txt", "output.results=\(folder)/same-names.jsonl"]
            let workflow = try loadWorkflow(path: folder + "/w/same-names.yaml", overrides: overrides)
            _ = try WorkflowRunner(workflow: workflow, options: RunOptions(limit: limit, resultsMode: mode, overrides: recorded)).run()
        }
        try run(in: scratch.directory, limit: 1, mode: .create)
        let record = try XCTUnwrap(try ResultsFile.read(path: scratch.directory + "/same-names.jsonl").first)
        XCTAssertEqual(record.provenance?.prompts.keys.sorted(), ["a/p.txt", "answer.txt", "w/b/p.txt"],
                       "paths below the folder the two prompts share")
        // The whole folder moved: the same run, so it resumes.
        let moved = scratch.directory + "-moved"
        try FileManager.default.copyItem(atPath: scratch.directory, toPath: moved)
        defer { try? FileManager.default.removeItem(atPath: moved) }
        XCTAssertNoThrow(try run(in: moved, limit: 2, mode: .resume))
        try scratch.write("a/p.txt", "Propose steps, changed, for: {{state}}\n")
        XCTAssertThrowsError(try run(in: scratch.directory, limit: 2, mode: .resume)) { error in
            XCTAssertTrue("\(error)".contains("the prompt file a/p.txt has changed"), "\(error)")
        }
    }

    /// An input whose prompt cannot be rendered (its JSONL line lost a field after validation)
    /// fails alone, with the reason in its line; the other inputs run.
    func testAnInputWhosePromptCannotRenderFailsAlone() throws {
        try scratch.writePrompts()
        try scratch.write("propose.txt", "Propose steps for: {{state}} ({{label}})\n")
        let inputs = try scratch.write("q.jsonl", #"{"input": "1 2 2 6", "label": "a"}"# + "\n" + #"{"input": "1 2 4 4", "label": "b"}"# + "\n")
        let path = scratch.directory + "/render.jsonl"
        let workflow = try loadWorkflow(path: try scratch.write("w.yaml", minimalWorkflow(inputs: inputs)),
                                        overrides: Self.cheap + ["search.depth=1", "output.results=\(path)"])
        try scratch.write("q.jsonl", #"{"input": "1 2 2 6", "label": "a"}"# + "\n" + #"{"input": "1 2 4 4"}"# + "\n")
        let summary = try WorkflowRunner(workflow: workflow, options: RunOptions()).run()
        XCTAssertEqual(summary.inputs, 2)
        XCTAssertEqual(summary.failures.count, 1)
        let records = try Self.records(path)
        XCTAssertEqual(records.map(\.index), [0, 1])
        XCTAssertNil(records[0].error)
        XCTAssertEqual(records[1].error, "no value for {{label}} in \(scratch.directory)/propose.txt")
    }

    func testJSONTrueAndFalseAreWordsInTemplates() throws {
        let inputs = try scratch.write("flags.jsonl", #"{"input": "x", "flag": true, "off": false, "n": 1, "z": 0, "f": 1.5}"# + "\n")
        try scratch.writePrompts()
        let workflow = try loadWorkflow(path: try scratch.write("w.yaml", minimalWorkflow(inputs: inputs)))
        let fields = try XCTUnwrap(try WorkflowRunner.readInputs(workflow.inputs).first?.fields)
        XCTAssertEqual(fields["flag"], "true")
        XCTAssertEqual(fields["off"], "false")
        XCTAssertEqual(fields["n"], "1")
        XCTAssertEqual(fields["z"], "0")
        XCTAssertEqual(fields["f"], "1.5")
    }

    // MARK: other searches

    func testDepthFirstSearchRunsAndRecordsItsTree() throws {
        let (_, _, path) = try run("game24-dfs", inputs: [Self.puzzles[1]])
        let record = try XCTUnwrap(try Self.records(path).first)
        XCTAssertGreaterThan(record.tree.count, 3)
        // DFS never keeps a state valued below its prune threshold (3).
        // (A goal state goes to the finish step unvalued.)
        for node in record.tree where node.selected && node.value != nil { XCTAssertGreaterThanOrEqual(node.value ?? 0, 3, node.state) }
        XCTAssertTrue(record.solved || record.note != nil, "either solved or says why not")
        XCTAssertTrue(record.solved, "the demo target solves '\(record.input)' by DFS")
    }

    func testBeamSearchRunsAndRecordsItsTree() throws {
        let (_, _, path) = try run(inputs: [Self.puzzles[1]], overrides: ["search.algorithm=beam", "search.breadth=3"])
        let record = try XCTUnwrap(try Self.records(path).first)
        XCTAssertGreaterThan(record.tree.count, 3)
        XCTAssertLessThanOrEqual(Set(record.tree.filter { $0.selected && $0.depth == 1 }.map(\.id)).count, 3, "breadth 3 per level")
        XCTAssertTrue(record.solved, "the demo target solves '\(record.input)' by beam search")
    }

    // MARK: the finish check

    /// Drives one SearchTask by hand to its finish step and feeds it `answer` as the finish
    /// completion: the judge path without a model.
    private func judge(workflow: Workflow, input: String, fields: [String: String] = [:], finish text: String) throws -> SearchTask {
        let task = SearchTask(index: 0, input: input, fields: fields, workflow: workflow, seed: 0)
        func reply(_ request: TextRequest, _ text: String) -> TextCompletion {
            TextCompletion(tag: request.tags[0], text: text, finishReason: .eos, statistics: CompletionStatistics())
        }
        // Propose straight to the goal state "24": it goes to the finish step without a value call.
        let proposals = try task.requests()
        XCTAssertEqual(proposals.count, 1)
        try task.receive(proposals.map { reply($0, "anything (left: 24)") })
        let finish = try task.requests()
        XCTAssertEqual(finish.count, 1, "the finish call")
        try task.receive(finish.map { reply($0, text) })
        XCTAssertTrue(task.isDone)
        return task
    }

    func testTheFinishCheckRejectsAWrongExpression() throws {
        try scratch.writePrompts()
        let workflow = try loadWorkflow(path: try scratch.write("w.yaml", minimalWorkflow()))
        let right = try judge(workflow: workflow, input: "1 1 4 6", finish: "Answer: 6 * 4 * (1 * 1) = 24")
        XCTAssertTrue(right.solved)
        XCTAssertEqual(right.answer, "6 * 4 * (1 * 1)")

        let wrongValue = try judge(workflow: workflow, input: "1 1 4 6", finish: "Answer: (6 + 1 + 1) * 4 = 24")
        XCTAssertFalse(wrongValue.solved)
        XCTAssertEqual(wrongValue.answer, "(6 + 1 + 1) * 4")
        XCTAssertEqual(wrongValue.note, "the answer evaluates to 32, not 24.0")

        let wrongNumbers = try judge(workflow: workflow, input: "1 1 4 6", finish: "Answer: 6 * 4 = 24")
        XCTAssertFalse(wrongNumbers.solved, "24, but not with the input's numbers")
        XCTAssertEqual(wrongNumbers.note, "the answer does not use exactly the input's numbers")

        let noMatch = try judge(workflow: workflow, input: "1 1 4 6", finish: "I give up")
        XCTAssertFalse(noMatch.solved)
        XCTAssertNil(noMatch.answer)
        XCTAssertEqual(noMatch.note, "the finish step's answer did not match the extract pattern")
    }

    /// GSM8K keeps the reference in an `answer` field; `number_equals: '{{answer}}'` must compare
    /// against it, not against the extracted answer itself (which would pass every time).
    func testNumberCheckComparesWithTheInputsAnswerField() throws {
        try scratch.writePrompts()
        let inputs = try scratch.write("q.jsonl", #"{"question": "q", "answer": "1,200"}"# + "\n")
        var text = minimalWorkflow(inputs: inputs)
        text = text.replacingOccurrences(of: "extract: '^Answer: (?<expr>.+) = 24$'", with: "extract: 'is (?<n>[-0-9.,$]+)'")
        text = text.replacingOccurrences(of: "check: { arithmetic: '{{expr}}', equals: 24, uses_numbers_of: '{{input}}' }",
                                         with: "check: { number_equals: '{{answer}}' }")
        let workflow = try loadWorkflow(path: try scratch.write("w.yaml", text))
        let fields = ["question": "q", "answer": "1,200"]
        XCTAssertTrue(try judge(workflow: workflow, input: "q", fields: fields, finish: "The answer is $1200.0").solved)
        let wrong = try judge(workflow: workflow, input: "q", fields: fields, finish: "The answer is 1201")
        XCTAssertEqual(wrong.answer, "1201")
        XCTAssertFalse(wrong.solved, "1201 is not the reference 1,200")
    }
}
