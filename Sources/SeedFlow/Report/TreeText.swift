import Foundation

/// An input's search tree for the terminal: the states kept at each level with their values, the
/// chosen path marked, then the answer and its check. `seedflow show` prints it for the inputs it
/// is asked for, and `run --show-tree` for the first solved one.
public enum TreeText {
    public static func render(_ record: RunRecord) -> String {
        var out = "search tree of '\(record.input)' (input \(record.index); kept states; → marks the path taken):\n"
        let onPath = Set(pathIDs(record))
        var children: [Int: [TreeNodeRecord]] = [:]
        for node in record.tree { if let p = node.parent { children[p, default: []].append(node) } }
        // Files are checked on reading (`RunRecord.treeProblem`); a node is still printed once.
        var visited: Set<Int> = []
        func walk(_ id: Int, _ indent: String) {
            for child in children[id] ?? [] where (child.selected || onPath.contains(child.id)) && visited.insert(child.id).inserted {
                let mark = onPath.contains(child.id) ? "→ " : "  "
                // A goal state goes to the finish step without being valued.
                let value = child.value.map { String(format: "value %g", $0) } ?? "goal"
                out += "\(indent)\(mark)\(child.thought)   [\(value)]\n"
                walk(child.id, indent + "    ")
            }
        }
        out += "\(record.input)\n"
        if let root = record.tree.first { visited.insert(root.id); walk(root.id, "  ") }
        if let check = record.finish?.check {
            out += "check: \(check) — \(record.finish?.passed == true ? "passed" : "failed")\n"
        }
        // Without a check, an answer only shows that the search finished.
        let outcome = record.checksAnswers ? (record.solved ? "solved" : "not solved")
            : (record.solved ? "finished (nothing checks the answers)" : "not finished")
        out += "answer: \(record.answer ?? "none") — \(outcome)\n"
        if let note = record.note { out += "note: \(note)\n" }
        if let error = record.error { out += "error: \(error)\n" }
        return out
    }

    /// Node ids of the best path, matched by thought from the root down (the root excluded).
    public static func pathIDs(_ record: RunRecord) -> [Int] {
        var ids: [Int] = []
        guard var parent = record.tree.first?.id else { return [] }
        for thought in record.bestPath {
            guard let node = record.tree.first(where: { $0.parent == parent && $0.thought == thought }) else { break }
            ids.append(node.id)
            parent = node.id
        }
        return ids
    }
}
