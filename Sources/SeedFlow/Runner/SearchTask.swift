import Foundation
import SeedEngine

/// One input's tree search as a state machine: each phase asks for a set of model calls and
/// advances when all of them have come back. The runner gathers the calls of every running input
/// and hands them to the engine together, so one input's proposals and another's evaluations
/// share the same batched passes.
final class SearchTask {
    struct Node {
        var id: Int
        var parent: Int?
        var depth: Int
        var thought: String
        var state: String
        var samples: [String] = []
        var value: Double?
        var selected = false
        /// What the calls of this node cost (see `TreeNodeRecord`).
        var expandTokens = 0
        var expandSeconds = 0.0
        var evaluateTokens = 0
        var evaluateSeconds = 0.0
    }

    /// What a model call is for, keyed by its tag.
    private enum Purpose {
        case generate(node: Int)
        case evaluate(nodes: [Int])  // value: one node; vote: every candidate
        case finish(node: Int)
    }

    private enum Phase {
        case expand([Int])      // generate children for these nodes
        case evaluate([Int])    // value these new children
        case finish(Int)        // answer for this final node
        case done
    }

    let index: Int
    let input: String
    let fields: [String: String]
    private let workflow: Workflow
    private let seed: UInt64
    private(set) var nodes: [Node]
    private var phase: Phase
    private var pending: [String: Purpose] = [:]
    /// Values by the rendered evaluation prompt: the same prompt is the same question, whatever
    /// node asks it (a state alone would not do: the prompt may show the path or the parent).
    private var valueCache: [String: (value: Double, samples: [String])] = [:]
    /// The evaluation prompt of each child of the phase being evaluated (value mode).
    private var valuePrompts: [Int: String] = [:]
    /// DFS: nodes waiting to be expanded, best last.
    private var stack: [Int] = []
    /// Expansions started, the root's included.
    private var expansions = 1
    private(set) var answer: String?
    private(set) var solved = false
    private(set) var chosen: Int?
    private(set) var note: String?
    /// Why the search could not go on (a call the engine cannot run), when that ended it.
    private(set) var error: String?
    private(set) var finish: FinishRecord?
    private(set) var statistics = RunStatistics()
    private(set) var level = 0
    let started = DispatchTime.now()

    /// DFS stops after this many expansions even if the tree is not exhausted.
    static let dfsExpansionLimit = 64

    init(index: Int, input: String, fields: [String: String], workflow: Workflow, seed: UInt64) {
        self.index = index
        self.input = input
        self.fields = fields
        self.workflow = workflow
        self.seed = seed
        nodes = [Node(id: 0, parent: nil, depth: 0, thought: "", state: input)]
        phase = .expand([0])
        // An input that already is the goal needs no search.
        if isGoal(0) {
            nodes[0].selected = true
            reach(0)
        }
    }

    var isDone: Bool { if case .done = phase { return true } else { return false } }

    // MARK: calls

    /// The model calls of the current phase (empty when done).
    func requests() throws -> [TextRequest] {
        pending.removeAll()
        var out: [TextRequest] = []
        switch phase {
        case let .expand(parents):
            let step = workflow.search.generate
            for parent in parents {
                let prompt = try step.prompt.render(variables(for: parent))
                let calls = step.mode == .propose ? 1 : step.n
                let tags = (0..<calls).map { "\(index)/d\(nodes[parent].depth)/gen/\(parent)/\($0)" }
                for tag in tags { pending[tag] = .generate(node: parent) }
                out.append(request(tags: tags, prompt: prompt, sampling: step.sampling, group: group(level: nodes[parent].depth + 1)))
            }
        case let .evaluate(children):
            let step = workflow.search.evaluate
            switch step.mode {
            case .value:
                valuePrompts.removeAll()
                var asked = Set<String>()
                for child in children {
                    let prompt = try step.prompt.render(variables(for: child))
                    valuePrompts[child] = prompt
                    // Asked before, or by an earlier child of this level: its value is reused.
                    if valueCache[prompt] != nil || !asked.insert(prompt).inserted { continue }
                    let tags = (0..<step.samples).map { "\(index)/d\(nodes[child].depth)/value/\(child)/\($0)" }
                    for tag in tags { pending[tag] = .evaluate(nodes: [child]) }
                    out.append(request(tags: tags, prompt: prompt, sampling: step.sampling, group: group(level: nodes[child].depth)))
                }
            case .vote:
                guard let first = children.first else { break }
                var values = variables(for: first)
                values["candidates"] = children.enumerated().map { "\($0.offset + 1): \(nodes[$0.element].state)" }
                    .joined(separator: "\n")
                let prompt = try step.prompt.render(values)
                let tags = (0..<step.samples).map { "\(index)/d\(nodes[first].depth)/vote/\(first)/\($0)" }
                for tag in tags { pending[tag] = .evaluate(nodes: children) }
                out.append(request(tags: tags, prompt: prompt, sampling: step.sampling, group: group(level: nodes[first].depth)))
            }
            if out.isEmpty {
                // Every child's question was asked before: no calls needed this round.
                assignValues(children, samples: [:], votes: [:])
                finishEvaluation(children)
                return try requests()
            }
        case let .finish(node):
            guard let step = workflow.finish else { break }
            let prompt = try step.prompt.render(variables(for: node))
            let tag = "\(index)/finish/\(node)"
            pending[tag] = .finish(node: node)
            out.append(request(tags: [tag], prompt: prompt, sampling: step.sampling, group: "\(index)/finish"))
        case .done:
            break
        }
        return out
    }

