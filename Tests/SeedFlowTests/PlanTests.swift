import XCTest
@testable import SeedFlow

final class PlanTests: XCTestCase {
    private let game24 = FlowTestPaths.repo("workflows/game24.yaml")

    func testGame24CompilesToTheToTLoop() throws {
        let plan = try Plan(path: game24)
        XCTAssertEqual(plan.steps.map(\.id), PlanStep.ID.allCases)
        XCTAssertEqual(plan.edges(from: .goal).map(\.condition), [.goalReached, .nextLevel, .exhausted])
        guard case let .generate(generate)? = plan.step(.generate)?.action else { return XCTFail("no generate step") }
        XCTAssertEqual(generate.mode, .propose)
        XCTAssertEqual(generate.sampling.maxTokens, 160)
        XCTAssertEqual(generate.parse?.pattern.groupNames, ["step", "left"])
        XCTAssertEqual(try generate.prompt.render(["state": "4 5 6 10"]), "Propose steps for: 4 5 6 10\n")
        guard case let .evaluate(evaluate)? = plan.step(.evaluate)?.action,
              case let .lastLine(words) = evaluate.score else { return XCTFail("no value step") }
        XCTAssertEqual(evaluate.samples, 3)
        XCTAssertEqual(words.map(\.word), ["sure", "likely", "impossible"])
        XCTAssertEqual(words.map(\.value), [20, 1, 0.001])
        guard case let .select(selection)? = plan.step(.select)?.action else { return XCTFail("no select step") }
        XCTAssertEqual(selection, PlanStep.Selection(algorithm: .bfs, mode: .greedy, breadth: 5, pruneBelow: nil, depth: 3))
        guard case let .finish(finish)? = plan.step(.finish)?.action,
              case let .arithmetic(_, equals, uses)? = finish?.check else { return XCTFail("no finish step") }
        XCTAssertEqual(equals, 24)
        XCTAssertEqual(uses?.variableNames, ["input"])
        XCTAssertEqual(plan.workflow.decoding.strategy, .seed)
        XCTAssertEqual(plan.workflow.models.kvCache.memoryBytes, 2 << 30)
        XCTAssertEqual(plan.workflow.output.results, FlowTestPaths.repo("runs/game24.jsonl"))
    }

    func testGame24Dot() throws {
        XCTAssertEqual(try renderGraph(path: game24, format: .dot), #"""
    digraph "game24" {
      rankdir=TB;
      node [shape=box, style=rounded, fontname="Helvetica"];
      edge [fontname="Helvetica", fontsize=10];
      input [label="input\nlines from game24-heldout.txt"];
      generate [label="generate\npropose (1 call/state), propose.txt, max 160 tok, T=0.7, parse /^(?<step>.+) \\(left: (?<left>[0-9 ]+)\\)$/ → {{left}}"];
      evaluate [label="evaluate\nvalue ×3, value.txt, max 64 tok, T=0.7, score last line sure=20 likely=1 impossible=0.001"];
      select [label="select\nbfs: keep 5 per level, greedy"];
      goal [label="goal\nstate = \"24\"", shape=diamond, style=""];
      finish [label="finish\nanswer.txt, max 48 tok, greedy, extract /^Answer: (?<expr>.+) = 24$/"];
      check [label="check\n{{expr}} = 24, uses numbers of {{input}}"];
      output [label="output\nappend to game24.jsonl"];
      input -> generate [label="root state = input"];
      generate -> evaluate [label="children"];
      evaluate -> select [label="values"];
      select -> goal [label="kept states"];
      goal -> finish [label="goal reached"];
      goal -> generate [label="next level (< depth 3)", style=dashed];
      goal -> output [label="no goal: unsolved"];
      finish -> check [label="answer"];
      check -> output [label="solved?"];
    }

    """#)
    }

    func testGame24Mermaid() throws {
        XCTAssertEqual(try renderGraph(path: game24, format: .mermaid), #"""
    flowchart TD
      input["input: lines from game24-heldout.txt"]
      generate["generate: propose (1 call/state), propose.txt, max 160 tok, T=0.7, parse /^(?#lt;step#gt;.+) \(left: (?#lt;left#gt;[0-9 ]+)\)$/ → {{left}}"]
      evaluate["evaluate: value ×3, value.txt, max 64 tok, T=0.7, score last line sure=20 likely=1 impossible=0.001"]
      select["select: bfs: keep 5 per level, greedy"]
      goal{"goal: state = #quot;24#quot;"}
      finish["finish: answer.txt, max 48 tok, greedy, extract /^Answer: (?#lt;expr#gt;.+) = 24$/"]
      check["check: {{expr}} = 24, uses numbers of {{input}}"]
      output["output: append to game24.jsonl"]
      input -->|"root state = input"| generate
      generate -->|"children"| evaluate
      evaluate -->|"values"| select
      select -->|"kept states"| goal
      goal -->|"goal reached"| finish
      goal -.->|"next level (#lt; depth 3)"| generate
      goal -->|"no goal: unsolved"| output
      finish -->|"answer"| check
      check -->|"solved?"| output

    """#)
    }

    func testDfsBacktracks() throws {
        let plan = try Plan(path: FlowTestPaths.repo("workflows/game24-dfs.yaml"))
        XCTAssertEqual(plan.edges(from: .goal).map(\.condition), [.goalReached, .nextLevel, .backtrack, .exhausted])
        XCTAssertTrue(plan.dot().contains("goal -> select [label=\"backtrack\", style=dashed];"))
        XCTAssertTrue(plan.mermaid().contains("goal -.->|\"backtrack\"| select"))
    }

    /// One level: nothing leads from the goal test back to generating.
    func testDepthOneHasNoNextLevel() throws {
        for algorithm in ["bfs", "dfs"] {
            let plan = try Plan(path: game24, overrides: ["search.depth=1", "search.algorithm=\(algorithm)", "search.prune_below=0"])
            XCTAssertFalse(plan.edges(from: .goal).contains { $0.to == .generate }, algorithm)
        }
        XCTAssertTrue(try Plan(path: game24).edges(from: .goal).contains { $0.to == .generate }, "depth 3 has one")
    }

    func testGraphOfAnInvalidWorkflowThrowsItsDiagnostics() throws {
        XCTAssertThrowsError(try renderGraph(path: game24, overrides: ["search.depth=0"])) { error in
            XCTAssertEqual((error as? WorkflowDiagnostics)?.diagnostics.map(\.kind), [.outOfRange])
        }
    }
}
