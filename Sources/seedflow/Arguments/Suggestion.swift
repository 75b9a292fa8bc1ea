import SeedModel

/// "Did you mean …?" for mistyped names: the closest candidate by edit distance, or one the input
/// is a prefix of, when it is close enough that the guess is likely right.
enum Suggestion {
    static func closest(to input: String, among candidates: [String]) -> String? {
        let scored = candidates.map { candidate -> (String, Int) in
            let distance = NearestName.editDistance(Array(input), Array(candidate))
            // A prefix (`--temperature` for `--temp`, `--top` for `--top-k`) is a better hint
            // than its raw distance says.
            let prefixBonus = candidate.hasPrefix(input) || input.hasPrefix(candidate)
            return (candidate, prefixBonus ? min(distance, 1) : distance)
        }
        let limit = max(2, input.count / 3)
        return scored.filter { $0.1 <= limit }.min { $0.1 < $1.1 }?.0
    }
}
