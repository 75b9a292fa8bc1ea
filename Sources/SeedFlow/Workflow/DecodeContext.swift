import Foundation
import SeedEngine
import SeedModel

/// Collects diagnostics while the decoder walks the tree, and reads typed values from nodes.
/// Every reader reports a problem and returns nil instead of stopping, so one pass finds them all.
final class DecodeContext {
    private(set) var diagnostics: [Diagnostic] = []
    /// Folder of the workflow file: relative paths in the file start here.
    let workflowDirectory: String
    /// Relative paths given with `--set` start here, as any command-line path does.
    let currentDirectory: String
    /// The workflow file's absolute path.
    let workflowFile: String
    /// JSONL fields some inputs lines have and others lack: the first line without each, so
    /// that a prompt using one is reported at the data, not at the prompt.
    var inputFieldGaps: [String: SourceMark] = [:]
    /// Model files opened for the checks, by path: a target's metadata (its vocabulary) is read
    /// once, whichever checks need it.
    private var modelFiles: [String: Result<GGUFFile, Error>] = [:]

    func modelFile(_ path: String) throws -> GGUFFile {
        if let opened = modelFiles[path] { return try opened.get() }
        let opened = Result { try GGUFFile(path: path) }
        modelFiles[path] = opened
        return try opened.get()
    }

    init(workflowFile: String) {
        currentDirectory = FileManager.default.currentDirectoryPath
        let absolute = workflowFile.hasPrefix("/") ? workflowFile : currentDirectory + "/" + workflowFile
        self.workflowFile = (absolute as NSString).standardizingPath
        workflowDirectory = (self.workflowFile as NSString).deletingLastPathComponent
    }

    func report(_ diagnostic: Diagnostic) { diagnostics.append(diagnostic) }

    func report(_ kind: Diagnostic.Kind, _ mark: SourceMark?, _ message: String, fix: String? = nil) {
        diagnostics.append(Diagnostic(kind, at: mark, message, fix: fix))
    }

    // MARK: scalars

    func string(_ node: YAMLNode, _ key: String) -> String? {
        guard let scalar = node.scalar, scalar.resolved != .null else {
            report(.wrongType, node.mark, "'\(key)' must be text, got \(node.shortDescription)",
                   fix: "write a string, quoted if it has special characters")
            return nil
        }
        return scalar.value
    }

    /// Text that must not be empty.
    func nonEmptyString(_ node: YAMLNode, _ key: String) -> String? {
        guard let s = string(node, key) else { return nil }
        if s.isEmpty {
            report(.invalidValue, node.mark, "'\(key)' must not be empty", fix: "give it a value")
            return nil
        }
        return s
    }

    func int(_ node: YAMLNode, _ key: String, in range: ClosedRange<Int>) -> Int? {
        guard case let .int(value)? = node.scalar?.resolved else {
            let what = range.lowerBound == 1 ? "a positive integer"
                : range.lowerBound == 0 ? "a non-negative integer" : "an integer"
            var fix = range.lowerBound == range.upperBound ? "write \(range.lowerBound)"
                : range.upperBound == Int.max ? "write a whole number of at least \(range.lowerBound)"
                : "write a whole number from \(range.lowerBound) to \(range.upperBound)"
            // A quoted number is text in YAML; a tagged one is what its tag says; a number too
            // big for an integer is none of these.
            if let scalar = node.scalar, Int(scalar.value) != nil {
                if scalar.style != .plain { fix += ", without quotes" } else if scalar.tag != nil { fix += ", without the tag" }
            } else if let text = node.scalar?.value, text.allSatisfy({ $0.isASCII && $0.isNumber }), !text.isEmpty {
                fix = "this number is too large: " + fix
            }
            report(.wrongType, node.mark, "'\(key)' must be \(what), got \(node.shortDescription)", fix: fix)
            return nil
        }
        guard range.contains(value) else {
            report(.outOfRange, node.mark, range.lowerBound == range.upperBound ? "'\(key)' must be \(range.lowerBound), got \(value)"
                       : "'\(key)' must be from \(range.lowerBound) to \(range.upperBound), got \(value)",
                   fix: range.lowerBound == range.upperBound ? "this seedflow reads only \(range.lowerBound)" : "use a value in that range")
            return nil
        }
        return value
    }

