/// The supported name nearest to one a file or a user spelled, for "did you mean" hints in
/// refusals: the candidate fewest edits away (case-insensitive), when it is close enough that the
/// hint is likely right, or one that the name starts with (`gemma3n` → `gemma3`).
public enum NearestName {
    public static func closest(to name: String, among candidates: [String]) -> String? {
        let word = name.lowercased()
        let scored = candidates.map { candidate -> (String, Int) in
            let c = candidate.lowercased()
            let distance = editDistance(Array(word), Array(c))
            return (candidate, word.hasPrefix(c) || c.hasPrefix(word) ? min(distance, 1) : distance)
        }
        let limit = word.count <= 3 ? 1 : max(2, word.count / 3)
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= limit else { return nil }
        return best.0
    }

    /// Levenshtein distance with one rolling row: the one edit distance of every "did you mean"
    /// hint (command-line options, workflow keys, architectures, pre-tokenizers).
    public static func editDistance<Element: Equatable>(_ a: [Element], _ b: [Element]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in 1...b.count {
                let above = row[j]
                row[j] = a[i - 1] == b[j - 1] ? diagonal : 1 + min(diagonal, row[j - 1], above)
                diagonal = above
            }
        }
        return row[b.count]
    }
}
