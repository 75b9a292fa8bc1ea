import SeedEngine

/// The options and positionals of one command line, with typed accessors that turn a bad value
/// into a `UsageError` naming the option, the value and what was expected.
struct ParsedArguments {
    private let values: [String: [String]]
    let positionals: [String]
    let configuration: CommandConfiguration
    let commandPath: [String]

    init(values: [String: [String]], positionals: [String], configuration: CommandConfiguration, commandPath: [String]) {
        self.values = values
        self.positionals = positionals
        self.configuration = configuration
        self.commandPath = commandPath
    }

    func error(_ message: String) -> UsageError {
        UsageError(message, commandPath: commandPath)
    }

    /// `-n/--max-tokens`: both forms, since the user may have typed either.
    private func spelling(_ name: String) -> String {
        guard let short = configuration.option(named: name)?.short else { return "--\(name)" }
        return "-\(short)/--\(name)"
    }

    func flag(_ name: String) -> Bool {
        values[name] != nil
    }

    /// The last value given for an option (a later `-n` overrides an earlier one, as in most tools).
    func string(_ name: String) -> String? {
        values[name]?.last
    }

    func strings(_ name: String) -> [String] {
        values[name] ?? []
    }

    func int(_ name: String, default defaultValue: Int, in range: ClosedRange<Int>, expected: String) throws -> Int {
        guard let text = string(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw error("option '\(spelling(name))' expects \(expected), got '\(text)'")
        }
        return value
    }

    func float(_ name: String, default defaultValue: Float, valid: (Float) -> Bool, expected: String) throws -> Float {
        guard let text = string(name) else { return defaultValue }
        guard let value = Float(text), value.isFinite, valid(value) else {
            throw error("option '\(spelling(name))' expects \(expected), got '\(text)'")
        }
        return value
    }

    func uint64(_ name: String) throws -> UInt64? {
        guard let text = string(name) else { return nil }
        guard let value = UInt64(text) else {
            throw error("option '\(spelling(name))' expects a non-negative integer, got '\(text)'")
        }
        return value
    }

    /// A comma-separated list of integers (`1,4,16`), each in `range`.
    func ints(_ name: String, default defaultValue: [Int], in range: ClosedRange<Int>, expected: String) throws -> [Int] {
        guard let text = string(name) else { return defaultValue }
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard !values.isEmpty, values.allSatisfy({ $0.map(range.contains) ?? false }) else {
            throw error("option '\(spelling(name))' expects \(expected), got '\(text)'")
        }
        return values.map { $0! }
    }

    /// A size in bytes, read as `parseByteSize` reads it (`512MiB`, `2GB`); nil when absent.
    func byteSize(_ name: String) throws -> Int? {
        guard let text = string(name) else { return nil }
        if let bytes = parseByteSize(text) { return bytes }
        throw error("option '\(spelling(name))' expects a size (e.g. 512MiB): \(byteSizeUnits); got '\(text)'")
    }

    /// The positionals as the configuration declares them; extra or missing ones are usage errors.
    func checkPositionalCount() throws {
        let required = configuration.positionals.filter { !$0.isOptional }.count
        let allowed = configuration.positionals.count
        if positionals.count > allowed {
            let extra = positionals[allowed]
            throw error(allowed == 0 ? "unexpected argument '\(extra)'"
                                     : "unexpected extra argument '\(extra)'")
        }
        if positionals.count < required {
            let missing = configuration.positionals[positionals.count]
            throw error("missing \(missing.name)")
        }
    }

    func positional(_ index: Int) -> String? {
        index < positionals.count ? positionals[index] : nil
    }
}
