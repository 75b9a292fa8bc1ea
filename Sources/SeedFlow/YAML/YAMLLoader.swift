import CYAML
import Foundation
import SeedModel

/// Bounds that keep a hostile file from being obeyed: a workflow is a few kilobytes and a few levels
/// deep, so anything far beyond that is refused before it can cost time or memory.
public struct YAMLLimits: Sendable, Equatable {
    public var maxBytes: Int
    public var maxDepth: Int
    /// Nodes in the tree after every alias is expanded: this is what stops "billion laughs",
    /// whose few lines expand to 10⁹ nodes.
    public var maxNodes: Int

    public init(maxBytes: Int = 1 << 20, maxDepth: Int = 64, maxNodes: Int = 100_000) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }
}

public enum YAMLError: Error, Equatable, Sendable, LocalizedError, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case fileTooLarge(path: String, bytes: Int, limit: Int)
    /// libyaml's own message, with the position it gives.
    case syntax(SourceMark, problem: String)
    case tooDeep(SourceMark, limit: Int)
    case tooManyNodes(SourceMark, limit: Int)
    case undefinedAlias(SourceMark, name: String)
    case duplicateKey(SourceMark, key: String, first: SourceMark)
    case nonScalarKey(SourceMark)
    case multipleDocuments(SourceMark)

    public var mark: SourceMark? {
        switch self {
        case .unreadable, .fileTooLarge: return nil
        case let .syntax(m, _), let .tooDeep(m, _), let .tooManyNodes(m, _), let .undefinedAlias(m, _),
             let .duplicateKey(m, _, _), let .nonScalarKey(m), let .multipleDocuments(m):
            return m
        }
    }

    /// What went wrong, without the position.
    public var message: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read \(path): \(reason)"
        case let .fileTooLarge(path, bytes, limit):
            return "\(path) is \(bytes) bytes, more than the \(limit) a workflow file may have — a workflow is a few kilobytes; put data in the inputs file"
        case let .syntax(_, problem):
            return problem
        case let .tooDeep(_, limit):
            return "nesting deeper than \(limit) levels — the file is refused; a workflow needs only a few levels"
        case let .tooManyNodes(_, limit):
            return "the document expands to more than \(limit) nodes (aliases multiplying? a \"billion laughs\" file) — the file is refused; write values out instead of nesting aliases"
        case let .undefinedAlias(_, name):
            return "alias *\(name) refers to no anchor &\(name) defined before it — define the anchor first"
        case let .duplicateKey(_, key, first):
            return "duplicate key '\(key)' (first at \(first)) — keep one of them"
        case .nonScalarKey:
            return "a mapping key must be a plain value, not a list or mapping — use a name as the key"
        case .multipleDocuments:
            return "more than one YAML document (---) in the file — a workflow is one document"
        }
    }

    public var description: String {
        mark.map { "\($0): \(message)" } ?? message
    }

    public var errorDescription: String? { description }
}

/// Reads YAML with libyaml's event API into `YAMLNode` trees that keep every node's position.
/// The event API (rather than libyaml's document loader) lets us count depth and expanded nodes as
/// we go and stop at the first sign of a hostile file, before building anything large.
public enum YAMLLoader {
    /// Reads one document from a file. nil: the file holds no document (empty or only comments).
    public static func load(path: String, limits: YAMLLimits = YAMLLimits()) throws(YAMLError) -> YAMLNode? {
        let (root, duplicates) = try loadKeepingFirstKeys(path: path, limits: limits)
        if let first = duplicates.first { throw first }
        return root
    }

    /// Reads one document, keeping the first of duplicate keys and reporting every duplicate
    /// rather than stopping at the first: validation then reports the file's other problems too.
    public static func loadKeepingFirstKeys(path: String, limits: YAMLLimits = YAMLLimits()) throws(YAMLError)
        -> (root: YAMLNode?, duplicates: [YAMLError]) {
        let bytes = try readBounded(path: path, limit: limits.maxBytes)
        return try parse(bytes, file: path, limits: limits)
    }

