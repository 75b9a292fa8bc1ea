import SeedEngine
import SeedModel

/// `seedflow generate`: continue a prompt with a model. The completion goes to stdout as it is
/// decoded and nothing else does, so the output can be piped or compared byte for byte; speeds
/// and notes go to stderr.
struct GenerateCommand: ParsableCommand {
    static let defaultMaxTokens = 128
    /// llama.cpp's defaults, so the two tools sample alike out of the box; `--temp 0` is greedy.
    static let defaultTemperature: Float = 0.8
    static let defaultTopK = 40
    static let defaultTopP: Float = 0.95

    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "generate",
            abstract: "Continue a prompt with a model; the completion alone goes to stdout.",
            discussion: """
              The prompt is taken exactly as given: -p does no escape processing (write a newline \
              with the shell, $'...\\n'), and -f reads the file byte for byte — the demo prompts end \
              in a newline the models expect. BOS is added when the model asks for it. Generation \
              stops at the end-of-sequence token (reported as 'eos'; its text is not printed, its id \
              is counted), after -n tokens ('length'), at a --stop string ('stop'; the string is not \
              printed), or at the model's context length ('length', with a note on stderr). \
              Prompt and generation speeds go to stderr. --temp 0 picks the most likely token every \
              time (greedy) and ignores --top-k, --top-p and --seed. Without --seed a random seed is \
              used and shown on stderr so that a run can be repeated.
              """,
            usage: "-m MODEL.gguf (-p TEXT | -f FILE) [options]",
            options: [
                CommonOptions.model,
                OptionSpec("prompt", short: "p", .value(placeholder: "text"), help: "The prompt text, as given."),
                CommonOptions.file,
                OptionSpec("max-tokens", short: "n", .value(placeholder: "n"),
                           help: "Most tokens to generate, the end-of-sequence token included.",
                           default: "\(defaultMaxTokens)"),
                OptionSpec("temp", .value(placeholder: "t"), help: "Sampling temperature; 0 is greedy.",
                           default: "\(defaultTemperature)"),
                OptionSpec("top-k", .value(placeholder: "k"), help: "Sample from the k most likely tokens only; 0 keeps all.",
                           default: "\(defaultTopK)"),
                OptionSpec("top-p", .value(placeholder: "p"),
                           help: "Sample from the most likely tokens whose probabilities sum to p; 1 keeps all.",
                           default: "\(defaultTopP)"),
                OptionSpec("seed", .value(placeholder: "n"), help: "Seed of the sampler: the same seed gives the same text.",
                           default: "random"),
                OptionSpec("stop", .repeated(placeholder: "text"), help: "Stop when the completion contains this text."),
                CommonOptions.threads,
                OptionSpec("json", help: """
                  Print one JSON object instead of streaming: text, token_ids (generated ids only), \
                  finish_reason (eos, length or stop) and timings.
                  """),
            ],
            examples: [
                "seedflow generate -m models/seedflow-demo-target.gguf -f prompts/demo/propose.txt --temp 0",
                "seedflow generate -m models/seedflow-demo-target.gguf -p $'Evaluate: 4 4 10\\n' -n 32 --seed 7",
                "seedflow generate -m models/seedflow-demo-target.gguf -f prompts/demo/propose.txt --stop $'\\n' --json",
            ])
    }

    let modelPath: String
    let source: TextSource
    let maxTokens: Int
    let sampling: SamplingParameters
    /// Whether the seed was chosen here rather than given (then it is shown, to make the run repeatable).
    let seedWasRandom: Bool
    let stopStrings: [String]
    let threads: Int
    let json: Bool

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        modelPath = try CommonOptions.modelPath(arguments)
        source = try TextSource.from(arguments, inline: arguments.string("prompt"), inlineName: "-p TEXT")
        maxTokens = try arguments.int("max-tokens", default: Self.defaultMaxTokens, in: 1...Int(Int32.max),
                                      expected: "a positive integer")
        let temperature = try arguments.float("temp", default: Self.defaultTemperature, valid: { $0 >= 0 },
                                              expected: "a number ≥ 0")
        let topK = try arguments.int("top-k", default: Self.defaultTopK, in: 0...Int(Int32.max),
                                     expected: "an integer ≥ 0")
        let topP = try arguments.float("top-p", default: Self.defaultTopP, valid: { $0 > 0 && $0 <= 1 },
                                       expected: "a number in (0, 1]")
        let givenSeed = try arguments.uint64("seed")
        seedWasRandom = givenSeed == nil
        sampling = SamplingParameters(temperature: temperature, topK: topK, topP: topP,
                                      seed: givenSeed ?? UInt64.random(in: 0...UInt64(UInt32.max)))
        stopStrings = arguments.strings("stop")
        if stopStrings.contains("") { throw arguments.error("option '--stop' needs a non-empty text") }
        threads = try CommonOptions.threadCount(arguments)
        json = arguments.flag("json")
    }

    func run() throws {
        try InputFiles.checkModelExists(modelPath)
        let prompt = try source.read()
        let model = try TransformerModel(path: modelPath, threads: threads)
        let tokenizer = model.tokenizer
        // An empty prompt or one longer than the context is refused by the generator (GenerationError).
        let promptTokens = tokenizer.encode(prompt, addBOS: tokenizer.addsBOS, parseSpecial: false)

        var lastText = ""
        let options = GenerationOptions(maxTokens: maxTokens, sampling: sampling, stopStrings: stopStrings)
        let result = try TextGenerator(model: model).generate(promptTokens: promptTokens, options: options) { text in
            guard !json, !text.isEmpty else { return }
            StandardStreams.output(text)
            lastText = text
        }

        if json {
            StandardStreams.output(Self.json(result).serialized() + "\n")
        } else if !lastText.isEmpty && !lastText.hasSuffix("\n") {
            // Where stdout and stderr share a terminal or a log, keep the status lines from running
            // on after the completion; the newline goes to stderr, so stdout stays exact.
            StandardStreams.error("\n")
        }
        StandardStreams.error(statusLines(result, contextLength: model.config.contextLength))
    }

    static func json(_ result: GenerationResult) -> JSONValue {
        .object([
            ("text", .string(result.text)),
            ("token_ids", .array(result.tokenIDs.map(JSONValue.int))),
            ("finish_reason", .string(result.finishReason.rawValue)),
            ("timings", .object([
                ("prompt_tokens", .int(result.promptTokenCount)),
                ("prompt_seconds", .double(result.promptSeconds)),
                ("prompt_tokens_per_s", .double(Formatting.rate(result.promptTokenCount, seconds: result.promptSeconds))),
                ("generated_tokens", .int(result.tokenIDs.count)),
                ("generation_seconds", .double(result.generationSeconds)),
                ("generation_tokens_per_s",
                 .double(Formatting.rate(result.tokenIDs.count, seconds: result.generationSeconds))),
            ])),
        ])
    }

    func statusLines(_ result: GenerationResult, contextLength: Int) -> String {
        let promptRate = Formatting.rate(result.promptTokenCount, seconds: result.promptSeconds)
        let generationRate = Formatting.rate(result.tokenIDs.count, seconds: result.generationSeconds)
        var out = "prompt: \(result.promptTokenCount) tokens, \(Formatting.rateText(promptRate)) tokens/s\n"
        out += "generation: \(result.tokenIDs.count) tokens, \(Formatting.rateText(generationRate)) tokens/s"
        out += ", finish: \(result.finishReason.rawValue)"
        if !sampling.isGreedy && seedWasRandom { out += ", seed \(sampling.seed)" }
        out += "\n"
        if result.reachedContextLimit {
            out += "note: stopped at the model's context length (\(contextLength) tokens) before -n \(maxTokens) tokens\n"
        }
        return out
    }
}
