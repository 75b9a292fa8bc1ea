import Foundation
import XCTest
import SeedModel
@testable import SeedEngine

/// The `lookup` draft source: its index, exact verification of its point-mass proposals, greedy
/// identity and per-request streams with lookup-only and mixed pools, and its options.
final class LookupDraftTests: XCTestCase {
    private func models() throws -> EngineModels { try EngineModels.shared() }

    // MARK: the index

    func testTheLongestLatestMatchWithAContinuationIsProposed() {
        let index = LookupIndex(minNgram: 2, maxNgram: 4)
        // Document 0: "1 2 3 4 | 9 2 3 5 | 1 2 3"  — "2 3" occurs twice, "1 2 3" once before the end.
        let own = index.addDocument([1, 2, 3, 4, 9, 2, 3, 5, 1, 2, 3])
        var out: [Int] = []
        let match = index.match(own)
        XCTAssertEqual(match?.n, 3, "the 3-gram '1 2 3' wins over the later 2-gram '2 3'")
        XCTAssertEqual(match?.document, own)
        index.continuation(match!, limit: 3, into: &out)
        XCTAssertEqual(out, [4, 9, 2])

        // A sibling writes "7 1 2 3 8 8": its "1 2 3" is now the latest occurrence.
        let sibling = index.addDocument([7])
        for t in [1, 2, 3, 8, 8] { index.append(t, to: sibling) }
        let fromSibling = index.match(own)
        XCTAssertEqual(fromSibling?.document, sibling)
        index.continuation(fromSibling!, limit: 5, into: &out)
        XCTAssertEqual(out, [8, 8], "the continuation ends where the sibling's text ends")
    }

    func testTheTextsOwnLastNgramIsNoMatchAndShortSuffixesAreNone() {
        let index = LookupIndex(minNgram: 2, maxNgram: 3)
        let d = index.addDocument([5, 6, 7])
        XCTAssertNil(index.match(d), "'6 7' and '5 6 7' have no earlier occurrence")
        let short = index.addDocument([5])
        XCTAssertNil(index.match(short), "one token is shorter than the shortest n-gram")
        index.append(6, to: short)
        XCTAssertEqual(index.match(short).map { [$0.document, $0.start, $0.n] }, [d, 2, 2], "'5 6' continues with 7 in the other text")
    }

    // MARK: verification of point masses

    /// Verifying point-mass drafts x₀, x₁ against fixed target rows must give a first token
    /// distributed as p₀ and, after x₀, a second distributed as p₁, whatever x₀ and x₁ are (a
    /// likely token, an unlikely one, one outside top-k). Chi-square at α = 0.001, with power
    /// against "accept every proposal".
    func testPointMassVerificationIsExact() {
        let rows: [[Float]] = [[2.0, 1.0, 0.5, -1.0, 0.2], [0.1, 1.5, -0.5, 1.0, 0.3], [0, 0, 0, 0, 0]]
        for (sampling, proposals) in [(SamplingParameters(temperature: 1, seed: 1), [[0, 1], [3, 2], [2, 4]]),
                                      (SamplingParameters(temperature: 0.7, topK: 3, seed: 2), [[1, 3], [4, 1]])] {
            var sampler = Sampler(sampling)
            var p: [[Double]] = []
            var scratch = [Float](repeating: 0, count: 5)
            for row in rows.prefix(2) {
                row.withUnsafeBufferPointer { l in scratch.withUnsafeMutableBufferPointer { sampler.distribution(l, into: $0) } }
                p.append(scratch.map(Double.init))
            }
            for drafts in proposals {
                var rng = RandomStream(seed: sampling.seed, tag: "\(drafts)")
                var first: [Int: Int] = [:], second: [Int: Int] = [:]
                let n = 40_000
                for _ in 0..<n {
                    let outcome = scratch.withUnsafeMutableBufferPointer { buffer in
                        SpeculativeVerifier.verify(drafts: drafts, draftDistributions: UnsafePointer(buffer.baseAddress!),
                                                   targetLogits: { i in rows[i].withUnsafeBufferPointer { $0 } },
                                                   sampler: &sampler, rng: &rng, scratch: buffer, pointMasses: true)
                    }
                    let firstToken = outcome.accepted >= 1 ? drafts[0] : outcome.next
                    first[firstToken, default: 0] += 1
                    if outcome.accepted >= 1 { second[outcome.accepted >= 2 ? drafts[1] : outcome.next, default: 0] += 1 }
                }
                for (name, observed, expected) in [("first", first, p[0]), ("second after x₀", second, p[1])] {
                    let expectedByID = Dictionary(uniqueKeysWithValues: expected.enumerated().map { ($0.offset, $0.element) })
                    for (id, count) in observed where expected[id] == 0 {
                        XCTFail("\(name) token \(id) drawn \(count) times but has probability 0 (drafts \(drafts))")
                    }
                    let test = ChiSquare.test(observed: observed, expected: expectedByID)
                    XCTAssertLessThan(test.statistic, ChiSquare.critical001(degreesOfFreedom: test.degreesOfFreedom),
                                      "\(name) token, drafts \(drafts), \(sampling)")
                }
                // Power: always accepting x₀ would put all the mass on it.
                let wrong = Dictionary(uniqueKeysWithValues: (0..<5).map { ($0, $0 == drafts[0] ? 0.99 : 0.0025) })
                let test = ChiSquare.test(observed: first, expected: wrong)
                XCTAssertGreaterThan(test.statistic, ChiSquare.critical001(degreesOfFreedom: test.degreesOfFreedom))
            }
        }
    }

