import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum ResultsError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case exists(path: String)
    case notAFile(path: String, kind: String)
    case busy(path: String)
    case unreadable(path: String, line: Int, reason: String)
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
    /// Bytes of an unfinished last line (a run killed mid-write) that `.resume` dropped.
    public private(set) var droppedBytes = 0
    /// The file written: `path` with symbolic links resolved.
    private let target: String
    private let descriptor: Int32
    private let created: Bool
    private var truncatePending: Bool
    private var written = 0
    private let encoder: JSONEncoder

    public init(path: String, mode: ResultsOpenMode) throws {
        self.path = path
        guard !path.isEmpty else { throw ResultsError.notAFile(path: "''", kind: "an empty path") }
        target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var info = stat()
        let exists = stat(target, &info) == 0
        if exists {
            let type = info.st_mode & S_IFMT
            if type != S_IFREG { throw ResultsError.notAFile(path: path, kind: type == S_IFDIR ? "a directory" : "a device or other special file") }
            if mode == .create { throw ResultsError.exists(path: path) }
        } else {
            let directory = URL(fileURLWithPath: target).deletingLastPathComponent()
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
                if !isDirectory.boolValue {
                    throw ResultsError.cannotWrite(path: path, reason: "\(directory.path) is a file, not a directory")
                }
            } else {
                do {
                    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                } catch {
                    throw ResultsError.cannotWrite(path: path, reason: "cannot create the directory \(directory.path)")
                }
            }
        }
        // O_EXCL: of two runs starting on one new path, the second is told the file exists.
        let flags = O_WRONLY | O_APPEND | O_CLOEXEC | (exists ? 0 : O_CREAT | O_EXCL)
        let fd = open(target, flags, 0o644)
        if fd < 0 {
            let code = errno
            if code == EEXIST { throw ResultsError.exists(path: path) }
            throw ResultsError.cannotWrite(path: path, reason: String(cString: strerror(code)))
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw ResultsError.busy(path: path)
        }
        descriptor = fd
        created = !exists
        truncatePending = exists && mode == .overwrite
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if exists && mode == .resume {
            let contents = try Self.parse(path: path, readingFrom: target)
            if contents.records.isEmpty && contents.completeLength == 0 && !contents.tail.isEmpty
                && contents.tail.first != UInt8(ascii: "{") {
                close(fd)
                throw ResultsError.unreadable(path: path, line: 1, reason: "it does not start with '{'")
            }
            existing = contents.records
            existingLines = contents.lines
            // Drop a last line cut short by an interrupted write, so the next record starts clean.
            if !contents.tail.isEmpty {
                droppedBytes = contents.tail.count
                if ftruncate(fd, off_t(contents.completeLength)) != 0 {
                    close(fd)
                    throw ResultsError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
                }
            }
        }
    }

    deinit { close(descriptor) }

    /// Indices of inputs that already have a line.
    public var finishedIndices: Set<Int> { Set(existing.map(\.index)) }

    public func append(_ record: RunRecord) throws {
        var line = try encoder.encode(record)
        line.append(0x0A)
        if truncatePending {
            guard ftruncate(descriptor, 0) == 0 else {
                throw ResultsError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
            truncatePending = false
        }
        try line.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ResultsError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
                }
                offset += n
            }
        }
        if fsync(descriptor) != 0 && errno != EINVAL {
            throw ResultsError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
        written += 1
    }

    /// After a run that failed: a file this run created and wrote nothing to is removed, so that
    /// running again does not need --resume.
    public func abandon() {
        if created && written == 0 { unlink(target) }
    }

    /// Every record of a results file. A final line without its newline (a run killed mid-write)
    /// is ignored, since its input will simply run again.
    public static func read(path: String) throws -> [RunRecord] {
        try parse(path: path, readingFrom: path).records
    }

    /// The records and their line numbers, the bytes up to and including the last newline, and
    /// what follows it.
    private static func parse(path: String, readingFrom file: String) throws
        -> (records: [RunRecord], lines: [Int], completeLength: Int, tail: Data) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
            throw ResultsError.unreadable(path: path, line: 0, reason: "the file does not exist")
        }
        if isDirectory.boolValue { throw ResultsError.notAFile(path: path, kind: "a directory") }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw ResultsError.unreadable(path: path, line: 0, reason: "it cannot be read")
        }
        var records: [RunRecord] = []
        var numbers: [Int] = []
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        let decoder = JSONDecoder()
        for (number, line) in lines.enumerated() where number < lines.count - 1 {
            // Blank lines (a hand edit) are skipped, whatever their white space.
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                records.append(try decoder.decode(RunRecord.self, from: Data(line)))
                numbers.append(number + 1)
            } catch {
                throw ResultsError.unreadable(path: path, line: number + 1, reason: Self.explain(error))
            }
        }
        let tail = Data(lines.last ?? Data())
        return (records, numbers, data.count - tail.count, tail)
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
