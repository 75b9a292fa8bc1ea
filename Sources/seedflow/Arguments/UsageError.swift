/// A command line that cannot be run as written. Reported with the command's usage line and
/// exit status 2, so scripts can tell a mistyped call from a failed run.
struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
    let message: String
    /// The command path (`generate`, `bench model`) whose usage line to print; empty for the root.
    var commandPath: [String] = []

    init(_ message: String, commandPath: [String] = []) {
        self.message = message
        self.commandPath = commandPath
    }

    var description: String { message }
}
