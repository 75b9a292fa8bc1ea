import XCTest
@testable import SeedModel

/// The forward pass against logits from an independent implementation (fp32 on the same weights).
final class ForwardFixtureTests: XCTestCase {
    static let tolerance: Float = 2e-3

    private func maxError(_ a: UnsafeBufferPointer<Float>, _ b: [Float]) -> Float {
        zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func testPrefillLogitsMatchReferenceAtEveryPosition() throws {
        for (key, path) in Fixtures.modelPaths {
            let model = try TransformerModel(path: path)
            for sequence in try XCTUnwrap(Fixtures.shared.models[key]).sequences {
                let cache = ContiguousKVCache(config: model.config)
                let logits = try model.forward([ForwardInput(tokens: sequence.ids, startPosition: 0,
                                                              cache: cache.blockTable, logits: .all)])
                XCTAssertEqual(logits.rows, sequence.ids.count)
                for (row, reference) in sequence.logits.enumerated() {
                    let error = maxError(logits[row], reference)
                    XCTAssertLessThanOrEqual(error, Self.tolerance, "\(key) '\(sequence.text.prefix(20))' position \(row)")
                }
            }
        }
        if TestPaths.benchTarget == nil {
            print("ForwardFixtureTests: SKIPPED target-l (bench model not found; set SEEDFLOW_BENCH_MODEL)")
        }
    }

    func testDecodeOneTokenAtATimeMatchesReference() throws {
        for (key, path) in Fixtures.modelPaths {
            let model = try TransformerModel(path: path)
            let sequence = try XCTUnwrap(Fixtures.shared.models[key]?.sequences.last)
            let cache = ContiguousKVCache(config: model.config)
            for (position, token) in sequence.ids.enumerated() {
                let logits = try model.forward([ForwardInput(tokens: [token], startPosition: position,
                                                              cache: cache.blockTable, logits: .last)])
                let error = maxError(logits[0], sequence.logits[position])
                XCTAssertLessThanOrEqual(error, Self.tolerance, "\(key) decode position \(position)")
            }
        }
    }

    func testGreedyContinuationMatchesReferenceUntilNearTie() throws {
        for (key, path) in Fixtures.modelPaths {
            let model = try TransformerModel(path: path)
            for case_ in try XCTUnwrap(Fixtures.shared.models[key]).greedy {
                let cache = ContiguousKVCache(config: model.config)
                var logits = try model.forward([ForwardInput(tokens: case_.prompt_ids, startPosition: 0,
                                                              cache: cache.blockTable, logits: .last)])
                var position = case_.prompt_ids.count
                for (step, expected) in case_.greedy_ids.enumerated() {
                    let next = argmax(logits[0])
                    if case_.top2_margins[step] < 1e-2 { break }  // a near tie may flip legitimately
                    XCTAssertEqual(next, expected, "\(key) '\(case_.prompt.prefix(24))' step \(step)")
                    if next != expected || step == case_.greedy_ids.count - 1 { break }
                    logits = try model.forward([ForwardInput(tokens: [next], startPosition: position,
                                                              cache: cache.blockTable, logits: .last)])
                    position += 1
                }
            }
        }
    }

    func testBatchedSequencesEqualSeparateOnes() throws {
        let model = try TransformerModel(path: TestPaths.target)
        let sequences = try XCTUnwrap(Fixtures.shared.models["target"]).sequences
        let caches = sequences.map { _ in ContiguousKVCache(config: model.config) }
        let inputs = zip(sequences, caches).map {
            ForwardInput(tokens: $0.ids, startPosition: 0, cache: $1.blockTable, logits: .all)
        }
        // The block tables point into the caches: keep them alive past their last use by name
        // (release builds end a lifetime there).
        let logits = try withExtendedLifetime(caches) { try model.forward(inputs) }
        for (index, sequence) in sequences.enumerated() {
            for row in 0..<sequence.ids.count {
                let error = maxError(logits[logits.firstRow[index] + row], sequence.logits[row])
                XCTAssertLessThanOrEqual(error, Self.tolerance, "batched sequence \(index) position \(row)")
            }
        }
    }

    func testContextOverflowAndBadTokensAreRefused() throws {
        let model = try TransformerModel(path: TestPaths.draftS)
        let cache = ContiguousKVCache(config: model.config)
        let tooLong = [Int](repeating: 5, count: model.config.contextLength + 1)
        XCTAssertThrowsError(try model.forward([ForwardInput(tokens: tooLong, startPosition: 0,
                                                              cache: cache.blockTable, logits: .last)])) { error in
            XCTAssertEqual(error as? ForwardError, .contextOverflow(position: model.config.contextLength, limit: model.config.contextLength))
        }
        XCTAssertThrowsError(try model.forward([ForwardInput(tokens: [512], startPosition: 0,
                                                              cache: cache.blockTable, logits: .last)])) { error in
            XCTAssertEqual(error as? ForwardError, .tokenOutOfRange(token: 512, vocabularySize: 512))
        }
    }

    private func argmax(_ v: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<v.count where v[i] > v[best] { best = i }
        return best
    }
}
