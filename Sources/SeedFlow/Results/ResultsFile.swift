import Foundation

public enum ResultsError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case exists(path: String)
    case unreadable(path: String, line: Int, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .exists(path):
            return "\(path) already exists — add --resume to continue that run, --overwrite to replace it, or --results NEW.jsonl to start a new one"
        case let .unreadable(path, line, reason):
            return "\(path):\(line): not a result line (\(reason)) — the file is not a seedflow results file, or was damaged; give another --results path"
        case let .cannotWrite(path, reason):
            return "\(path): cannot write results: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}

/// A JSON Lines results file: one record appended (and flushed) the moment an input finishes,
/// so an interrupted run loses nothing; an existing file is continued only when asked.
public final class ResultsFile {
    public let path: String
    /// Records already in the file when it was opened (with `resume`).
    public private(set) var existing: [RunRecord] = []
    private let handle: FileHandle
    private let encoder: JSONEncoder

    /// Opens `path` for appending. Without `resume` an existing file is refused, never
    /// overwritten; with it, its records are read so finished inputs can be skipped.
    public init(path: String, resume: Bool) throws {
        self.path = path
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            guard resume else { throw ResultsError.exists(path: path) }
            existing = try Self.read(path: path)
        } else {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
            do {
                try manager.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw ResultsError.cannotWrite(path: path, reason: error.localizedDescription)
            }
            guard manager.createFile(atPath: path, contents: nil) else {
                throw ResultsError.cannotWrite(path: path, reason: "cannot create the file")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw ResultsError.cannotWrite(path: path, reason: "cannot open the file for writing")
        }
        self.handle = handle
        // Drop a last line cut short by an interrupted write, so the next record starts clean.
        let end = handle.seekToEndOfFile()
        if end > 0, let completeLength = try Self.completeLength(path: path), completeLength < end {
            handle.truncateFile(atOffset: completeLength)
        }
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    deinit { try? handle.close() }

    /// Indices of inputs that already have a line.
    public var finishedIndices: Set<Int> { Set(existing.map(\.index)) }

    public func append(_ record: RunRecord) throws {
        var line = try encoder.encode(record)
        line.append(0x0A)
        do {
            try handle.write(contentsOf: line)
            try handle.synchronize()
        } catch {
            throw ResultsError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }

    /// Bytes up to and including the last newline.
    private static func completeLength(path: String) throws -> UInt64? {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let last = data.lastIndex(of: 0x0A) else { return 0 }
        return UInt64(last + 1)
    }

    /// Every record of a results file. A final line without its newline (a run killed mid-write)
    /// is ignored, since its input will simply run again.
    public static func read(path: String) throws -> [RunRecord] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ResultsError.unreadable(path: path, line: 0, reason: error.localizedDescription)
        }
        var records: [RunRecord] = []
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        let decoder = JSONDecoder()
        for (number, line) in lines.enumerated() where !line.isEmpty {
            let complete = number < lines.count - 1
            do {
                records.append(try decoder.decode(RunRecord.self, from: Data(line)))
            } catch {
                if !complete { break }
                throw ResultsError.unreadable(path: path, line: number + 1, reason: "\(error)")
            }
        }
        return records
    }
}
