/// A YAML node with the position it was read from. Only the three YAML kinds exist here;
/// what a scalar means (number, bool, string) is decided by `YAMLScalar.resolved`.
public struct YAMLNode: Sendable {
    public indirect enum Content: Sendable {
        case scalar(YAMLScalar)
        case sequence([YAMLNode])
        case mapping([YAMLMappingEntry])
    }

    public var content: Content
    public var mark: SourceMark

    public init(_ content: Content, mark: SourceMark) {
        self.content = content
        self.mark = mark
    }

    public var scalar: YAMLScalar? {
        if case let .scalar(s) = content { return s }
        return nil
    }

    public var sequence: [YAMLNode]? {
        if case let .sequence(items) = content { return items }
        return nil
    }

    /// Entries in file order.
    public var mapping: [YAMLMappingEntry]? {
        if case let .mapping(entries) = content { return entries }
        return nil
    }

    /// The value for `key` in a mapping node (nil for other kinds or a missing key).
    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key == key }?.value
    }

    /// The same tree with every mark replaced: nodes spliced in from `--set` point at the argument.
    func remarked(_ mark: SourceMark) -> YAMLNode {
        switch content {
        case var .scalar(scalar):
            scalar.contentMark = nil
            return YAMLNode(.scalar(scalar), mark: mark)
        case let .sequence(items):
            return YAMLNode(.sequence(items.map { $0.remarked(mark) }), mark: mark)
        case let .mapping(entries):
            return YAMLNode(.mapping(entries.map {
                YAMLMappingEntry(key: $0.key, keyMark: mark, value: $0.value.remarked(mark))
            }), mark: mark)
        }
    }

    /// How a value is named in messages: `"five"`, `3`, `a list`, `a mapping`, `nothing`.
    var shortDescription: String {
        switch content {
        case let .scalar(s):
            switch s.resolved {
            case .null: return "nothing"
            case let .bool(b): return String(b)
            case .int, .float: return s.value
            case let .string(text):
                let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
                return "\"\(shown)\""
            }
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

/// One `key: value` pair. Keys are scalars; their marks are kept for "unknown key" messages.
public struct YAMLMappingEntry: Sendable {
    public var key: String
    public var keyMark: SourceMark
    public var value: YAMLNode

    public init(key: String, keyMark: SourceMark, value: YAMLNode) {
        self.key = key
        self.keyMark = keyMark
        self.value = value
    }
}

/// A scalar's text together with what decides its type: quoting style and explicit tag.
/// `'42'` and `!!str 42` stay strings; plain `42` is an integer.
public struct YAMLScalar: Sendable, Equatable {
    public enum Style: Sendable, Equatable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    /// The value after YAML 1.2 core-schema resolution.
    public enum Resolved: Sendable, Equatable {
        case null
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
    }

    public var value: String
    public var style: Style
    /// The explicit tag, expanded (`tag:yaml.org,2002:str`), or nil when none was written.
    public var tag: String?
    /// Where the text itself begins, when the loader could tell for sure (see its
    /// `contentMark(of:at:)`): positions inside inline templates count from here. nil where it
    /// could not, and for values spliced in from elsewhere (`--set`, an alias).
    public var contentMark: SourceMark?

    public init(value: String, style: Style = .plain, tag: String? = nil) {
        self.value = value
        self.style = style
        self.tag = tag
    }

    public var resolved: Resolved {
        switch tag {
        case "tag:yaml.org,2002:str": return .string(value)
        case "tag:yaml.org,2002:int": return Self.resolveInt(value).map(Resolved.int) ?? .string(value)
        case "tag:yaml.org,2002:float":
            return Self.resolveFloat(value).map(Resolved.float) ?? .string(value)
        case "tag:yaml.org,2002:bool": return Self.resolveBool(value).map(Resolved.bool) ?? .string(value)
        case "tag:yaml.org,2002:null": return .null
        case nil: break
        default: return .string(value)  // "!" or a local tag: not ours to interpret
        }
        guard style == .plain else { return .string(value) }
        switch value {
        case "", "~", "null", "Null", "NULL": return .null
        default: break
        }
        if let b = Self.resolveBool(value) { return .bool(b) }
        if let i = Self.resolveInt(value) { return .int(i) }
        if let f = Self.resolveFloat(value) { return .float(f) }
        return .string(value)
    }

    private static func resolveBool(_ s: String) -> Bool? {
        switch s {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    private static func resolveInt(_ s: String) -> Int? {
        // Digits only after the prefix: Int(_:radix:) would also take a sign ("0x-3" is text).
        if s.hasPrefix("0x") {
            let digits = s.dropFirst(2)
            return !digits.isEmpty && digits.allSatisfy(\.isHexDigit) ? Int(digits, radix: 16) : nil
        }
        if s.hasPrefix("0o") {
            let digits = s.dropFirst(2)
            return !digits.isEmpty && digits.allSatisfy({ ("0"..."7").contains($0) }) ? Int(digits, radix: 8) : nil
        }
        let digits = s.first == "+" || s.first == "-" ? s.dropFirst() : Substring(s)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(s.first == "+" ? String(digits) : s)
    }

    private static func resolveFloat(_ s: String) -> Double? {
        switch s {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        // Core schema: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
        var rest = Substring(s)
        if rest.first == "+" || rest.first == "-" { rest = rest.dropFirst() }
        let mantissaEnd = rest.firstIndex { $0 == "e" || $0 == "E" } ?? rest.endIndex
        let mantissa = rest[..<mantissaEnd]
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let isDigits = { (p: Substring) in p.allSatisfy { $0.isASCII && $0.isNumber } }
        guard parts.allSatisfy(isDigits), parts.contains(where: { !$0.isEmpty }) else { return nil }
        if mantissaEnd != rest.endIndex {
            var exponent = rest[rest.index(after: mantissaEnd)...]
            if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
            guard !exponent.isEmpty, isDigits(exponent) else { return nil }
        }
        return Double(s)
    }
}