    /// The step and prompt file a call of the current phase is for, in words.
    func describeCall(_ tag: String) -> String {
        let (step, template): (String, PromptTemplate?) = switch pending[tag] {
        case .generate?: ("generate", workflow.search.generate.prompt)
        case .evaluate?: ("evaluate", workflow.search.evaluate.prompt)
        case .finish?: ("finish", workflow.finish?.prompt)
        case nil: ("a", nil)
        }
        return "the \(step) step's prompt" + (template?.path.map { " (\($0))" } ?? "")
    }

    /// Ends the search without an answer: one of its calls cannot run on this engine.
    func fail(_ reason: String) {
        pending.removeAll()
        phase = .done
        error = reason
    }

    /// One call: a sample per tag (`n` samples of one prompt go as one request).
    private func request(tags: [String], prompt: String, sampling: StepSampling, group: String) -> TextRequest {
        TextRequest(tags: tags, prompt: prompt, sampling: sampling.parameters(seed: seed),
                    maxTokens: sampling.maxTokens, stopStrings: sampling.stop, group: group)
    }

    /// The kind of call a tag names: "propose" (a generation), "evaluate" (a value or a vote) or
    /// "answer" (the finish call), in the order `callKinds` lists them.
    static func callKind(of tag: String) -> String {
        let part = tag.split(separator: "/").dropFirst().first { !$0.hasPrefix("d") } ?? ""
        switch part {
        case "gen": return "propose"
        case "value", "vote": return "evaluate"
        default: return "answer"
        }
    }
    static let callKinds = ["propose", "evaluate", "answer"]

    /// The lookup group of a call: one tree level of this input (the proposals that make the
    /// level and their evaluations draft from each other's text).
    private func group(level: Int) -> String { "\(index)/level\(level)" }

