/// Splits a command's arguments into options and positionals according to its configuration.
///
/// Accepted forms: `--name value`, `--name=value`, `-n value`, `-n64`, flags `--json`, and `--`
/// to end options (so a text that starts with a dash can still be given). A value is taken from
/// the next argument whatever it looks like, so `--temp -1` reaches validation and is refused
/// there with a message about the value rather than "unknown option -1".
struct ArgumentParser {
    let configuration: CommandConfiguration
    let commandPath: [String]

    func parse(_ arguments: [String]) throws -> ParsedArguments {
        var values: [String: [String]] = [:]
        var positionals: [String] = []
        var index = 0
        var optionsEnded = false

        func record(_ option: OptionSpec, _ value: String?) {
            values[option.name, default: []].append(value ?? "")
        }

        func valueAfter(_ option: OptionSpec, spelled: String) throws -> String {
            index += 1
            guard index < arguments.count else {
                throw UsageError("option '\(spelled)' needs a value (\(option.placeholder ?? "value"))",
                                 commandPath: commandPath)
            }
            return arguments[index]
        }

        while index < arguments.count {
            let argument = arguments[index]
            if optionsEnded || argument == "-" || !argument.hasPrefix("-") {
                positionals.append(argument)
            } else if argument == "--" {
                optionsEnded = true
            } else if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name: String
                var inlineValue: String?
                if let equals = body.firstIndex(of: "=") {
                    name = String(body[..<equals])
                    inlineValue = String(body[body.index(after: equals)...])
                } else {
                    name = String(body)
                }
                guard let option = configuration.option(named: name) else {
                    throw unknownOption("--\(name)")
                }
                if option.takesValue {
                    record(option, try inlineValue ?? valueAfter(option, spelled: "--\(name)"))
                } else {
                    guard inlineValue == nil else {
                        throw UsageError("option '--\(name)' takes no value", commandPath: commandPath)
                    }
                    record(option, nil)
                }
            } else {
                // A short option, possibly with its value attached (`-n64`).
                let body = argument.dropFirst()
                // `-temp` is a long option typed with one dash, not `-t emp`.
                if body.count > 1, configuration.option(named: String(body)) != nil {
                    throw unknownOption(argument)
                }
                guard let letter = body.first, let option = configuration.option(short: letter) else {
                    throw unknownOption(argument)
                }
                let rest = body.dropFirst()
                if option.takesValue {
                    record(option, rest.isEmpty ? try valueAfter(option, spelled: "-\(letter)") : String(rest))
                } else {
                    guard rest.isEmpty else { throw unknownOption(argument) }
                    record(option, nil)
                }
            }
            index += 1
        }
        return ParsedArguments(values: values, positionals: positionals,
                               configuration: configuration, commandPath: commandPath)
    }

    private func unknownOption(_ spelled: String) -> UsageError {
        let names = configuration.options.map { "--\($0.name)" } + ["--help"]
        var message = "unknown option '\(spelled)'"
        if let guess = Suggestion.closest(to: spelled.hasPrefix("--") ? spelled : "-\(spelled)", among: names) {
            message += "; did you mean '\(guess)'?"
        }
        return UsageError(message, commandPath: commandPath)
    }
}