    /// Parses one document from text; `file` names it in marks and messages.
    public static func parse(_ text: String, file: String, limits: YAMLLimits = YAMLLimits()) throws(YAMLError) -> YAMLNode? {
        let bytes = Array(text.utf8)
        guard bytes.count <= limits.maxBytes else {
            throw .fileTooLarge(path: file, bytes: bytes.count, limit: limits.maxBytes)
        }
        let (root, duplicates) = try parse(bytes, file: file, limits: limits)
        if let first = duplicates.first { throw first }
        return root
    }

    static func readBounded(path: String, limit: Int) throws(YAMLError) -> [UInt8] {
        if PathKind(path) == .directory { throw .unreadable(path: path, reason: "it is a directory, not a YAML file") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file"
            throw .unreadable(path: path, reason: reason)
        }
        defer { try? handle.close() }
        // Read one byte past the limit instead of trusting the size the file system reports:
        // a FIFO or /dev/zero reports none and would otherwise be read forever.
        let data: Data
        do {
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        if data.count > limit {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
            throw .fileTooLarge(path: path, bytes: size ?? data.count, limit: limit)
        }
        return [UInt8](data)
    }

    static func parse(_ bytes: [UInt8], file: String, limits: YAMLLimits) throws(YAMLError)
        -> (root: YAMLNode?, duplicates: [YAMLError]) {
        // libyaml reads UTF-16 too, but a workflow's prompts and inputs are read as UTF-8.
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw .syntax(SourceMark(file: file, line: 1, column: 1), problem: "the file is UTF-16 text — save it as UTF-8")
        }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw .unreadable(path: file, reason: "libyaml could not allocate a parser")
        }
        defer { yaml_parser_delete(&parser) }
        let result: Result<(root: YAMLNode?, duplicates: [YAMLError]), YAMLError> = bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = TreeBuilder(file: file, limits: limits, text: buffer)
            return Result { () throws(YAMLError) in (try builder.run(&parser), builder.duplicates) }
        }
        return try result.get()
    }
}

/// Turns the event stream into a tree. Open sequences and mappings wait on a stack.
private struct TreeBuilder {
    /// An open sequence or mapping. Changed in place on the stack (`stack[last].items.append`):
    /// taking it off, appending and putting it back copied its array at every item, which made a
    /// long list cost quadratic time.
    private struct Frame {
        enum Kind { case sequence, mapping }
        let kind: Kind
        let mark: SourceMark
        let anchor: String?
        /// Nodes in the subtree, itself included.
        var size = 1
        var items: [YAMLNode] = []
        var entries: [YAMLMappingEntry] = []
        /// A mapping's keys so far, with where each was first written.
        var keys: [String: SourceMark] = [:]
        /// A mapping's key that waits for its value.
        var pendingKey: (String, SourceMark)?
        /// The pending key repeats an earlier one: its value is dropped (the first one stands).
        var pendingKeyRepeats = false

        init(_ kind: Kind, mark: SourceMark, anchor: String?) {
            self.kind = kind
            self.mark = mark
            self.anchor = anchor
        }

        var node: YAMLNode {
            YAMLNode(kind == .sequence ? .sequence(items) : .mapping(entries), mark: mark)
        }
    }

    let file: String
    let limits: YAMLLimits
    /// The bytes being parsed, to place errors libyaml gives only as a byte offset.
    let text: UnsafeBufferPointer<UInt8>
    private var stack: [Frame] = []
    /// Anchored nodes with their subtree size, so an alias costs what it expands to.
    private var anchors: [String: (node: YAMLNode, size: Int)] = [:]
    private var expandedNodes = 0
    private var root: YAMLNode?
    private var documents = 0
    /// Every key written twice in one mapping, in file order.
    private(set) var duplicates: [YAMLError] = []

    init(file: String, limits: YAMLLimits, text: UnsafeBufferPointer<UInt8>) {
        self.file = file
        self.limits = limits
        self.text = text
        var starts = [0]
        for (index, byte) in text.enumerated() where byte == 0x0A { starts.append(index + 1) }
        lineStarts = starts
    }

    /// The byte offset where each line begins (line 1 at index 0): a position costs one lookup,
    /// not a scan of the file, however many scalars ask.
    private let lineStarts: [Int]