    /// Takes back this phase's completions (all of them) and moves to the next phase.
    func receive(_ completions: [TextCompletion]) throws {
        for c in completions {
            statistics.generatedTokens += c.statistics.generatedTokens
            statistics.promptTokens += c.statistics.promptTokens
            statistics.modelCalls += 1
            statistics.targetPasses += c.statistics.targetPasses
            statistics.draftedTokens += c.statistics.draftedTokens
            statistics.acceptedTokens += c.statistics.acceptedTokens
            statistics.lookupDraftedTokens += c.statistics.lookupDraftedTokens
            statistics.lookupAcceptedTokens += c.statistics.lookupAcceptedTokens
            statistics.lookupProposals += c.statistics.lookupProposals
            statistics.lookupSiblingProposals += c.statistics.lookupSiblingProposals
            // Where each call's cost goes in the tree: on the node it expanded or valued.
            switch pending[c.tag] {
            case let .generate(node)?:
                nodes[node].expandTokens += c.statistics.generatedTokens
                nodes[node].expandSeconds = max(nodes[node].expandSeconds, c.statistics.seconds)
            case let .evaluate(targets)?:
                guard let node = targets.first else { break }
                nodes[node].evaluateTokens += c.statistics.generatedTokens
                nodes[node].evaluateSeconds = max(nodes[node].evaluateSeconds, c.statistics.seconds)
            case .finish?, nil:
                break
            }
        }
        switch phase {
        case let .expand(parents):
            var children: [Int] = []
            var seen = Set<String>()
            // Completions come in request order, so the tree does not depend on finishing order.
            for c in completions {
                guard case let .generate(parent)? = pending[c.tag] else { continue }
                for thought in thoughts(from: c.text, cutShort: c.finishReason == .length) {
                    guard let state = try parseState(thought, parent: parent) else { continue }
                    // A state a sibling already reached is one subproblem (`merge_states`).
                    guard seen.insert(stateKey(state)).inserted else { continue }
                    let node = Node(id: nodes.count, parent: parent, depth: nodes[parent].depth + 1, thought: thought, state: state)
                    nodes.append(node)
                    children.append(node.id)
                }
            }
            level = (parents.first.map { nodes[$0].depth } ?? 0) + 1
            if let goal = children.first(where: isGoal) {
                // A finished state needs no value: it goes straight to the finish step. Parents
                // come in rank order and children in proposal order, so this is the first
                // solution the best-ranked states propose.
                nodes[goal].selected = true
                reach(goal)
            } else if children.isEmpty {
                advanceWithoutChildren()
            } else {
                phase = .evaluate(children)
            }
        case let .evaluate(children):
            var samples: [Int: [String]] = [:]
            var votes: [Int: Double] = [:]
            for c in completions {
                guard case let .evaluate(targets)? = pending[c.tag] else { continue }
                if workflow.search.evaluate.mode == .value, let node = targets.first {
                    samples[node, default: []].append(c.text)
                } else {
                    // Every ballot is recorded with every candidate, also one that names no valid
                    // choice: the tree keeps every sample, and a vote that did not parse is evidence.
                    for t in targets { samples[t, default: []].append(c.text) }
                    if let choice = voteChoice(c.text), choice >= 1, choice <= targets.count {
                        votes[targets[choice - 1], default: 0] += 1
                    }
                }
            }
            assignValues(children, samples: samples, votes: votes)
            finishEvaluation(children)
        case let .finish(node):
            guard let c = completions.first(where: { if case .finish? = pending[$0.tag] { return true } else { return false } }) else {
                phase = .done
                return
            }
            judge(c.text, node: node)
            finish?.tokens = c.statistics.generatedTokens
            finish?.seconds = c.statistics.seconds
            phase = .done
        case .done:
            break
        }
    }

    /// Values and samples of an evaluated level: votes counted, or each child's value samples
    /// scored (and remembered by prompt), or a value asked for before taken from the cache.
    private func assignValues(_ children: [Int], samples: [Int: [String]], votes: [Int: Double]) {
        for child in children {
            if workflow.search.evaluate.mode == .vote {
                nodes[child].value = votes[child] ?? 0
                nodes[child].samples = samples[child] ?? []
            } else if let texts = samples[child] {
                let value = texts.reduce(0) { $0 + score($1) }
                if let prompt = valuePrompts[child] { valueCache[prompt] = (value, texts) }
                nodes[child].value = value
                nodes[child].samples = texts
            } else if let prompt = valuePrompts[child], let cached = valueCache[prompt] {
                nodes[child].value = cached.value
                nodes[child].samples = cached.samples
            }
        }
    }

    // MARK: search

    private func finishEvaluation(_ children: [Int]) {
        let search = workflow.search
        switch search.algorithm {
        case .bfs, .beam:
            // Candidates: this level's children (all parents together).
            var candidates = children
            if let floor = search.pruneBelow {
                candidates = candidates.filter { (nodes[$0].value ?? 0) >= floor }
            }
            let kept = select(candidates, count: search.breadth)
            for id in kept { nodes[id].selected = true }
            // Kept states come in draw order under `select: sample`: the best-ranked one answers.
            // (`max(by:)` keeps the first of equals, the earlier child.)
            if let goal = kept.filter(isGoal).max(by: { rank($0) < rank($1) }) {
                reach(goal)
            } else if level >= search.depth || kept.isEmpty {
                // Out of depth: without a goal test the best final state is the result.
                if search.goal == nil, let best = kept.max(by: { rank($0) < rank($1) }) {
                    reach(best)
                } else {
                    note = kept.isEmpty ? "every state was pruned at depth \(level)" : "no state reached the goal in \(search.depth) steps"
                    phase = .done
                }
            } else {
                phase = .expand(kept)
            }
        case .dfs:
            let floor = search.pruneBelow ?? -Double.infinity
            let ordered = children.filter { (nodes[$0].value ?? 0) >= floor }
                .sorted { (nodes[$0].value ?? 0) > (nodes[$1].value ?? 0) }
                .prefix(search.breadth)
            for id in ordered { nodes[id].selected = true }
            if let goal = ordered.first(where: isGoal) {
                reach(goal)
                return
            }
            // Without a goal test every state at `depth` is final: the best one found answers.
            if search.goal == nil, let best = ordered.first, nodes[best].depth >= search.depth {
                reach(best)
                return
            }
            // Deepest first: push worst first so the best is expanded next.
            for id in ordered.reversed() where nodes[id].depth < search.depth { stack.append(id) }
            nextDFS()
        }
    }

