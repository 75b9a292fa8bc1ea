import Foundation
import XCTest
@testable import SeedEngine
@testable import SeedFlow

/// One input's search driven by scripted model replies instead of a model, so each test decides
/// exactly what the model "says": the search rules (goals, depth, selection, value reuse, cut-off
/// output, the finish step) checked one at a time.
final class SearchTaskTests: XCTestCase {
    private var scratch: Scratch!

    override func setUpWithError() throws {
        scratch = try Scratch(self)
        try scratch.write("propose.txt", "Propose: {{state}}\n")
        try scratch.write("value.txt", "Evaluate: {{state}}\n")
        try scratch.write("answer.txt", "Answer for: {{input}} via {{state}}\n")
    }

    /// A workflow over the scratch prompts; `search` and `finish` are the YAML of those sections.
    private func workflow(search: String, finish: String = "", inputs: String? = nil) throws -> Workflow {
        let text = """
        version: 1
        name: scripted
        models:
          target: { path: \(FlowTestPaths.target) }
        decoding: { strategy: autoregressive }
        inputs: { file: \(inputs ?? FlowTestPaths.inputs) }
        search:
        \(search.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        \(finish)

        """
        return try loadWorkflow(path: try scratch.write("w-\(UUID().uuidString).yaml", text))
    }


    /// Runs the search to its end as the runner does; `reply` answers each call's prompt (the
    /// prompt's first line, trimmed) with text and why it ended. Returns the task and every
    /// prompt asked, in order.
    @discardableResult
    private func search(_ workflow: Workflow, input: String, fields: [String: String] = [:], seed: UInt64 = 0,
                        reply: (String) -> (String, FinishReason)) throws -> (task: SearchTask, prompts: [String]) {
        let task = SearchTask(index: 0, input: input, fields: fields, workflow: workflow, seed: seed)
        var prompts: [String] = []
        var rounds = 0
        while !task.isDone {
            let calls = try task.requests()
            rounds += 1
            guard rounds < 1000 else { XCTFail("the search does not end"); break }
            if calls.isEmpty { try task.receive([]); continue }
            // A call asks for a sample per tag; each sample is answered as a call of its own.
            try task.receive(calls.flatMap { call in
                call.tags.map { tag in
                    let prompt = call.prompt.trimmingCharacters(in: .whitespacesAndNewlines)
                    prompts.append(prompt)
                    let (text, reason) = reply(prompt)
                    return TextCompletion(tag: tag, text: text, finishReason: reason, statistics: CompletionStatistics())
                }
            })
        }
        return (task, prompts)
    }

    /// Replies from a table keyed by prompt; a prompt it lacks gets an empty reply.
    private func table(_ replies: [String: String]) -> (String) -> (String, FinishReason) {
        { prompt in (replies[prompt] ?? "", .eos) }
    }

    // MARK: final states

    func testDepthFirstSearchWithoutAGoalAnswersWithTheBestStateAtDepth() throws {
        let w = try workflow(search: """
            algorithm: dfs
            prune_below: 0
            depth: 2
            breadth: 2
            generate: { prompt: propose.txt, mode: propose }
            evaluate: { prompt: value.txt, samples: 1, score: { last_line: { sure: 20, likely: 1 } } }
            """)
        let (task, _) = try search(w, input: "r", reply: table([
            "Propose: r": "a\nb", "Propose: a": "a1\na2",
            "Evaluate: a": "sure", "Evaluate: b": "likely", "Evaluate: a1": "likely", "Evaluate: a2": "sure",
        ]))
        XCTAssertEqual(task.answer, "a2", "every state at depth is final; the best of the first ones reached answers")
        XCTAssertTrue(task.solved)
        XCTAssertNil(task.note)
    }

    func testAnInputThatIsAlreadyTheGoalIsAnsweredWithoutSearching() throws {
        let w = try workflow(search: """
            depth: 3
            generate: { prompt: propose.txt, mode: propose }
            evaluate: { prompt: value.txt, samples: 1 }
            goal: { state_equals: "24" }
            """, finish: "finish: { prompt: answer.txt, max_tokens: 8 }")
        let (task, prompts) = try search(w, input: " 24 ", reply: { _ in ("(24)", .eos) })
        XCTAssertEqual(prompts, ["Answer for:  24  via  24"], "straight to the finish step, no proposal")
        XCTAssertEqual(task.chosen, 0)
        XCTAssertEqual(task.answer, "(24)")
    }

