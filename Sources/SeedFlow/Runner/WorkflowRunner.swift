import CKernels
import Foundation
import SeedEngine
import SeedModel

/// How `seedflow run` runs a workflow, beyond what the workflow file says.
public struct RunOptions: Sendable {
    /// Run only the first N inputs.
    public var limit: Int?
    /// Inputs searched at once (their model calls share rounds). nil: as many as the KV budget holds.
    public var jobs: Int?
    /// What to do with an existing results file: refuse it (`.create`), skip the inputs it
    /// already has (`.resume`), or replace it once the first new result is written (`.overwrite`).
    public var resultsMode: ResultsOpenMode
    /// Where result lines go, instead of the workflow's `output.results`.
    public var resultsPath: String?
    /// Overrides `decoding.strategy`.
    public var strategy: DecodingStrategy?
    public var threads: Int
    /// The `--set` overrides applied to the workflow, recorded in every result's provenance.
    public var overrides: [String]
    /// Lets an API key go over plain HTTP to a host that is not this machine.
    public var allowInsecureHTTP = false

    public init(limit: Int? = nil, jobs: Int? = nil, resultsMode: ResultsOpenMode = .create, resultsPath: String? = nil,
                strategy: DecodingStrategy? = nil, threads: Int = ThreadPool.defaultThreads, overrides: [String] = []) {
        self.limit = limit
        self.jobs = jobs
        self.resultsMode = resultsMode
        self.resultsPath = resultsPath
        self.strategy = strategy
        self.threads = threads
        self.overrides = overrides
    }
}

/// A moment of a run, for the progress line.
public struct RunProgress: Sendable {
    public var inputsDone: Int
    public var inputsTotal: Int
    public var running: Int
    public var deepestLevel: Int
    public var tokensPerSecond: Double
    public var acceptance: Double?
    /// Inputs solved so far (answered, where nothing checks the answers).
    public var solved = 0
    /// Seconds since the run started.
    public var elapsedSeconds = 0.0

    /// Seconds until every input is done at the pace so far (elapsed time per finished input);
    /// nil before the first input has finished.
    public var etaSeconds: Double? {
        guard inputsDone > 0 else { return nil }
        return elapsedSeconds / Double(inputsDone) * Double(max(0, inputsTotal - inputsDone))
    }
}

/// What a run did, for the closing table.
public struct RunSummary: Sendable {
    public var resultsPath: String
    public var inputs: Int
    public var skipped: Int
    public var solved: Int
    /// Inputs whose search could not run to the end, each as "input N (file:line): why"; their
    /// result lines carry the reason as `error`.
    public var failures: [String] = []
    /// Bytes of an unfinished last line that resuming dropped from the results file.
    public var droppedBytes = 0
    public var generatedTokens: Int
    public var modelCalls: Int
    public var wallSeconds: Double
    public var acceptance: Double?
    /// Per draft source that drafted: its name, acceptance, and for `lookup` the share of its
    /// proposals copied from another call of the group.
    public var sources: [(name: String, acceptance: Double, siblingShare: Double?)] = []
    /// `lookup`'s drafted and accepted tokens per call kind (propose, evaluate, answer).
    public var lookupByCall: [String: (drafted: Int, accepted: Int)] = [:]
    public var tokensPerTargetPass: Double
    public var strategy: DecodingStrategy
    public var interrupted: Bool
    /// A run stopped before its first result removed the results file it had created (one that
    /// was there before, resumed or to be overwritten, stays as it was).
    public var removedResults = false
    /// The servers that decoded, for a remote target (the engine rows then do not apply).
    public var servers: [String]?
    /// Remote calls sent again after a fault, and those that failed after their retries.
    public var retries = 0
    public var failedCalls = 0
    /// Engine time split: drafting, verifying (target passes), and the rest.
    public var draftSeconds: Double
    public var verifySeconds: Double
    /// The first solved input's record, to show its tree.
    public var exampleSolved: RunRecord?
    /// Whether anything checks the answers (`Workflow.checksAnswers`); when not, an input
    /// counts as finished rather than solved.
    public var answersChecked = true

    /// No input ran, and none was stopped: every one already had its result, or there were none.
    public var nothingLeftToRun: Bool { inputs == 0 && !interrupted }