    private func nextDFS() {
        guard let next = stack.popLast() else {
            if nodes.count == 1 {
                note = "no thought could be parsed at depth 1"
            } else if workflow.search.goal == nil {
                note = "every path ended before depth \(workflow.search.depth) (pruned, or no thought parsed)"
            } else {
                note = "the tree was exhausted without reaching the goal"
            }
            phase = .done
            return
        }
        guard expansions < Self.dfsExpansionLimit else {
            note = "gave up after \(Self.dfsExpansionLimit) expansions"
            phase = .done
            return
        }
        expansions += 1
        phase = .expand([next])
    }

    private func advanceWithoutChildren() {
        if workflow.search.algorithm == .dfs {
            nextDFS()
        } else {
            note = "no thought could be parsed at depth \(level)"
            phase = .done
        }
    }

    /// The search found its final state: run the finish step, or take the state as the answer.
    private func reach(_ node: Int) {
        chosen = node
        if workflow.finish != nil {
            phase = .finish(node)
        } else {
            answer = nodes[node].state.trimmingCharacters(in: .whitespacesAndNewlines)
            solved = true
            phase = .done
        }
    }

    private func isGoal(_ node: Int) -> Bool {
        guard let goal = workflow.search.goal else { return false }
        return nodes[node].state.trimmingCharacters(in: .whitespacesAndNewlines) == goal.stateEquals
    }

    /// What states are kept by: their value (bfs), or their path's summed values (beam).
    private func rank(_ id: Int) -> Double {
        guard workflow.search.algorithm == .beam else { return nodes[id].value ?? 0 }
        var total = 0.0
        var cursor: Int? = id
        while let c = cursor { total += nodes[c].value ?? 0; cursor = nodes[c].parent }
        return total
    }

    /// The `count` states to keep: by value (bfs), by path value (beam), or drawn in proportion.
    private func select(_ candidates: [Int], count: Int) -> [Int] {
        // Stable: among equal values the earlier child wins, as a sort by value alone would do.
        let ordered = candidates.enumerated().sorted { a, b in
            let ra = rank(a.element), rb = rank(b.element)
            return ra != rb ? ra > rb : a.offset < b.offset
        }.map(\.element)
        guard workflow.search.select == .sample else { return Array(ordered.prefix(count)) }
        var rng = RandomStream(seed: seed, tag: "\(index)/select/\(level)")
        var pool = ordered
        var picked: [Int] = []
        while picked.count < count, !pool.isEmpty {
            let weights = pool.map { max(0, rank($0)) }
            let total = weights.reduce(0, +)
            var choice = pool.count - 1
            if total > 0 {
                var u = Double(rng.nextUnit()) * total
                for (i, w) in weights.enumerated() {
                    if u < w { choice = i; break }
                    u -= w
                }
            } else {
                choice = 0
            }
            picked.append(pool.remove(at: choice))
        }
        return picked
    }

    // MARK: parsing

    /// The thoughts of one generate completion. A proposal list cut off by `max_tokens`
    /// (`cutShort`) loses its last line unless a line break ended it: a half-written line would
    /// otherwise become a state, and could become the answer. A sample is one thought however it
    /// ended (a plan cut at the limit is still most of a plan); dropping it could leave nothing.
    private func thoughts(from text: String, cutShort: Bool) -> [String] {
        switch workflow.search.generate.mode {
        case .propose:
            var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            if cutShort, let last = text.last, !last.isNewline { lines.removeLast() }
            return lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case .sample:
            let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return t.isEmpty ? [] : [t]
        }
    }

