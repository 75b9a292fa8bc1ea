import Foundation

/// `auto`'s choice of k, the most draft tokens of one round, from estimates alone (no model
/// runs), so that the choice can be tested on made-up costs.
///
/// A draft goes on past its i-th token when it was sure of it (see
/// `EngineConfiguration.draftConfidence`), which happens at rate c; a drafted token is accepted
/// at rate α. So token i is drafted with probability cⁱ⁻¹ and, with all before it, advances the
/// request with probability cⁱ⁻¹αⁱ: a request advances E(k) = 1 + Σᵢ cⁱ⁻¹αⁱ tokens a round (1
/// without a draft), for D(k) = Σᵢ cⁱ⁻¹ drafted tokens. The batch needs at least the rounds of
/// its slowest request and at least its total remaining work over the total progress per
/// round. Each round costs the draft passes of each draft model in use (step i over the
/// requests still drafting), one target pass over every pending and drafted token, and the
/// bookkeeping of every verified token. So drafting pays when it speeds up what sets the pace
/// (few requests on a memory-bound target, whose pass costs little more for more tokens), not
/// when a few drafted requests would make every round of a large, compute-bound batch longer.
struct DraftLengthPolicy {
    struct Request {
        /// Tokens the request may still generate.
        var remaining: Int
        /// Index of its draft model, nil while it has no draft instance.
        var draftModel: Int?
        /// The most tokens it can draft this round, and their acceptance, where known for this
        /// request alone (a `lookup` proposal: its length and its match length's rate); it then
        /// drafts min(k, limit) tokens, all of them.
        var tokenLimit: Int? = nil
        var acceptance: Double? = nil
    }

    /// Per-token acceptance rate of each draft model.
    var acceptance: [Double]
    /// Per draft model, the share of its tokens sure enough for drafting to go on (1 when
    /// drafts never stop early).
    var continuation: [Double]
    /// Seconds of one draft pass of `tokens` tokens, for draft model `model`.
    var draftCost: (_ model: Int, _ tokens: Int) -> Double
    /// Seconds of one target pass of `tokens` tokens.
    var targetCost: (_ tokens: Int) -> Double
    /// Seconds of a round's own work per verified token.
    var overheadPerToken: Double
    /// Which k `best` weighs.
    var choice = Choice.anyLength
    /// Every draft accepted (`draftingCouldPay`'s bound), per-request rates included.
    var optimistic = false
    /// Sources 0..<instanceSources are draft models with instances: when a request drafting
    /// from one finishes, its instance passes to the oldest request without a draft. (`lookup`
    /// has no instances: it drafts for every request with a match.)
    var instanceSources = 0

    /// Estimated seconds to finish `requests` drafting up to k tokens a round; `pending` tokens
    /// of theirs are committed but not yet in the target's cache (they join the next pass).
    func estimatedSeconds(k: Int, requests: [Request], pending: Int) -> Double {
        // Per model: tokens a request advances and drafts per round, and the chance that it
        // drafts its i-th token (i = 1...k).
        var advance = [Double](repeating: 1, count: acceptance.count)
        var drafted = [Double](repeating: 0, count: acceptance.count)
        var reach = [[Double]](repeating: [], count: acceptance.count)
        if k > 0 {
            for m in acceptance.indices {
                var p = 1.0, accepted = 1.0
                for _ in 1...k {
                    reach[m].append(p)
                    drafted[m] += p
                    accepted *= acceptance[m]
                    advance[m] += p * accepted
                    p *= continuation[m]
                }
            }
        }
        var slowest = 0.0, work = 0.0, progress = 0.0
        var verifyTokens = Double(pending)
        var perModel = [Int](repeating: 0, count: acceptance.count)
        // Rounds until each drafting instance is free again, and its model.
        var instances: [(free: Double, model: Int)] = []
        var waiting: [Double] = []
        for r in requests {
            var perRound = 1.0
            let remaining = Double(max(1, r.remaining))
            work += remaining
            if let m = r.draftModel, k > 0, let limit = r.tokenLimit {
                // A proposal of known length: all of it is drafted, each token at its own rate.
                let expected = Self.expected(tokens: min(k, limit), acceptance: optimistic ? 1 : (r.acceptance ?? acceptance[m]),
                                             continuation: 1)
                perRound = expected.advance
                verifyTokens += expected.drafted
            } else if let m = r.draftModel, k > 0 {
                perRound = advance[m]
                verifyTokens += drafted[m]
                perModel[m] += 1
                if m < instanceSources { instances.append((remaining / perRound, m)) }
            } else if k > 0 && instanceSources > 0 {
                progress += perRound
                waiting.append(remaining)
                continue
            }
            slowest = max(slowest, remaining / perRound)
            progress += perRound
        }
        // A request without a draft advances one token a round until an instance frees up,
        // then at the instance's pace: without this, one request short of an instance made
        // drafting look as slow as not drafting (the batch waits for its slowest request).
        for remaining in waiting {
            var finish = remaining
            if let i = instances.indices.min(by: { instances[$0].free < instances[$1].free }), instances[i].free < remaining {
                let t = instances[i].free
                finish = t + (remaining - t) / advance[instances[i].model]
                instances[i].free = finish
            }
            slowest = max(slowest, finish)
        }
        // Draft instances pass on as requests finish, so the work bound uses this round's progress.
        let rounds = max(slowest, work / max(progress, 1))
        // Step i runs while any of the model's n requests still drafts, over those that do.
        var draftTime = 0.0
        for (m, n) in perModel.enumerated() where n > 0 {
            for p in reach[m] {
                let running = 1 - pow(1 - p, Double(n))
                draftTime += running * draftCost(m, max(1, Int((Double(n) * p).rounded())))
            }
        }
        let tokens = Int(verifyTokens.rounded())
        return rounds * (draftTime + targetCost(tokens) + overheadPerToken * Double(tokens))
    }

