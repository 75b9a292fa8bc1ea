import Foundation

/// Finds the command a command line names, handles help and version requests, parses, runs, and
/// turns every failure into a message on stderr and an exit status. Nothing here writes to stdout
/// except help and version text, so a failed command leaves stdout empty.
struct CommandDispatcher {
    let abstract: String
    let version: String
    let commands: [CommandEntry]

    /// Runs the command line and returns the process exit status.
    func run(_ arguments: [String]) -> Int32 {
        let toolName = HelpFormatter.toolName
        do {
            try dispatch(arguments)
            return 0
        } catch let error as UsageError {
            var message = "\(toolName): \(error.message)\n"
            if let (configuration, path) = resolve(path: error.commandPath) {
                message += "Usage: \(HelpFormatter.usageLine(configuration, path: path))\n"
                message += "See '\(([toolName] + path).joined(separator: " ")) --help'.\n"
            } else {
                message += "Usage: \(rootUsage)\nSee '\(toolName) --help'.\n"
            }
            StandardStreams.error(message)
            return 2
        } catch {
            StandardStreams.error("\(toolName): \(Self.message(for: error))\n")
            return CLIError.exitStatus(for: error)
        }
    }

    static func message(for error: any Error) -> String {
        // The library's errors are LocalizedError with messages that say what to do next.
        (error as? any LocalizedError)?.errorDescription ?? String(describing: error)
    }

    private var rootUsage: String { "\(HelpFormatter.toolName) <command> [options]" }

    private func dispatch(_ arguments: [String]) throws {
        guard let first = arguments.first else {
            throw UsageError("missing command")
        }
        switch first {
        case "-h", "--help":
            StandardStreams.output(rootHelp)
            return
        case "--version":
            StandardStreams.output("\(HelpFormatter.toolName) \(version)\n")
            return
        case "help":
            try printHelp(for: Array(arguments.dropFirst()))
            return
        default:
            break
        }
        var command = try find(first, among: commands, path: [])
        var path = [command.name]
        var rest = Array(arguments.dropFirst())
        while !command.subcommands.isEmpty {
            guard let next = rest.first else {
                let names = command.subcommands.map(\.name).joined(separator: ", ")
                throw UsageError("missing subcommand (one of: \(names))", commandPath: path)
            }
            if Self.isHelpRequest(next) {
                StandardStreams.output(help(for: command, path: path))
                return
            }
            command = try find(next, among: command.subcommands, path: path)
            path.append(command.name)
            rest.removeFirst()
        }
        // Help wins over everything else on the line, so `generate -n x --help` still shows help.
        let beforeTerminator = rest.prefix { $0 != "--" }
        if beforeTerminator.contains(where: Self.isHelpRequest) {
            StandardStreams.output(help(for: command, path: path))
            return
        }
        let parsed = try ArgumentParser(configuration: command.configuration, commandPath: path).parse(rest)
        try command.parseAndRun(parsed)
    }

    private static func isHelpRequest(_ argument: String) -> Bool {
        argument == "-h" || argument == "--help"
    }

    private func find(_ name: String, among candidates: [CommandEntry], path: [String]) throws -> CommandEntry {
        if let match = candidates.first(where: { $0.name == name }) { return match }
        let names = candidates.map(\.name)
        let what = path.isEmpty ? "command" : "subcommand of '\(path.joined(separator: " "))'"
        var message = name.hasPrefix("-") ? "unknown option '\(name)'" : "unknown \(what) '\(name)'"
        if let guess = Suggestion.closest(to: name, among: names) {
            message += "; did you mean '\(guess)'?"
        }
        throw UsageError(message, commandPath: path)
    }

    /// `seedflow help`, `seedflow help generate`, `seedflow help bench model`.
    private func printHelp(for names: [String]) throws {
        guard let first = names.first else {
            StandardStreams.output(rootHelp)
            return
        }
        var command = try find(first, among: commands, path: [])
        var path = [command.name]
        for name in names.dropFirst() {
            command = try find(name, among: command.subcommands, path: path)
            path.append(command.name)
        }
        StandardStreams.output(help(for: command, path: path))
    }

    private func help(for command: CommandEntry, path: [String]) -> String {
        HelpFormatter.help(command.configuration, path: path,
                           subcommands: command.subcommands.map(\.configuration))
    }

    /// The configuration of a command path, for printing its usage line after an error.
    private func resolve(path: [String]) -> (CommandConfiguration, [String])? {
        guard !path.isEmpty else { return nil }
        var candidates = commands
        var found: (CommandEntry)?
        for name in path {
            guard let match = candidates.first(where: { $0.name == name }) else { return nil }
            found = match
            candidates = match.subcommands
        }
        return found.map { ($0.configuration, path) }
    }

    var rootHelp: String {
        var out = "OVERVIEW: \(abstract)\n\n"
        out += "USAGE: \(rootUsage)\n\n"
        out += "COMMANDS:\n"
        out += HelpFormatter.table(commands.map { ($0.name, $0.configuration.abstract) }
                                   + [("help <command>", "Show the help of a command.")])
        out += "\nOPTIONS:\n"
        out += HelpFormatter.table([("-h, --help", "Show this help."),
                                    ("--version", "Show the version.")])
        out += "\n  See 'seedflow help <command>' or 'seedflow <command> --help' for a command's options.\n"
        out += "\nEXAMPLES:\n"
        out += "  seedflow inspect models/seedflow-demo-target.gguf\n"
        out += "  seedflow generate -m models/seedflow-demo-target.gguf -f prompts/demo/propose.txt --temp 0\n"
        return out
    }
}
