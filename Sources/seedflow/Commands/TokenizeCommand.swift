import SeedModel

/// `seedflow tokenize`: how a model's tokenizer splits a text — the first thing to check when a
/// prompt behaves oddly. Needs only the vocabulary, so vocabulary-only GGUF files work.
struct TokenizeCommand: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "tokenize",
            abstract: "Show the token ids and pieces a model's tokenizer makes of a text.",
            discussion: """
              The text is taken exactly as given: no escape processing, so write a newline with the \
              shell ($'...\\n') or put the text in a file. No BOS token is added unless --bos is given. \
              Control-token text such as '</s>' is split like any other text unless --special is given \
              (tokens the vocabulary marks as user-defined are always matched whole, as llama.cpp does). \
              Pieces are printed as the vocabulary stores them (byte-level BPE shows a space as 'Ġ' \
              and a newline as 'Ċ').
              """,
            usage: "-m MODEL.gguf (TEXT | -f FILE) [--json] [--bos] [--special]",
            options: [
                CommonOptions.model,
                CommonOptions.file,
                OptionSpec("bos", help: "Add the BOS token first, as generation does when the model asks for it."),
                OptionSpec("special", help: "Parse control-token text (e.g. '</s>') into control tokens."),
                CommonOptions.json,
            ],
            positionals: [PositionalSpec("TEXT", help: "The text to tokenize (or use -f).", optional: true)],
            examples: [
                "seedflow tokenize -m models/seedflow-demo-target.gguf $'Propose steps for: 4 5 6 10\\n'",
                "seedflow tokenize -m models/seedflow-demo-target.gguf -f prompts/demo/propose.txt --json",
            ])
    }

    let modelPath: String
    let source: TextSource
    let addBOS: Bool
    let parseSpecial: Bool
    let json: Bool

    init(_ arguments: ParsedArguments) throws {
        try arguments.checkPositionalCount()
        modelPath = try CommonOptions.modelPath(arguments)
        source = try TextSource.from(arguments, inline: arguments.positional(0), inlineName: "TEXT")
        addBOS = arguments.flag("bos")
        parseSpecial = arguments.flag("special")
        json = arguments.flag("json")
    }

    func run() throws {
        try InputFiles.checkModelExists(modelPath)
        let text = try source.read()
        let tokenizer = try loadTokenizer(from: GGUFFile(path: modelPath))
        let ids = tokenizer.encode(text, addBOS: addBOS, parseSpecial: parseSpecial)
        let pieces = ids.map(tokenizer.piece)
        if json {
            let object = JSONValue.object([
                ("ids", .array(ids.map(JSONValue.int))),
                ("pieces", .array(pieces.map(JSONValue.string))),
            ])
            StandardStreams.output(object.serialized() + "\n")
        } else {
            let width = String(tokenizer.vocabularySize).count
            var out = ""
            for (id, piece) in zip(ids, pieces) {
                out += String(repeating: " ", count: max(0, width - String(id).count))
                out += "\(id)  \(Formatting.quoted(piece))\n"
            }
            out += "\(ids.count) token\(ids.count == 1 ? "" : "s")\n"
            StandardStreams.output(out)
        }
    }
}
