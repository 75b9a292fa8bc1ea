import Foundation
import SeedModel

/// Throughput of one model alone, measured the way llama.cpp's llama-bench does it:
/// prefill of `promptTokens` in one batch (pp) and decoding `decodeTokens` one at a time from an
/// empty context (tg), each repeated and summarised by the median.
public struct ModelBenchmarkResult: Sendable, Codable {
    public var promptTokens: Int
    public var decodeTokens: Int
    public var prefillTokensPerSecond: Double
    public var decodeTokensPerSecond: Double
    public var prefillSamples: [Double]
    public var decodeSamples: [Double]
}

public struct ModelBenchmark {
    public static func run(model: any LanguageModel, promptTokens: Int = 128, decodeTokens: Int = 128,
                           repetitions: Int = 5) throws -> ModelBenchmarkResult {
        let config = model.config
        let promptTokens = min(promptTokens, config.contextLength)
        let decodeTokens = min(decodeTokens, config.contextLength)
        var rng = RandomStream(seed: 1234)
        let prompt = (0..<promptTokens).map { _ in Int(rng.next() % UInt64(config.vocabularySize)) }
        let cache = ContiguousKVCache(config: config)

        func prefill() throws -> Double {
            let start = DispatchTime.now()
            _ = try model.forward([ForwardInput(tokens: prompt, startPosition: 0, cache: cache.blockTable, logits: .last)])
            return Double(promptTokens) / elapsedSeconds(since: start)
        }
        func decode() throws -> Double {
            var token = 0
            let start = DispatchTime.now()
            for position in 0..<decodeTokens {
                let logits = try model.forward([ForwardInput(tokens: [token], startPosition: position,
                                                             cache: cache.blockTable, logits: .last)])
                token = Sampler.argmax(logits[0])
            }
            return Double(decodeTokens) / elapsedSeconds(since: start)
        }
        // One untimed round first: page in the weights, grow the workspace, wake the threads.
        _ = try prefill()
        _ = try decode()
        var prefillSamples: [Double] = []
        var decodeSamples: [Double] = []
        for _ in 0..<max(1, repetitions) {
            prefillSamples.append(try prefill())
            decodeSamples.append(try decode())
        }
        return ModelBenchmarkResult(promptTokens: promptTokens, decodeTokens: decodeTokens,
                                    prefillTokensPerSecond: median(prefillSamples),
                                    decodeTokensPerSecond: median(decodeSamples),
                                    prefillSamples: prefillSamples, decodeSamples: decodeSamples)
    }
}

public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}
