import Foundation
import SeedModel

/// Measured seconds of one forward pass as a function of the tokens in it, for one model:
/// calibrated once with synthetic passes, then refined with every real pass. `auto` uses it to
/// price a round before running it.
///
/// The cost of a pass is not smooth in its token count: the multi-row kernels take inputs in
/// sweeps of eight, and on a small model a pass of 21 tokens can cost 1.8× one of 15. So every
/// token count up to `exactLimit` keeps its own estimate, and counts not yet seen are
/// interpolated linearly between the nearest ones that were.
struct PassCostModel {
    /// seconds[t]: running estimate for passes of exactly t tokens; 0 where none was seen.
    private var seconds: [Double]
    /// Token counts measured by `calibrate`: 1–8 one by one (a round of a few requests), then
    /// about ×1.5 apart.
    static let calibrationSizes = [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256]
    /// Passes longer than this share the estimate of the longest count (scaled by tokens).
    static let exactLimit = 512

    init() { seconds = Array(repeating: 0, count: Self.exactLimit + 1) }

    /// Times one pass at each calibration size up to `maxTokens` (a few sequences sharing the
    /// tokens, as in a round). One sample per size: real passes refine the estimates (`record`),
    /// and a long calibration would cost short runs more than it saves.
    mutating func calibrate(model: TransformerModel, pool: KVPool, maxTokens: Int) throws {
        var rng = RandomStream(seed: 99)
        // The first pass pays for page faults and cold caches: run it once untimed.
        for (index, tokens) in ([1] + Self.calibrationSizes.filter { $0 <= maxTokens }).enumerated() {
            let sequences = max(1, min(tokens, 8))
            var ids: [SequenceID] = []
            var inputs: [ForwardInput] = []
            for s in 0..<sequences {
                let n = tokens / sequences + (s < tokens % sequences ? 1 : 0)
                let prompt = (0..<n).map { _ in Int(rng.next() % UInt64(model.config.vocabularySize)) }
                let (id, _) = pool.startSequence(prompt: [])
                inputs.append(ForwardInput(tokens: prompt, startPosition: 0, cache: try pool.append(id, tokens: prompt),
                                           logits: .last))
                ids.append(id)
            }
            let start = DispatchTime.now()
            _ = try model.forward(inputs)
            if index > 0 { seconds[tokens] = elapsedSeconds(since: start) }
            for id in ids { pool.release(id) }
        }
    }

    /// Folds one real pass into the estimate for its token count (recent passes weigh more:
    /// contexts grow and the machine's speed drifts).
    mutating func record(tokens: Int, seconds s: Double) {
        guard tokens > 0 else { return }
        let t = min(tokens, Self.exactLimit)
        let observed = tokens > Self.exactLimit ? s * Double(Self.exactLimit) / Double(tokens) : s
        seconds[t] = seconds[t] == 0 ? observed : 0.7 * seconds[t] + 0.3 * observed
    }

    /// Estimated seconds for a pass of `tokens` tokens.
    func cost(tokens: Int) -> Double {
        guard tokens > 0 else { return 0 }
        if tokens > Self.exactLimit { return cost(tokens: Self.exactLimit) * Double(tokens) / Double(Self.exactLimit) }
        if seconds[tokens] > 0 { return seconds[tokens] }
        var lo = tokens - 1
        while lo > 0 && seconds[lo] == 0 { lo -= 1 }
        var hi = tokens + 1
        while hi <= Self.exactLimit && seconds[hi] == 0 { hi += 1 }
        switch (lo > 0, hi <= Self.exactLimit) {
        case (true, true):
            let f = Double(tokens - lo) / Double(hi - lo)
            return seconds[lo] * (1 - f) + seconds[hi] * f
        case (true, false):
            // Past the longest pass seen: cost in proportion to the tokens.
            return seconds[lo] * Double(tokens) / Double(lo)
        case (false, true):
            return seconds[hi]
        case (false, false):
            return 0  // nothing measured yet
        }
    }
}

func elapsedSeconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}