    /// Tokens a request advances in a round drafting up to `tokens` tokens, 1 + Σᵢ cⁱ⁻¹αⁱ, and the
    /// tokens it is expected to draft, Σᵢ cⁱ⁻¹ (i = 1...tokens).
    static func expected(tokens: Int, acceptance a: Double, continuation c: Double) -> (advance: Double, drafted: Double) {
        var advance = 1.0, drafted = 0.0, reach = 1.0, accepted = 1.0
        for _ in 0..<max(0, tokens) {
            drafted += reach
            accepted *= a
            advance += reach * accepted
            reach *= c
        }
        return (advance, drafted)
    }

    /// Which k `best` weighs.
    enum Choice {
        /// Every k from 0 to the most: the round's k sets how far every draft goes.
        case anyLength
        /// 0 or the most: drafts that stop at their first unsure token set their own length
        /// each round, better than one k for the whole batch from estimates, so the policy only
        /// decides whether to draft. Measured on the demo target's paper workload, where every
        /// fixed k and plain batching are within a few percent: searching every k, `auto`
        /// jumped between 1 and 6 and ran 4–5 % behind all of them; choosing between 0 and 6, it
        /// was the fastest row in both of two pairs of runs. The price: on a large
        /// compute-bound batch a short fixed k can do better (`seed` k = 2 was about 4 % ahead on
        /// the benchmark target's level workload).
        case noneOrMost
    }

    /// Whether drafting the most tokens could beat not drafting if every draft were accepted and
    /// went on to the end. When even that loses (most of a large batch has no draft instance, so
    /// the rounds stay as many while each gets longer), no acceptance estimate could make
    /// drafting pay, and a probe round to refresh the estimate is pure cost.
    func draftingCouldPay(requests: [Request], pending: Int, maxDraftTokens: Int) -> Bool {
        guard maxDraftTokens > 0 else { return false }
        var perfect = self
        perfect.acceptance = acceptance.map { _ in 1 }
        perfect.continuation = continuation.map { _ in 1 }
        perfect.optimistic = true
        return perfect.estimatedSeconds(k: maxDraftTokens, requests: requests, pending: pending)
            < estimatedSeconds(k: 0, requests: requests, pending: pending)
    }

    /// The k (of those `choice` allows, up to maxDraftTokens) with the least estimated time; a
    /// longer k must win by 1 %, since its estimate rests on fewer observed passes.
    func best(requests: [Request], pending: Int, maxDraftTokens: Int) -> Int {
        var best = 0
        var bestTime = Double.infinity
        let most = max(0, maxDraftTokens)
        for k in choice == .anyLength ? Array(0...most) : [0, most] {
            let time = estimatedSeconds(k: k, requests: requests, pending: pending)
            if time < bestTime * 0.99 {
                bestTime = time
                best = k
            }
        }
        return best
    }
}

/// When `auto`, having chosen not to draft, drafts a little anyway: without drafting, the
/// acceptance estimate never changes, so a pessimistic one would stick. A probe round is dear (each
/// draft first catches up on every token committed since it last ran: on the demo target's
/// level workload a probe round cost 2.5 ms against 0.7 for a plain one, and 15.8 against 9.5 ms
/// in a batch of 83), so probes come only where drafting could pay at all, and further apart
/// while they keep confirming the choice.
struct ProbeSchedule {
    /// Rounds between probes after a round `auto` chose to draft.
    static let firstGap = 16
    /// The longest gap between probes.
    static let longestGap = 128
    /// Draft tokens of a probe round.
    static let probeTokens = 2

    private var gap = firstGap
    private var next = firstGap - 1

    /// Whether round `round`, for which `auto` chose no drafts, probes (and if so, schedules the
    /// next probe twice as far off).
    mutating func probes(round: Int, draftingCouldPay: @autoclosure () -> Bool) -> Bool {
        guard round >= next, draftingCouldPay() else { return false }
        gap = min(2 * gap, Self.longestGap)
        next = round + gap
        return true
    }

    /// `auto` chose to draft in round `round`: the estimate is fresh, and probes start over from
    /// the shortest gap once it stops drafting.
    mutating func drafted(round: Int) {
        gap = Self.firstGap
        next = round + gap
    }
}
