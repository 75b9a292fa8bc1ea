import Foundation

/// `auto`'s choice of k, the draft tokens of one round, from estimates alone (no model runs), so
/// that the choice can be tested on made-up costs.
///
/// A request advances E(k) = (1 − αᵏ⁺¹)/(1 − α) tokens a round with a draft of per-token
/// acceptance α (1 without a draft). The batch needs at least the rounds of its slowest request
/// and at least its total remaining work over the total progress per round. Each round costs k
/// draft passes per draft model in use, one target pass over every pending and drafted token, and
/// the bookkeeping of every verified token. So drafting pays when it speeds up what sets the pace
/// (few requests on a memory-bound target, whose pass costs little more for more tokens), not
/// when a few drafted requests would make every round of a large, compute-bound batch longer.
struct DraftLengthPolicy {
    struct Request {
        /// Tokens the request may still generate.
        var remaining: Int
        /// Index of its draft model, nil while it has no draft instance.
        var draftModel: Int?
    }

    /// Per-token acceptance rate of each draft model.
    var acceptance: [Double]
    /// Seconds of one draft pass of `tokens` tokens, for draft model `model`.
    var draftCost: (_ model: Int, _ tokens: Int) -> Double
    /// Seconds of one target pass of `tokens` tokens.
    var targetCost: (_ tokens: Int) -> Double
    /// Seconds of a round's own work per verified token.
    var overheadPerToken: Double

    /// Estimated seconds to finish `requests` drafting k tokens a round; `pending` tokens of
    /// theirs are committed but not yet in the target's cache (they join the next pass).
    func estimatedSeconds(k: Int, requests: [Request], pending: Int) -> Double {
        var slowest = 0.0, work = 0.0, progress = 0.0
        var verifyTokens = pending
        var perModel = [Int](repeating: 0, count: acceptance.count)
        for r in requests {
            var perRound = 1.0
            if let m = r.draftModel, k > 0 {
                let a = acceptance[m]
                perRound = a >= 0.999 ? Double(k + 1) : (1 - pow(a, Double(k + 1))) / (1 - a)
                verifyTokens += k
                perModel[m] += 1
            }
            let remaining = Double(max(1, r.remaining))
            slowest = max(slowest, remaining / perRound)
            work += remaining
            progress += perRound
        }
        // Draft instances pass on as requests finish, so the work bound uses this round's progress.
        let rounds = max(slowest, work / max(progress, 1))
        var draftTime = 0.0
        for (m, n) in perModel.enumerated() where n > 0 { draftTime += Double(k) * draftCost(m, n) }
        return rounds * (draftTime + targetCost(verifyTokens) + overheadPerToken * Double(verifyTokens))
    }

    /// The k in 0...maxDraftTokens with the least estimated time; a longer k must win by 1 %,
    /// since its estimate rests on fewer observed passes.
    func best(requests: [Request], pending: Int, maxDraftTokens: Int) -> Int {
        var best = 0
        var bestTime = Double.infinity
        for k in 0...max(0, maxDraftTokens) {
            let time = estimatedSeconds(k: k, requests: requests, pending: pending)
            if time < bestTime * 0.99 {
                bestTime = time
                best = k
            }
        }
        return best
    }
}
