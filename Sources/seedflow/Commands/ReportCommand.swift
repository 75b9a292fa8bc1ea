import Foundation
import SeedFlow
import SeedEngine
import SeedModel

/// `seedflow report RESULTS.jsonl [OTHER.jsonl]`: one offline HTML page of a run, or of two.
struct ReportCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "report",
            abstract: "Write one self-contained HTML page of a run (or two runs compared) to open in a browser.",
            discussion: """
              The page holds the run's provenance and totals (solved, tokens, wall time, target and \
              draft tokens, acceptance, tokens per pass), a chart of tokens and time per tree level, \
              and every input in a list to filter (solved, unsolved, failed, text) and sort (tokens, \
              time); opening an input draws its whole search tree: every state with its value and \
              value samples, kept or pruned, the path to the answer, and the finish call's text and \
              check. With a second results file, the page compares the two runs as 'seedflow compare' \
              does and draws both trees of an input side by side. Everything (data, style, script) is \
              inside the one file: it needs no network and opens from disk. Without -o the page is \
              written beside the first results file, with .html for its extension; an existing page \
              there is replaced (it is derived from the results), but never a results file or a file \
              that is not an HTML page.
              """,
            usage: "RESULTS.jsonl [OTHER.jsonl] [-o report.html]",
            options: [
                OptionSpec("output", short: "o", .value(placeholder: "path"), help: "Where to write the page.",
                           default: "RESULTS.html beside RESULTS.jsonl"),
            ],
            positionals: [PositionalSpec("RESULTS.jsonl", help: "A results file written by 'seedflow run'."),
                          PositionalSpec("OTHER.jsonl", help: "A second run to compare with the first.", optional: true)],
            examples: [
                "seedflow report runs/demo.jsonl",
                "seedflow report runs/seed.jsonl runs/autoregressive.jsonl -o runs/seed-vs-ar.html",
                "seedflow report runs/demo.jsonl -o /tmp/demo.html && xdg-open /tmp/demo.html",
            ])
    }

    let paths: [String]
    let output: String

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        paths = arguments.positionals
        if let o = arguments.string("output") {
            guard !o.isEmpty else { throw arguments.error("option '-o/--output' expects a path, got ''") }
            output = o
        } else {
            output = Self.defaultOutput(for: paths[0])
        }
        let target = Self.resolved(output)
        if let same = paths.first(where: { Self.resolved($0) == target }) {
            throw arguments.error("the page would be written over the results file \(same) — give -o another path (e.g. \(Self.defaultOutput(for: same)))")
        }
    }

    /// runs/demo.jsonl → runs/demo.html; a name without an extension gets .html added.
    static func defaultOutput(for results: String) -> String {
        let url = URL(fileURLWithPath: results)
        let name = url.lastPathComponent
        // A leading dot (.hidden) starts a name, not an extension.
        let stem = name.lastIndex(of: ".").flatMap { $0 == name.startIndex ? nil : String(name[..<$0]) } ?? name
        let page = stem + ".html"
        let folder = (results as NSString).deletingLastPathComponent
        return folder.isEmpty ? page : (folder as NSString).appendingPathComponent(page)
    }

    /// The file a path names, links followed, for telling that two paths are one file.
    private static func resolved(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
    }

    func run() throws {
        let runs = try paths.map(ResultsCommandFiles.read)
        switch PathKind(output) {
        case .directory:
            throw CLIError.cannotWrite(path: output, reason: "it is a directory — give -o a file name (e.g. \(output)/report.html)")
        case .file:
            // Replace a page, never another kind of file someone named by mistake.
            let head = (FileHandle(forReadingAtPath: output)?.readData(ofLength: 64)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard head.lowercased().hasPrefix("<!doctype html") else {
                throw CLIError.cannotWrite(path: output, reason: "it exists and is not an HTML page — remove it or give -o another path")
            }
        case .missing:
            // Folders are not made: a mistyped path would leave the page somewhere unexpected.
            let folder = (output as NSString).deletingLastPathComponent
            if !folder.isEmpty {
                switch PathKind(folder) {
                case .missing:
                    throw CLIError.cannotWrite(path: output, reason: "the folder \(folder) does not exist — create it (mkdir -p \(folder)) or give -o a path in an existing folder")
                case .file:
                    throw CLIError.cannotWrite(path: output, reason: "\(folder) is a file, not a folder — give -o a path in a folder")
                case .directory:
                    break
                }
            }
        }
        let page = try HTMLReport.render(runs)
        do {
            try Data(page.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            throw CLIError.cannotWrite(path: output, reason: (error as NSError).localizedDescription)
        }
        let inputs = runs.map { "\($0.records.count) input\($0.records.count == 1 ? "" : "s")" }.joined(separator: " and ")
        StandardStreams.output("wrote \(output) (\(inputs), \(formatBytes(page.utf8.count))) — open it in a browser\n")
    }
}
