import Foundation
import SeedModel

/// A prompt: literal text with `{{name}}` or `{{a.b}}` variables. The text is kept byte for byte —
/// no trimming, no newline conversion — because the demo models were trained on exact formats and a
/// missing trailing newline changes what they generate. Whitespace just inside the braces is allowed
/// (`{{ state }}`). There is no escape: a literal `{{` cannot appear in a template.
public struct PromptTemplate: Sendable, Equatable {
    public enum Segment: Sendable, Equatable {
        case text(String)
        case variable(String)
    }

    /// A variable use and where it is, for "undefined variable" diagnostics.
    public struct Variable: Sendable, Equatable {
        public var name: String
        public var mark: SourceMark
    }

    public let segments: [Segment]
    /// Every use in order of appearance (a name may repeat).
    public let variables: [Variable]
    /// The file the template was read from, nil for inline templates (such as `parse.state`).
    public let path: String?

    /// The distinct variable names used.
    public var variableNames: Set<String> { Set(variables.map(\.name)) }

    /// Parses template text. `origin` is the mark of the text's first character: for a file, line 1
    /// column 1 of that file; for an inline YAML string, where its text starts (positions inside a
    /// quoted YAML string are then approximate, since escapes shift columns). `indent`: columns
    /// every later line was indented by in the file and lost in the text (a YAML block scalar's).
    /// `fixedMark`: every position is `origin` (where the text's own place is not known).
    public init(text: String, origin: SourceMark, indent: Int = 0, fixedMark: Bool = false,
                path: String? = nil) throws(PromptTemplateError) {
        var segments: [Segment] = []
        var variables: [Variable] = []
        var literal = ""
        var line = origin.line, column = origin.column
        let scalars = Array(text.unicodeScalars)
        var i = 0

        func mark(line: Int, column: Int) -> SourceMark {
            var m = origin
            if !m.isOverride && !fixedMark { m.line = line; m.column = column }
            return m
        }

        while i < scalars.count {
            if scalars[i] == "{", i + 1 < scalars.count, scalars[i + 1] == "{" {
                let start = mark(line: line, column: column)
                var j = i + 2
                var closed = false
                var inner = String.UnicodeScalarView()
                while j < scalars.count {
                    if scalars[j] == "}", j + 1 < scalars.count, scalars[j + 1] == "}" { closed = true; break }
                    if scalars[j] == "\n" || (scalars[j] == "{" && j + 1 < scalars.count && scalars[j + 1] == "{") {
                        break  // a variable never spans lines or holds another {{: report the opening one
                    }
                    inner.append(scalars[j])
                    j += 1
                }
                guard closed else { throw .unclosed(start) }
                let name = String(inner).trimmingCharacters(in: .whitespaces)
                guard Self.isValidName(name) else { throw .invalidName(start, name: name) }
                if !literal.isEmpty { segments.append(.text(literal)); literal = "" }
                segments.append(.variable(name))
                variables.append(Variable(name: name, mark: start))
                column += j + 2 - i
                i = j + 2
                continue
            }
            literal.unicodeScalars.append(scalars[i])
            if scalars[i] == "\n" { line += 1; column = 1 + indent } else { column += 1 }
            i += 1
        }
        if !literal.isEmpty { segments.append(.text(literal)) }
        self.segments = segments
        self.variables = variables
        self.path = path
    }

    /// Reads a template file. The bytes must be UTF-8; they are not altered.
    /// Reads a prompt file. A UTF-8 byte-order mark, which some editors write first, is not part
    /// of the prompt (the model would see it as text); an empty file is refused.
    public init(contentsOfFile path: String) throws(PromptTemplateError) {
        if PathKind(path) == .directory { throw .unreadable(path: path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(path: path)
        }
        guard let text = UTF8Text.decode(UTF8Text.droppingByteOrderMark(data)) else { throw .notUTF8(path: path) }
        if text.allSatisfy(\.isWhitespace) { throw .empty(path: path) }
        try self.init(text: text, origin: SourceMark(file: path, line: 1, column: 1), path: path)
    }

    /// The text with every variable replaced. A variable without a value is an error, never an
    /// empty string: a silently blank prompt would run and give plausible nonsense.
    public func render(_ values: [String: String]) throws(PromptTemplateError) -> String {
        var out = ""
        for segment in segments {
            switch segment {
            case let .text(t): out += t
            case let .variable(name):
                guard let value = values[name] else {
                    throw .missingValue(name: name, template: path ?? "inline template")
                }
                out += value
            }
        }
        return out
    }

    /// `name` or dotted `a.b`, each part an identifier.
    static func isValidName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return !name.isEmpty && parts.allSatisfy { part in
            guard let first = part.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else {
                return false
            }
            return part.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
        }
    }
}

public enum PromptTemplateError: Error, Equatable, Sendable, LocalizedError, CustomStringConvertible {
    case unreadable(path: String)
    case notUTF8(path: String)
    case empty(path: String)
    case unclosed(SourceMark)
    case invalidName(SourceMark, name: String)
    case missingValue(name: String, template: String)

    public var mark: SourceMark? {
        switch self {
        case let .unclosed(m), let .invalidName(m, _): return m
        case let .empty(path), let .notUTF8(path): return SourceMark(file: path, line: 1, column: 1)
        default: return nil
        }
    }

    public var message: String {
        switch self {
        case let .unreadable(path): return "cannot read prompt file \(path)"
        case .notUTF8: return "the prompt file is not UTF-8 text — save it as UTF-8"
        case .empty: return "the prompt file is empty — write the prompt in it"
        case .unclosed: return "'{{' is not closed by '}}' on the same line — close it, e.g. {{state}}"
        case let .invalidName(_, name):
            return "'{{\(name)}}' is not a variable name — use letters, digits and _ (dotted like {{parent.state}})"
        case let .missingValue(name, template): return "no value for {{\(name)}} in \(template)"
        }
    }

    public var description: String { mark.map { "\($0): \(message)" } ?? message }
    public var errorDescription: String? { description }
}

