import Foundation
import SeedModel
#if canImport(Glibc)
import Glibc
#endif

public enum ResultsError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case exists(path: String)
    case notAFile(path: String, kind: String)
    case busy(path: String)
    case unreadable(path: String, line: Int, reason: String)
    case cannotRead(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    /// `--resume` on a file written by a different run (`what` differs).
    case differentRun(path: String, line: Int, what: String)

    public var description: String {
        switch self {
        case let .exists(path):
            return "\(path) already exists — add --resume to continue that run, --overwrite to replace it, or --results NEW.jsonl to start a new one"
        case let .notAFile(path, kind):
            return "\(path) is \(kind), not a results file — give --results the path of a file (e.g. runs/NAME.jsonl)"
        case let .busy(path):
            return "\(path) is being written by another seedflow run — wait for it to finish, or give --results another path"
        case let .unreadable(path, line, reason):
            return "\(path):\(line): not a seedflow result line: \(reason) — is this a seedflow results file? Repair or remove that line"
        case let .cannotRead(path, reason):
            return "cannot read \(path): \(reason)"
        case let .cannotWrite(path, reason):
            return "\(path): cannot write results: \(reason)"
        case let .differentRun(path, line, what):
            return "\(path):\(line): this results file comes from a different run: \(what) — --resume only continues the same run; give --results NEW.jsonl to keep both, or --overwrite to replace it"
        }
    }

    public var errorDescription: String? { description }
}

/// How `ResultsFile` treats a file that already exists.
public enum ResultsOpenMode: Sendable {
    /// Refuse it.
    case create
    /// Continue it: its records are read so finished inputs can be skipped.
    case resume
    /// Replace it, once the first new record is written (a run that fails before leaves it).
    case overwrite
}

/// A JSON Lines results file: one record appended (and flushed) the moment an input finishes,
/// so an interrupted run loses nothing; an existing file is continued or replaced only when asked.
/// The file is locked while open, so two runs never interleave their lines in one file.
/// A class because it owns the open file.
public final class ResultsFile {
    public let path: String
    /// Records already in the file when it was opened (with `.resume`).
    public private(set) var existing: [RunRecord] = []
    /// The line of each of `existing` in the file (1-based).
    public private(set) var existingLines: [Int] = []
    /// Bytes of an unfinished last line (a run killed mid-write) that `.resume` dropped when the
    /// first new result was written (0 until then).
    public var droppedBytes: Int { truncateTo == nil ? tornBytes : 0 }
    private var tornBytes = 0
    /// The file written: `path` with symbolic links resolved.
    private let target: String
    private let descriptor: Int32
    private let created: Bool
    /// Where the file is cut before the first new record: 0 for `--overwrite`, the end of the
    /// last complete line for a torn one; nil to leave it.
    private var truncateTo: Int?
    /// The file ends in a complete record without its newline: the next record starts with one.
    private var needsNewline = false
    private var written = 0

