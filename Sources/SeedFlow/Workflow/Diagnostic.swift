import Foundation
import SeedModel

/// One problem in a workflow: where, what is wrong, and how to fix it.
/// Printed as `file:line:col: what is wrong — how to fix`.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem, so callers and tests can tell them apart without parsing text.
    public enum Kind: String, Sendable, Equatable {
        case yaml            // libyaml syntax error, or a hostile file refused by the loader
        case unknownKey
        case wrongType
        case missingKey
        case outOfRange
        case invalidValue    // an enum value not in its list, a malformed size, a bad override
        case missingFile
        case undefinedVariable
        case template        // a prompt that does not parse (unclosed {{)
        case invalidRegex
        case model           // a model file that does not open, or a draft whose vocabulary differs
        case inputs          // an inputs file that cannot be used
        case conflict        // settings that contradict each other
    }

    public var kind: Kind
    public var mark: SourceMark?
    public var message: String
    /// How to fix it; nil when the message already says.
    public var fix: String?

    public init(_ kind: Kind, at mark: SourceMark?, _ message: String, fix: String? = nil) {
        self.kind = kind
        self.mark = mark
        self.message = message
        self.fix = fix
    }

    public var description: String {
        let location = mark.map { "\($0): " } ?? ""
        return location + message + (fix.map { " — \($0)" } ?? "")
    }
}

/// Every problem found in a workflow, reported together so one edit round fixes them all.
public struct WorkflowDiagnostics: Error, Sendable, Equatable, LocalizedError, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    /// One problem a line, in the order they were found (file order within a section).
    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }

    public var errorDescription: String? { description }
}

extension Diagnostic {
    init(_ error: YAMLError) {
        self.init(.yaml, at: error.mark, error.message)
    }

    init(_ error: PromptTemplateError) {
        switch error {
        case .unreadable:
            self.init(.missingFile, at: nil, error.message)
        case .missingValue:
            self.init(.undefinedVariable, at: nil, error.message)
        default:
            self.init(.template, at: error.mark, error.message)
        }
    }
}

/// Suggestions for misspelt names: the closest candidate within a few edits.
enum Spelling {
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        // A short word is only "close" to a name one edit away: two edits turn "<<" into "n".
        let limit = word.count <= 3 ? 1 : max(2, word.count / 3)
        let scored = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= limit else { return nil }
        return best.0
    }

    static func distance(_ a: String, _ b: String) -> Int { NearestName.editDistance(Array(a), Array(b)) }

    /// ` — did you mean 'x'?` style fix text, or the list of valid names when nothing is close.
    static func fix(for word: String, among candidates: [String], noun: String = "key") -> String {
        if let s = suggestion(for: word, among: candidates) { return "did you mean '\(s)'?" }
        return "valid \(noun)s here: " + candidates.joined(separator: ", ")
    }
}