    func testGreedyPointMassesAcceptWhileTheArgmaxAgrees() {
        let rows: [[Float]] = [[0, 3, 1], [2, 0, 1], [0, 0, 5]]
        var sampler = Sampler(.greedy)
        var rng = RandomStream(seed: 0)
        var scratch = [Float](repeating: 0, count: 3)
        for (drafts, accepted, next) in [([1, 0], 2, 2), ([1, 2], 1, 0), ([0, 0], 0, 1)] {
            let outcome = scratch.withUnsafeMutableBufferPointer { buffer in
                SpeculativeVerifier.verify(drafts: drafts, draftDistributions: UnsafePointer(buffer.baseAddress!),
                                           targetLogits: { i in rows[i].withUnsafeBufferPointer { $0 } },
                                           sampler: &sampler, rng: &rng, scratch: buffer, pointMasses: true)
            }
            XCTAssertEqual(outcome.accepted, accepted, "\(drafts)")
            XCTAssertEqual(outcome.next, next, "\(drafts)")
        }
    }

    // MARK: the engine

    /// Propose prompts of the held-out puzzles, three samples each in a group (as the runner
    /// tags them), and value prompts one per group.
    private func groupedRequests(_ m: EngineModels, sampling: SamplingParameters = .greedy, maxTokens: Int = 48) throws
        -> (requests: [GenerationRequest], prompts: [[Int]]) {
        let puzzles = try EngineModels.puzzles()
        var out: [GenerationRequest] = []
        for (p, puzzle) in puzzles[0..<4].enumerated() {
            let prompt = m.encode(EngineModels.proposePrompt(puzzle))
            for s in 0..<3 {
                out.append(GenerationRequest(tag: "p\(p)-\(s)", promptTokens: prompt, sampling: sampling, maxTokens: maxTokens, group: "propose-\(p)"))
            }
        }
        for (p, puzzle) in puzzles[30..<36].enumerated() {
            out.append(GenerationRequest(tag: "v\(p)", promptTokens: m.encode(EngineModels.valuePrompt(puzzle)), sampling: sampling,
                                         maxTokens: maxTokens, group: "value"))
        }
        return (out, out.map(\.promptTokens))
    }

    private func engine(_ m: EngineModels, _ strategy: DecodingStrategy, drafts: [DraftModel] = [],
                        lookup: LookupConfiguration? = LookupConfiguration(), k: Int = 4,
                        draftConfidence: Float = EngineConfiguration.defaultDraftConfidence) throws -> Engine {
        try Engine(target: m.target, drafts: drafts, lookup: lookup,
                   configuration: EngineConfiguration(strategy: strategy, draftTokens: k, kvMemoryBytes: 64 << 20,
                                                      draftConfidence: draftConfidence))
    }

