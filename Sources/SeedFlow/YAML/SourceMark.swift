/// Where a piece of workflow text came from, so every diagnostic can point at it.
public struct SourceMark: Sendable, Hashable, CustomStringConvertible {
    public enum Origin: Sendable, Hashable {
        /// A file on disk, as its path was given (not made absolute: messages stay readable).
        case file(String)
        /// A `--set key.path=value` argument; the text is the whole argument.
        case override(String)
    }

    public var origin: Origin
    /// 1-based; 0 when the origin has no lines (an override argument).
    public var line: Int
    /// 1-based, counted in Unicode scalars as libyaml counts them.
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.origin = .file(file)
        self.line = line
        self.column = column
    }

    public init(override argument: String) {
        self.origin = .override(argument)
        self.line = 0
        self.column = 0
    }

    /// `file:line:col`, or `--set a.b=c` for an override.
    public var description: String {
        switch origin {
        case let .file(path): return "\(path):\(line):\(column)"
        case let .override(argument): return "--set \(argument)"
        }
    }

    /// Whether the text came from the command line rather than a file.
    public var isOverride: Bool {
        if case .override = origin { return true }
        return false
    }
}
