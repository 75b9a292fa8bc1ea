import Foundation
import XCTest
import SeedModel
@testable import SeedEngine

/// Drafts that differ from their target in ways real model families do: a shorter context (a
/// 2k-token draft for a 4k-token target), a vocabulary padded past the target's, and the small
/// KV budgets `auto` calibrates in.
final class DraftCompatibilityTests: XCTestCase {
    static func model(seed: UInt64, context: Int, tokenizer: GGUFFile? = nil) throws -> TransformerModel {
        var m = RandomModel(embeddingLength: 64, blockCount: 2, headCount: 2, headCountKV: 2, feedForwardLength: 128)
        m.seed = seed
        m.contextLength = context
        m.tokenizerSource = tokenizer
        let path = try m.writeTemporary()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try TransformerModel(path: path)
    }

    /// A vocabulary-only GGUF: the random models' vocabulary plus `extra` padding tokens.
    static func paddedTokenizer(extra: Int) throws -> GGUFFile {
        let vocab = RandomModel.vocabulary + (0..<extra).map { "<pad\($0)>" }
        var w = GGUFWriter()
        w.set("general.architecture", "llama")
        w.set("tokenizer.ggml.model", "llama")
        w.set("tokenizer.ggml.tokens", strings: vocab)
        w.set("tokenizer.ggml.scores", .array(.float32, vocab.indices.map { .float32(-Float($0)) }))
        w.set("tokenizer.ggml.token_type", .array(.int32, vocab.indices.map { id in
            .int32(id == 0 ? 2 : id < 3 ? 3 : id < 259 ? 6 : id < RandomModel.vocabulary.count ? 1 : 5)
        }))
        w.set("tokenizer.ggml.bos_token_id", uint32: 1)
        w.set("tokenizer.ggml.eos_token_id", uint32: 2)
        w.set("tokenizer.ggml.unknown_token_id", uint32: 0)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString).gguf").path
        try w.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)
    }

    private func prompt(_ n: Int, offset: Int = 0) -> [Int] { (0..<n).map { 3 + ($0 * 7 + offset) % 290 } }

    private func greedyReference(_ target: TransformerModel, _ requests: [GenerationRequest]) throws -> [[Int]] {
        try Engine(target: target, configuration: EngineConfiguration(strategy: .autoregressive, kvMemoryBytes: 8 << 20))
            .generate(requests).map(\.tokenIDs)
    }

    /// A request that grows past its draft's context keeps going on the target alone, with the
    /// same greedy tokens; before, the draft's pass past its context failed the whole run.
    func testARequestOutgrowingItsDraftsContextFinishesOnTheTarget() throws {
        let target = try Self.model(seed: 1, context: 64), draft = try Self.model(seed: 2, context: 32)
        for strategy in [DecodingStrategy.seed, .speculative, .auto] {
            let engine = try Engine(target: target, drafts: [DraftModel(model: draft, name: "short")],
                                    configuration: EngineConfiguration(strategy: strategy, draftTokens: 4,
                                                                       kvMemoryBytes: 8 << 20, draftConfidence: 0))
            let request = GenerationRequest(tag: "a", promptTokens: prompt(20), maxTokens: 40)
            let out = try engine.generate([request])
            XCTAssertEqual(out[0].tokenIDs, try greedyReference(target, [request])[0], "\(strategy)")
            XCTAssertEqual(out[0].tokenIDs.count, 40, "\(strategy): stopped early")
            if strategy != .auto { XCTAssertGreaterThan(out[0].statistics.draftedTokens, 0, "\(strategy)") }
            XCTAssertEqual(engine.targetPool.sequenceCount, 0)
            XCTAssertEqual(engine.draftPools[0].sequenceCount, 0)
        }
    }

    /// A prompt longer than the draft's context never gets a draft instance, and does not hold
    /// up the requests behind it: the one instance goes to the next request that fits.
    func testAPromptLongerThanTheDraftsContextLeavesTheInstanceToTheNextRequest() throws {
        let target = try Self.model(seed: 1, context: 64), draft = try Self.model(seed: 2, context: 32)
        let engine = try Engine(target: target, drafts: [DraftModel(model: draft, instances: 1, name: "short")],
                                configuration: EngineConfiguration(strategy: .seed, draftTokens: 4,
                                                                   kvMemoryBytes: 8 << 20, draftConfidence: 0))
        let requests = [GenerationRequest(tag: "long", promptTokens: prompt(40), maxTokens: 10),
                        GenerationRequest(tag: "short", promptTokens: prompt(8, offset: 5), maxTokens: 10)]
        let out = try engine.generate(requests)
        XCTAssertEqual(out.map(\.tokenIDs), try greedyReference(target, requests))
        XCTAssertNil(out[0].statistics.draftAssignedRound)
        XCTAssertEqual(out[0].statistics.draftedTokens, 0)
        XCTAssertEqual(out[1].statistics.draftAssignedRound, 0)
        XCTAssertGreaterThan(out[1].statistics.draftedTokens, 0)
    }

    /// A draft whose vocabulary is padded past the target's (accepted up to 128 tokens apart)
    /// proposes target ids only. Greedy: the target's tokens; sampled: no id outside the
    /// target's vocabulary (before, both crashed on a distribution sized for the target).
    func testADraftWithAPaddedVocabularyProposesTargetTokensOnly() throws {
        let target = try Self.model(seed: 1, context: 128)
        let draft = try Self.model(seed: 2, context: 128, tokenizer: try Self.paddedTokenizer(extra: 64))
        XCTAssertEqual(draft.config.vocabularySize, target.config.vocabularySize + 64)
        let engine = try Engine(target: target, drafts: [DraftModel(model: draft, name: "padded")],
                                configuration: EngineConfiguration(strategy: .seed, draftTokens: 4, kvMemoryBytes: 8 << 20,
                                                                   draftConfidence: 0))
        let greedy = GenerationRequest(tag: "g", promptTokens: prompt(10), maxTokens: 20)
        XCTAssertEqual(try engine.generate([greedy])[0].tokenIDs, try greedyReference(target, [greedy])[0])
        let sampled = (0..<4).map {
            GenerationRequest(tag: "s\($0)", promptTokens: prompt(10, offset: $0),
                              sampling: SamplingParameters(temperature: 1.5, seed: 3), maxTokens: 30)
        }
        let out = try engine.generate(sampled)
        XCTAssertGreaterThan(engine.statistics.draftedTokens, 0)
        for c in out { XCTAssertTrue(c.tokenIDs.allSatisfy { $0 < target.config.vocabularySize }, "\(c.tokenIDs)") }
    }

    /// A target whose vocabulary is padded past its draft's may sample a padding id; the draft
    /// cannot read it, so the request goes on without the draft (before, the draft's pass threw
    /// and ended the run).
    func testATargetTokenOutsideTheDraftsVocabularyEndsDraftingForThatRequest() throws {
        let target = try Self.model(seed: 1, context: 128, tokenizer: try Self.paddedTokenizer(extra: 64))
        let draft = try Self.model(seed: 2, context: 128)
        let engine = try Engine(target: target, drafts: [DraftModel(model: draft, instances: 4, name: "small")],
                                configuration: EngineConfiguration(strategy: .seed, draftTokens: 4, kvMemoryBytes: 8 << 20))
        let draftVocabulary = draft.config.vocabularySize
        // The observer sees each round's survivors after their passes: a padding id sampled in
        // round R is in `tokens` then, and the instance is given up when round R + 1 hands out
        // instances. So a request that held a padding id at the end of the previous round must
        // hold no draft now (nor get one back).
        var heldPadding = Set<Int>()  // requests whose tokens held a padding id after the previous round
        var checked = 0
        var holdingDraft = Set<String>()  // tags of requests found holding a draft with a padding id
        engine.roundObserver = { running in
            for r in running where heldPadding.contains(r.index) {
                checked += 1
                if r.draft != nil { holdingDraft.insert(r.request.tag) }
            }
            heldPadding = Set(running.filter { $0.largestToken >= draftVocabulary }.map(\.index))
        }
        let requests = (0..<4).map {
            GenerationRequest(tag: "r\($0)", promptTokens: prompt(6, offset: $0), sampling: SamplingParameters(temperature: 3, seed: 11),
                              maxTokens: 60)
        }
        let out = try engine.generate(requests)
        let padding = out.flatMap(\.tokenIDs).filter { $0 >= draftVocabulary }
        XCTAssertFalse(padding.isEmpty, "the target sampled no padding id: the test proves nothing")
        XCTAssertEqual(holdingDraft.sorted(), [], "requests that kept a draft instance after sampling an id ≥ \(draftVocabulary)")
        XCTAssertGreaterThan(checked, 0, "a request ran on after a padding id: the draft check above ran")
        // Going on without the draft, not ending the request: tokens follow the first padding id.
        XCTAssertTrue(out.contains { c in
            c.tokenIDs.firstIndex { $0 >= draftVocabulary }.map { $0 < c.tokenIDs.count - 1 } ?? false
        }, "some completion continues past its first padding id")
        XCTAssertEqual(engine.draftPools[0].sequenceCount, 0)
    }

    /// Only a request holding a draft instance holds room for the draft's distributions (k rows
    /// of the vocabulary: megabytes for real vocabularies).
    func testOnlyRequestsWithADraftHoldDistributions() throws {
        let target = try Self.model(seed: 1, context: 128), draft = try Self.model(seed: 2, context: 128)
        let engine = try Engine(target: target, drafts: [DraftModel(model: draft, instances: 1, name: "d")],
                                configuration: EngineConfiguration(strategy: .seed, draftTokens: 4, kvMemoryBytes: 8 << 20))
        var rounds = 0
        engine.roundObserver = { active in
            rounds += 1
            XCTAssertLessThanOrEqual(active.filter { $0.draft != nil }.count, 1)
            for r in active {
                XCTAssertEqual(r.draftDistributionFloats, r.draft == nil ? 0 : 4 * target.config.vocabularySize)
            }
        }
        let requests = (0..<4).map {
            GenerationRequest(tag: "r\($0)", promptTokens: prompt(6, offset: $0), sampling: SamplingParameters(temperature: 1, seed: 5),
                              maxTokens: 12)
        }
        _ = try engine.generate(requests)
        XCTAssertGreaterThan(rounds, 2)
    }

    /// `auto` times calibration passes of up to 256 tokens in the run's own pools. A budget that
    /// holds the request but not those passes calibrates what fits, and leaves no sequence
    /// behind (before, the run failed and every later one on the engine with it).
    func testAutoCalibratesWithinASmallKVBudget() throws {
        let target = try Self.model(seed: 1, context: 256), draft = try Self.model(seed: 2, context: 256)
        let perBlock = KVLayout(config: target.config, blockTokens: 16).bytesPerToken * 16
        let engine = try Engine(target: target, drafts: [DraftModel(model: draft, name: "d")],
                                configuration: EngineConfiguration(strategy: .auto, draftTokens: 4, kvMemoryBytes: 10 * perBlock))
        let request = GenerationRequest(tag: "a", promptTokens: prompt(10), maxTokens: 20)
        for _ in 0..<2 {
            let out = try engine.generate([request])
            XCTAssertEqual(out[0].tokenIDs, try greedyReference(target, [request])[0])
            XCTAssertEqual(engine.targetPool.sequenceCount, 0)
            XCTAssertEqual(engine.draftPools[0].sequenceCount, 0)
        }
    }
}