    /// A number: integers are accepted where a decimal is allowed.
    func number(_ node: YAMLNode, _ key: String, in range: ClosedRange<Double>? = nil) -> Double? {
        let value: Double
        switch node.scalar?.resolved {
        case let .int(i)?: value = Double(i)
        case let .float(f)? where f.isFinite: value = f
        default:
            report(.wrongType, node.mark, "'\(key)' must be a number, got \(node.shortDescription)",
                   fix: "write a number such as 0.7")
            return nil
        }
        if let range, !range.contains(value) {
            report(.outOfRange, node.mark,
                   "'\(key)' must be from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound)), got \(node.scalar?.value ?? "")",
                   fix: "use a value in that range")
            return nil
        }
        return value
    }

    func oneOf<E: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ key: String, _: E.Type) -> E?
    where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        guard let text = node.scalar.map(\.value), let value = E(rawValue: text) else {
            let got = node.shortDescription
            let fix = node.scalar.flatMap { Spelling.suggestion(for: $0.value, among: names) }
                .map { "did you mean '\($0)'?" } ?? "pick one of them"
            report(.invalidValue, node.mark, "'\(key)' must be one of \(names.joined(separator: "|")), got \(got)",
                   fix: fix)
            return nil
        }
        return value
    }

    /// A string or a list of strings.
    /// One text or a list of texts, none of them empty.
    func strings(_ node: YAMLNode, _ key: String) -> [String]? {
        if node.mapping != nil {
            report(.wrongType, node.mark, "'\(key)' must be a text or a list of texts, got a mapping",
                   fix: "write \(key): [a, b] (with --set: --set '…\(key)=[a, b]'; a list item is replaced as \(key).0 only where the list exists)")
            return nil
        }
        let items = node.sequence ?? [node]
        let values = items.compactMap { nonEmptyString($0, key) }
        return values.count == items.count ? values : nil
    }

    /// A size, read as `--kv-memory` reads it (`parseByteSize`).
    func memory(_ node: YAMLNode, _ key: String) -> Int? {
        // A YAML integer in any of its forms (0x80000000, +1073741824) is a byte count.
        if case let .int(bytes)? = node.scalar?.resolved, bytes > 0, bytes <= 1 << 50 { return bytes }
        if let text = node.scalar?.value, let bytes = parseByteSize(text) { return bytes }
        report(.invalidValue, node.mark, "'\(key)' must be a size such as 2GiB, 512MiB or a byte count, got \(node.shortDescription)",
               fix: "write a positive size: \(byteSizeUnits)")
        return nil
    }

    func regex(_ node: YAMLNode, _ key: String) -> CompiledRegex? {
        guard let pattern = nonEmptyString(node, key) else { return nil }
        do {
            return try CompiledRegex(pattern: pattern)
        } catch {
            // NSRegularExpression on Linux says only "The value is invalid."; the standard library's
            // regex parser names the actual problem, so ask it for the reason.
            var reason = "NSRegularExpression: \((error as NSError).localizedDescription)"
            do { _ = try Regex(pattern) } catch let detail { reason = "\(detail) (\(reason))" }
            report(.invalidRegex, node.mark, "'\(key)' is not a valid regular expression: \(reason)",
                   fix: "fix the pattern (ICU syntax; named groups are written (?<name>…))")
            return nil
        }
    }

    /// An inline template such as `parse.state` or a check's `'{{expr}}'`.
    func template(_ node: YAMLNode, _ key: String) -> PromptTemplate? {
        guard let text = string(node, key) else { return nil }
        do {
            // Where the text begins, when the loader could tell; otherwise every variable is placed
            // at the value's mark rather than counted from a place the text does not start.
            guard let start = node.scalar?.contentMark else {
                return try PromptTemplate(text: text, origin: node.mark, fixedMark: true)
            }
            // A literal block's lines all lost the indentation of its first one.
            let block = node.scalar?.style == .literal
            return try PromptTemplate(text: text, origin: start, indent: block ? start.column - 1 : 0)
        } catch {
            report(Diagnostic(error))
            return nil
        }
    }

    // MARK: files

    /// A path resolved against the workflow's folder, or the current directory for `--set` values.
    func resolvePath(_ path: String, from mark: SourceMark) -> String {
        if path.hasPrefix("/") { return (path as NSString).standardizingPath }
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return (expanded as NSString).standardizingPath }
        let base = mark.isOverride ? currentDirectory : workflowDirectory
        return ((base as NSString).appendingPathComponent(path) as NSString).standardizingPath
    }

    /// A path that must name an existing regular file.
    func existingFile(_ node: YAMLNode, _ key: String, what: String) -> String? {
        guard let path = nonEmptyString(node, key) else { return nil }
        let resolved = resolvePath(path, from: node.mark)
        let kind = PathKind(resolved)
        guard kind != .missing else {
            let base = node.mark.isOverride ? "the current directory" : "the workflow file's folder"
            report(.missingFile, node.mark, "\(what) '\(path)' does not exist (looked for \(resolved))",
                   fix: "check the path; relative paths start at \(base)")
            return nil
        }
        if kind == .directory {
            report(.missingFile, node.mark, "\(what) '\(path)' is a folder, not a file", fix: "name the file inside it")
            return nil
        }
        return resolved
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

/// Reads one YAML mapping, remembering which keys the schema asked for, so that whatever is left
/// over can be reported as unknown with a suggestion from the keys that do exist here.
final class MappingReader {
    let node: YAMLNode
    /// Dotted path of this mapping ("search.generate"), for messages; "" at the top.
    let path: String
    private let entries: [YAMLMappingEntry]
    private var known: [String] = []
    private let context: DecodeContext

    /// nil (with a diagnostic) when the node is not a mapping.
    init?(_ node: YAMLNode, path: String, context: DecodeContext) {
        guard let entries = node.mapping else {
            if path.isEmpty {
                context.report(.wrongType, node.mark, "a workflow must be a mapping of keys to values, got \(node.shortDescription)",
                               fix: "start the file with 'version: 1', then 'name:', 'models:', 'inputs:', 'search:' at the left margin")
                return nil
            }
            context.report(.wrongType, node.mark, "'\(path)' must be a mapping of keys to values, got \(node.shortDescription)",
                           fix: "write it as 'key: value' lines indented under '\(path.split(separator: ".").last ?? "")', or { key: value }")
            return nil
        }
        self.node = node
        self.path = path
        self.entries = entries
        self.context = context
    }

    /// The value for a key of the schema (nil when absent).
    func callAsFunction(_ key: String) -> YAMLNode? {
        known.append(key)
        return entries.first { $0.key == key }?.value
    }

    /// The value for a key that must be present; reports it missing otherwise.
    func required(_ key: String, example: String) -> YAMLNode? {
        guard let value = self(key) else {
            let place = path.isEmpty ? "the workflow" : "'\(path)'"
            context.report(.missingKey, node.mark, "\(place) is missing the required key '\(key)'",
                           fix: "add \(example)")
            return nil
        }
        return value
    }

    func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

    /// Reports every key the schema did not ask for. Call after all reads.
    func finish() {
        for entry in entries where !known.contains(entry.key) {
            let place = path.isEmpty ? "at the top level" : "in '\(path)'"
            if entry.key == "<<" {
                context.report(.unknownKey, entry.keyMark, "merge keys ('<<: *anchor') are not supported \(place)",
                               fix: "write the keys out, or give the whole value as an alias ('key: *anchor')")
                continue
            }
            context.report(.unknownKey, entry.keyMark, "unknown key '\(String(entry.key.prefix(60)))\(entry.key.count > 60 ? "…" : "")' \(place)",
                           fix: Spelling.fix(for: entry.key, among: known))
        }
    }
}
