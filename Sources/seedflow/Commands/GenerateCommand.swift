import Foundation
import SeedEngine
import SeedModel

/// `seedflow generate`: continue a prompt with a model. The completion goes to stdout as it is
/// decoded and nothing else does, so the output can be piped or compared byte for byte; speeds
/// and notes go to stderr. With a draft model or a strategy other than plain autoregressive
/// decoding, the prompt runs as one request through the scheduling engine instead, so that
/// speculative decoding can be tried on one prompt.
struct GenerateCommand: ParsableCommand {
    static let defaultMaxTokens = 128
    /// llama.cpp's defaults, so the two tools sample alike out of the box; `--temp 0` is greedy.
    static let defaultTemperature: Float = 0.8
    static let defaultTopK = 40
    static let defaultTopP: Float = 0.95
    static let defaultDraftTokens = 4

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

              Speculative decoding: with --draft (or --strategy, or --kv-memory) the prompt runs \
              through the scheduling engine. Each round the draft proposes up to --draft-tokens \
              tokens and the target checks them all in one pass, accepting each as speculative \
              sampling does, so that the output follows the target's distribution exactly (greedy \
              output is the target's greedy output, token for token). --draft lookup drafts \
              without a model, copying what followed the last few tokens where they occurred \
              before in the prompt or the output (it pays on text that repeats its prompt). The completion is \
              then printed when it is done rather than streamed, the generation time includes \
              the prompt's, and --json adds the engine's statistics: per draft model tokens drafted \
              and accepted, acceptance and mean accepted length; target passes, tokens per target \
              pass, batch sizes, and seconds spent drafting, verifying and in bookkeeping. \
              Sampled (temperature > 0) output draws from a random stream of its own in the \
              engine, so the same --seed gives different text than the plain path.
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
                OptionSpec("chat", .value(placeholder: "template"), help: """
                  Wrap the prompt as the user turn of a chat: 'auto' takes the template stored in the \
                  model file; or name the family: llama2, llama3, chatml (qwen, smollm), qwen3, mistral, \
                  zephyr, gemma, phi3. \
                  The whole turn is tokenized with control tokens recognised, as llama.cpp does: \
                  text such as </s> in the prompt or --system becomes that token.
                  """),
                OptionSpec("system", .value(placeholder: "text"), help: "A system message for --chat."),
                DraftSpec.option,
                OptionSpec("draft-tokens", .value(placeholder: "k"),
                           help: "Tokens a draft proposes per round, 1 to 32 (with --strategy auto, the most it may choose a round).",
                           default: "\(defaultDraftTokens)"),
                DraftConfidence.option,
                OptionSpec("strategy", .value(placeholder: "name"), help: """
                  How the engine decodes: autoregressive (plain), sequential, speculative (classic \
                  two-model), seed (the draft pool) or auto (the pool, deciding each round from \
                  measured costs whether to draft); all but the first two need --draft.
                  """, default: "seed with --draft, else autoregressive"),
                OptionSpec("kv-memory", .value(placeholder: "size"),
                           help: "KV cache budget of the engine for the target (drafts get theirs in proportion), e.g. 512MiB or 2GiB.",
                           default: "a quarter of memory, at most 256 full contexts"),
                CommonOptions.threads,
                OptionSpec("json", help: """
                  Print one JSON object instead of streaming: text, token_ids (generated ids only), \
                  finish_reason (eos, length or stop), timings, and statistics when the engine ran.
                  """),
            ],
            examples: [
                "seedflow generate -m models/seedflow-demo-target.gguf -f prompts/demo/propose.txt --temp 0",
                "seedflow generate -m models/seedflow-demo-target.gguf -p $'Evaluate: 4 4 10\\n' -n 32 --seed 7",
                "seedflow generate -m models/seedflow-demo-target.gguf -f prompts/demo/propose.txt --stop $'\\n' --json",
                "seedflow generate -m models/seedflow-demo-target.gguf -f prompts/demo/propose.txt --temp 0 --draft models/seedflow-demo-draft-s.gguf --json",
                "seedflow generate -m models/seedflow-demo-target.gguf -f prompts/demo/value.txt --draft models/seedflow-demo-draft-m.gguf --draft-tokens 6 --strategy speculative",
                "seedflow generate -m models/seedflow-demo-target.gguf -f prompts/demo/propose.txt --draft lookup --draft models/seedflow-demo-draft-s.gguf --json",
            ])
    }

    let modelPath: String
    let source: TextSource
    let maxTokens: Int
    let sampling: SamplingParameters
    /// Whether the seed was chosen here rather than given (then it is shown, to make the run repeatable).
    let seedWasRandom: Bool
    let stopStrings: [String]
    let chat: String?
    let system: String?
    let drafts: [DraftSpec]
    let lookup: LookupConfiguration?
    let draftTokens: Int
    let draftConfidence: Float
    let strategy: DecodingStrategy
    let kvMemoryBytes: Int?
    let threads: Int
    let json: Bool

    /// Through the engine when speculating, when a strategy other than plain autoregressive is
    /// asked for, or when the engine's KV budget is set; otherwise the streaming generator.
    var usesEngine: Bool { !drafts.isEmpty || lookup != nil || strategy != .autoregressive || kvMemoryBytes != nil }

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
        chat = arguments.string("chat")
        if let chat, chat != "auto", ChatTemplate.names[chat.lowercased()] == nil {
            throw arguments.error("\(ChatTemplateError.unknownName(chat, known: ["auto"] + ChatTemplate.names.keys.sorted()))")
        }
        system = arguments.string("system")
        if system != nil && chat == nil { throw arguments.error("option '--system' goes with --chat TEMPLATE") }
        drafts = try DraftSpec.all(arguments)
        lookup = try DraftSpec.lookup(arguments)
        draftTokens = try arguments.int("draft-tokens", default: Self.defaultDraftTokens, in: 1...32,
                                        expected: "an integer from 1 to 32")
        draftConfidence = try DraftConfidence.value(arguments)
        switch arguments.string("strategy") {
        case nil: strategy = drafts.isEmpty && lookup == nil ? .autoregressive : .seed
        case let name?: strategy = try CommonOptions.decodingStrategy(name, arguments)
        }
        if strategy.usesDrafts && drafts.isEmpty && lookup == nil {
            throw arguments.error("""
              strategy '\(strategy.rawValue)' needs a draft model: add --draft MODEL \
              (e.g. --draft models/seedflow-demo-draft-s.gguf) or --draft lookup, or use --strategy autoregressive
              """)
        }
        kvMemoryBytes = try arguments.byteSize("kv-memory")
        threads = try CommonOptions.threadCount(arguments)
        json = arguments.flag("json")
    }

    func run() throws {
        // The prompt first: a missing -f file is reported before the models take their time to load.
        let prompt = try source.read()
        let models = try LoadedModels(targetPath: modelPath, drafts: drafts, threads: threads)
        let model = models.target
        let tokenizer = model.tokenizer
        let promptTokens: [Int]
        if let chat {
            // The template's markers (<|im_start|> …) must become the special tokens they stand for.
            let template = try ChatTemplate(named: chat, file: model.file)
            let messages = (system.map { [ChatMessage(role: "system", content: $0)] } ?? [])
                + [ChatMessage(role: "user", content: prompt)]
            promptTokens = tokenizer.encode(template.render(messages: messages, addGenerationPrompt: true),
                                            addBOS: tokenizer.addsBOS, parseSpecial: true)
        } else {
            promptTokens = tokenizer.encode(prompt, addBOS: tokenizer.addsBOS, parseSpecial: false)
        }

        let outcome: Outcome
        let statistics: EngineStatistics?
        if usesEngine {
            (outcome, statistics) = try generateWithEngine(models, promptTokens: promptTokens)
            if !json { StandardStreams.output(outcome.text) }
        } else {
            // An empty prompt or one longer than the context is refused by the generator (GenerationError).
            let options = GenerationOptions(maxTokens: maxTokens, sampling: sampling, stopStrings: stopStrings)
            let result = try TextGenerator(model: model).generate(promptTokens: promptTokens, options: options) { text in
                if !json { StandardStreams.output(text) }
            }
            (outcome, statistics) = (Outcome(result), nil)
        }

        if json {
            StandardStreams.output(Self.json(outcome, statistics: statistics).serialized() + "\n")
        } else if !outcome.text.isEmpty && !outcome.text.hasSuffix("\n") {
            // Where stdout and stderr share a terminal or a log, keep the status lines from running
            // on after the completion; the newline goes to stderr, so stdout stays exact.
            StandardStreams.error("\n")
        }
        StandardStreams.error(statusLines(outcome, statistics: statistics, contextLength: model.config.contextLength))
    }

    /// The prompt as the engine's only request. The prompt is checked here so that both paths
    /// refuse the same prompts with the same messages.
    private func generateWithEngine(_ models: LoadedModels, promptTokens: [Int]) throws -> (Outcome, EngineStatistics) {
        let context = models.target.config.contextLength
        if promptTokens.isEmpty { throw GenerationError.emptyPrompt }
        if promptTokens.count > context { throw GenerationError.promptTooLong(tokens: promptTokens.count, context: context) }
        let configuration = EngineConfiguration(strategy: strategy, draftTokens: draftTokens, kvMemoryBytes: kvMemoryBytes,
                                                draftConfidence: draftConfidence)
        let engine = try Engine(target: models.target, drafts: models.drafts, lookup: lookup, configuration: configuration)
        let request = GenerationRequest(tag: "generate", promptTokens: promptTokens, sampling: sampling,
                                        maxTokens: maxTokens, stopStrings: stopStrings)
        let completion = try engine.generate([request])[0]
        return (Outcome(completion, promptTokenCount: promptTokens.count, maxTokens: maxTokens), engine.statistics)
    }

    /// What either path produced, in the terms the output uses.
    struct Outcome {
        let text: String
        let tokenIDs: [Int]
        let finishReason: FinishReason
        let promptTokenCount: Int
        /// nil in the engine, which processes the prompt in its first target pass with the rest.
        let promptSeconds: Double?
        let generationSeconds: Double
        let reachedContextLimit: Bool

        init(_ result: GenerationResult) {
            text = result.text
            tokenIDs = result.tokenIDs
            finishReason = result.finishReason
            promptTokenCount = result.promptTokenCount
            promptSeconds = result.promptSeconds
            generationSeconds = result.generationSeconds
            reachedContextLimit = result.reachedContextLimit
        }

        init(_ completion: Completion, promptTokenCount: Int, maxTokens: Int) {
            text = completion.text
            tokenIDs = completion.tokenIDs
            finishReason = completion.finishReason
            self.promptTokenCount = promptTokenCount
            promptSeconds = nil
            generationSeconds = completion.statistics.seconds
            reachedContextLimit = completion.finishReason == .length && completion.tokenIDs.count < maxTokens
        }
    }

    static func json(_ outcome: Outcome, statistics: EngineStatistics?) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("text", .string(outcome.text)),
            ("token_ids", .array(outcome.tokenIDs.map(JSONValue.int))),
            ("finish_reason", .string(outcome.finishReason.rawValue)),
            ("timings", .object([
                ("prompt_tokens", .int(outcome.promptTokenCount)),
                ("prompt_seconds", outcome.promptSeconds.map(JSONValue.double) ?? .null),
                ("prompt_tokens_per_s", outcome.promptSeconds.map {
                    .double(Formatting.rate(outcome.promptTokenCount, seconds: $0))
                } ?? .null),
                ("generated_tokens", .int(outcome.tokenIDs.count)),
                ("generation_seconds", .double(outcome.generationSeconds)),
                ("generation_tokens_per_s",
                 .double(Formatting.rate(outcome.tokenIDs.count, seconds: outcome.generationSeconds))),
            ])),
        ]
        if let statistics { members.append(("statistics", json(statistics))) }
        return .object(members)
    }

    /// The engine's statistics; a draft model that drafted nothing has no acceptance (null).
    static func json(_ s: EngineStatistics) -> JSONValue {
        .object([
            ("drafts", .array(s.drafts.map { d in
                .object([
                    ("name", .string(d.name)),
                    ("drafted", .int(d.draftedTokens)),
                    ("accepted", .int(d.acceptedTokens)),
                    ("acceptance", d.draftedTokens > 0 ? .double(d.acceptanceRate) : .null),
                    ("mean_accepted_length", d.verifications > 0 ? .double(d.meanAcceptedLength) : .null),
                ])
            })),
            ("mean_draft_tokens", .double(s.meanDraftTokens)),
            ("target_passes", .int(s.targetPasses)),
            ("tokens_per_target_pass", .double(s.tokensPerTargetPass)),
            ("mean_batch_size", .double(s.meanBatchSize)),
            ("max_batch_size", .int(s.maxBatchSize)),
            ("draft_s", .double(s.draftSeconds)),
            ("verify_s", .double(s.verifySeconds)),
            ("bookkeeping_s", .double(s.bookkeepingSeconds)),
        ])
    }

    func statusLines(_ outcome: Outcome, statistics: EngineStatistics?, contextLength: Int) -> String {
        let generationRate = Formatting.rate(outcome.tokenIDs.count, seconds: outcome.generationSeconds)
        var out = "prompt: \(outcome.promptTokenCount) tokens"
        if let seconds = outcome.promptSeconds {
            out += ", \(Formatting.rateText(Formatting.rate(outcome.promptTokenCount, seconds: seconds))) tokens/s"
        }
        out += "\ngeneration: \(outcome.tokenIDs.count) tokens, \(Formatting.rateText(generationRate)) tokens/s"
        if outcome.promptSeconds == nil { out += " (prompt included)" }
        out += ", finish: \(outcome.finishReason.rawValue)"
        if !sampling.isGreedy && seedWasRandom { out += ", seed \(sampling.seed)" }
        out += "\n"
        if let statistics {
            out += "engine: \(strategy.rawValue), \(statistics.targetPasses) target passes, "
            out += String(format: "%.2f tokens per pass", statistics.tokensPerTargetPass)
            for d in statistics.drafts where d.draftedTokens > 0 {
                out += "; \(d.name) accepted \(d.acceptedTokens) of \(d.draftedTokens)"
                out += String(format: " (%.1f %%)", 100 * d.acceptanceRate)
            }
            out += "\n"
        }
        if outcome.reachedContextLimit {
            out += "note: stopped at the model's context length (\(contextLength) tokens) before -n \(maxTokens) tokens\n"
        }
        return out
    }
}
