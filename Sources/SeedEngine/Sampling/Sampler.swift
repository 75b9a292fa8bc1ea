/// How to pick the next token. `temperature == 0` is greedy.
public struct SamplingParameters: Sendable, Codable, Equatable {
    public var temperature: Float
    /// Keep only the k most likely tokens (0: no limit).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches p (1: no limit).
    public var topP: Float
    public var seed: UInt64

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    public static let greedy = SamplingParameters()
    /// Temperature 0, or one so small (below about 3e-39) that 1 / T overflows: the warped
    /// distribution is then the argmax's, and computing it through 1 / T would give NaNs.
    public var isGreedy: Bool { temperature <= 0 || !(1 / temperature).isFinite }
}

/// Turns logits into the distribution that sampling draws from — temperature, then top-k, then
/// top-p, as Hugging Face orders them — and draws from it. The warped distribution is returned
/// as a dense vector because speculative acceptance compares the target's and the draft's
/// probabilities after the same warping. Scratch space is owned and reused: no allocation per
/// token once the vocabulary size is known.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var order: [Int32] = []

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
    }

    /// Index of the largest logit (the lowest index among equals).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<logits.count where logits[i] > bestValue {
            bestValue = logits[i]
            best = i
        }
        return best
    }

    /// softmax(logits)[index] at temperature 1; `scratch` holds at least `logits.count` floats.
    public static func softmaxProbability(of index: Int, _ logits: UnsafeBufferPointer<Float>,
                                          scratch: UnsafeMutableBufferPointer<Float>) -> Float {
        precondition(scratch.count >= logits.count && index < logits.count)
        let sum = exponentiate(logits, inverseTemperature: 1, into: scratch)
        return scratch[index] / sum
    }

    /// out[i] = e^((logits[i] − max) / T), the unnormalised softmax at temperature T; returns
    /// their sum. One vector exp over the vocabulary instead of a scalar expf per entry: a round
    /// of speculative decoding computes this for every drafted and verified token.
    private static func exponentiate(_ logits: UnsafeBufferPointer<Float>, inverseTemperature invT: Float,
                                     into out: UnsafeMutableBufferPointer<Float>) -> Float {
        let n = logits.count
        var maxLogit = -Float.infinity
        for i in 0..<n { maxLogit = max(maxLogit, logits[i]) }
        for i in 0..<n { out[i] = (logits[i] - maxLogit) * invT }
        if let base = out.baseAddress { sf_exp_f32(base, base, n) }
        var sum: Float = 0
        for i in 0..<n { sum += out[i] }
        return sum
    }

    /// Writes the warped distribution over the whole vocabulary into `probabilities`
    /// (zero outside the kept set). Greedy gives a one-hot vector at the argmax.
    public mutating func distribution(_ logits: UnsafeBufferPointer<Float>, into probabilities: UnsafeMutableBufferPointer<Float>) {
        let n = logits.count
        precondition(probabilities.count >= n)
        if parameters.isGreedy {
            for i in 0..<n { probabilities[i] = 0 }
            probabilities[Sampler.argmax(logits)] = 1
            return
        }
        var sum = Self.exponentiate(logits, inverseTemperature: 1 / parameters.temperature, into: probabilities)
        let k = parameters.topK > 0 ? min(parameters.topK, n) : n
        let filterP = parameters.topP < 1
        if k < n || filterP {
            if order.count != n { order = (0..<Int32(n)).map { $0 } } else {
                for i in 0..<n { order[i] = Int32(i) }
            }
            // Descending probability, ties by lower id, so the kept set is deterministic.
            order.withUnsafeMutableBufferPointer { idx in
                idx.sort { a, b in
                    let pa = probabilities[Int(a)], pb = probabilities[Int(b)]
                    return pa != pb ? pa > pb : a < b
                }
            }
            var kept = k
            if filterP {
                // Top-p applies to the distribution top-k left, renormalised (as Hugging Face's
                // warpers and llama.cpp's sampler chain do): its threshold is p of the kept mass.
                var keptSum: Float = 0
                if k < n {
                    for j in 0..<k { keptSum += probabilities[Int(order[j])] }
                } else {
                    keptSum = sum
                }
                var cumulative: Float = 0
                let target = parameters.topP * keptSum
                for j in 0..<k {
                    cumulative += probabilities[Int(order[j])]
                    if cumulative >= target { kept = j + 1; break }
                }
            }
            sum = 0
            for j in 0..<n {
                let id = Int(order[j])
                if j < kept { sum += probabilities[id] } else { probabilities[id] = 0 }
            }
        }
        let inv = 1 / sum
        for i in 0..<n { probabilities[i] *= inv }
    }

    /// Draws an index from a normalised distribution with one uniform number. The running sum is
    /// kept in double precision: in single precision, over a vocabulary of 150 000 entries, the
    /// rounding left about 1e-5 of the mass to the last kept token.
    public static func draw(_ probabilities: UnsafeBufferPointer<Float>, using rng: inout RandomStream) -> Int {
        let u = Double(rng.nextUnit())
        var cumulative = 0.0
        var last = 0
        for i in 0..<probabilities.count where probabilities[i] > 0 {
            cumulative += Double(probabilities[i])
            last = i
            if u < cumulative { return i }
        }
        return last  // rounding left u above the total: the last kept token
    }

    /// Picks the next token from logits. `scratch` must hold at least `logits.count` floats.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>, scratch: UnsafeMutableBufferPointer<Float>,
                                using rng: inout RandomStream) -> Int {
        if parameters.isGreedy { return Sampler.argmax(logits) }
        distribution(logits, into: scratch)
        return Sampler.draw(UnsafeBufferPointer(rebasing: scratch[0..<logits.count]), using: &rng)
    }
}

import CKernels
