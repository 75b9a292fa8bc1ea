import Foundation
import SeedEngine
import SeedFlow
import SeedModel

/// `seedflow bench speculative`: the decoding strategies compared on tree-of-thoughts workloads
/// built from the demo prompt formats, all on the same engine.
struct BenchSpeculativeCommand: ParsableCommand {
    static let defaultPuzzles = "data/game24-heldout.txt"
    static let workloadNames = ["paper", "level"]

    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "speculative",
            abstract: "Compare sequential, speculative, SeeD, batched and auto decoding on tree-of-thoughts workloads.",
            discussion: """
              Two workloads at temperature 0.7, from the puzzles of --puzzles: 'paper', the SeeD \
              paper's setting (for each of the first 4 puzzles, 3 proposals at a time, then 3 \
              evaluations at a time), and 'level', one whole Game-of-24 tree level (proposals for \
              5 puzzles together, then 3 evaluations of each of their first 8 children together). \
              Each runs under sequential (requests one after another: the paper's baseline), \
              speculative (one after another, each with a draft), seed with k = 2, 4, 6 draft \
              tokens, batched autoregressive, and auto (deciding each round whether to draft, up \
              to 6 tokens; its k is the mean a drafting request drafted a round). Rows are the \
              median of --repetitions runs after one untimed warm-up run (in which auto also \
              calibrates its pass costs); the runs are interleaved, one of every row per round, so \
              that the machine's slow minutes fall on all rows alike. Acceptance is accepted / \
              drafted tokens, '-' for rows that do not draft; ×seq is the sequential row's wall \
              time over this row's; spread is the slowest run's wall time minus the fastest's over \
              the median (rows closer than that are within the machine's noise). One line per \
              finished round goes to stderr. The drafts are given with --draft (at least one, unless \
              only sequential and autoregressive are asked for); the more instances, the more \
              requests draft at once. --draft lookup adds drafts copied from text already seen (the \
              request's prompt and output, and the outputs of the other calls of its puzzle or \
              level); with model drafts and lookup together, the pool column tells the rows over \
              the whole pool from those over its models only and over lookup only (seed k = 4, 6 \
              and auto each), and the acceptance column gives each source's acceptance.
              """,
            usage: "-m TARGET.gguf [--draft MODEL[:N] ...] [--draft lookup] [--json] [--workload W] [options]",
            options: [
                CommonOptions.model,
                DraftSpec.option,
                DraftConfidence.option,
                CommonOptions.threads,
                OptionSpec("workload", .value(placeholder: "name"), help: "Which workloads to run: paper, level or all.",
                           default: "all"),
                OptionSpec("strategy", .repeated(placeholder: "name"), help: """
                  Run only the rows of this strategy (sequential, speculative, seed, autoregressive \
                  or auto; 'seed' is its three k rows). Without 'sequential' the \
                  ×seq column is '-'.
                  """, default: "all five"),
                OptionSpec("puzzles", .value(placeholder: "path"),
                           help: "Game-of-24 puzzles, one a line as 4 numbers separated by spaces.", default: defaultPuzzles),
                CommonOptions.repetitions(default: 5),
                OptionSpec("json", help: """
                  Print one JSON object: rows (workload, strategy, pool, draft_tokens, wall_s, \
                  tokens_per_s, acceptance, acceptance_by_source, lookup_acceptance_by_call, \
                  lookup_sibling_share, generated_tokens, target_passes, speedup_over_sequential, \
                  draft_s, verify_s, wall_samples_s: every run's wall time) and the settings.
                  """),
            ],
            examples: [
                "seedflow bench speculative -m models/seedflow-demo-target.gguf --draft models/seedflow-demo-draft-s.gguf:4",
                "seedflow bench speculative -m models/seedflow-demo-target.gguf --draft models/seedflow-demo-draft-s.gguf:2 --draft models/seedflow-demo-draft-m.gguf:2 --workload paper --json",
                "seedflow bench speculative -m models/seedflow-demo-target.gguf --draft models/seedflow-demo-draft-s.gguf --draft lookup --workload paper",
            ])
    }

    let modelPath: String
    let drafts: [DraftSpec]
    let lookup: LookupConfiguration?
    let draftConfidence: Float
    let threads: Int
    let workloads: [String]
    let strategies: Set<DecodingStrategy>
    let puzzlesPath: String
    let repetitions: Int
    let json: Bool

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        modelPath = try CommonOptions.modelPath(arguments)
        drafts = try DraftSpec.all(arguments)
        lookup = try DraftSpec.lookup(arguments)
        draftConfidence = try DraftConfidence.value(arguments)
        threads = try CommonOptions.threadCount(arguments)
        switch arguments.string("workload") ?? "all" {
        case "all": workloads = Self.workloadNames
        case let name where Self.workloadNames.contains(name): workloads = [name]
        case let other: throw arguments.error("option '--workload' expects paper, level or all, got '\(other)'")
        }
        let names = arguments.strings("strategy")
        strategies = try names.isEmpty ? Set(DecodingStrategy.allCases)
            : Set(names.map { try CommonOptions.decodingStrategy($0, arguments) })
        if drafts.isEmpty, lookup == nil, strategies.contains(where: \.usesDrafts) {
            throw arguments.error("""
              missing --draft: the strategies that speculate need a draft model or lookup \
              (e.g. --draft models/seedflow-demo-draft-s.gguf, --draft models/seedflow-demo-draft-m.gguf:2 or --draft lookup), \
              or ask only for --strategy sequential and autoregressive
              """)
        }
        puzzlesPath = arguments.string("puzzles") ?? Self.defaultPuzzles
        repetitions = try CommonOptions.repetitionCount(arguments, default: 5)
        json = arguments.flag("json")
    }

    func run() throws {
        if puzzlesPath == Self.defaultPuzzles, !FileManager.default.fileExists(atPath: puzzlesPath) {
            throw CLIError.unreadableFile(path: puzzlesPath, reason: "the default --puzzles file is looked for from the current directory — run from the repository root, or give --puzzles FILE")
        }
        let puzzles = try Self.readPuzzles(puzzlesPath)
        let models = try LoadedModels(targetPath: modelPath, drafts: drafts, threads: threads)
        let chosen = SpeculativeBenchmark.workloads(tokenizer: models.target.tokenizer, puzzles: puzzles)
            .filter { workloads.contains($0.name) }
        let result = try SpeculativeBenchmark.run(target: models.target, drafts: models.drafts, lookup: lookup, workloads: chosen,
                                                  repetitions: repetitions, strategies: strategies,
                                                  draftConfidence: draftConfidence) { StandardStreams.error($0 + "\n") }
        if json {
            let report = Report(model: modelPath, drafts: drafts.map { .init(path: $0.path, instances: $0.instances) }
                                    + (lookup.map { [.init(path: "lookup:\($0.minNgram)-\($0.maxNgram)", instances: 0)] } ?? []),
                                threads: models.target.pool.threads, draftConfidence: draftConfidence,
                                puzzles: puzzlesPath, repetitions: repetitions, rows: result.rows)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]  // stable output, one line
            StandardStreams.output(String(decoding: try encoder.encode(report), as: UTF8.self) + "\n")
        } else {
            StandardStreams.output(table(result.rows, threads: models.target.pool.threads))
        }
    }

    /// The `--json` object: the settings, then the rows as the library encodes them.
    private struct Report: Encodable {
        struct Draft: Encodable {
            let path: String
            let instances: Int
        }
        let model: String
        let drafts: [Draft]
        let threads: Int
        let draftConfidence: Float
        let puzzles: String
        let repetitions: Int
        let rows: [SpeculativeBenchmarkResult.Row]

        enum CodingKeys: String, CodingKey {
            case model, drafts, threads, puzzles, repetitions, rows
            case draftConfidence = "draft_confidence"
        }
    }

    private func table(_ rows: [SpeculativeBenchmarkResult.Row], threads: Int) -> String {
        let pool = (drafts.map { "\($0.path):\($0.instances)" } + (lookup.map { ["lookup:\($0.minNgram)-\($0.maxNgram)"] } ?? []))
            .joined(separator: ", ")
        var out = "target     \(modelPath) (\(threads) threads, median of \(repetitions))\n"
        out += pool.isEmpty ? "drafts     none\n" : "drafts     \(pool), confidence \(draftConfidence)\n"
        let mixed = rows.contains { $0.pool.contains("lookup") }
        out += "workload  strategy         k    wall s   tokens/s  acceptance   ×seq  spread" + (mixed ? "  pool           by source" : "") + "\n"
        for row in rows {
            let k = row.strategy == DecodingStrategy.auto.rawValue
                ? String(format: "%.1f", row.draftTokens) : String(Int(row.draftTokens))
            let acceptance = row.acceptance.map { String(format: "%.1f %%", 100 * $0) } ?? "-"
            out += row.workload.padding(toLength: 10, withPad: " ", startingAt: 0)
            out += row.strategy.padding(toLength: 14, withPad: " ", startingAt: 0)
            out += Self.rightAligned(k, 5) + String(format: " %9.2f %10.1f ", row.wallSeconds, row.tokensPerSecond)
            let speedup = row.speedupOverSequential.map { String(format: "%.2f", $0) } ?? "-"
            out += Self.rightAligned(acceptance, 11) + " " + Self.rightAligned(speedup, 6)
            out += Self.rightAligned(String(format: "%.0f %%", 100 * row.spread), 8)
            if mixed {
                let bySource = row.acceptanceBySource.sorted { $0.key < $1.key }
                    .map { "\(Self.shortName($0.key)) \(String(format: "%.0f%%", 100 * $0.value))" }.joined(separator: ", ")
                out += "  " + row.pool.padding(toLength: 15, withPad: " ", startingAt: 0) + bySource
            }
            out += "\n"
        }
        return out
    }

    /// A draft's file name without '.gguf' (the table's source column).
    private static func shortName(_ name: String) -> String {
        name.hasSuffix(".gguf") ? String(name.dropLast(5)) : name
    }

    private static func rightAligned(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    /// The largest number a puzzle may hold: Game of 24's are small, and products of four such
    /// numbers must stay far from overflow.
    static let largestPuzzleNumber = 10_000

    /// One puzzle a line: 4 integers from 0 to `largestPuzzleNumber` separated by spaces; blank
    /// lines are skipped.
    static func readPuzzles(_ path: String) throws -> [[Int]] {
        var puzzles: [[Int]] = []
        for (number, line) in InputsSection.lines(of: try InputFiles.readText(path)) {
            let fields = line.split(whereSeparator: \.isWhitespace)
            let numbers = fields.compactMap { Int($0) }.filter { (0...Self.largestPuzzleNumber).contains($0) }
            guard fields.count == 4, numbers.count == 4 else {
                throw CLIError.malformedFile(path: path, line: number,
                                             reason: "expected a puzzle as 4 integers from 0 to \(Self.largestPuzzleNumber) (e.g. '4 5 6 10'), got '\(line)'")
            }
            puzzles.append(numbers)
        }
        if puzzles.isEmpty {
            throw CLIError.malformedFile(path: path, line: 1, reason: "no puzzles (one a line, as 4 numbers: '4 5 6 10')")
        }
        return puzzles
    }
}
