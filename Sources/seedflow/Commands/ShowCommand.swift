import Foundation
import SeedFlow
import SeedModel

/// `seedflow show RESULTS.jsonl`: the search trees of a run's inputs in the terminal.
struct ShowCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "show",
            abstract: "Print the search trees of inputs of a results file: the kept states, their values, the path taken.",
            discussion: """
              Each tree is printed as 'run --show-tree' prints it: the input, then the states kept at \
              each level with their values (→ marks the path to the answer), then the finish step's \
              check, the answer, and why the search ended or could not run. Without a selection \
              every input of the file is shown, in the order of the file. Inputs are numbered as in \
              the inputs file, from 0 (the "index" of each result line). For the whole tree, pruned \
              states and value samples included, write an HTML page with 'seedflow report'.
              """,
            usage: "RESULTS.jsonl [--input N]... [--unsolved] [--failed]",
            options: [
                OptionSpec("input", .repeated(placeholder: "n"), help: """
                  Show input n (its index in the inputs file, from 0); give it again for more, or n,m,….
                  """),
                OptionSpec("unsolved", help: "Show the inputs whose search ended without a checked answer."),
                OptionSpec("failed", help: "Show the inputs that could not run (their line has an error)."),
            ],
            positionals: [PositionalSpec("RESULTS.jsonl", help: "A results file written by 'seedflow run'.")],
            examples: [
                "seedflow show runs/demo.jsonl --input 7",
                "seedflow show runs/demo.jsonl --unsolved | less",
                "seedflow show runs/demo.jsonl --failed",
            ])
    }

    let path: String
    let indices: [Int]
    let unsolved: Bool
    let failed: Bool

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        path = arguments.positionals[0]
        var indices: [Int] = []
        for text in arguments.strings("input") {
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n >= 0 else {
                    throw arguments.error("option '--input' expects an input number (0, 1, …) or a list like 3,7; got '\(text)'")
                }
                indices.append(n)
            }
        }
        self.indices = indices
        unsolved = arguments.flag("unsolved")
        failed = arguments.flag("failed")
        if !indices.isEmpty && (unsolved || failed) {
            throw arguments.error("--input chooses inputs by number; --unsolved and --failed choose them by outcome: give one or the other")
        }
    }

    func run() throws {
        let results = try ResultsCommandFiles.read(path)
        let records = results.records
        var chosen: [RunRecord]
        if !indices.isEmpty {
            let byIndex = Dictionary(records.map { ($0.index, $0) }, uniquingKeysWith: { $1 })
            if let missing = indices.first(where: { byIndex[$0] == nil }) {
                throw UsageError("input \(missing) is not in \(path): it holds \(Self.describe(records.map(\.index)))",
                                 commandPath: ["show"])
            }
            chosen = indices.compactMap { byIndex[$0] }
        } else if unsolved || failed {
            chosen = records.filter { (unsolved && !$0.solved && $0.error == nil) || (failed && $0.error != nil) }
        } else {
            chosen = records
        }
        if chosen.isEmpty {
            let what = [unsolved ? "unsolved" : nil, failed ? "failed" : nil].compactMap { $0 }.joined(separator: " or ")
            StandardStreams.output("no \(what) input in \(path) (\(records.count) input\(records.count == 1 ? "" : "s"), \(records.filter(\.solved).count) solved)\n")
            return
        }
        StandardStreams.output(chosen.map(TreeText.render).joined(separator: "\n"))
    }

    /// "inputs 0–9", "inputs 0–4, 7, 9": the indices a file holds, in runs.
    static func describe(_ indices: [Int]) -> String {
        let sorted = Array(Set(indices)).sorted()
        var parts: [String] = []
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])–\(sorted[j])")
            i = j + 1
        }
        if parts.count > 8 { parts = Array(parts.prefix(8)) + ["…"] }
        return (sorted.count == 1 ? "only input " : "inputs ") + parts.joined(separator: ", ")
    }
}

/// Reading a results file named on the command line for `show` and `report`: a missing one is a
/// missing file (3), and a last line cut short is said on stderr, since that input is not shown.
enum ResultsCommandFiles {
    static func read(_ path: String) throws -> ReportRun {
        switch PathKind(path) {
        case .missing: throw CLIError.fileNotFound(path: path)
        case .directory: throw CLIError.unreadableFile(path: path, reason: "it is a directory — give a results file (e.g. runs/demo.jsonl)")
        case .file: break
        }
        let run = try ReportRun(path: path)
        if let line = run.cutLine {
            StandardStreams.error("seedflow: note: \(path):\(line): the last line was cut short (a run stopped mid-write) and is left out; 'seedflow run --resume' runs that input again\n")
        }
        return run
    }
}
