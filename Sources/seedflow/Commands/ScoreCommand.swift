import Foundation
import SeedEngine
import SeedModel

/// `seedflow score`: how likely a model finds a text, token by token — the quick check that a
/// model loads correctly and that a prompt is in the format it was trained on.
struct ScoreCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "score",
            abstract: "Show the log-probability of every token of a text given the ones before it, and the perplexity.",
            discussion: """
              BOS is added when the model asks for it and is not scored; the first token is scored \
              given BOS (without BOS it has no context and is not scored). Log-probabilities are \
              natural logarithms; perplexity = exp(-mean log-probability). The text is taken exactly \
              as given (no escape processing), or byte for byte from -f FILE.
              """,
            usage: "-m MODEL.gguf (--text TEXT | -f FILE) [--json] [--threads N]",
            options: [
                CommonOptions.model,
                OptionSpec("text", .value(placeholder: "text"), help: "The text to score, as given."),
                CommonOptions.file,
                CommonOptions.threads,
                OptionSpec("json", help: """
                  Print one JSON object: {"tokens": [{"id", "piece", "logprob"}, ...], "perplexity"}.
                  """),
            ],
            examples: [
                "seedflow score -m models/seedflow-demo-target.gguf --text $'Evaluate: 4 4 10\\n10 - 4 = 6, 6 * 4 = 24\\nsure'",
                "seedflow score -m models/seedflow-demo-draft-s.gguf -f prompts/demo/propose.txt --json",
            ])
    }

    let modelPath: String
    let source: TextSource
    let threads: Int
    let json: Bool

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        modelPath = try CommonOptions.modelPath(arguments)
        source = try TextSource.from(arguments, inline: arguments.string("text"), inlineName: "--text TEXT")
        threads = try CommonOptions.threadCount(arguments)
        json = arguments.flag("json")
    }

    func run() throws {
        try InputFiles.checkModelExists(modelPath)
        let text = try source.read()
        let model = try loadLanguageModel(path: modelPath, threads: threads)
        let tokenizer = model.tokenizer
        let tokens = tokenizer.encode(text, addBOS: tokenizer.addsBOS, parseSpecial: false)
        guard tokens.count >= 2 else { throw CLIError.nothingToScore(tokens: tokens.count) }
        guard tokens.count <= model.config.contextLength else {
            throw CLIError.inputTooLong(what: "text", tokens: tokens.count, contextLength: model.config.contextLength)
        }
        let logprobs = try TextGenerator(model: model).score(tokens: tokens)
        let scored = Array(zip(tokens.dropFirst(), logprobs))
        let mean = scored.reduce(0.0) { $0 + Double($1.1) } / Double(scored.count)
        let perplexity = exp(-mean)

        if json {
            let object = JSONValue.object([
                ("tokens", .array(scored.map { id, logprob in
                    .object([("id", .int(id)), ("piece", .string(tokenizer.piece(id))), ("logprob", .float(logprob))])
                })),
                ("perplexity", .double(perplexity)),
            ])
            StandardStreams.output(object.serialized() + "\n")
        } else {
            var out = "   pos     id    logprob  piece\n"
            for (position, (id, logprob)) in scored.enumerated() {
                out += String(format: "%6d %6d %10.4f  ", position + 1, id, logprob)
                out += Formatting.quoted(tokenizer.piece(id)) + "\n"
            }
            out += String(format: "%d tokens scored, mean log-probability %.4f, perplexity %.4f\n",
                          scored.count, mean, perplexity)
            StandardStreams.output(out)
        }
    }
}
