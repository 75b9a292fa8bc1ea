import SeedEngine
import SeedModel

/// `seedflow bench batch`: aggregate decode speed of many sequences advancing together over the
/// paged KV pool, and the prefill work prefix sharing saves on a tree-of-thoughts level.
struct BenchBatchCommand: ParsableCommand {
    static let defaultSequences = [1, 4, 16, 64]

    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "batch",
            abstract: "Measure aggregate decode tokens/s over concurrent sequences, and prefix sharing.",
            discussion: """
              For each count in --sequences, that many sequences with distinct random prompts of \
              --prompt-tokens tokens are prefilled, then decode --decode-tokens tokens together, \
              one batched forward pass per step; the row is the aggregate rate (sequences × tokens \
              / seconds), the median of --repetitions runs after one untimed warm-up; a line on \
              stderr says when each row is done. \
              Prefix sharing: one Game-of-24 tree level as the tree-of-thoughts prompts make it \
              (5 parents × 8 children × 3 value samples, every prompt opening with the same \
              header of 200 tokens, or half the model's context if that is less) is admitted to \
              the pool; reused prompt tokens are those found in cached full blocks plus those of \
              identical prompts forked rather than prefilled.
              """,
            usage: "-m MODEL.gguf [--json] [--threads N] [--sequences 1,4,16,64] [options]",
            options: [
                CommonOptions.model,
                CommonOptions.threads,
                OptionSpec("sequences", .value(placeholder: "n,n,..."), help: "Concurrent sequence counts, one row each.",
                           default: defaultSequences.map(String.init).joined(separator: ",")),
                OptionSpec("prompt-tokens", .value(placeholder: "n"), help: "Prompt tokens of each sequence.", default: "64"),
                OptionSpec("decode-tokens", .value(placeholder: "n"), help: "Tokens each sequence decodes.", default: "64"),
                CommonOptions.repetitions(default: 3),
                OptionSpec("json", help: """
                  Print one JSON object: rows (sequences, tokens_per_s, samples), \
                  prefix_tokens_total, prefix_tokens_reused (from_cache + from_forks) and the settings.
                  """),
            ],
            examples: [
                "seedflow bench batch -m models/seedflow-demo-target.gguf",
                "seedflow bench batch -m models/seedflow-demo-target.gguf --sequences 1,2,4,8,16 --json",
            ])
    }

    let modelPath: String
    let threads: Int
    let sequenceCounts: [Int]
    let promptTokens: Int
    let decodeTokens: Int
    let repetitions: Int
    let json: Bool

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        modelPath = try CommonOptions.modelPath(arguments)
        threads = try CommonOptions.threadCount(arguments)
        sequenceCounts = try arguments.ints("sequences", default: Self.defaultSequences, in: 1...4096,
                                            expected: "comma-separated counts from 1 to 4096 (e.g. 1,4,16)")
        if Set(sequenceCounts).count != sequenceCounts.count {
            throw arguments.error("option '--sequences' lists a count twice (\(sequenceCounts.map(String.init).joined(separator: ","))): give each once")
        }
        promptTokens = try CommonOptions.tokenCount(arguments, "prompt-tokens", default: 64)
        decodeTokens = try CommonOptions.tokenCount(arguments, "decode-tokens", default: 64)
        repetitions = try CommonOptions.repetitionCount(arguments, default: 3)
        json = arguments.flag("json")
    }

    func run() throws {
        try InputFiles.checkModelExists(modelPath)
        let model = try loadLanguageModel(path: modelPath, threads: threads)
        // Refused rather than shortened, so the numbers printed are for the lengths asked for.
        if promptTokens + decodeTokens > model.config.contextLength {
            throw CLIError.inputTooLong(what: "benchmark's --prompt-tokens plus --decode-tokens",
                                        tokens: promptTokens + decodeTokens, contextLength: model.config.contextLength)
        }
        // The largest row's KV cache must fit in memory: it is mapped as a bound, so too large a
        // one would be found only by the out-of-memory killer.
        let cacheBytes = (sequenceCounts.max() ?? 1) * (promptTokens + decodeTokens + 16)
            * KVLayout(config: model.config, blockTokens: 16).bytesPerToken
        if let memory = Engine.memoryBelow(kvBudget: cacheBytes) {
            throw EngineError.badOption("""
              \(sequenceCounts.max() ?? 1) sequences of \(promptTokens + decodeTokens) tokens need \(formatBytes(cacheBytes)) \
              of KV cache, more than this machine's \(formatBytes(memory)) of memory — give fewer --sequences or \
              fewer --prompt-tokens/--decode-tokens
              """)
        }
        let result = try BatchBenchmark.run(model: model, sequenceCounts: sequenceCounts, promptTokens: promptTokens,
                                            decodeTokens: decodeTokens, repetitions: repetitions) { sequences in
            StandardStreams.error("\(sequences) sequences done\n")
        }
        if json {
            let object = JSONValue.object([
                ("model", .string(modelPath)),
                ("threads", .int(model.pool.threads)),
                ("prompt_tokens", .int(result.promptTokens)),
                ("decode_tokens", .int(result.decodeTokens)),
                ("repetitions", .int(repetitions)),
                ("rows", .array(result.rows.map { row in
                    .object([
                        ("sequences", .int(row.sequences)),
                        ("tokens_per_s", .double(row.tokensPerSecond)),
                        ("samples", .array(row.samples.map(JSONValue.double))),
                    ])
                })),
                ("prefix_tokens_total", .int(result.prefixTokensTotal)),
                ("prefix_tokens_reused", .int(result.prefixTokensReused)),
                ("prefix_tokens_from_cache", .int(result.prefixTokensFromCache)),
                ("prefix_tokens_from_forks", .int(result.prefixTokensFromForks)),
            ])
            StandardStreams.output(object.serialized() + "\n")
        } else {
            var out = "model      \(modelPath) (\(model.pool.threads) threads, median of \(repetitions))\n"
            out += "decode     prompt \(result.promptTokens) tokens, \(result.decodeTokens) decoded per sequence\n"
            out += "sequences   tokens/s   per sequence   samples\n"
            for row in result.rows {
                let samples = row.samples.map { String(format: "%.1f", $0) }.joined(separator: ", ")
                out += String(format: "%9d %10.1f %14.1f", row.sequences, row.tokensPerSecond,
                              row.tokensPerSecond / Double(row.sequences))
                out += "   [\(samples)]\n"
            }
            let total = result.prefixTokensTotal, reused = result.prefixTokensReused
            out += "prefix     tree level (5 × 8 × 3 prompts): \(reused) of \(total) prompt tokens reused"
            out += String(format: " (%.1f %%)", total > 0 ? 100 * Double(reused) / Double(total) : 0)
            out += ": \(result.prefixTokensFromCache) from cached blocks, \(result.prefixTokensFromForks) from forks\n"
            StandardStreams.output(out)
        }
    }
}
