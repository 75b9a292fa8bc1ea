import Foundation
import SeedEngine
import SeedFlow
import SeedModel

/// `seedflow run FILE`: a workflow over its inputs, results appended as each input finishes.
struct RunCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "run",
            abstract: "Run a workflow's tree search over its inputs and append one result line per input.",
            discussion: """
              The model calls of all running inputs share the engine's rounds, so speculative drafts \
              and verification batches are shared, and an input's next step joins as soon as its last \
              call is back. A results line (answer, solved, best path, the whole tree, tokens, time, \
              provenance hashes) is appended the moment an input finishes; an existing results file is \
              refused unless --resume (skip inputs already there) or --overwrite is given. Ctrl-C stops \
              when the next model call finishes, with everything finished so far written; a second \
              Ctrl-C stops at once. Progress goes to stderr: on a terminal one line redrawn in place, \
              with an ETA; otherwise (a file, a pipe, nohup) a plain line every 10 s with inputs done, \
              solved so far, tokens/s and ETA. A summary table comes at the end.
              """,
            options: [
                WorkflowOptions.set,
                OptionSpec("limit", .value(placeholder: "n"), help: "Run only the first n inputs."),
                OptionSpec("jobs", short: "j", .value(placeholder: "n"), help: """
                  Inputs searched at once; their calls share the engine's rounds.
                  """, default: "as many as the KV budget holds"),
                OptionSpec("strategy", .value(placeholder: "name"), help: """
                  autoregressive | sequential | speculative | seed | auto (overrides decoding.strategy).
                  """),
                OptionSpec("results", .value(placeholder: "path"), help: "Results file (overrides output.results)."),
                OptionSpec("resume", help: "Continue an existing results file: skip the inputs it already has."),
                OptionSpec("overwrite", help: "Replace an existing results file."),
                OptionSpec("show-tree", help: """
                  After the summary, print the search tree of the first solved input (as 'seedflow show' does).
                  """),
                OptionSpec("json", help: "Print the summary as one JSON object on stdout."),
                OptionSpec("progress", help: """
                  Show progress on stderr even with --json (a redrawn line on a terminal, else a plain line every 10 s).
                  """),
                OptionSpec("no-progress", help: "Show no progress on stderr."),
                OptionSpec("allow-insecure-http", help: """
                  Send the API key (models.target.api_key_env) over plain http:// to a host that is not this machine.
                  """),
                CommonOptions.threads,
            ],
            positionals: [PositionalSpec("FILE", help: "The workflow file (YAML).")],
            examples: [
                "seedflow run workflows/game24.yaml --limit 10",
                "seedflow run workflows/game24.yaml --strategy autoregressive --results runs/ar.jsonl",
                "seedflow run workflows/game24.yaml --set models.target.path=big.gguf --jobs 1",
                "seedflow run workflows/game24.yaml --resume",
                "seedflow run workflows/game24.yaml --set models.target.url=http://127.0.0.1:8080/v1",
            ])
    }

    let path: String
    let overrides: [String]
    let options: RunOptions
    let showTree: Bool
    let json: Bool
    /// `--progress` (true), `--no-progress` (false), or neither.
    let progress: Bool?

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        path = arguments.positionals[0]
        overrides = arguments.strings("set")
        var options = RunOptions()
        if arguments.string("limit") != nil {
            options.limit = try arguments.int("limit", default: 0, in: 1...Int.max, expected: "a positive integer")
        }
        if arguments.string("jobs") != nil {
            options.jobs = try arguments.int("jobs", default: 0, in: 1...100_000, expected: "a positive integer")
        }
        if let name = arguments.string("strategy") {
            options.strategy = try CommonOptions.decodingStrategy(name, arguments)
        }
        options.resultsPath = arguments.string("results")
        options.threads = try CommonOptions.threadCount(arguments)
        options.overrides = overrides
        options.allowInsecureHTTP = arguments.flag("allow-insecure-http")
        switch (arguments.flag("resume"), arguments.flag("overwrite")) {
        case (true, true): throw arguments.error("--resume and --overwrite contradict each other: choose one")
        case (true, false): options.resultsMode = .resume
        case (false, true): options.resultsMode = .overwrite
        case (false, false): options.resultsMode = .create
        }
        self.options = options
        showTree = arguments.flag("show-tree")
        json = arguments.flag("json")
        switch (arguments.flag("progress"), arguments.flag("no-progress")) {
        case (true, true): throw arguments.error("--progress and --no-progress contradict each other: choose one")
        case (true, false): progress = true
        case (false, true): progress = false
        case (false, false): progress = nil
        }
    }

    func run() throws {
        try InputFiles.checkWorkflowExists(path)
        let workflow: Workflow
        do {
            workflow = try loadWorkflow(path: path, overrides: overrides)
        } catch {
            throw WorkflowCommandError.invalid(error.description)
        }
        for warning in workflow.warnings { StandardStreams.error("seedflow: warning: \(warning)\n") }
        if let remote = workflow.models.target.remote, remote.overridesLocal {
            StandardStreams.error("seedflow: note: models.target.url is set, so the target runs on \(remote.urls.map(\.absoluteString).joined(separator: ", ")); models.target.path, models.drafts, models.kv_cache and decoding.strategy apply to local runs only (the server decodes as it was started)\n")
        }
        let runner: WorkflowRunner
        do {
            runner = try WorkflowRunner(workflow: workflow, options: options)
        } catch RemoteError.insecureKey(let url) {
            throw WorkflowCommandError.invalid(RemoteError.insecureKey(url: url).description + " with --allow-insecure-http")
        }
        if options.resultsMode == .resume && !FileManager.default.fileExists(atPath: runner.resultsPath) {
            StandardStreams.error("seedflow: note: \(runner.resultsPath) does not exist, so there is nothing to resume: starting a new run\n")
        }
        var progressOutput = ProgressOutput(forced: progress, json: json, stderrIsTerminal: isatty(2) == 1,
                                            answersChecked: workflow.checksAnswers)
        let summary = try runner.run { progressOutput.update($0) }
        progressOutput.finish()
        if summary.droppedBytes > 0 {
            StandardStreams.error("seedflow: note: \(summary.resultsPath) ended in an unfinished line (\(summary.droppedBytes) bytes, from a run stopped mid-write); it was dropped and its input ran again\n")
        }
        if json {
            let object = JSONValue.object([
                ("results", summary.removedResults ? .null : .string(summary.resultsPath)),
                ("inputs", .int(summary.inputs)),
                ("skipped", .int(summary.skipped)),
                ("solved", .int(summary.solved)),
                ("strategy", .string(summary.strategy.rawValue)),
                ("model_calls", .int(summary.modelCalls)),
                ("generated_tokens", .int(summary.generatedTokens)),
                ("wall_s", .double(summary.wallSeconds)),
                ("acceptance", summary.acceptance.map(JSONValue.double) ?? .null),
                ("lookup_acceptance_by_call", .object(summary.lookupByCall.keys.sorted().map { kind in
                    let t = summary.lookupByCall[kind] ?? (0, 0)
                    return (kind, .double(Double(t.accepted) / Double(max(1, t.drafted))))
                })),
                ("tokens_per_target_pass", .double(summary.tokensPerTargetPass)),
                ("draft_s", .double(summary.draftSeconds)),
                ("verify_s", .double(summary.verifySeconds)),
                ("failed", .int(summary.failures.count)),
                ("interrupted", .bool(summary.interrupted)),
                ("answers_checked", .bool(summary.answersChecked)),
            ])
            StandardStreams.output(object.serialized() + "\n")
        } else {
            StandardStreams.output(summary.render() + "\n")
            if showTree {
                StandardStreams.output("\n" + (summary.exampleSolved.map(TreeText.render) ?? "no input was solved: no tree to show\n"))
            }
        }
        if summary.interrupted {
            throw RunInterrupted(removedResults: summary.removedResults,
                                 keptUntouched: summary.inputs == 0 && options.resultsMode == .overwrite ? summary.resultsPath : nil)
        }
        if !summary.failures.isEmpty { throw RunInputsFailed(failures: summary.failures, ranOthers: summary.inputs > summary.failures.count) }
    }
}

/// Inputs that could not run: the others ran and every result is written; the exit status says
/// the run is incomplete (4: an input the model cannot take).
struct RunInputsFailed: Error, LocalizedError {
    var failures: [String]
    /// Whether inputs other than the failed ones ran.
    var ranOthers: Bool
    var errorDescription: String? {
        // "The others ran" only where there were others.
        "\(failures.count) input\(failures.count == 1 ? "" : "s") could not run (\(ranOthers ? "the others ran; " : "")every result is in the results file):\n  "
            + failures.joined(separator: "\n  ")
    }
}

/// Ctrl-C: the summary is printed; the exit status says the run is incomplete (130, as shells do).
struct RunInterrupted: Error, LocalizedError {
    /// Whether the run removed the results file it had created, having written nothing to it.
    var removedResults: Bool
    /// The file an `--overwrite` run stopped before its first result left as it was.
    var keptUntouched: String?
    var errorDescription: String? {
        if removedResults { return "interrupted before any input finished — no results file was written" }
        if let keptUntouched { return "interrupted before any input finished — \(keptUntouched) was left as it was" }
        return "interrupted — finished inputs are in the results file; continue with --resume"
    }
}
