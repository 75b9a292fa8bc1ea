import Foundation
import XCTest
import SeedModel
@testable import SeedEngine

/// Speculative sampling must leave the target's distribution exactly as it is. Thousands of
/// seeded `seed`-strategy samples of the first two tokens are compared with the exact target
/// distribution — first token: the warped p; pairs: p(x)·p(y|x) from one forward pass per x —
/// by a chi-square goodness-of-fit test at α = 0.001, and the same counts against a wrong
/// distribution must fail it, so the test has power.
final class EngineDistributionTests: XCTestCase {
    static let samples = 2_400
    /// Requests per `generate` call (and draft instances): everyone drafts from the first round.
    static let chunk = 400
    /// First tokens below this target probability are not expanded into pairs; their mass
    /// stays in the chi-square test as one "anything else" outcome.
    static let negligible = 1e-4

    /// A propose prompt: the first step of the list is drawn from many valid ones, so the first
    /// token is spread over several numbers and the second (an operator or a digit) varies too.
    private func prompt(_ m: EngineModels) -> [Int] {
        m.encode("Propose steps for: 3 6 7 8\n")
    }

    /// The paper's drafting: all k tokens every round.
    func testFirstTwoTokensFollowTheTargetAtTemperature1() throws {
        try checkDistribution(SamplingParameters(temperature: 1, seed: 2024), draftConfidence: 0)
    }

    /// Drafts that stop at an unsure token: a confidence that stops some requests after their
    /// first draft token and lets others go on, so both cases feed the second token.
    func testFirstTwoTokensFollowTheTargetAtTemperature07TopP09() throws {
        try checkDistribution(SamplingParameters(temperature: 0.7, topP: 0.9, seed: 2025), draftConfidence: 0.25)
    }

    /// `lookup` only: every sample's group holds the warm-up request's completion (and, from
    /// the second round on, its siblings' text), so the first token is proposed as a point mass
    /// (the warm-up's first token) and later ones from whichever sibling wrote them last.
    func testLookupDraftsKeepTheTargetDistribution() throws {
        try checkDistribution(SamplingParameters(temperature: 1, seed: 2026), draftConfidence: 0, pool: .lookup)
    }

    /// A mixed pool: half the requests hold a draft-s instance, every request may draw from
    /// `lookup`; each request-round takes the source expected to advance it more.
    func testMixedPoolKeepsTheTargetDistribution() throws {
        try checkDistribution(SamplingParameters(temperature: 0.7, topP: 0.9, seed: 2027), draftConfidence: 0.25, pool: .mixed)
    }

    private enum Pool { case model, lookup, mixed }

    private struct Pair: Hashable {
        var first: Int
        var second: Int  // -1: the first token ended the completion
    }

    /// Exact target distributions from plain single-sequence passes: the warped first token, and
    /// pairs p(x)·p(y|x) for every x above `negligible` (an end token is a pair with no second).
    private func exactDistributions(_ m: EngineModels, _ prompt: [Int], temperature: Double, topP: Double) throws
        -> (firstVector: [Double], first: [Int: Double], pairs: [Pair: Double]) {
        let first = warpedDistribution(try m.lastLogits(m.target, prompt), temperature: temperature, topP: topP)
        var pairs: [Pair: Double] = [:]
        for (x, px) in first.enumerated() where px > Self.negligible {
            if m.target.tokenizer.endOfGenerationTokenIDs.contains(x) {
                pairs[Pair(first: x, second: -1)] = px
                continue
            }
            let second = warpedDistribution(try m.lastLogits(m.target, prompt + [x]), temperature: temperature, topP: topP)
            for (y, py) in second.enumerated() where py > 0 {
                pairs[Pair(first: x, second: y)] = px * py
            }
        }
        let firstByID = Dictionary(uniqueKeysWithValues: first.enumerated().filter { $0.1 > 0 }.map { ($0.0, $0.1) })
        return (first, firstByID, pairs)
    }

