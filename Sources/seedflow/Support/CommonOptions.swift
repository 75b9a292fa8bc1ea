import SeedEngine
import SeedModel

/// Options several commands share, declared once so they read and validate the same everywhere.
enum CommonOptions {
    static let model = OptionSpec("model", short: "m", .value(placeholder: "path"),
                                  help: "The GGUF model file (e.g. models/seedflow-demo-target.gguf).")
    static let file = OptionSpec("file", short: "f", .value(placeholder: "path"),
                                 help: "Read the text from this file, byte for byte (a final newline is kept; a leading UTF-8 byte-order mark is dropped).")
    static let json = OptionSpec("json", help: "Print one JSON object on stdout instead of text.")
    static let threads = OptionSpec("threads", short: "t", .value(placeholder: "n"),
                                    help: "Compute threads.", default: "\(ThreadPool.defaultThreads), the CPUs available")

    static func modelPath(_ arguments: ParsedArguments, or alternative: String? = nil) throws -> String {
        guard let path = arguments.string(model.name) else {
            throw arguments.error("missing --model (-m MODEL.gguf)" + (alternative.map { " or \($0)" } ?? ""))
        }
        return path
    }

    static func threadCount(_ arguments: ParsedArguments) throws -> Int {
        let count = try arguments.int(threads.name, default: ThreadPool.defaultThreads, in: 1...1024,
                                      expected: "a thread count from 1 to 1024")
        if count > ThreadPool.defaultThreads {
            StandardStreams.error("seedflow: note: \(count) threads on \(ThreadPool.defaultThreads) CPUs — threads beyond one per CPU wait on each other and slow every pass\n")
        }
        return count
    }

    /// The value of a `--strategy` option, or a usage error that lists the strategies.
    static func decodingStrategy(_ name: String, _ arguments: ParsedArguments) throws -> DecodingStrategy {
        guard let strategy = DecodingStrategy(rawValue: name) else {
            let names = DecodingStrategy.allCases.map(\.rawValue).joined(separator: ", ")
            throw arguments.error("option '--strategy' expects one of \(names), got '\(name)'")
        }
        return strategy
    }

    /// The benchmarks' `-r`: how many timed runs the median is taken of.
    static func repetitions(default runs: Int) -> OptionSpec {
        OptionSpec("repetitions", short: "r", .value(placeholder: "n"), help: "Runs to take the median of.", default: "\(runs)")
    }

    static func repetitionCount(_ arguments: ParsedArguments, default runs: Int) throws -> Int {
        try arguments.int("repetitions", default: runs, in: 1...1000, expected: "an integer from 1 to 1000")
    }

    /// A benchmark's token count option (`--prompt-tokens`, `--decode-tokens`).
    static func tokenCount(_ arguments: ParsedArguments, _ name: String, default tokens: Int) throws -> Int {
        try arguments.int(name, default: tokens, in: 1...1_000_000, expected: "an integer from 1 to 1000000")
    }
}

/// Where a command's text comes from: the command line as given (no escape processing — use
/// the shell's `$'…\n'` for a newline) or a file read byte for byte.
enum TextSource: Equatable {
    case argument(String)
    case file(String)

    /// Exactly one of the inline option (or positional) and `-f` must be given.
    static func from(_ arguments: ParsedArguments, inline: String?, inlineName: String) throws -> TextSource {
        switch (inline, arguments.string(CommonOptions.file.name)) {
        case let (text?, nil): return .argument(text)
        case let (nil, path?): return .file(path)
        case (_?, _?): throw arguments.error("give the text either as \(inlineName) or with -f FILE, not both")
        case (nil, nil): throw arguments.error("missing text: give \(inlineName) or -f FILE")
        }
    }

    func read() throws -> String {
        switch self {
        case let .argument(text): text
        case let .file(path): try InputFiles.readText(path)
        }
    }
}
