import Foundation

/// One results file as the report shows it: its lines (the last of each input, as every reader
/// takes them) and, when its last line was cut short, that line's number.
public struct ReportRun: Sendable {
    public var path: String
    public var records: [RunRecord]
    public var cutLine: Int?

    public init(path: String, records: [RunRecord], cutLine: Int? = nil) {
        self.path = path
        self.records = ResultsFile.latest(records)
        self.cutLine = cutLine
    }

    /// Reads a results file; a missing or malformed one is a `ResultsError` that names it.
    public init(path: String) throws {
        let read = try ResultsFile.readForShowing(path: path)
        self.init(path: path, records: read.records, cutLine: read.cutLine)
    }
}
