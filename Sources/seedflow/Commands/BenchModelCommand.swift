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
            usage: "(-m MODEL.gguf | --random SHAPE-TYPE) [--json] [--threads N] [options]",
            options: [
                CommonOptions.model,
                OptionSpec("random", .value(placeholder: "shape-type"), help: """
                  Instead of a file, a random-weight model of a real shape written to a temporary file \
                  (and removed after): 0.5B (dim 896, 24 layers, 14/2 heads, ffn 4864) or 1.1B (dim 2048, \
                  22 layers, 32/4 heads, ffn 5632), with F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, \
                  Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL or IQ4_XS weights and a 298-token vocabulary, e.g. 0.5B-Q8_0. Matrices whose rows \
                  are not whole blocks of the type are stored as llama.cpp's quantizer would store them \
                  (a note says which).
                  """),
                OptionSpec("keep-random", .value(placeholder: "file"), help: """
                  With --random: write the model to FILE and keep it (to run llama.cpp's tools on the \
                  same file, say) instead of a temporary file.
                  """),
                CommonOptions.threads,
                OptionSpec("prompt-tokens", .value(placeholder: "n"), help: "Tokens in the prefill pass.", default: "128"),
                OptionSpec("decode-tokens", .value(placeholder: "n"), help: "Tokens decoded one at a time.", default: "128"),
                CommonOptions.repetitions(default: 5),
                OptionSpec("json", help: """
                  Print one JSON object: prefill_tokens_per_s, decode_tokens_per_s, peak_rss_bytes, \
                  the samples and the settings.
                  """),
            ],
            examples: [
                "seedflow bench model -m models/seedflow-demo-target.gguf",
                "seedflow bench model --random 0.5B-Q8_0 --threads 2 --json",
            ])
    }

    let modelPath: String
    /// A random-weight model to write and measure instead of a file.
    let random: RandomModel?
    let threads: Int
    let promptTokens: Int
    let decodeTokens: Int
    let repetitions: Int
    let json: Bool
    /// Where to write the random model and keep it, or nil for a temporary file.
    let keepRandom: String?

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        if let spec = arguments.string("random") {
            guard arguments.string(CommonOptions.model.name) == nil else {
                throw arguments.error("give either --model or --random, not both")
            }
            let parts = spec.split(separator: "-", maxSplits: 1).map(String.init)
            let shapes = ["0.5B": RandomModel.shape0_5B, "1.1B": RandomModel.shape1_1B]
            guard parts.count == 2, let shape = shapes[parts[0].uppercased()],
                  let type = GGMLType.all.first(where: { $0.name == parts[1].uppercased() }), type.isComputable else {
                let types = GGMLType.computable.map(\.name).sorted().joined(separator: ", ")
                throw arguments.error("--random expects SHAPE-TYPE with SHAPE 0.5B or 1.1B and TYPE one of \(types), e.g. 0.5B-Q8_0; got '\(spec)'")
            }
            random = shape(type)
            modelPath = "random \(parts[0].uppercased()) \(type.name)"
        } else {
            random = nil
            modelPath = try CommonOptions.modelPath(arguments, or: "--random SHAPE-TYPE (e.g. --random 0.5B-Q8_0)")
        }
        threads = try CommonOptions.threadCount(arguments)
        promptTokens = try CommonOptions.tokenCount(arguments, "prompt-tokens", default: 128)
        decodeTokens = try CommonOptions.tokenCount(arguments, "decode-tokens", default: 128)
        repetitions = try CommonOptions.repetitionCount(arguments, default: 5)
        json = arguments.flag("json")
        keepRandom = arguments.string("keep-random")
        if keepRandom != nil && random == nil { throw arguments.error("--keep-random needs --random") }
    }

    func run() throws {
        // Refused rather than clamped, so the numbers printed are for the lengths asked for.
        func checkLengths(context: Int) throws {
            for (what, tokens) in [("--prompt-tokens", promptTokens), ("--decode-tokens", decodeTokens)] where tokens > context {
                throw CLIError.inputTooLong(what: "benchmark's \(what)", tokens: tokens, contextLength: context)
            }
        }
        var path = modelPath
        if let random {
            try checkLengths(context: random.contextLength)  // before minutes of writing, not after
            StandardStreams.error("writing a random-weight \(modelPath) model…\n")
            do {
                if let keepRandom {
                    try random.write(to: keepRandom)
                    path = keepRandom
                } else {
                    path = try random.writeTemporary()
                }
            } catch {
                let fix = keepRandom == nil ? "set TMPDIR to a folder with room for the model"
                                            : "give --keep-random a writable path with room for the model"
                throw CLIError.cannotWrite(path: error.path, reason: "\(error.reason) — \(fix)")
            }
            ResourceUsage.resetPeak()  // the writer's buffers are not the model's memory
            let fallbacks = random.fallbackNote()
            if !fallbacks.isEmpty { StandardStreams.error("note: \(fallbacks)\n") }
        }
        let temporary = random != nil && keepRandom == nil
        defer { if temporary { try? FileManager.default.removeItem(atPath: path) } }
        try InputFiles.checkModelExists(path)
        let model = try TransformerModel(path: path, threads: threads)
        // The weights are mapped now: the file's name can go, so that Ctrl-C during the runs
        // leaves no model of a gigabyte or more behind.
        if temporary { try? FileManager.default.removeItem(atPath: path) }
        try checkLengths(context: model.config.contextLength)
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
            out += "memory   peak resident \(peak.map(formatBytes) ?? "unknown")\n"
            StandardStreams.output(out)
        }
    }
}
