/// One named option of a command, as declared by the command and shown in its help.
struct OptionSpec: Sendable {
    enum Kind: Sendable {
        /// Present or absent, takes no value (`--json`).
        case flag
        /// Takes one value; given twice, the last one wins (`-n 64`).
        case value(placeholder: String)
        /// Takes one value and may be given any number of times (`--stop A --stop B`).
        case repeated(placeholder: String)
    }

    /// The long name without dashes (`max-tokens`); also the key the command reads it by.
    let name: String
    let short: Character?
    let kind: Kind
    let help: String
    /// Shown as "(default: …)" in the help; nil when the option has no default.
    let defaultValue: String?

    init(_ name: String, short: Character? = nil, _ kind: Kind = .flag, help: String, default defaultValue: String? = nil) {
        self.name = name
        self.short = short
        self.kind = kind
        self.help = help
        self.defaultValue = defaultValue
    }

    var takesValue: Bool {
        if case .flag = kind { return false }
        return true
    }

    var placeholder: String? {
        switch kind {
        case .flag: nil
        case let .value(p), let .repeated(p): p
        }
    }

    /// How the option is written in messages: the long form, which is unambiguous.
    var displayName: String { "--\(name)" }

    /// How the option is listed in help: `-n, --max-tokens <n>`.
    var synopsis: String {
        var s = short.map { "-\($0), " } ?? "    "
        s += "--\(name)"
        if let p = placeholder { s += " <\(p)>" }
        return s
    }
}

/// A positional argument of a command.
struct PositionalSpec: Sendable {
    let name: String
    let help: String
    let isOptional: Bool

    init(_ name: String, help: String, optional: Bool = false) {
        self.name = name
        self.help = help
        self.isOptional = optional
    }
}
