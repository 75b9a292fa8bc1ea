import XCTest
@testable import SeedEngine

final class SamplerTests: XCTestCase {
    private func distribution(_ logits: [Float], _ p: SamplingParameters) -> [Float] {
        var sampler = Sampler(p)
        var out = [Float](repeating: -1, count: logits.count)
        logits.withUnsafeBufferPointer { l in out.withUnsafeMutableBufferPointer { sampler.distribution(l, into: $0) } }
        return out
    }

    func testGreedyIsOneHotAtTheFirstMaximum() {
        XCTAssertEqual(distribution([1, 3, 3, 2], .greedy), [0, 1, 0, 0])
    }

    /// Below about 3e-39, 1 / T overflows to infinity and (max − max) · ∞ is NaN: such a
    /// temperature must act as greedy, not draw token 0 from a distribution of NaNs.
    func testATemperatureTooSmallToInvertIsGreedy() {
        for t in [Float.leastNormalMagnitude / 8, Float.leastNormalMagnitude / 1000, .leastNonzeroMagnitude] {
            let p = SamplingParameters(temperature: t)
            XCTAssertTrue(p.isGreedy, "\(t)")
            XCTAssertEqual(distribution([1, 3, 3, 2], p), [0, 1, 0, 0], "\(t)")
        }
        XCTAssertFalse(SamplingParameters(temperature: 1e-30).isGreedy)
        XCTAssertEqual(distribution([1, 3, 2.5, 2], SamplingParameters(temperature: 1e-30)), [0, 1, 0, 0])
    }

    func testTemperatureMatchesSoftmax() {
        let logits: [Float] = [0, 1, 2]
        let p = distribution(logits, SamplingParameters(temperature: 0.5))
        let e = logits.map { exp(Double($0) / 0.5) }
        let z = e.reduce(0, +)
        for (a, b) in zip(p, e.map { $0 / z }) { XCTAssertEqual(Double(a), b, accuracy: 1e-6) }
    }

    /// A greedy draft's confidence: the softmax at temperature 1, also for logits that would
    /// overflow exp without the shift by the maximum.
    func testSoftmaxProbabilityOfOneToken() {
        for logits: [Float] in [[0, 1, 2, 0.5], [300, 302, 299, 250]] {
            var scratch = [Float](repeating: 0, count: logits.count)
            let e = logits.map { exp(Double($0 - logits.max()!)) }
            let z = e.reduce(0, +)
            for index in logits.indices {
                let p = logits.withUnsafeBufferPointer { l in
                    scratch.withUnsafeMutableBufferPointer { Sampler.softmaxProbability(of: index, l, scratch: $0) }
                }
                XCTAssertEqual(Double(p), e[index] / z, accuracy: 1e-6, "\(logits), index \(index)")
            }
        }
    }

    func testTopKKeepsTheKMostLikelyAndRenormalises() {
        let p = distribution([0, 3, 1, 2], SamplingParameters(temperature: 1, topK: 2))
        XCTAssertEqual(p[0], 0)
        XCTAssertEqual(p[2], 0)
        XCTAssertEqual(Double(p[1]), exp(3) / (exp(3) + exp(2)), accuracy: 1e-6)
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-6)
    }

    func testTopPKeepsTheSmallestSetReachingP() {
        // Probabilities 0.5, 0.3, 0.15, 0.05: p = 0.75 needs the first two; 0.85 the first three.
        let logits = [0.5, 0.3, 0.15, 0.05].map { Float(log($0)) }
        let two = distribution(logits, SamplingParameters(temperature: 1, topP: 0.75))
        XCTAssertEqual(two.map { $0 > 0 }, [true, true, false, false])
        XCTAssertEqual(Double(two[0]), 0.5 / 0.8, accuracy: 1e-5)
        let three = distribution(logits, SamplingParameters(temperature: 1, topP: 0.85))
        XCTAssertEqual(three.map { $0 > 0 }, [true, true, true, false])
    }

    /// Top-p applies to what top-k kept, renormalised, as Hugging Face and llama.cpp do: after
    /// top-2, 0.5/0.3/0.2 is 0.625/0.375, and p = 0.6 then keeps the first token alone.
    func testTopPAppliesToTheDistributionTopKLeft() {
        let logits = [0.5, 0.3, 0.2].map { Float(log($0)) }
        XCTAssertEqual(distribution(logits, SamplingParameters(temperature: 1, topK: 2, topP: 0.6)), [1, 0, 0])
        let both = distribution(logits, SamplingParameters(temperature: 1, topK: 2, topP: 0.7))
        XCTAssertEqual(Double(both[0]), 0.625, accuracy: 1e-6)
        XCTAssertEqual(Double(both[1]), 0.375, accuracy: 1e-6)
        XCTAssertEqual(both[2], 0)
    }

    func testSameSeedSameDrawsAndStreamsDiffer() {
        let logits: [Float] = (0..<50).map { Float($0 % 7) * 0.3 }
        func draws(seed: UInt64, tag: String) -> [Int] {
            var sampler = Sampler(SamplingParameters(temperature: 1, seed: seed))
            var rng = RandomStream(seed: seed, tag: tag)
            var scratch = [Float](repeating: 0, count: logits.count)
            return (0..<64).map { _ in
                logits.withUnsafeBufferPointer { l in scratch.withUnsafeMutableBufferPointer { sampler.sample(l, scratch: $0, using: &rng) } }
            }
        }
        XCTAssertEqual(draws(seed: 7, tag: "a"), draws(seed: 7, tag: "a"))
        XCTAssertNotEqual(draws(seed: 7, tag: "a"), draws(seed: 7, tag: "b"))
        XCTAssertNotEqual(draws(seed: 7, tag: "a"), draws(seed: 8, tag: "a"))
    }

    func testDrawFollowsTheDistribution() {
        // 20,000 draws from (0.1, 0.2, 0.7): each frequency within 5 standard errors.
        let p: [Float] = [0.1, 0.2, 0.7]
        var rng = RandomStream(seed: 3)
        var counts = [0, 0, 0]
        let n = 20_000
        for _ in 0..<n { counts[p.withUnsafeBufferPointer { Sampler.draw($0, using: &rng) }] += 1 }
        for i in 0..<3 {
            let expected = Double(p[i]) * Double(n)
            let sd = (Double(n) * Double(p[i]) * (1 - Double(p[i]))).squareRoot()
            XCTAssertEqual(Double(counts[i]), expected, accuracy: 5 * sd)
        }
    }
}
