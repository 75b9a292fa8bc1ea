import Foundation
import SeedEngine
import SeedModel

/// `seedflow bench model`: prefill and decode speed of one model, as llama-bench measures them
/// (pp128 / tg128), plus the peak resident memory of the process.
struct BenchModelCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "model",
            abstract: "Measure a model's prefill and decode tokens/s and the peak resident memory.",
            discussion: """
              Prefill: one forward pass over --prompt-tokens tokens. Decode: --decode-tokens tokens \
              one at a time from an empty cache (as llama-bench's pp and tg tests). Each is repeated --repetitions times and the median \
              is reported (every sample is in --json). Peak memory is the process's resident \
              high-water mark (VmHWM). Run on a quiet machine: other work on the cores shows up here.
              """,
            usage: "-m MODEL.gguf [--json] [--threads N] [options]",
            options: [
                CommonOptions.model,
                CommonOptions.threads,
                OptionSpec("prompt-tokens", .value(placeholder: "n"), help: "Tokens in the prefill pass.", default: "128"),
                OptionSpec("decode-tokens", .value(placeholder: "n"), help: "Tokens decoded one at a time.", default: "128"),
                OptionSpec("repetitions", short: "r", .value(placeholder: "n"), help: "Runs to take the median of.", default: "5"),
                OptionSpec("json", help: """
                  Print one JSON object: prefill_tokens_per_s, decode_tokens_per_s, peak_rss_bytes, \
                  the samples and the settings.
                  """),
            ],
            examples: [
                "seedflow bench model -m models/seedflow-demo-target.gguf",
                "seedflow bench model -m ../shared/models/bench/seedflow-demo-target-l.gguf --threads 2 --json",
            ])
    }

    let modelPath: String
    let threads: Int
    let promptTokens: Int
    let decodeTokens: Int
    let repetitions: Int
    let json: Bool

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        modelPath = try CommonOptions.modelPath(arguments)
        threads = try CommonOptions.threadCount(arguments)
        promptTokens = try arguments.int("prompt-tokens", default: 128, in: 1...1_000_000, expected: "a positive integer")
        decodeTokens = try arguments.int("decode-tokens", default: 128, in: 1...1_000_000, expected: "a positive integer")
        repetitions = try arguments.int("repetitions", default: 5, in: 1...1000, expected: "a positive integer")
        json = arguments.flag("json")
    }

    func run() throws {
        try InputFiles.checkModelExists(modelPath)
        let model = try TransformerModel(path: modelPath, threads: threads)
        // Refused rather than clamped, so the numbers printed are for the lengths asked for.
        for (what, tokens) in [("--prompt-tokens", promptTokens), ("--decode-tokens", decodeTokens)]
        where tokens > model.config.contextLength {
            throw CLIError.inputTooLong(what: "benchmark's \(what)", tokens: tokens,
                                        contextLength: model.config.contextLength)
        }
        let result = try ModelBenchmark.run(model: model, promptTokens: promptTokens,
                                            decodeTokens: decodeTokens, repetitions: repetitions)
        let peak = ResourceUsage.peakResidentBytes()
        if json {
            let object = JSONValue.object([
                ("model", .string(modelPath)),
                ("threads", .int(model.pool.threads)),
                ("prompt_tokens", .int(promptTokens)),
                ("decode_tokens", .int(decodeTokens)),
                ("repetitions", .int(repetitions)),
                ("prefill_tokens_per_s", .double(result.prefillTokensPerSecond)),
                ("decode_tokens_per_s", .double(result.decodeTokensPerSecond)),
                ("prefill_samples", .array(result.prefillSamples.map(JSONValue.double))),
                ("decode_samples", .array(result.decodeSamples.map(JSONValue.double))),
                ("peak_rss_bytes", .optional(peak)),
            ])
            StandardStreams.output(object.serialized() + "\n")
        } else {
            func samples(_ values: [Double]) -> String {
                values.map { String(format: "%.1f", $0) }.joined(separator: ", ")
            }
            var out = "model    \(modelPath) (\(model.pool.threads) threads, median of \(repetitions))\n"
            out += String(format: "prefill  pp%-5d %10.1f tokens/s", promptTokens, result.prefillTokensPerSecond)
            out += "   [\(samples(result.prefillSamples))]\n"
            out += String(format: "decode   tg%-5d %10.1f tokens/s", decodeTokens, result.decodeTokensPerSecond)
            out += "   [\(samples(result.decodeSamples))]\n"
            out += "memory   peak resident \(peak.map(Formatting.bytes) ?? "unknown")\n"
            StandardStreams.output(out)
        }
    }
}
