/// Renders a command's help from its configuration: overview, usage, arguments, options with
/// their defaults, and examples — enough to use the command without reading the README.
enum HelpFormatter {
    /// The name the tool is invoked by, in every usage line and message.
    static let toolName = "seedflow"
    static let helpOption = OptionSpec("help", short: "h", help: "Show this help.")

    static func usageLine(_ configuration: CommandConfiguration, path: [String]) -> String {
        let command = ([toolName] + path).joined(separator: " ")
        if let usage = configuration.usage { return "\(command) \(usage)" }
        var parts = [command]
        if !configuration.options.isEmpty { parts.append("[options]") }
        for positional in configuration.positionals {
            parts.append(positional.isOptional ? "[\(positional.name)]" : positional.name)
        }
        return parts.joined(separator: " ")
    }

    static func help(_ configuration: CommandConfiguration, path: [String],
                     subcommands: [CommandConfiguration] = []) -> String {
        var out = "OVERVIEW: \(configuration.abstract)\n\n"
        out += "USAGE: \(usageLine(configuration, path: path))\n"
        if !configuration.discussion.isEmpty {
            // Paragraphs are separated by a blank line and wrapped each on its own.
            let paragraphs = configuration.discussion.split(separator: "\n\n" as String)
                .map { wrap(String($0), width: 100).joined(separator: "\n") }
            out += "\n" + paragraphs.joined(separator: "\n\n") + "\n"
        }
        if !configuration.positionals.isEmpty {
            out += "\nARGUMENTS:\n"
            out += table(configuration.positionals.map { ($0.name, $0.help) })
        }
        let options = configuration.options + [helpOption]
        out += "\nOPTIONS:\n"
        out += table(options.map { option in
            var text = option.help
            if let d = option.defaultValue { text += " (default: \(d))" }
            if case .repeated = option.kind { text += " May be repeated." }
            return (option.synopsis, text)
        })
        if !subcommands.isEmpty {
            out += "\nSUBCOMMANDS:\n"
            out += table(subcommands.map { ($0.name, $0.abstract) })
            out += "\n  See '\(toolName) \((path + ["<subcommand>"]).joined(separator: " ")) --help' for details.\n"
        }
        if !configuration.examples.isEmpty {
            out += "\nEXAMPLES:\n"
            for example in configuration.examples { out += "  \(example)\n" }
        }
        return out
    }

    /// Two columns, the second aligned and wrapped under itself.
    static func table(_ rows: [(String, String)]) -> String {
        let width = min(30, (rows.map(\.0.count).max() ?? 0) + 2)
        var out = ""
        for (left, right) in rows {
            let indent = String(repeating: " ", count: width + 2)
            let lines = wrap(right, width: max(30, 100 - width - 2))
            if left.count + 2 > width {
                out += "  \(left)\n"
                for line in lines { out += "\(indent)\(line)\n" }
            } else {
                let pad = String(repeating: " ", count: width - left.count)
                out += "  \(left)\(pad)\(lines.first ?? "")\n"
                for line in lines.dropFirst() { out += "\(indent)\(line)\n" }
            }
        }
        return out
    }

    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if !current.isEmpty && current.count + 1 + word.count > width {
                lines.append(current)
                current = ""
            }
            current += current.isEmpty ? String(word) : " \(word)"
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}
