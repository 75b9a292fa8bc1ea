import Foundation
import SeedModel

/// Measured seconds of one forward pass as a function of the tokens in it, for one model:
/// calibrated once with synthetic passes, then refined with every real pass. `auto` uses it to
/// price a round before running it.
struct PassCostModel {
    /// Bucket b holds passes of about 2^b tokens.
    private var seconds: [Double]
    private static let buckets = 12  // up to 2048 tokens a pass

    init() { seconds = Array(repeating: 0, count: Self.buckets) }

    private static func bucket(_ tokens: Int) -> Int {
        min(buckets - 1, max(0, Int(log2(Double(max(1, tokens))).rounded())))
    }

    /// Times passes of 1, 4, 16, … tokens (a few sequences sharing the tokens, as in a round);
    /// the sizes between are interpolated until real passes of those sizes are recorded.
    mutating func calibrate(model: TransformerModel, pool: KVPool, maxTokens: Int) throws {
        var rng = RandomStream(seed: 99)
        var tokens = 1
        // One sample per size: real passes refine the estimates (`record`), and a long
        // calibration would cost short runs more than it saves.
        while tokens <= maxTokens {
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
            seconds[Self.bucket(tokens)] = elapsedSeconds(since: start)
            for id in ids { pool.release(id) }
            tokens *= 4
        }
        // Sizes between two measured ones: the geometric mean of their neighbours; past the
        // calibrated range, cost grows linearly from the last one measured.
        var last = 0
        for b in 0..<Self.buckets {
            if seconds[b] > 0 {
                last = b
            } else if b + 1 < Self.buckets, seconds[b + 1] > 0, b > 0, seconds[b - 1] > 0 {
                seconds[b] = (seconds[b - 1] * seconds[b + 1]).squareRoot()
                last = b
            } else if seconds[last] > 0 {
                seconds[b] = seconds[last] * pow(2, Double(b - last))
            }
        }
    }

    mutating func record(tokens: Int, seconds s: Double) {
        let b = Self.bucket(tokens)
        seconds[b] = seconds[b] == 0 ? s : 0.8 * seconds[b] + 0.2 * s
    }

    /// Estimated seconds for a pass of `tokens` tokens (interpolated between buckets).
    func cost(tokens: Int) -> Double {
        guard tokens > 0 else { return 0 }
        let x = log2(Double(tokens))
        let lo = min(Self.buckets - 1, Int(x.rounded(.down)))
        let hi = min(Self.buckets - 1, lo + 1)
        let f = x - Double(lo)
        return seconds[lo] * (1 - f) + seconds[hi] * f
    }
}

func elapsedSeconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}