    /// The closing table.
    public func render() -> String {
        let bySource = sources.count < 2 && sources.allSatisfy({ $0.siblingShare == nil }) ? "" : " (" + sources.map { s in
            "\(s.name) " + String(format: "%.1f%%", s.acceptance * 100)
                + (s.siblingShare.map { String(format: ", %.0f%% of its proposals from sibling calls", $0 * 100) } ?? "")
        }.joined(separator: "; ") + ")"
        var rows: [(String, String)] = [
            ("inputs", skipped > 0 ? "\(inputs) (+\(skipped) already in the results file)" : "\(inputs)"),
        ]
        if nothingLeftToRun {
            rows += [("results", resultsPath),
                     ("note", skipped > 0 ? "nothing was left to run: every input already has its result in the results file"
                                          : "nothing was left to run: the inputs file holds no input")]
            return Self.table(rows)
        }
        let share = inputs == 0 ? "0" : "\(solved) (\(String(format: "%.1f", 100 * Double(solved) / Double(inputs)))%)"
        rows.append(answersChecked ? ("solved", share) : ("finished", share + " — nothing checks the answers"))
        if !failures.isEmpty { rows.append(("failed", "\(failures.count) (could not run; see \"error\" in their result lines)")) }
        rows += [
            ("strategy", strategy.rawValue),
            ("model calls", "\(modelCalls)"),
            ("generated tokens", "\(generatedTokens)"),
            ("wall time", String(format: "%.1f s (%.0f tokens/s)", wallSeconds, wallSeconds > 0 ? Double(generatedTokens) / wallSeconds : 0)),
        ]
        if let servers {
            rows += [
                ("target", "on " + servers.joined(separator: ", ") + " (the server decodes, and speculates if it was started so)"),
                ("retried / failed calls", "\(retries) / \(failedCalls)"),
            ]
        } else {
            rows += [
                ("time in target / drafts", String(format: "%.1f s / %.1f s", verifySeconds, draftSeconds)),
                ("acceptance", acceptance.map { String(format: "%.1f%%", $0 * 100) + bySource } ?? "— (no drafting)"),
            ]
            if !lookupByCall.isEmpty {
                rows.append(("lookup acceptance by call", SearchTask.callKinds.compactMap { kind in
                    lookupByCall[kind].map { "\(kind) " + String(format: "%.1f%%", 100 * Double($0.accepted) / Double(max(1, $0.drafted))) }
                }.joined(separator: ", ")))
            }
            rows += [
                // Not `compare`'s figure, which is per call: this one counts every call in the pass.
                ("tokens per target pass (all calls batched)", String(format: "%.2f", tokensPerTargetPass)),
            ]
        }
        rows += [
            // A run stopped before its first result removed the file it created.
            ("results", removedResults ? "none written (stopped before the first result)" : resultsPath),
        ]
        if interrupted {
            rows.append(("note", removedResults ? "interrupted before the first result: run again to start over"
                                : inputs == 0 ? "interrupted before the first result: the results file was left as it was"
                                : "interrupted: unfinished inputs were not written; rerun with --resume"))
        }
        return Self.table(rows)
    }

    private static func table(_ rows: [(String, String)]) -> String {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0 + String(repeating: " ", count: width - $0.0.count) + "  " + $0.1 }.joined(separator: "\n")
    }
}

/// Runs a workflow over its inputs: several inputs' searches at once, their model calls sharing
/// the engine's rounds, each step's calls joining as soon as the step before has come back, a
/// result line appended the moment an input finishes.
public final class WorkflowRunner {
    public let workflow: Workflow
    public let options: RunOptions
    /// Where the model calls run (see `Backends.make`).
    public let backend: any GenerationBackend
    public var strategy: DecodingStrategy { backend.strategy }

    public init(workflow: Workflow, options: RunOptions) throws {
        self.workflow = workflow
        self.options = options
        backend = try Backends.make(workflow: workflow, options: options)
    }

    /// A runner on a backend of the caller's (tests run the search on a scripted one).
    public init(workflow: Workflow, options: RunOptions, backend: any GenerationBackend) {
        self.workflow = workflow
        self.options = options
        self.backend = backend
    }