    /// Kept states are drawn at random under `select: sample`; the answer must still be the best
    /// of them, whatever the draw. Ten seeds make a lucky draw for a wrong rule unlikely (the best
    /// state is drawn first with probability 1.1 / 5.1 per seed).
    func testSampledSelectionAnswersWithTheBestKeptState() throws {
        let w = try workflow(search: """
            depth: 1
            breadth: 5
            select: sample
            generate: { prompt: propose.txt, mode: propose }
            evaluate: { prompt: value.txt, samples: 1, score: { last_line: { good: 1.1, ok: 1 } } }
            """)
        let replies = table([
            "Propose: r": "p\nq\nbest\ns\nt",
            "Evaluate: p": "ok", "Evaluate: q": "ok", "Evaluate: best": "good", "Evaluate: s": "ok", "Evaluate: t": "ok",
        ])
        for seed in 0..<10 as Range<UInt64> {
            let (task, _) = try search(w, input: "r", seed: seed, reply: replies)
            XCTAssertEqual(task.answer, "best", "seed \(seed)")
        }
    }

    /// Beam ranks by the path's summed values, bfs by the state's own: here the two keep
    /// different states at depth 2 and so answer differently.
    func testBeamRanksByThePathAndBFSByTheState() throws {
        func answer(_ algorithm: String) throws -> String? {
            let w = try workflow(search: """
                algorithm: \(algorithm)
                depth: 2
                breadth: 2
                generate: { prompt: propose.txt, mode: propose }
                evaluate: { prompt: value.txt, samples: 1, score: { last_line: { ten: 10, five: 5, four: 4, one: 1 } } }
                """)
            return try search(w, input: "r", reply: table([
                "Propose: r": "a\nb", "Propose: a": "a1", "Propose: b": "b1\nb2",
                "Evaluate: a": "ten", "Evaluate: b": "one", "Evaluate: a1": "one", "Evaluate: b1": "five", "Evaluate: b2": "four",
            ])).task.answer
        }
        XCTAssertEqual(try answer("bfs"), "b1", "5 is the best own value")
        XCTAssertEqual(try answer("beam"), "a1", "10 + 1 is the best path")
    }

    // MARK: what a thought is

    func testAProposalCutOffByMaxTokensLosesItsUnfinishedLine() throws {
        let w = try workflow(search: """
            depth: 1
            breadth: 5
            generate: { prompt: propose.txt, mode: propose, max_tokens: 8 }
            evaluate: { prompt: value.txt, samples: 1 }
            """)
        func children(_ text: String, _ reason: FinishReason) throws -> [String] {
            let (task, _) = try search(w, input: "r", reply: { $0.hasPrefix("Propose") ? (text, reason) : ("sure", .eos) })
            return task.nodes.dropFirst().map(\.state)
        }
        XCTAssertEqual(try children("a\nb (le", .length), ["a"], "the cut last line is no thought")
        XCTAssertEqual(try children("a\nb\n", .length), ["a", "b"], "a line break ended the last line")
        XCTAssertEqual(try children("a\nb", .eos), ["a", "b"], "the model ended it")
        XCTAssertEqual(try children("a\nb", .stop), ["a", "b"], "a stop string ended it")
    }

    func testASampleCutOffByMaxTokensIsStillAThought() throws {
        let w = try workflow(search: """
            depth: 1
            generate: { prompt: propose.txt, mode: sample, n: 2, max_tokens: 8 }
            evaluate: { prompt: value.txt, samples: 1 }
            """)
        var reasons: [FinishReason] = [.length, .eos]
        let (task, _) = try search(w, input: "r", reply: { prompt in
            prompt.hasPrefix("Propose") ? ("step\n\(reasons.count)", reasons.removeFirst()) : ("sure", .eos)
        })
        XCTAssertEqual(task.nodes.dropFirst().map(\.state), ["step\n2", "step\n1"], "one thought a sample, cut or not")
    }

