/// What a command declares about itself: its name, what it does, what it accepts, and an example.
/// The parser and the help text are both generated from this one description, so they cannot disagree.
struct CommandConfiguration: Sendable {
    let name: String
    /// One line, shown in the parent's command list and at the top of the help.
    let abstract: String
    /// Paragraphs shown after the usage line.
    let discussion: String
    /// The usage line after `seedflow <name> `, when the generated one would hide a rule
    /// (`(-p TEXT | -f FILE)`).
    let usage: String?
    let options: [OptionSpec]
    let positionals: [PositionalSpec]
    let examples: [String]

    init(name: String, abstract: String, discussion: String = "", usage: String? = nil,
         options: [OptionSpec] = [], positionals: [PositionalSpec] = [], examples: [String] = []) {
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.usage = usage
        self.options = options
        self.positionals = positionals
        self.examples = examples
    }

    func option(named name: String) -> OptionSpec? {
        options.first { $0.name == name }
    }

    func option(short: Character) -> OptionSpec? {
        options.first { $0.short == short }
    }
}
