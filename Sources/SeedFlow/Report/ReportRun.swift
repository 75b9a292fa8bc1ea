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

extension RunRecord {
    /// Why the record's `tree` is not a tree, or nil when it is one (or empty, as for an input
    /// that could not run): its first node is the root, which has no parent, and every other
    /// node has a new id and names an earlier node as its parent, so a walk from the root ends.
    var treeProblem: String? {
        guard let root = tree.first else { return nil }
        if let parent = root.parent {
            return "the tree's first node (id \(root.id)) names parent \(parent), but the first node is the root and has none"
        }
        var seen: Set<Int> = []
        for node in tree {
            guard seen.insert(node.id).inserted else { return "the tree holds node id \(node.id) twice" }
            if node.id == root.id { continue }
            guard let parent = node.parent else {
                return "node \(node.id) of the tree has no parent, but only the first node is the root"
            }
            // The node itself was just inserted: a node that is its own parent is refused too.
            guard parent != node.id, seen.contains(parent) else {
                return "node \(node.id) names parent \(parent), which is not an earlier node of the tree (a cycle or a missing node)"
            }
        }
        return nil
    }
}
