/// "Did you mean …?" for mistyped names: the closest candidate by edit distance, or one the input
/// is a prefix of, when it is close enough that the guess is likely right.
enum Suggestion {
    static func closest(to input: String, among candidates: [String]) -> String? {
        let scored = candidates.map { candidate -> (String, Int) in
            let distance = editDistance(Array(input), Array(candidate))
            // A prefix (`--temperature` for `--temp`, `--top` for `--top-k`) is a better hint
            // than its raw distance says.
            let prefixBonus = candidate.hasPrefix(input) || input.hasPrefix(candidate)
            return (candidate, prefixBonus ? min(distance, 1) : distance)
        }
        let limit = max(2, input.count / 3)
        return scored.filter { $0.1 <= limit }.min { $0.1 < $1.1 }?.0
    }

    /// Levenshtein distance with one rolling row.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
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