    /// The state a thought leads to, or nil when the thought does not parse (models make mistakes).
    private func parseState(_ thought: String, parent: Int) throws -> String? {
        guard let parser = workflow.search.generate.parse else { return thought }
        let range = NSRange(thought.startIndex..., in: thought)
        guard let match = parser.pattern.regex.firstMatch(in: thought, range: range) else { return nil }
        var values = variables(for: parent)
        // Seen from the child being made: its parent is the node expanded.
        values["parent.state"] = nodes[parent].state
        values["thought"] = thought
        for (name, value) in parser.pattern.namedValues(of: match, in: thought) { values[name] = value }
        let state = try parser.state.render(values).trimmingCharacters(in: .whitespaces)
        return state.isEmpty ? nil : state
    }

    /// What makes two children of a level the same state (`search.merge_states`).
    private func stateKey(_ state: String) -> String {
        let trimmed = state.trimmingCharacters(in: .whitespacesAndNewlines)
        guard workflow.search.mergeStates == .numbers else { return trimmed }
        let parts = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
        let numbers = parts.compactMap { part in Self.isDecimal(part) ? Double(part) : nil }
        guard !parts.isEmpty, numbers.count == parts.count else { return trimmed }
        // By value: "8" and "8.0" are one number.
        return numbers.sorted().map { "\($0)" }.joined(separator: " ")
    }

    /// Digits with an optional sign and decimal point: what a number left in a puzzle looks like
    /// (not `inf`, `nan` or `0x10`, which `Double` would also read).
    private static func isDecimal(_ text: Substring) -> Bool {
        var digits = 0, points = 0
        for c in text.first == "-" ? text.dropFirst() : text {
            if c.isASCII && c.isNumber { digits += 1 } else if c == "." { points += 1 } else { return false }
        }
        return digits > 0 && points <= 1
    }

    private func score(_ text: String) -> Double {
        switch workflow.search.evaluate.score {
        case let .lastLine(words):
            let last = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                .last { !$0.isEmpty } ?? ""
            return words.first { $0.word.lowercased() == last }?.value ?? 0
        case let .number(lo, hi):
            guard let last = Self.lastNumber(in: text) else { return lo }
            return min(hi, max(lo, last))
        case .choice:
            return 0
        }
    }

    /// A number in a completion: a minus sign counts unless it follows a digit ("10-3" holds 10
    /// and 3, "-3" is negative).
    private static let numberPattern = try! NSRegularExpression(pattern: "(?<![0-9.])-?[0-9]+(?:\\.[0-9]+)?")

    /// The last number in `text` (`score.number`), or nil.
    static func lastNumber(in text: String) -> Double? {
        let range = NSRange(text.startIndex..., in: text)
        guard let match = numberPattern.matches(in: text, range: range).last,
              let matched = Range(match.range, in: text) else { return nil }
        return Double(text[matched])
    }

    private func voteChoice(_ text: String) -> Int? {
        guard case let .choice(regex) = workflow.search.evaluate.score else { return nil }
        let range = NSRange(text.startIndex..., in: text)
        guard let match = regex.regex.firstMatch(in: text, range: range) else { return nil }
        let r = regex.groupNames.contains("choice") ? match.range(withName: "choice") : match.range(at: min(1, match.numberOfRanges - 1))
        guard r.location != NSNotFound, let sr = Range(r, in: text) else { return nil }
        return Int(text[sr])
    }