    mutating func run(_ parser: inout yaml_parser_t) throws(YAMLError) -> YAMLNode? {
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else { throw syntaxError(parser) }
            defer { yaml_event_delete(&event) }
            let mark = SourceMark(file: file, line: Int(event.start_mark.line) + 1,
                                  column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 { throw .multipleDocuments(mark) }
            case YAML_SCALAR_EVENT:
                let s = event.data.scalar
                let value = String(decoding: UnsafeBufferPointer(start: s.value, count: Int(s.length)), as: UTF8.self)
                var scalar = YAMLScalar(value: value, style: Self.style(s.style), tag: Self.string(s.tag))
                scalar.contentMark = contentMark(of: scalar, at: mark)
                try count(1, at: mark)
                try complete(YAMLNode(.scalar(scalar), mark: mark), size: 1, anchor: Self.string(s.anchor))
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                guard let target = anchors[name] else { throw .undefinedAlias(mark, name: name) }
                // Counted at the alias, so a refusal points at the use that multiplies, not the anchor.
                try count(target.size, at: mark)
                // Marked at the alias: a value that is wrong where it is used is reported there
                // (at the anchor, two uses would give the same line twice and name neither use).
                try complete(target.node.remarked(mark), size: target.size, anchor: nil)
            case YAML_SEQUENCE_START_EVENT:
                try open(Frame(.sequence, mark: mark, anchor: Self.string(event.data.sequence_start.anchor)), at: mark)
            case YAML_MAPPING_START_EVENT:
                try open(Frame(.mapping, mark: mark, anchor: Self.string(event.data.mapping_start.anchor)), at: mark)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { break }
                try complete(frame.node, size: frame.size, anchor: frame.anchor)
            default:
                break  // stream start, document end, no event
            }
        }
    }

    private mutating func open(_ frame: Frame, at mark: SourceMark) throws(YAMLError) {
        guard stack.count < limits.maxDepth else { throw .tooDeep(mark, limit: limits.maxDepth) }
        try count(1, at: mark)
        stack.append(frame)
    }

    private mutating func count(_ nodes: Int, at mark: SourceMark) throws(YAMLError) {
        expandedNodes += nodes
        if expandedNodes > limits.maxNodes { throw .tooManyNodes(mark, limit: limits.maxNodes) }
    }

    /// Hands a finished (and already counted) node to its parent.
    private mutating func complete(_ node: YAMLNode, size: Int, anchor: String?) throws(YAMLError) {
        if let anchor { anchors[anchor] = (node, size) }
        let top = stack.count - 1
        guard top >= 0 else {
            root = node
            return
        }
        stack[top].size += size
        switch stack[top].kind {
        case .sequence:
            stack[top].items.append(node)
        case .mapping:
            if let (key, keyMark) = stack[top].pendingKey {
                if !stack[top].pendingKeyRepeats {
                    stack[top].entries.append(YAMLMappingEntry(key: key, keyMark: keyMark, value: node))
                }
                stack[top].pendingKey = nil
            } else {
                guard let scalar = node.scalar else { throw .nonScalarKey(node.mark) }
                let first = stack[top].keys[scalar.value]
                if let first { duplicates.append(.duplicateKey(node.mark, key: scalar.value, first: first)) }
                stack[top].pendingKeyRepeats = first != nil
                stack[top].keys[scalar.value] = first ?? node.mark
                stack[top].pendingKey = (scalar.value, node.mark)
            }
        }
    }

    private func syntaxError(_ parser: yaml_parser_t) -> YAMLError {
        let problem = Self.string(parser.problem) ?? "invalid YAML"
        var message = problem
        if let context = Self.string(parser.context) {
            message += " (\(context) at line \(parser.context_mark.line + 1), column \(parser.context_mark.column + 1))"
        }
        // Reader errors (bad encoding, control characters) give only a byte offset; scanner and
        // parser errors give a mark.
        if parser.error == YAML_READER_ERROR {
            let offset = min(Int(parser.problem_offset), text.count)
            let before = text[..<offset]
            let lineStart = (before.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
            let line = before.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            if offset < text.count { message += String(format: " (byte 0x%02X)", text[offset]) }
            if problem.contains("UTF-8") { message += " — save the file as UTF-8 text" }
            // Columns count characters, as libyaml's own marks do: UTF-8 lead bytes, not bytes,
            // and not a byte-order mark.
            let bom = lineStart == 0 && text.starts(with: [0xEF, 0xBB, 0xBF]) && offset >= 3 ? 1 : 0
            let column = text[lineStart..<offset].reduce(1) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 } - bom
            return .syntax(SourceMark(file: file, line: line, column: column), problem: message)
        }
        let mark = SourceMark(file: file, line: Int(parser.problem_mark.line) + 1,
                              column: Int(parser.problem_mark.column) + 1)
        // libyaml's words for a tab in the indentation name no cause; the usual one is an editor.
        // Only where the problem lies in the indentation: tabs are allowed elsewhere.
        let blanks = leadingBlanks(ofLine: mark.line)
        if blanks.contains(0x09), mark.column <= blanks.count + 1 {
            message += " — YAML indents with spaces, not tabs: replace the tab"
        }
        return .syntax(mark, problem: message)
    }

    /// The blanks and tabs that begin the 1-based `line` of the text.
    private func leadingBlanks(ofLine line: Int) -> ArraySlice<UInt8> {
        guard line >= 1, line <= lineStarts.count else { return [] }
        let index = lineStarts[line - 1]
        var end = index
        while end < text.count, text[end] == 0x20 || text[end] == 0x09 { end += 1 }
        return ArraySlice(text[index..<end])
    }

    /// The byte offset of the 1-based `line` and `column` (columns count characters, as libyaml's
    /// marks do), or nil past the end.
    private func offset(line: Int, column: Int) -> Int? {
        guard line >= 1, line <= lineStarts.count else { return nil }
        var index = lineStarts[line - 1]
        var characters = 1
        while characters < column, index < text.count {
            index += 1
            while index < text.count, text[index] & 0xC0 == 0x80 { index += 1 }
            characters += 1
        }
        return index < text.count ? index : nil
    }

    /// Where a scalar's text begins, when that can be told for sure: a plain scalar at its mark,
    /// a quoted one after its quote, a literal block (`|` without an indentation digit) on the
    /// line below its header, indented as its first line with text. nil where the mark is on an
    /// anchor or a tag, for folded blocks (their lines are joined) and for explicit indentation;
    /// positions then stay at the mark.
    private func contentMark(of scalar: YAMLScalar, at mark: SourceMark) -> SourceMark? {
        guard let at = offset(line: mark.line, column: mark.column) else { return nil }
        let first = scalar.value.utf8.first
        switch scalar.style {
        case .plain:
            return text[at] == first ? mark : nil
        case .singleQuoted, .doubleQuoted:
            guard text[at] == UInt8(ascii: "'") || text[at] == UInt8(ascii: "\""),
                  first == nil || at + 1 < text.count && text[at + 1] == first else { return nil }
            return SourceMark(file: file, line: mark.line, column: mark.column + 1)
        case .literal:
            guard text[at] == UInt8(ascii: "|") else { return nil }
            var header = at + 1
            while header < text.count, text[header] != 0x0A {
                if text[header] >= UInt8(ascii: "1") && text[header] <= UInt8(ascii: "9") { return nil }
                if text[header] == UInt8(ascii: "#") { break }
                header += 1
            }
            // The text starts on the line below the header (blank lines at its start are part of
            // it); its indentation is that of the first line with text on it.
            var line = mark.line + 1
            while let start = offset(line: line, column: 1) {
                let blanks = leadingBlanks(ofLine: line).count
                if start + blanks < text.count, text[start + blanks] != 0x0A {
                    return SourceMark(file: file, line: mark.line + 1, column: blanks + 1)
                }
                line += 1
            }
            return nil
        case .folded:
            return nil
        }
    }

    private static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }

    private static func style(_ style: yaml_scalar_style_t) -> YAMLScalar.Style {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: return .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: return .literal
        case YAML_FOLDED_SCALAR_STYLE: return .folded
        default: return .plain
        }
    }
}
