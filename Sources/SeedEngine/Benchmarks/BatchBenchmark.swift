import Foundation
import SeedModel

/// Aggregate decode throughput of many sequences advancing together over the paged pool, and
/// the prefill work that prefix sharing saves on a tree-of-thoughts level.
public struct BatchBenchmarkResult: Sendable, Codable {
    public struct Row: Sendable, Codable {
        public var sequences: Int
        public var tokensPerSecond: Double
        public var samples: [Double]
    }
    public var rows: [Row]
    public var promptTokens: Int
    public var decodeTokens: Int
    /// Prompt tokens of the tree-level workload, and how many of them came from shared blocks
    /// (prefix-cache hits on full blocks plus forks of identical prompts).
    public var prefixTokensTotal: Int
    public var prefixTokensReused: Int
    public var prefixTokensFromCache: Int
    public var prefixTokensFromForks: Int
}

public struct BatchBenchmark {
    public static func run(model: any LanguageModel, sequenceCounts: [Int] = [1, 4, 16, 64],
                           promptTokens: Int = 64, decodeTokens: Int = 64, repetitions: Int = 3,
                           blockTokens: Int = 16, rowDone: (Int) -> Void = { _ in }) throws -> BatchBenchmarkResult {
        let config = model.config
        let perSequence = min(config.contextLength, promptTokens + decodeTokens)
        let decodeTokens = perSequence - promptTokens
        var rows: [BatchBenchmarkResult.Row] = []
        for n in sequenceCounts {
            let pool = KVPool(config: config, memoryBytes: n * (perSequence + blockTokens) * KVLayout(config: config, blockTokens: blockTokens).bytesPerToken,
                              blockTokens: blockTokens)
            var rng = RandomStream(seed: UInt64(n))
            var samples: [Double] = []
            for repetition in 0...max(1, repetitions) {
                // Distinct prompts: this row measures batching, not sharing.
                var ids: [SequenceID] = []
                var inputs: [ForwardInput] = []
                for _ in 0..<n {
                    let prompt = (0..<promptTokens).map { _ in Int(rng.next() % UInt64(config.vocabularySize)) }
                    let (id, reused) = pool.startSequence(prompt: prompt)
                    let table = try pool.append(id, tokens: Array(prompt[reused...]))
                    inputs.append(ForwardInput(tokens: Array(prompt[reused...]), startPosition: reused, cache: table, logits: .last))
                    ids.append(id)
                }
                var logits = try model.forward(inputs)
                for id in ids { try pool.commit(id) }
                var next = (0..<n).map { Sampler.argmax(logits.last(of: $0)) }
                let start = DispatchTime.now()
                for _ in 0..<decodeTokens {
                    inputs.removeAll(keepingCapacity: true)
                    for (i, id) in ids.enumerated() {
                        let position = try pool.tokenCount(id)
                        let table = try pool.append(id, tokens: [next[i]])
                        inputs.append(ForwardInput(tokens: [next[i]], startPosition: position, cache: table, logits: .last))
                    }
                    logits = try model.forward(inputs)
                    for (i, id) in ids.enumerated() {
                        try pool.commit(id)
                        next[i] = Sampler.argmax(logits.last(of: i))
                    }
                }
                let elapsed = elapsedSeconds(since: start)
                for id in ids { pool.release(id) }
                if repetition > 0 { samples.append(Double(n * decodeTokens) / elapsed) }  // the first is warm-up
            }
            rows.append(.init(sequences: n, tokensPerSecond: median(samples), samples: samples))
            rowDone(n)
        }
        let sharing = try treeLevelSharing(model: model, blockTokens: blockTokens)
        return BatchBenchmarkResult(rows: rows, promptTokens: promptTokens, decodeTokens: decodeTokens,
                                    prefixTokensTotal: sharing.total, prefixTokensReused: sharing.fromCache + sharing.fromForks,
                                    prefixTokensFromCache: sharing.fromCache, prefixTokensFromForks: sharing.fromForks)
    }

    /// One tree-of-thoughts level as the paper's prompts make it: 5 parents × 8 children × 3
    /// value samples, every prompt opening with the same few-shot header of 200 tokens (half the context if less). Identical
    /// prompts (the 3 samples of a child) are forked; the rest find the header's full blocks in
    /// the prefix cache.
    static func treeLevelSharing(model: any LanguageModel, blockTokens: Int) throws
        -> (total: Int, fromCache: Int, fromForks: Int)
    {
        let config = model.config
        var rng = RandomStream(seed: 7)
        func tokens(_ n: Int) -> [Int] { (0..<n).map { _ in Int(rng.next() % UInt64(config.vocabularySize)) } }
        let headerLength = min(200, config.contextLength / 2)
        let header = tokens(headerLength)
        let pool = KVPool(config: config, memoryBytes: 160 * (headerLength + 64) * KVLayout(config: config, blockTokens: blockTokens).bytesPerToken,
                          blockTokens: blockTokens)
        var total = 0, fromCache = 0, fromForks = 0
        var live: [SequenceID] = []
        for _ in 0..<5 {
            let parent = tokens(12)
            for _ in 0..<8 {
                let prompt = header + parent + tokens(6)
                let (id, reused) = pool.startSequence(prompt: prompt)
                let rest = Array(prompt[reused...])
                let table = try pool.append(id, tokens: rest)
                _ = try model.forward([ForwardInput(tokens: rest, startPosition: reused, cache: table, logits: .last)])
                try pool.commit(id)
                total += prompt.count
                fromCache += reused
                live.append(id)
                for _ in 1..<3 {
                    live.append(try pool.fork(id))
                    total += prompt.count
                    fromForks += prompt.count
                }
            }
        }
        for id in live { pool.release(id) }
        return (total, fromCache, fromForks)
    }
}