    /// Extracts the answer from the finish completion and checks it.
    private func judge(_ text: String, node: Int) {
        guard let step = workflow.finish else { return }
        finish = FinishRecord(text: text, answer: nil, check: nil, passed: false, tokens: 0, seconds: 0)
        defer { finish?.answer = answer; finish?.passed = solved }
        var values = variables(for: node)
        var extracted: String
        if let extract = step.extract {
            let range = NSRange(text.startIndex..., in: text)
            guard let match = extract.regex.firstMatch(in: text, range: range) else {
                note = "the finish step's answer did not match the extract pattern"
                return
            }
            let groups = extract.namedValues(of: match, in: text)
            // The input and an `answer` field (the reference) stay what they are: a group named
            // `answer` must not replace the reference it is checked against, or every input would
            // pass. (Validation refuses a group named like any other field.)
            for (name, value) in groups where name != "input" && !(name == "answer" && fields["answer"] != nil) {
                values[name] = value
            }
            if let first = groups.first {
                extracted = first.value
            } else {
                extracted = Range(match.range, in: text).map { String(text[$0]) } ?? ""
            }
        } else {
            extracted = text
        }
        extracted = extracted.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !extracted.isEmpty else {
            note = step.extract == nil ? "the finish step returned no text" : "the extract pattern matched empty text"
            return
        }
        answer = extracted
        // An input's own `answer` field is the reference answer (GSM8K stores it so), and a check
        // written `number_equals: '{{answer}}'` means "equals that field". Letting the extracted
        // answer shadow it would compare the answer with itself and mark every input solved.
        if fields["answer"] == nil { values["answer"] = extracted }
        guard let check = step.check else {
            solved = true
            return
        }
        do {
            switch check {
            case let .arithmetic(expression, equals, usesNumbersOf):
                let source = try expression.render(values)
                guard let e = ArithmeticExpression(source) else {
                    note = "the answer '\(source)' is not an arithmetic expression"
                    return
                }
                var ok = Double(e.value.numerator) == equals * Double(e.value.denominator)
                finish?.check = "\(source) = \(Self.plain(equals))"
                if let uses = usesNumbersOf {
                    finish?.check? += ", using exactly the numbers \(try uses.render(values))"
                }
                if ok, let uses = usesNumbersOf {
                    let numbers = try uses.render(values).split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
                    ok = e.usesExactly(numbers)
                    if !ok { note = "the answer does not use exactly the input's numbers" }
                } else if !ok {
                    note = "the answer evaluates to \(e.value), not \(equals)"
                }
                solved = ok
            case let .numberEquals(expected):
                let expectedNumber = Self.number(try expected.render(values))
                finish?.check = "\(extracted) = \(try expected.render(values)) (as numbers)"
                solved = expectedNumber != nil && Self.number(extracted) == expectedNumber
            case let .stringEquals(expected):
                let reference = (try expected.render(values)).trimmingCharacters(in: .whitespacesAndNewlines)
                finish?.check = "'\(extracted)' is '\(reference)'"
                solved = extracted == reference
            }
        } catch {
            note = "check failed: \(error)"
        }
    }

    /// 24 rather than 24.0.
    private static func plain(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
    }

    /// A number as GSM8K answers are compared: commas, `$` and a trailing `.0` ignored.
    static func number(_ text: String) -> Double? {
        let cleaned = text.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: "$", with: "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return Double(cleaned)
    }

    /// Template variables for a node: the input and its fields, the node's state, its parent's
    /// state and the thoughts along its path.
    private func variables(for node: Int) -> [String: String] {
        var values = fields
        values["input"] = input
        values["state"] = nodes[node].state
        values["parent.state"] = nodes[node].parent.map { nodes[$0].state } ?? ""
        values["steps"] = path(to: node).map { nodes[$0].thought }.joined(separator: "\n")
        return values
    }

    /// Node ids from the first thought to `node` (the root excluded).
    func path(to node: Int) -> [Int] {
        var ids: [Int] = []
        var cursor: Int? = node
        while let c = cursor, c != 0 {
            ids.append(c)
            cursor = nodes[c].parent
        }
        return ids.reversed()
    }

    /// The record of a finished search.
    func record(strategy: String, provenance: Provenance?) -> RunRecord {
        var stats = statistics
        stats.wallSeconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        let tree = nodes.map { n in
            TreeNodeRecord(id: n.id, parent: n.parent, depth: n.depth, thought: n.thought, state: n.state,
                           samples: n.samples, value: n.value, selected: n.selected,
                           expandTokens: n.expandTokens, expandSeconds: n.expandSeconds,
                           evaluateTokens: n.evaluateTokens, evaluateSeconds: n.evaluateSeconds)
        }
        return RunRecord(index: index, input: input, answer: answer, solved: solved,
                         bestPath: chosen.map { path(to: $0).map { nodes[$0].thought } } ?? [],
                         tree: tree, statistics: stats, strategy: strategy, seed: seed, provenance: provenance, note: note,
                         error: error, finish: finish, finishedAt: Date().timeIntervalSince1970,
                         answersChecked: workflow.checksAnswers ? nil : false)
    }
}
