extension Plan {
    /// Compiles a validated workflow into its execution graph.
    public init(workflow: Workflow) {
        let search = workflow.search
        var steps: [PlanStep] = []
        func add(_ id: PlanStep.ID, _ action: PlanStep.Action, _ summary: String) {
            steps.append(PlanStep(id: id, action: action, summary: summary))
        }
        let inputs = workflow.inputs
        add(.input, .input(inputs), "\(inputs.format.rawValue) from \(Self.fileName(inputs.file))")

        let g = search.generate
        let generateHow = g.mode == .propose ? "propose (1 call/state)" : "sample (\(g.n) calls/state)"
        add(.generate, .generate(g),
            "\(generateHow), \(Self.fileName(g.prompt.path)), \(Self.sampling(g.sampling))"
                + (g.parse.map { ", parse /\($0.pattern.pattern)/ → \(Self.text($0.state))" } ?? ""))

        let e = search.evaluate
        add(.evaluate, .evaluate(e),
            "\(e.mode.rawValue) ×\(e.samples), \(Self.fileName(e.prompt.path)), \(Self.sampling(e.sampling)), score \(Self.score(e.score))")

        let selection = PlanStep.Selection(algorithm: search.algorithm, mode: search.select, breadth: search.breadth,
                                           pruneBelow: search.pruneBelow, depth: search.depth)
        let keep: String
        switch search.algorithm {
        case .bfs: keep = "bfs: keep \(search.breadth) per level"
        case .beam: keep = "beam: keep \(search.breadth) per level by path value"
        case .dfs: keep = "dfs: best of \(search.breadth) children first"
        }
        let prune = search.pruneBelow.map { ", prune below \(Self.number($0))" } ?? ""
        add(.select, .select(selection), "\(keep), \(search.select.rawValue)\(prune)")

        add(.goal, .goal(search.goal),
            search.goal.map { "state = \"\($0.stateEquals)\"" } ?? "every state at depth \(search.depth)")

        if let f = workflow.finish {
            add(.finish, .finish(f), "\(Self.fileName(f.prompt.path)), \(Self.sampling(f.sampling))"
                + (f.extract.map { ", extract /\($0.pattern)/" } ?? ""))
            add(.check, .check(f.check), f.check.map(Self.check) ?? "an answer was extracted")
        } else {
            add(.finish, .finish(nil), "answer = best final state")
            add(.check, .check(nil), "solved when a final state was reached")
        }
        add(.output, .output(workflow.output), "append to \(Self.fileName(workflow.output.results))")

        var edges: [PlanEdge] = [
            PlanEdge(from: .input, to: .generate, condition: .always, label: "root state = input"),
            PlanEdge(from: .generate, to: .evaluate, condition: .always, label: "children"),
            PlanEdge(from: .evaluate, to: .select, condition: .always, label: "values"),
            PlanEdge(from: .select, to: .goal, condition: .always, label: "kept states"),
            PlanEdge(from: .goal, to: .finish, condition: .goalReached,
                     label: search.goal == nil ? "depth \(search.depth) reached" : "goal reached"),
        ]
        // At depth 1 the first children are the last: there is no level below them to go to.
        if search.algorithm == .dfs {
            if search.depth > 1 {
                edges.append(PlanEdge(from: .goal, to: .generate, condition: .nextLevel, label: "deeper (< depth \(search.depth))"))
            }
            edges.append(PlanEdge(from: .goal, to: .select, condition: .backtrack, label: "backtrack"))
        } else if search.depth > 1 {
            edges.append(PlanEdge(from: .goal, to: .generate, condition: .nextLevel, label: "next level (< depth \(search.depth))"))
        }
        if search.goal != nil {
            edges.append(PlanEdge(from: .goal, to: .output, condition: .exhausted, label: "no goal: unsolved"))
        }
        edges.append(PlanEdge(from: .finish, to: .check, condition: .always, label: "answer"))
        edges.append(PlanEdge(from: .check, to: .output, condition: .always, label: "solved?"))
        self.init(workflow: workflow, steps: steps, edges: edges)
    }

    /// Loads, validates and compiles a workflow file.
    public init(path: String, overrides: [String] = []) throws(WorkflowDiagnostics) {
        self.init(workflow: try loadWorkflow(path: path, overrides: overrides))
    }

    // MARK: summaries

    private static func fileName(_ path: String?) -> String {
        guard let path else { return "inline" }
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    private static func number(_ value: Double) -> String { DecodeContext.format(value) }

    private static func sampling(_ s: StepSampling) -> String {
        var parts = ["max \(s.maxTokens) tok", s.temperature == 0 ? "greedy" : "T=\(number(s.temperature))"]
        if s.topK > 0 { parts.append("top-k \(s.topK)") }
        if s.topP < 1 { parts.append("top-p \(number(s.topP))") }
        if !s.stop.isEmpty { parts.append("stop \(s.stop.count)") }
        return parts.joined(separator: ", ")
    }

    private static func text(_ template: PromptTemplate) -> String {
        template.segments.map {
            switch $0 {
            case let .text(t): return t
            case let .variable(v): return "{{\(v)}}"
            }
        }.joined()
    }

    private static func score(_ rule: ScoreRule) -> String {
        switch rule {
        case let .lastLine(words): return "last line " + words.map { "\($0.word)=\(number($0.value))" }.joined(separator: " ")
        case let .number(low, high): return "number \(number(low))–\(number(high))"
        case let .choice(regex): return "vote /\(regex.pattern)/"
        }
    }

    private static func check(_ check: AnswerCheck) -> String {
        switch check {
        case let .arithmetic(expression, equals, uses):
            return "\(text(expression)) = \(number(equals))" + (uses.map { ", uses numbers of \(text($0))" } ?? "")
        case let .numberEquals(t): return "number = \(text(t))"
        case let .stringEquals(t): return "text = \(text(t))"
        }
    }
}