    func testAnOptionalPatternGroupThatTookNoPartIsEmpty() throws {
        let w = try workflow(search: #"""
            depth: 1
            breadth: 5
            generate:
              prompt: propose.txt
              mode: propose
              parse: { pattern: '^(?<step>[^(]+?) *(\(left: (?<left>[0-9 ]+)\))?$', state: '{{step}}/{{left}}' }
            evaluate: { prompt: value.txt, samples: 1 }
            """#)
        let (task, _) = try search(w, input: "r", reply: { $0.hasPrefix("Propose") ? ("a (left: 1 2)\nb", .eos) : ("sure", .eos) })
        XCTAssertEqual(task.nodes.dropFirst().map(\.state), ["a/1 2", "b/"])
        XCTAssertNil(task.error)
    }

    func testSiblingsMergeByTextUnlessNumbersAreAskedFor() throws {
        func children(_ merge: String) throws -> [String] {
            let w = try workflow(search: """
                depth: 1
                breadth: 9
                generate: { prompt: propose.txt, mode: propose }
                evaluate: { prompt: value.txt, samples: 1 }
                \(merge)
                """)
            let (task, _) = try search(w, input: "r", reply: { prompt in
                prompt.hasPrefix("Propose") ? ("3 8 1\n1 3 8\n1 3 8.0\n c b\nc b\nb c\n0x10\n16\ninf\n", .eos) : ("sure", .eos)
            })
            return task.nodes.dropFirst().map(\.state)
        }
        XCTAssertEqual(try children(""), ["3 8 1", "1 3 8", "1 3 8.0", "c b", "b c", "0x10", "16", "inf"],
                       "by default only the same text merges")
        XCTAssertEqual(try children("merge_states: numbers"), ["3 8 1", "c b", "b c", "0x10", "16", "inf"],
                       "the same decimal numbers (by value) in any order merge; other states by text")
    }

    // MARK: values

    /// The same state under two parents, valued by a prompt that shows the parent: two questions,
    /// two values. (Keyed by the state alone, the second took the first one's value.)
    func testAValueIsReusedOnlyForTheSamePrompt() throws {
        try scratch.write("value.txt", "Evaluate: {{parent.state}} > {{state}}\n")
        let w = try workflow(search: """
            algorithm: dfs
            prune_below: 0
            depth: 2
            breadth: 2
            generate: { prompt: propose.txt, mode: propose }
            evaluate: { prompt: value.txt, samples: 1, score: { last_line: { sure: 20, likely: 1, impossible: 0.001 } } }
            goal: { state_equals: "never" }
            """)
        let (task, prompts) = try search(w, input: "r", reply: table([
            "Propose: r": "x\ny", "Propose: x": "s", "Propose: y": "s",
            "Evaluate: r > x": "sure", "Evaluate: r > y": "likely",
            "Evaluate: x > s": "likely", "Evaluate: y > s": "impossible",
        ]))
        let s = task.nodes.filter { $0.state == "s" }
        XCTAssertEqual(s.count, 2, "both parents were expanded")
        XCTAssertEqual(s.map(\.value), [1, 0.001], "each asked its own question")
        XCTAssertTrue(prompts.contains("Evaluate: y > s"))
    }

    /// The same state reached twice, valued by a prompt that shows only the state: asked once,
    /// and the second node carries the first one's value and samples.
    func testAValueAskedBeforeIsTakenFromTheFirstAsking() throws {
        let w = try workflow(search: """
            algorithm: dfs
            prune_below: 0
            depth: 2
            breadth: 2
            generate: { prompt: propose.txt, mode: propose }
            evaluate: { prompt: value.txt, samples: 1, score: { last_line: { sure: 20, likely: 1 } } }
            goal: { state_equals: "never" }
            """)
        let (task, prompts) = try search(w, input: "r", reply: table([
            "Propose: r": "x\ny", "Propose: x": "s", "Propose: y": "s",
            "Evaluate: x": "sure", "Evaluate: y": "likely", "Evaluate: s": "likely",
        ]))
        XCTAssertEqual(prompts.filter { $0 == "Evaluate: s" }.count, 1, "asked once")
        let s = task.nodes.filter { $0.state == "s" }
        XCTAssertEqual(s.count, 2)
        XCTAssertEqual(s.map(\.value), [1, 1], "the second node has the value too")
        XCTAssertEqual(s.map(\.samples), [["likely"], ["likely"]])
    }

    /// Two children of one level whose value prompts read the same are one question.
    func testAValuePromptIsAskedOncePerLevel() throws {
        try scratch.write("value.txt", "Evaluate the step after: {{parent.state}}\n")
        let w = try workflow(search: """
            depth: 1
            breadth: 5
            generate: { prompt: propose.txt, mode: propose }
            evaluate: { prompt: value.txt, samples: 2, score: { last_line: { sure: 20, likely: 1 } } }
            """)
        var replies = ["sure", "likely"]
        let (task, prompts) = try search(w, input: "r", reply: { prompt in
            prompt.hasPrefix("Propose") ? ("a\nb", .eos) : (replies.removeFirst(), .eos)
        })
        XCTAssertEqual(prompts.filter { $0.hasPrefix("Evaluate") }.count, 2, "two samples of one question, not four")
        XCTAssertEqual(task.nodes.dropFirst().map(\.value), [21, 21])
        XCTAssertEqual(task.nodes.dropFirst().map(\.samples), [["sure", "likely"], ["sure", "likely"]])
    }

    func testDepthFirstSearchStopsAfterItsExpansionLimitCountingTheRoot() throws {
        let w = try workflow(search: """
            algorithm: dfs
            prune_below: 0
            depth: 32
            breadth: 2
            generate: { prompt: propose.txt, mode: propose }
            evaluate: { prompt: value.txt, samples: 1 }
            goal: { state_equals: "never" }
            """)
        var made = 0
        let (task, prompts) = try search(w, input: "r", reply: { prompt in
            guard prompt.hasPrefix("Propose") else { return ("sure", .eos) }
            made += 2
            return ("n\(made - 1)\nn\(made)", .eos)
        })
        XCTAssertEqual(prompts.filter { $0.hasPrefix("Propose") }.count, SearchTask.dfsExpansionLimit)
        XCTAssertEqual(task.note, "gave up after \(SearchTask.dfsExpansionLimit) expansions")
    }

    // MARK: the finish step

    func testAnEmptyFinishIsNoAnswer() throws {
        let w = try workflow(search: """
            depth: 1
            generate: { prompt: propose.txt, mode: propose }
            evaluate: { prompt: value.txt, samples: 1 }
            goal: { state_equals: "24" }
            """, finish: "finish: { prompt: answer.txt, max_tokens: 8 }")
        let (task, _) = try search(w, input: "r", reply: { $0.hasPrefix("Propose") ? ("24", .eos) : (" \n", .stop) })
        XCTAssertNil(task.answer)
        XCTAssertFalse(task.solved)
        XCTAssertEqual(task.note, "the finish step returned no text")
    }

    /// An extract group named like an input field must not replace the field it is checked
    /// against: then every answer would equal "the reference" and every input would pass.
    func testAnExtractGroupNamedLikeAFieldDoesNotReplaceIt() throws {
        let inputs = try scratch.write("q.jsonl", #"{"input": "r", "answer": "999"}"# + "\n")
        let w = try workflow(search: """
            depth: 1
            generate: { prompt: propose.txt, mode: propose }
            evaluate: { prompt: value.txt, samples: 1 }
            goal: { state_equals: "24" }
            """, finish: """
            finish:
              prompt: answer.txt
              extract: 'is (?<answer>[0-9]+)'
              check: { string_equals: '{{answer}}' }
            """, inputs: inputs)
        let fields = ["input": "r", "answer": "999"]
        func judged(_ finish: String) throws -> SearchTask {
            try search(w, input: "r", fields: fields, reply: { $0.hasPrefix("Propose") ? ("24", .eos) : (finish, .eos) }).task
        }
        let wrong = try judged("it is 12")
        XCTAssertEqual(wrong.answer, "12", "the answer is the group's text")
        XCTAssertFalse(wrong.solved, "12 is not the reference 999")
        XCTAssertTrue(try judged("it is 999").solved)
    }
}