    /// The inputs of the workflow, each with its JSONL fields.
    public static func readInputs(_ section: InputsSection) throws -> [(input: String, fields: [String: String], line: Int)] {
        let text: String
        do {
            text = try String(contentsOfFile: section.file, encoding: .utf8)
        } catch {
            throw WorkflowRunError.inputs(path: section.file, line: 0, problem: "cannot read: \(error.localizedDescription)")
        }
        var out: [(String, [String: String], Int)] = []
        for (number, trimmed) in InputsSection.lines(of: text) {
            switch section.format {
            case .lines:
                out.append((trimmed, [:], number))
            case .jsonl:
                guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                    throw WorkflowRunError.inputs(path: section.file, line: number, problem: "not a JSON object")
                }
                var fields: [String: String] = [:]
                for (key, value) in object {
                    if let s = value as? String {
                        fields[key] = s
                    } else if let n = value as? NSNumber {
                        // JSON true and false arrive as NSNumbers of type char ("c"), which no JSON
                        // number does; their stringValue would be "1" and "0".
                        fields[key] = String(cString: n.objCType) == "c" ? (n.boolValue ? "true" : "false") : n.stringValue
                    } else {
                        fields[key] = String(decoding: (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])) ?? Data(), as: UTF8.self)
                    }
                }
                out.append((fields["input"] ?? trimmed, fields, number))
            }
        }
        return out
    }

    /// The results file this run writes: `--results`, or the workflow's `output.results`.
    public var resultsPath: String { options.resultsPath ?? workflow.output.results }

    /// Searches every input (or the first `limit`), appending each result as it finishes.
    /// Stops early, cleanly, on Ctrl-C: finished inputs are written, unfinished ones are not.
    public func run(progress: (RunProgress) -> Void = { _ in }) throws -> RunSummary {
        let results = try ResultsFile(path: resultsPath, mode: options.resultsMode)
        do {
            var summary = try run(into: results, progress: progress)
            if summary.interrupted { summary.removedResults = results.abandon() }
            return summary
        } catch {
            results.abandon()
            throw error
        }
    }

    private func run(into results: ResultsFile, progress: (RunProgress) -> Void) throws -> RunSummary {
        let resultsPath = results.path
        var inputs = try Self.readInputs(workflow.inputs)
        if let limit = options.limit { inputs = Array(inputs.prefix(limit)) }
        var provenance = try Provenance(workflowFile: workflow.resolvedFile, promptFiles: promptFiles(),
                                        models: try backend.provenanceModels())
        provenance.overrides = options.overrides
        provenance.workflowName = workflow.name
        provenance.workflowFile = workflow.file
        try checkResumable(results, inputs: inputs.map(\.input), provenance: provenance)
        let finished = results.finishedIndices
        let todo = inputs.indices.filter { !finished.contains($0) }
        let jobs = max(1, options.jobs ?? defaultJobs())

        sf_interrupt_install()
        defer { sf_interrupt_restore() }
        let start = DispatchTime.now()
        var summary = RunSummary(resultsPath: resultsPath, inputs: 0, skipped: inputs.count - todo.count, solved: 0,
                                 generatedTokens: 0, modelCalls: 0, wallSeconds: 0, acceptance: nil, tokensPerTargetPass: 0,
                                 strategy: strategy, interrupted: false, draftSeconds: 0, verifySeconds: 0, exampleSolved: nil)
        summary.answersChecked = workflow.checksAnswers
        // Inputs are searched `jobs` at a time, all in one run of the engine: when the last call
        // of an input's step comes back, the input takes it in and its next step's calls join the
        // engine's next round (and a finished input's place goes to the next input), so the
        // batch stays full instead of waiting at every step for the slowest call of all inputs.
        var queue = todo.reversed().map { $0 }
        var running: [Int: SearchTask] = [:]
        var steps: [Int: StepCalls] = [:]
        var owner: [String: Int] = [:]  // call tag → input index
        var backendRan = false

        func report() {
            let statistics = backend.statistics
            progress(RunProgress(inputsDone: summary.inputs, inputsTotal: todo.count, running: running.count,
                                 deepestLevel: running.values.map(\.level).max() ?? 0,
                                 tokensPerSecond: Double(statistics.generatedTokens) / max(elapsedSince(start), 1e-9),
                                 acceptance: statistics.draftedTokens > 0 ? statistics.acceptanceRate : nil,
                                 solved: summary.solved, elapsedSeconds: elapsedSince(start)))
        }
        func record(_ task: SearchTask) throws {
            running[task.index] = nil
            steps[task.index] = nil
            let record = task.record(strategy: strategy.rawValue, provenance: provenance)
            try results.append(record)
            summary.inputs += 1
            if let error = record.error {
                summary.failures.append("input \(task.index) (\(workflow.inputs.file):\(inputs[task.index].line)): \(error)")
            }
            if record.solved {
                summary.solved += 1
                // The first solved input in input order, whatever order inputs finish in.
                if summary.exampleSolved.map({ record.index < $0.index }) ?? true { summary.exampleSolved = record }
            }
        }
        /// The calls of `task`'s next step (a step that needs none is taken at once); a finished
        /// task is recorded and its place given to the next input.
        func nextCalls(_ task: SearchTask) throws -> [TextRequest] {
            var calls: [TextRequest] = []
            // The search's own failures (a template that cannot render its values) end this
            // input with the reason in its result line, as a call the engine cannot take does.
            do {
                calls = try task.requests()
                while calls.isEmpty && !task.isDone {
                    try task.receive([])
                    calls = try task.requests()
                }
            } catch {
                task.fail("\(error)")
            }
            // A call the backend cannot take (a prompt longer than the context, say) ends this
            // input's search with the reason in its result line; the other inputs go on.
            if let (call, problem) = calls.lazy.compactMap({ call in self.backend.problem(with: call).map { (call, $0) } }).first {
                task.fail(problem.explain(call: task.describeCall(call.tags[0])))
            }
            if task.isDone {
                try record(task)
                return try startInputs()
            }
            steps[task.index] = StepCalls(tags: calls.flatMap(\.tags))
            for call in calls { for tag in call.tags { owner[tag] = task.index } }
            return calls
        }
        func startInputs() throws -> [TextRequest] {
            var calls: [TextRequest] = []
            while running.count < jobs, sf_interrupted() == 0, let next = queue.popLast() {
                let task = SearchTask(index: next, input: inputs[next].input, fields: inputs[next].fields,
                                      workflow: workflow, seed: workflow.decoding.seed)
                running[next] = task
                calls += try nextCalls(task)
            }
            return calls
        }

        do {
            let first = try startInputs()
            if !first.isEmpty {
                backendRan = true
                try backend.generate(first) { completion in
                    guard let index = owner.removeValue(forKey: completion.tag), let task = running[index],
                          steps[index] != nil else {
                        preconditionFailure("a completion no running input asked for: \(completion.tag)")
                    }
                    steps[index]?.back[completion.tag] = completion
                    if completion.statistics.lookupDraftedTokens > 0 {
                        let kind = SearchTask.callKind(of: completion.tag)
                        summary.lookupByCall[kind, default: (0, 0)].drafted += completion.statistics.lookupDraftedTokens
                        summary.lookupByCall[kind, default: (0, 0)].accepted += completion.statistics.lookupAcceptedTokens
                    }
                    var next: [TextRequest] = []
                    if let step = steps[index], step.back.count == step.tags.count {
                        // The step's completions in the order of its calls, whatever order they finished in.
                        let back = step.tags.compactMap { step.back[$0] }
                        if let failed = back.first(where: { $0.failure != nil }), let reason = failed.failure {
                            // A call that failed after the backend's retries ends this input only.
                            task.fail("\(task.describeCall(failed.tag)) failed: \(reason)")
                        } else {
                            do {
                                try task.receive(back)
                            } catch {
                                task.fail("\(error)")
                            }
                        }
                        next = try nextCalls(task)
                        report()
                    }
                    // Checked after the completion is taken in, so an input it finished is written.
                    if sf_interrupted() != 0 { throw RunInterrupted() }
                    return next
                }
            }
        } catch is RunInterrupted {
            // Inputs finished so far are written; the engine has freed its caches.
        } catch is GenerationInterrupted {
            // The same, seen by a backend waiting for its calls (it cancelled those in flight).
        }
        // Only Ctrl-C ends a run with inputs left (errors are thrown).
        summary.interrupted = !queue.isEmpty || !running.isEmpty
        let totals = backendRan ? backend.statistics : BackendStatistics()
        summary.wallSeconds = elapsedSince(start)
        summary.droppedBytes = results.droppedBytes
        summary.generatedTokens = totals.generatedTokens
        summary.modelCalls = totals.requests
        summary.acceptance = totals.draftedTokens > 0 ? totals.acceptanceRate : nil
        summary.sources = totals.draftSources.filter { $0.draftedTokens > 0 }.map { ($0.name, $0.acceptanceRate, $0.siblingShare) }
        summary.tokensPerTargetPass = totals.tokensPerTargetPass
        summary.draftSeconds = totals.draftSeconds
        summary.verifySeconds = totals.verifySeconds
        summary.retries = totals.retries
        summary.failedCalls = totals.failedCalls
        if case let .server(server)? = try? backend.provenanceModels() { summary.servers = server.urls }
        return summary
    }

    /// Refuses to resume a results file written by a different run: other inputs at the same
    /// positions, another strategy or seed, a changed workflow, prompt, model or override.
    private func checkResumable(_ results: ResultsFile, inputs: [String], provenance: Provenance) throws {
        for (record, line) in zip(results.existing, results.existingLines) {
            let what: String?
            if record.index < inputs.count, record.input != inputs[record.index] {
                what = "input \(record.index) is '\(record.input)' there but '\(inputs[record.index])' in \(workflow.inputs.file)"
            } else if record.strategy != strategy.rawValue {
                what = "it was decoded with strategy \(record.strategy), this run with \(strategy.rawValue)"
            } else if record.seed != workflow.decoding.seed {
                what = "its seed is \(record.seed), this run's \(workflow.decoding.seed)"
            } else {
                what = record.provenance?.difference(from: provenance)
            }
            if let what { throw ResultsError.differentRun(path: results.path, line: line, what: what) }
        }
    }

    /// Prompt files by the name the workflow gives them.
    /// The prompt files by name, as provenance records them; where two share a name, by their
    /// paths below the folder the two have in common (`a/p.txt` and `b/p.txt`), so that neither
    /// hides a change to the other and the keys do not depend on where the checkout is.
    private func promptFiles() -> [String: String] {
        let steps = [workflow.search.generate.prompt, workflow.search.evaluate.prompt] + (workflow.finish.map { [$0.prompt] } ?? [])
        let paths = Set(steps.compactMap(\.path))
        let names = Dictionary(grouping: paths) { URL(fileURLWithPath: $0).lastPathComponent }
        var files: [String: String] = [:]
        for (name, same) in names {
            guard same.count > 1 else { files[name] = same[0]; continue }
            let parts = same.map(Self.lexicalComponents)
            var common = 0
            while parts.allSatisfy({ common < $0.count - 1 && $0[common] == parts[0][common] }) { common += 1 }
            for (path, components) in zip(same, parts) { files[components[common...].joined(separator: "/")] = path }
        }
        return files
    }

    /// A path's components with `.` and `..` resolved as text (no symbolic link is followed, so
    /// where a link points does not leak into what is recorded).
    static func lexicalComponents(_ path: String) -> [String] {
        var out: [String] = []
        for part in path.split(separator: "/") where part != "." {
            if part == "..", !out.isEmpty, out.last != ".." { out.removeLast() } else { out.append(String(part)) }
        }
        return out
    }

    /// As many inputs as the backend keeps busy at their widest level: `breadth` states, about 8
    /// children each, every child valued `samples` times.
    private func defaultJobs() -> Int {
        let search = workflow.search
        let callsPerLevel = search.breadth * (search.generate.mode == .propose ? 1 : search.generate.n)
            + search.breadth * 8 * search.evaluate.samples
        return backend.defaultJobs(callsPerLevel: callsPerLevel)
    }

    /// An input's calls of its current step, in order, and those back so far.
    private struct StepCalls {
        var tags: [String]
        var back: [String: TextCompletion] = [:]
    }

    /// Ctrl-C, seen between two completions: ends the engine's run.
    private struct RunInterrupted: Error {}

    private func elapsedSince(_ start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

public enum WorkflowRunError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case inputs(path: String, line: Int, problem: String)

    public var description: String {
        switch self {
        case let .inputs(path, line, problem):
            return line > 0 ? "\(path):\(line): \(problem) — each line of a .jsonl inputs file must be one JSON object"
                : "\(path): \(problem)"
        }
    }

    public var errorDescription: String? { description }
}
