import Foundation
import XCTest
@testable import SeedFlow

/// The two chat-model workflows (gsm8k, creative-writing) on tiny random-weight models: their
/// answers are garbage, but every input must still get one well-formed line whose `solved`
/// agrees with the check. This is the plumbing a real model then runs through.
final class ChatWorkflowTests: XCTestCase {
    private var scratch: Scratch!
    private var target = "", draft = ""

    override func setUpWithError() throws {
        scratch = try Scratch(self)
        target = scratch.directory + "/random-target.gguf"
        draft = scratch.directory + "/random-draft.gguf"
        try TinyRandomModel.write(to: target, seed: 1)
        try TinyRandomModel.write(to: draft, seed: 2)
    }

    /// The shipped workflow on the random models with small search settings, target and draft
    /// given as a user gives them; returns the results and the inputs' lines.
    private func run(_ name: String, _ overrides: [String]) throws -> (RunSummary, [RunRecord], [String]) {
        let results = scratch.directory + "/\(name).jsonl"
        let workflow = try loadWorkflow(path: FlowTestPaths.repo("workflows/\(name).yaml"), overrides: [
            "models.target.path=\(target)",
            "models.drafts=[{path: \(draft), instances: 2}]",
            "models.kv_cache.memory=64MiB",
            "output.results=\(results)",
        ] + overrides)
        XCTAssertEqual(workflow.decoding.strategy, .auto, "a listed draft makes the default strategy auto")
        let summary = try WorkflowRunner(workflow: workflow, options: RunOptions()).run()
        let inputs = try String(contentsOfFile: workflow.inputs.file, encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let text = try String(contentsOfFile: results, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").count, inputs.count, "one line per input")
        return (summary, try ResultsFile.read(path: results), inputs)
    }

    func testGSM8KWorkflowOnRandomModels() throws {
        let (summary, records, inputs) = try run("gsm8k", [
            "search.depth=2", "search.breadth=2", "search.generate.n=2", "search.generate.max_tokens=8",
            "search.evaluate.samples=2", "search.evaluate.max_tokens=4", "finish.max_tokens=8",
        ])
        XCTAssertEqual(records.count, 5)
        XCTAssertEqual(summary.inputs, 5)
        XCTAssertEqual(records.map(\.index), Array(0..<5))
        XCTAssertEqual(summary.solved, records.filter(\.solved).count)
        for (record, line) in zip(records, inputs) {
            // No `input` field: the input is the whole line; `question` and `answer` fill the prompts.
            XCTAssertEqual(record.input, line)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            let reference = try XCTUnwrap(object["answer"])

            // Sample mode: at most n = 2 steps per expanded state, at most breadth 2 kept per level.
            XCTAssertEqual(record.tree.first?.state, line)
            XCTAssertGreaterThan(record.tree.count, 1, "some steps were sampled")
            for node in record.tree.dropFirst() {
                XCTAssertLessThanOrEqual(node.depth, 2)
                XCTAssertEqual(node.state, node.thought, "no parse: a step is its own state")
                // Each state is valued twice; its value is the sum of the last numbers, clamped to 0–10.
                let value = try XCTUnwrap(node.value, "every sampled step is valued")
                XCTAssertEqual(node.samples.count, 2, "both value samples are recorded")
                XCTAssertGreaterThanOrEqual(value, 0)
                XCTAssertLessThanOrEqual(value, 20)
            }
            for depth in 1...2 {
                XCTAssertLessThanOrEqual(record.tree.filter { $0.depth == depth && $0.selected }.count, 2)
            }
            XCTAssertGreaterThan(record.statistics.modelCalls, 0)

            // solved exactly when the extracted number equals the reference (not the answer itself).
            if let answer = record.answer {
                let expected = SearchTask.number(answer) != nil && SearchTask.number(answer) == SearchTask.number(reference)
                XCTAssertEqual(record.solved, expected, "answer '\(answer)', reference \(reference)")
            } else {
                XCTAssertFalse(record.solved)
                XCTAssertNotNil(record.note, "an input without an answer says why")
            }
            XCTAssertNotNil(record.provenance?.prompts["step.txt"])
            XCTAssertEqual(record.provenance?.models.map(\.path), [target, draft])
        }
    }

    func testCreativeWritingWorkflowOnRandomModels() throws {
        let (summary, records, inputs) = try run("creative-writing", [
            "search.generate.n=3", "search.generate.max_tokens=8",
            "search.evaluate.samples=2", "search.evaluate.max_tokens=8", "finish.max_tokens=16",
        ])
        XCTAssertEqual(records.count, 4)
        XCTAssertEqual(summary.inputs, 4)
        for (record, line) in zip(records, inputs) {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
            XCTAssertEqual(record.input, object["input"], "the `input` field is the input")
            let plans = record.tree.filter { $0.depth == 1 }
            XCTAssertFalse(plans.isEmpty, "plans were sampled")
            XCTAssertLessThanOrEqual(plans.count, 3)
            // Vote mode: every plan holds both ballots; its value is the votes it got, at most 2 in all.
            for plan in plans {
                XCTAssertEqual(plan.samples.count, 2, "every ballot is recorded")
                XCTAssertNotNil(plan.value)
            }
            XCTAssertLessThanOrEqual(plans.reduce(0) { $0 + ($1.value ?? 0) }, 2)
            XCTAssertEqual(plans.filter(\.selected).count, 1, "breadth 1: the winning plan")
            // The finish step wrote the passage from the winning plan; without a check, written is solved.
            XCTAssertEqual(record.bestPath.count, 1)
            XCTAssertEqual(record.bestPath.first, plans.first(where: \.selected)?.thought)
            XCTAssertEqual(record.solved, record.answer != nil)
            XCTAssertTrue(record.solved, "the finish step always writes something")
        }
    }

    func testChatWorkflowsNeedATargetModel() {
        for name in ["gsm8k", "creative-writing"] {
            let report = validateWorkflow(path: FlowTestPaths.repo("workflows/\(name).yaml"))
            XCTAssertEqual(report.diagnostics.count, 1, report.text)
            XCTAssertEqual(report.diagnostics.first?.kind, .missingFile)
            XCTAssertTrue(report.text.contains("YOUR-TARGET-MODEL.gguf"), report.text)
            let given = validateWorkflow(path: FlowTestPaths.repo("workflows/\(name).yaml"),
                                         overrides: ["models.target.path=\(FlowTestPaths.target)"])
            XCTAssertTrue(given.isValid, given.text)
        }
    }
}