    private func checkDistribution(_ sampling: SamplingParameters, draftConfidence: Float, pool: Pool = .model,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let m = try EngineModels.shared()
        let prompt = prompt(m)
        let temperature = Double(sampling.temperature), topP = Double(sampling.topP)

        let exact = try exactDistributions(m, prompt, temperature: temperature, topP: topP)
        let first = exact.firstVector
        let entropy = -first.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
        XCTAssertGreaterThan(entropy, 0.9, "the prompt's first token is spread out (entropy \(entropy) nats)",
                             file: file, line: line)

        // Seeded samples under `seed`: k = 3 drafts from draft-s, one instance per request.
        // maxTokens 4 lets all k drafts be used (k is capped at the remaining budget − 1).
        let drafts = pool == .lookup ? [] : [DraftModel(model: m.draftS, instances: pool == .mixed ? Self.chunk / 2 : Self.chunk, name: "draft-s")]
        let engine = try Engine(target: m.target, drafts: drafts, lookup: pool == .model ? nil : LookupConfiguration(minNgram: 2, maxNgram: 4),
                                configuration: EngineConfiguration(strategy: .seed, draftTokens: 3,
                                                                   kvMemoryBytes: 256 << 20, blockTokens: 4,
                                                                   draftConfidence: draftConfidence))
        // One request first, so the prompt's blocks are in the prefix cache for all the others
        // (and its completion in the group's lookup index).
        _ = try engine.generate([GenerationRequest(tag: "warm", promptTokens: prompt, sampling: sampling, maxTokens: 4, group: "g")])
        var firstCounts: [Int: Int] = [:]
        var pairCounts: [Pair: Int] = [:]
        var stats = EngineStatistics()
        for start in stride(from: 0, to: Self.samples, by: Self.chunk) {
            let batch = (start..<min(start + Self.chunk, Self.samples)).map { i in
                GenerationRequest(tag: "sample-\(i)", promptTokens: prompt, sampling: sampling, maxTokens: 4, group: "g")
            }
            for c in try engine.generate(batch) {
                let ids = c.tokenIDs
                firstCounts[ids[0], default: 0] += 1
                pairCounts[Pair(first: ids[0], second: ids.count > 1 ? ids[1] : -1), default: 0] += 1
            }
            stats.merge(engine.statistics)
        }
        print("drafted/accepted per source: " + stats.drafts.map { "\($0.name) \($0.draftedTokens)/\($0.acceptedTokens), sibling proposals \($0.siblingProposals)" }.joined(separator: "; "))
        for d in stats.drafts {
            // Every source of the pool really drafted, and had drafts both accepted and rejected.
            XCTAssertGreaterThan(d.draftedTokens, Self.samples / 4, "\(d.name) really drafted", file: file, line: line)
            XCTAssertGreaterThan(d.acceptedTokens, 0, "\(d.name): some drafts accepted", file: file, line: line)
            XCTAssertLessThan(d.acceptedTokens, d.draftedTokens, "\(d.name): some drafts rejected", file: file, line: line)
        }
        if pool != .model {
            XCTAssertGreaterThan(stats.drafts.last!.siblingProposals, Self.samples / 4, "lookup drafted from siblings", file: file, line: line)
        }
        print("mean draft tokens per round at confidence \(draftConfidence): \(stats.meanDraftTokens)")
        // Lookup proposals end where the copied text ends: only model drafts' lengths are checked.
        if pool == .model && draftConfidence == 0 {
            XCTAssertGreaterThan(stats.meanDraftTokens, 2, "k ≥ 2 drafts per round", file: file, line: line)
        } else if pool == .model {
            XCTAssertGreaterThan(stats.meanDraftTokens, 1.2, "some drafts go past an unsure first token", file: file, line: line)
            XCTAssertLessThan(stats.meanDraftTokens, 2.8, "some drafts stop early", file: file, line: line)
        }

        // An outcome the target gives no mass (a token outside the top-p nucleus) is a sure sign
        // of a wrong sampler, however rare: the chi-square test below would only add it to the
        // merged "anything else" cell, where a few such samples barely move the statistic.
        for (id, count) in firstCounts where exact.first[id] == nil {
            XCTFail("first token \(id) was sampled \(count) times but has target probability 0 (outside the nucleus)",
                    file: file, line: line)
        }
        // Pairs are known exactly for every first token above `negligible`; below it they stay in
        // the "anything else" outcome, as intended.
        for (pair, count) in pairCounts where (exact.first[pair.first] ?? 0) > Self.negligible && exact.pairs[pair] == nil {
            XCTFail("pair (\(pair.first), \(pair.second)) was sampled \(count) times but has target probability 0",
                    file: file, line: line)
        }

        let firstTest = ChiSquare.test(observed: firstCounts, expected: exact.first)
        let pairTest = ChiSquare.test(observed: pairCounts, expected: exact.pairs)
        for (name, test) in [("first token", firstTest), ("first two tokens", pairTest)] {
            XCTAssertGreaterThanOrEqual(test.bins, 3, "\(name): enough bins to test", file: file, line: line)
            let critical = ChiSquare.critical001(degreesOfFreedom: test.degreesOfFreedom)
            print("\(name) at T = \(temperature), top-p \(topP): χ² = \(test.statistic), \(test.bins) bins, critical \(critical)")
            XCTAssertLessThan(test.statistic, critical,
                              "\(name): χ² = \(test.statistic) with \(test.degreesOfFreedom) degrees of freedom (critical \(critical) at α = 0.001)",
                              file: file, line: line)
        }

        // Power: the same counts against what a wrong sampler would produce must be rejected.
        // One wrong sampler ignores the request's warping and samples at a fixed T = 1.5 without
        // top-p; the other takes the draft's tokens without the speculative correction, i.e.
        // samples the draft's first token (first token only: the pair would need the draft's
        // continuation after each x).
        let hot = try exactDistributions(m, prompt, temperature: 1.5, topP: 1)
        let draftFirst = warpedDistribution(try m.lastLogits(m.draftS, prompt), temperature: temperature, topP: topP)
        let uncorrected = Dictionary(uniqueKeysWithValues: draftFirst.enumerated().filter { $0.1 > 0 }.map { ($0.0, $0.1) })
        for (name, test) in [("first token, T = 1.5", ChiSquare.test(observed: firstCounts, expected: hot.first)),
                             ("first two tokens, T = 1.5", ChiSquare.test(observed: pairCounts, expected: hot.pairs)),
                             ("first token, uncorrected drafts", ChiSquare.test(observed: firstCounts, expected: uncorrected))] {
            let critical = ChiSquare.critical001(degreesOfFreedom: test.degreesOfFreedom)
            print("wrong sampler, \(name): χ² = \(test.statistic), critical \(critical)")
            XCTAssertGreaterThan(test.statistic, critical,
                                 "\(name): the test detects a wrong sampler", file: file, line: line)
        }
    }
}