    func testGreedyLookupAndMixedPoolsMatchAutoregressive() throws {
        let m = try models()
        let (batch, prompts) = try groupedRequests(m)
        let reference = try engine(m, .autoregressive, lookup: nil).generate(batch)
        var ties = 0
        let pools: [(String, [DraftModel], DecodingStrategy)] = [
            ("lookup", [], .seed), ("lookup", [], .auto),
            ("mixed", [DraftModel(model: m.draftS, instances: 2, name: "draft-s")], .seed),
            ("mixed", [DraftModel(model: m.draftS, instances: 2, name: "draft-s")], .auto),
        ]
        for (name, drafts, strategy) in pools {
            let e = try engine(m, strategy, drafts: drafts)
            let out = try e.generate(batch)
            ties += try assertGreedyEqual(out, reference, prompts: prompts, models: m, "\(name) \(strategy)")
            if strategy == .seed {
                for d in e.statistics.drafts {
                    XCTAssertGreaterThan(d.draftedTokens, 0, "\(name): \(d.name) drafted")
                    XCTAssertGreaterThan(d.acceptedTokens, 0, "\(name): \(d.name) had drafts accepted")
                }
                XCTAssertGreaterThan(e.statistics.drafts.last!.siblingProposals, 0, "\(name): lookup drafted from siblings")
                let perRequest = out.reduce(0) { $0 + $1.statistics.lookupDraftedTokens }
                XCTAssertEqual(perRequest, e.statistics.drafts.last!.draftedTokens, "per-request lookup counts add up")
            }
        }
        XCTAssertLessThanOrEqual(ties, 3)
    }

    /// Without groups, lookup drafts from a request's own text only, so a sampled completion
    /// is the same alone and in a batch; with groups the batch is still reproducible. (At a
    /// draft confidence above 0 a proposal is cut by the acceptance learned over the whole
    /// batch, so, as with `auto`'s k, the sample but not its distribution depends on the batch.)
    func testLookupOutputDependsOnlyOnTheRequestAndItsGroup() throws {
        let m = try models()
        let sampling = SamplingParameters(temperature: 1, seed: 13)
        let (grouped, _) = try groupedRequests(m, sampling: sampling, maxTokens: 40)
        let ungrouped = grouped.map { var r = $0; r.group = nil; return r }
        let together = try engine(m, .seed, k: 3, draftConfidence: 0).generate(ungrouped)
        for i in [0, 7, 12] {
            let alone = try engine(m, .seed, k: 3, draftConfidence: 0).generate([ungrouped[i]])[0]
            XCTAssertEqual(alone.tokenIDs, together[i].tokenIDs, "request \(i) alone vs in a batch")
        }
        let e = try engine(m, .seed, k: 3)
        let first = try e.generate(grouped)
        XCTAssertGreaterThan(e.statistics.drafts[0].draftedTokens, 0, "lookup drafted")
        let again = try engine(m, .seed, k: 3).generate(grouped)
        XCTAssertEqual(first.map(\.tokenIDs), again.map(\.tokenIDs), "a grouped batch is reproducible")
        let greedy = try engine(m, .autoregressive, lookup: nil).generate(grouped.map { var r = $0; r.sampling = .greedy; return r })
        XCTAssertNotEqual(greedy.map(\.tokenIDs), first.map(\.tokenIDs), "sampling really happened")
    }

    /// A group's index outlives its requests: a later call of the group drafts from them.
    func testLaterRequestsOfAGroupDraftFromFinishedOnes() throws {
        let m = try models()
        let (batch, _) = try groupedRequests(m)
        let e = try engine(m, .seed)
        _ = try e.generate([batch[0]])
        let out = try e.generate([batch[1]])
        XCTAssertGreaterThan(out[0].statistics.lookupSiblingProposals, 0, "the second sample drafted from the first")
        XCTAssertGreaterThan(out[0].statistics.lookupAcceptedTokens, 10, "greedy: the first sample's text is the second's")
    }

    func testLookupAloneIsADraftPoolAndBadLengthsAreRefused() throws {
        let m = try models()
        XCTAssertNoThrow(try engine(m, .seed))
        XCTAssertThrowsError(try engine(m, .seed, lookup: nil)) { XCTAssertEqual($0 as? EngineError, .noDraftModel(.seed)) }
        for (lo, hi) in [(0, 3), (4, 3), (2, 17)] {
            XCTAssertThrowsError(try engine(m, .seed, lookup: LookupConfiguration(minNgram: lo, maxNgram: hi))) { error in
                XCTAssertTrue("\(error)".contains("1 ≤ min ≤ max ≤ 16"), "\(error)")
            }
        }
    }
}
