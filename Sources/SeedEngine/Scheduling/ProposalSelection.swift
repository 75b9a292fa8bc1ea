import Foundation

/// `auto`'s choice, in a round of point-mass proposals (`lookup` without draft models), of how
/// many tokens of each request's proposal the target verifies.
///
/// Whether a request has a match, and how good it is, changes from round to round, so this round
/// is judged on its own instead of being taken as the pattern of every round to come (which let
/// the request without a match set the whole batch's pace, and made `auto` decline rounds in
/// which two of three requests had good proposals). A token of a proposal is worth verifying when
/// the time it is expected to save exceeds what it adds to the round: it saves a committed
/// token's worth of batch time with the chance that it and every token before it are accepted,
/// and a committed token is worth what a round without drafts costs per request (a request that
/// finishes a round earlier leaves every later pass one token smaller, and the last request
/// running saves a whole pass). Tokens are taken surest first (a request's tokens in order, as
/// each reach is below the one before), and the round verifies the number of them with the
/// largest expected gain: pass costs do not grow smoothly with the tokens in a pass.
struct ProposalSelection {
    /// Seconds of one target pass of `tokens` tokens.
    var passCost: (_ tokens: Int) -> Double
    /// Seconds of a round's own work per verified token.
    var overheadPerToken: Double
    /// How a pass's cost grows with its tokens (0 where unknown). The drafted tokens are priced
    /// by its relative growth on top of this round's pass: `passCost` keeps one estimate per token
    /// count, each from whichever rounds had that count, and rounds over long and short contexts
    /// differ so much (on SmolLM2 a 27-token pass at 109 ms beside 64 ms for 28) that the
    /// difference of two counts' estimates can even make drafted tokens look free.
    var passShape: ((_ tokens: Int) -> Double)? = nil
    /// A gain smaller than this share of a plain decoding round is not worth the estimate's error.
    static let margin = 0.01

    /// How many leading tokens of each request's proposal to verify. `reach[i][j]` is the chance
    /// that token j of request i's proposal and all before it are accepted (decreasing in j);
    /// `pending` tokens join the pass anyway, one or more for each of `requests` requests.
    func lengths(reach: [[Double]], pending: Int, requests: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: reach.count)
        guard requests > 0 else { return counts }
        var tokens: [(chance: Double, request: Int, position: Int)] = []
        tokens.reserveCapacity(reach.reduce(0) { $0 + $1.count })
        for (i, proposal) in reach.enumerated() {
            for (j, p) in proposal.enumerated() { tokens.append((p, i, j)) }
        }
        guard !tokens.isEmpty else { return counts }
        tokens.sort { $0.chance != $1.chance ? $0.chance > $1.chance : $0.position < $1.position }
        let pass = passCost(pending)
        let shapeBase = passShape?(pending) ?? 0
        /// Seconds that `m` drafted tokens add to the pass.
        func added(_ m: Int) -> Double {
            if let passShape, shapeBase > 0 { return pass * (passShape(pending + m) / shapeBase - 1) }
            return passCost(pending + m) - pass
        }
        // A plain decoding round's cost per request: what the pass costs with prompt tokens in it
        // (a request's first round) says nothing of what a committed token saves.
        let tokenValue = (passCost(requests) + overheadPerToken * Double(requests)) / Double(requests)
        var bestGain = Self.margin * tokenValue * Double(requests), best = 0, expected = 0.0
        for m in 1...tokens.count {
            expected += tokens[m - 1].chance
            let gain = tokenValue * expected - added(m) - overheadPerToken * Double(m)
            if gain > bestGain {
                bestGain = gain
                best = m
            }
        }
        for token in tokens.prefix(best) { counts[token.request] += 1 }
        return counts
    }
}