    public init(path: String, mode: ResultsOpenMode) throws {
        self.path = path
        guard !path.isEmpty else { throw ResultsError.notAFile(path: "''", kind: "an empty path") }
        target = Self.followingLinks(path)
        var info = stat()
        let exists = stat(target, &info) == 0
        if exists {
            try Self.checkRegular(info, path: path)
            if mode == .create { throw ResultsError.exists(path: path) }
        } else {
            let directory = URL(fileURLWithPath: target).deletingLastPathComponent()
            switch PathKind(directory.path) {
            case .directory: break
            case .file: throw ResultsError.cannotWrite(path: path, reason: "\(directory.path) is a file, not a directory")
            case .missing:
                do {
                    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                } catch {
                    throw ResultsError.cannotWrite(path: path, reason: "cannot create the directory \(directory.path): \(error.localizedDescription)")
                }
            }
        }
        // O_EXCL: of two runs starting on one new path, the second is told the file exists (or,
        // resuming or overwriting, opens the file the first created). O_NONBLOCK: a FIFO put in
        // the file's place meanwhile fails to open instead of blocking; fstat then refuses it.
        var fd = open(target, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK | (exists ? 0 : O_CREAT | O_EXCL), 0o644)
        var createdHere = !exists
        if fd < 0 && errno == EEXIST && mode != .create {
            fd = open(target, O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK)
            createdHere = false
        }
        if fd < 0 {
            let code = errno
            if code == EEXIST { throw ResultsError.exists(path: path) }
            throw ResultsError.cannotWrite(path: path, reason: String(cString: strerror(code)))
        }
        var opened = stat()
        do {
            guard fstat(fd, &opened) == 0 else { throw ResultsError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
            try Self.checkRegular(opened, path: path)
        } catch {
            close(fd)
            throw error
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw ResultsError.busy(path: path)
        }
        descriptor = fd
        created = createdHere
        if mode == .overwrite && !createdHere { truncateTo = 0 }
        if mode == .resume && !createdHere {
            let contents: ParsedResults
            do {
                contents = try Self.parse(path: path, readingFrom: target)
            } catch {
                close(fd)
                throw error
            }
            existing = contents.records
            existingLines = contents.lines
            needsNewline = contents.endsWithoutNewline
            // A last line cut short by an interrupted write goes, so the next record starts clean;
            // but only after a complete one: a file with none is not taken for a results file.
            if !contents.tail.isEmpty {
                if contents.records.isEmpty {
                    close(fd)
                    throw ResultsError.unreadable(path: path, line: 1, reason: "it holds no complete result line")
                }
                truncateTo = contents.completeLength
                tornBytes = contents.tail.count
            }
        }
    }

    deinit { close(descriptor) }

    /// Indices of inputs that already have a line, failed ones (with an `error`) aside: those
    /// run again, and their new line follows the old one.
    public var finishedIndices: Set<Int> { Set(Self.latest(existing).filter { $0.error == nil }.map(\.index)) }

    /// The last record of each input, in the order of the file: a failed input that ran again
    /// has two lines, and the second is its result.
    public static func latest(_ records: [RunRecord]) -> [RunRecord] {
        var last: [Int: Int] = [:]
        for (position, record) in records.enumerated() { last[record.index] = position }
        return records.enumerated().filter { last[$0.element.index] == $0.offset }.map(\.element)
    }

    public func append(_ record: RunRecord) throws {
        var line = try ResultsJSON.encode(record)
        line.append(0x0A)
        if let length = truncateTo {
            guard ftruncate(descriptor, off_t(length)) == 0 else {
                throw ResultsError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
            truncateTo = nil
        }
        if needsNewline {
            line.insert(0x0A, at: 0)
            needsNewline = false
        }
        let failure = line.withUnsafeBytes { FileWriting.writeAll(descriptor, $0) }
        if failure != 0 { throw ResultsError.cannotWrite(path: path, reason: String(cString: strerror(failure))) }
        if fsync(descriptor) != 0 && errno != EINVAL {
            throw ResultsError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
        written += 1
    }

    /// After a run that failed or was stopped before its first result: a file this run created
    /// and wrote nothing to is removed, so that running again does not need --resume.
    /// Returns whether it removed the file.
    @discardableResult
    public func abandon() -> Bool {
        guard created && written == 0 else { return false }
        unlink(target)
        return true
    }

    /// `path` with symbolic links followed by the file system (`..` after a linked folder goes
    /// where the kernel goes), also through a link to a file that does not exist yet, whose
    /// folder is resolved and whose target is then followed by hand.
    private static func followingLinks(_ path: String) -> String {
        func realPath(_ p: String) -> String? {
            guard let resolved = realpath(p, nil) else { return nil }
            defer { free(resolved) }
            return String(cString: resolved)
        }
        if let resolved = realPath(path) { return resolved }
        var current = URL(fileURLWithPath: path).path
        for _ in 0..<40 {
            let url = URL(fileURLWithPath: current)
            let folder = realPath(url.deletingLastPathComponent().path) ?? url.deletingLastPathComponent().path
            let full = (folder == "/" ? "" : folder) + "/" + url.lastPathComponent
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(full, &buffer, buffer.count - 1)
            guard n > 0 else { return full }
            let destination = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = destination.hasPrefix("/") ? destination : (folder == "/" ? "" : folder) + "/" + destination
        }
        return current
    }

    private static func checkRegular(_ info: stat, path: String) throws {
        let type = info.st_mode & S_IFMT
        if type != S_IFREG { throw ResultsError.notAFile(path: path, kind: type == S_IFDIR ? "a directory" : "a device or other special file") }
    }

    /// Every record of a results file, in the order of the file. A final line without its newline
    /// counts when it is a whole record, and is ignored when it is cut short (a run killed
    /// mid-write), since its input will simply run again.
    public static func read(path: String) throws -> [RunRecord] {
        try parseRecords(path: path).records
    }

    /// Like `read`, for commands that show a file: an empty file is refused, and the line of a
    /// cut-short last line that was left out is given (nil: none), so they can say one input is
    /// missing.
    public static func readForShowing(path: String) throws -> (records: [RunRecord], cutLine: Int?) {
        let parsed = try parseRecords(path: path)
        if parsed.records.isEmpty {
            throw ResultsError.unreadable(path: path, line: 1, reason: "the file holds no result line")
        }
        // Showing walks each tree from its root: a tree that is not one (a hand edit) is refused.
        for (record, line) in zip(parsed.records, parsed.lines) {
            if let problem = record.treeProblem { throw ResultsError.unreadable(path: path, line: line, reason: problem) }
        }
        return (parsed.records, parsed.tailProblem?.line)
    }

    private static func parseRecords(path: String) throws -> ParsedResults {
        let parsed = try parse(path: path, readingFrom: path)
        // Text with no whole record is not a results file, however it ends: --resume refuses
        // such a file too (a cut-short last line is dropped only after whole records).
        if parsed.records.isEmpty, let problem = parsed.tailProblem {
            throw ResultsError.unreadable(path: path, line: problem.line, reason: problem.reason)
        }
        return parsed
    }

    private struct ParsedResults {
        var records: [RunRecord] = []
        /// The line of each record (1-based).
        var lines: [Int] = []
        /// Bytes up to and including the last newline, or to the end of a last whole record.
        var completeLength = 0
        /// A cut-short last line, and its number and why it is no record.
        var tail = Data()
        var tailProblem: (line: Int, reason: String)?
        var endsWithoutNewline = false
    }

    private static func parse(path: String, readingFrom file: String) throws -> ParsedResults {
        switch PathKind(file) {
        case .missing: throw ResultsError.cannotRead(path: path, reason: "no such file")
        case .directory: throw ResultsError.notAFile(path: path, kind: "a directory")
        case .file: break
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw ResultsError.cannotRead(path: path, reason: error.localizedDescription)
        }
        var parsed = ParsedResults()
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        let decoder = JSONDecoder()
        for (number, line) in lines.enumerated() {
            let last = number == lines.count - 1
            // Blank lines (a hand edit) are skipped, whatever their white space.
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                let record: RunRecord
                do {
                    record = try decoder.decode(RunRecord.self, from: Data(line))
                } catch DecodingError.dataCorrupted(let context) {
                    // A number beyond a double's range (a hand edit) reads as the nearest one.
                    guard let inRange = ResultsJSON.numbersInRange(Data(line)) else { throw DecodingError.dataCorrupted(context) }
                    record = try decoder.decode(RunRecord.self, from: inRange)
                }
                parsed.records.append(record)
                parsed.lines.append(number + 1)
                if last { parsed.endsWithoutNewline = true }
            } catch {
                if last {
                    parsed.tail = Data(line)
                    parsed.tailProblem = (number + 1, Self.explain(error))
                    break
                }
                throw ResultsError.unreadable(path: path, line: number + 1, reason: Self.explain(error))
            }
        }
        parsed.completeLength = data.count - parsed.tail.count
        return parsed
    }

    /// A decoding error in words, without the decoder's internals.
    private static func explain(_ error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, context):
            return "it has no \"\(key.stringValue)\" field" + Self.at(context)
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context):
            return "a field has the wrong type" + Self.at(context)
        case DecodingError.dataCorrupted:
            return "it is not JSON"
        default:
            return "it cannot be decoded"
        }
    }

    private static func at(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return keys.isEmpty ? "" : " (at \(keys.joined(separator: ".")))"
    }
}
