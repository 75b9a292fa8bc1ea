/// A command of the tool, in the style of swift-argument-parser: a small type that declares its
/// configuration, builds itself from parsed arguments (validating every value there, so `run`
/// only ever sees a well-formed request), and runs.
protocol ParsableCommand {
    static var configuration: CommandConfiguration { get }
    /// Commands reached through this one (`bench model`); a command with subcommands is not run itself.
    static var subcommands: [CommandEntry] { get }

    init(_ arguments: ParsedArguments) throws
    func run() throws
}

extension ParsableCommand {
    static var subcommands: [CommandEntry] { [] }

    func run() throws {}

    /// The command as a value the dispatcher can hold in a tree. A value rather than
    /// `any ParsableCommand.Type` because constructing through an existential metatype crashes
    /// the Swift 6.3 SIL generator.
    static var entry: CommandEntry {
        CommandEntry(configuration: configuration, subcommands: subcommands) { arguments in
            try Self(arguments).run()
        }
    }
}

/// A command as the dispatcher sees it: how to describe it, where it leads, how to run it.
struct CommandEntry {
    let configuration: CommandConfiguration
    let subcommands: [CommandEntry]
    let parseAndRun: (ParsedArguments) throws -> Void

    var name: String { configuration.name }
}
