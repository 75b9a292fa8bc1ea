import Foundation
import SeedFlow

/// `seedflow validate FILE`: every problem of a workflow at once, without loading any weights.
struct ValidateCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "validate",
            abstract: "Check a workflow file and report every problem, each with its file:line:col and a fix.",
            discussion: """
              Checks the YAML, every key and value, that prompt, model and input files exist, that \
              prompts use only variables their step provides, that regular expressions compile and \
              that drafts share the target's vocabulary. Prints a one-line summary when all is well \
              (and a warning on stderr when nothing checks the answers); otherwise every problem on \
              stderr and exit status 1.
              """,
            options: [WorkflowOptions.set],
            positionals: [PositionalSpec("FILE", help: "The workflow file (YAML).")],
            examples: [
                "seedflow validate workflows/game24.yaml",
                "seedflow validate workflows/game24.yaml --set search.breadth=3",
            ])
    }

    let path: String
    let overrides: [String]

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        path = arguments.positionals[0]
        overrides = arguments.strings("set")
    }

    func run() throws {
        try InputFiles.checkWorkflowExists(path)
        let report = validateWorkflow(path: path, overrides: overrides)
        guard report.isValid else { throw WorkflowCommandError.invalid(report.text) }
        for warning in report.workflow?.warnings ?? [] { StandardStreams.error("seedflow: warning: \(warning)\n") }
        StandardStreams.output(report.text + "\n")
    }
}

/// `seedflow graph FILE`: the execution plan a workflow compiles to.
struct GraphCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "graph",
            abstract: "Print the execution graph a workflow compiles to, as Graphviz dot or Mermaid.",
            options: [
                OptionSpec("format", .value(placeholder: "dot|mermaid"), help: "Output format.", default: "dot"),
                WorkflowOptions.set,
            ],
            positionals: [PositionalSpec("FILE", help: "The workflow file (YAML).")],
            examples: [
                "seedflow graph workflows/game24.yaml | dot -Tpng -o game24.png",
                "seedflow graph workflows/game24-dfs.yaml --format mermaid",
            ])
    }

    let path: String
    let format: GraphFormat
    let overrides: [String]

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        path = arguments.positionals[0]
        overrides = arguments.strings("set")
        let name = arguments.string("format") ?? "dot"
        guard let format = GraphFormat(rawValue: name) else {
            throw arguments.error("--format must be dot or mermaid, got '\(name)'")
        }
        self.format = format
    }

    func run() throws {
        try InputFiles.checkWorkflowExists(path)
        do {
            StandardStreams.output(try renderGraph(path: path, overrides: overrides, format: format))
        } catch {
            throw WorkflowCommandError.invalid(error.description)
        }
    }
}

/// `seedflow compare A.jsonl B.jsonl`: two runs side by side.
struct CompareCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "compare",
            abstract: "Put two runs' results side by side: solved, tokens, time, acceptance, and what only one solved.",
            discussion: """
              The way to A/B-test a prompt or a setting: run the workflow twice with different \
              --results files, then compare them. Inputs are matched by their text.
              """,
            options: [CommonOptions.json],
            positionals: [PositionalSpec("A.jsonl", help: "The first results file."),
                          PositionalSpec("B.jsonl", help: "The second results file.")],
            examples: [
                "seedflow compare runs/game24.jsonl runs/game24-new-prompt.jsonl",
            ])
    }

    let a: String
    let b: String
    let json: Bool

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        a = arguments.positionals[0]
        b = arguments.positionals[1]
        json = arguments.flag("json")
    }

    func run() throws {
        for path in [a, b] where !FileManager.default.fileExists(atPath: path) { throw CLIError.fileNotFound(path: path) }
        let comparison = try RunComparison(pathA: a, pathB: b)
        if json {
            StandardStreams.output(String(decoding: try ResultsJSON.encode(comparison), as: UTF8.self) + "\n")
        } else {
            StandardStreams.output(comparison.render())
        }
    }
}

enum WorkflowOptions {
    static let set = OptionSpec("set", .repeated(placeholder: "key.path=value"), help: """
      Override one workflow value (read as YAML), e.g. search.breadth=3 or \
      models.target.path=big.gguf.
      """)
}

enum WorkflowCommandError: Error, LocalizedError, CustomStringConvertible {
    /// The workflow's problems, already one per line.
    case invalid(String)

    var description: String {
        switch self {
        case let .invalid(text): return "the workflow has problems:\n" + text
        }
    }

    var errorDescription: String? { description }
}
