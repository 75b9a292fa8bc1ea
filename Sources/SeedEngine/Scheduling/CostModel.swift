import Foundation
import SeedModel

/// Measured seconds of one forward pass as a function of the tokens in it, for one model:
/// calibrated once with synthetic passes, then refined with every real pass. `auto` uses it to
/// price a round before running it.
///
/// The cost of a pass is not smooth in its token count: the multi-row kernels take inputs in
/// sweeps of eight, and on a small model a pass of 21 tokens can cost 1.8× one of 15. So every
/// token count up to `exactLimit` keeps its own estimate from real passes. Counts not seen yet
/// take the calibration curve (interpolated linearly between the calibrated sizes) scaled by how
/// real passes have compared with it lately: calibration runs on empty contexts, real passes
/// attend over long ones, and the machine's speed drifts.
struct PassCostModel {
    /// Running estimates for passes of exactly t tokens from real passes; 0 where none was seen.
    private var observed: [Double]
    /// Calibration passes, by token count; 0 between calibrated sizes.
    private var calibrated: [Double]
    /// Running mean of observed / calibration-curve cost over real passes.
    private var ratio = 1.0
    /// Token counts measured by `calibrate`: 1–8 one by one (a round of a few requests), then
    /// about ×1.5 apart.
    static let calibrationSizes = [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256]
    /// Passes longer than this are priced in proportion to their tokens from this one.
    static let exactLimit = 512

    init() {
        observed = Array(repeating: 0, count: Self.exactLimit + 1)
        calibrated = Array(repeating: 0, count: Self.exactLimit + 1)
    }

    /// Times one pass at each calibration size up to `maxTokens` (a few sequences sharing the
    /// tokens, as in a round). One sample per size: real passes refine the estimates (`record`),
    /// and a long calibration would cost short runs more than it saves.
    mutating func calibrate(model: any LanguageModel, pool: KVPool, maxTokens: Int) throws {
        var rng = RandomStream(seed: 99)
        // The first pass pays for page faults and cold caches: run it once untimed.
        for (index, tokens) in ([1] + Self.calibrationSizes.filter { $0 <= maxTokens }).enumerated() {
            let sequences = max(1, min(tokens, 8))
            let lengths = (0..<sequences).map { s in tokens / sequences + (s < tokens % sequences ? 1 : 0) }
            // A KV budget too small for a size ends calibration there: the sizes left out are
            // priced from the curve's end and then from real passes.
            if lengths.reduce(0, { $0 + pool.blocksNeeded(tokens: $1) }) > pool.freeBlocks { break }
            var ids: [SequenceID] = []
            defer { for id in ids { pool.release(id) } }
            var inputs: [ForwardInput] = []
            for n in lengths {
                let prompt = (0..<n).map { _ in Int(rng.next() % UInt64(model.config.vocabularySize)) }
                let (id, _) = pool.startSequence(prompt: [])
                inputs.append(ForwardInput(tokens: prompt, startPosition: 0, cache: try pool.append(id, tokens: prompt),
                                           logits: .last))
                ids.append(id)
            }
            let start = DispatchTime.now()
            _ = try model.forward(inputs)
            if index > 0 { calibrated[tokens] = elapsedSeconds(since: start) }
        }
    }

    /// Folds one real pass into the estimate for its token count and into the ratio of real to
    /// calibrated costs (recent passes weigh more: contexts grow and the machine's speed drifts).
    mutating func record(tokens: Int, seconds s: Double) {
        guard tokens > 0 else { return }
        let t = min(tokens, Self.exactLimit)
        let observedCost = tokens > Self.exactLimit ? s * Double(Self.exactLimit) / Double(tokens) : s
        observed[t] = observed[t] == 0 ? observedCost : 0.7 * observed[t] + 0.3 * observedCost
        let curve = Self.interpolate(calibrated, t)
        if curve > 0 { ratio = 0.9 * ratio + 0.1 * (observedCost / curve) }
    }

    /// Estimated seconds for a pass of `tokens` tokens.
    func cost(tokens: Int) -> Double {
        Self.extended(tokens) { t in
            if observed[t] > 0 { return observed[t] }
            let curve = Self.interpolate(calibrated, t)
            return curve > 0 ? curve * ratio : Self.interpolate(observed, t)
        }
    }

    /// The calibration curve alone, 0 before calibration: how a pass's cost grows with its
    /// tokens, apart from the contexts that real passes of each size happened to attend over.
    func calibratedCost(tokens: Int) -> Double {
        Self.extended(tokens) { Self.interpolate(calibrated, $0) }
    }

    /// `price(t)` for a count the tables cover; 0 for none; past `exactLimit`, in proportion to
    /// the tokens from there.
    private static func extended(_ tokens: Int, _ price: (Int) -> Double) -> Double {
        guard tokens > 0 else { return 0 }
        return tokens > exactLimit ? price(exactLimit) * Double(tokens) / Double(exactLimit) : price(tokens)
    }

    /// table[t] where it is set, else linear between the nearest set counts on either side; in
    /// proportion to the tokens past the largest; the smallest's below it; 0 for an empty table.
    private static func interpolate(_ table: [Double], _ t: Int) -> Double {
        if table[t] > 0 { return table[t] }
        var lo = t - 1
        while lo > 0 && table[lo] == 0 { lo -= 1 }
        var hi = t + 1
        while hi < table.count && table[hi] == 0 { hi += 1 }
        switch (lo > 0, hi < table.count) {
        case (true, true):
            let f = Double(t - lo) / Double(hi - lo)
            return table[lo] * (1 - f) + table[hi] * f
        case (true, false): return table[lo] * Double(t) / Double(lo)
        case (false, true): return table[hi]
        case (false, false): return 0
        }
    }
}

func elapsedSeconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}
