import Foundation
import XCTest
import SeedModel
@testable import SeedEngine

/// The engine against target-only decoding: greedy outputs of every drafting strategy equal
/// batched autoregressive ones, caches hold exactly the committed tokens after rollbacks, the
/// scheduler is first come first served and finishes everything within its KV budget, and a
/// request's result does not depend on its batch.
final class EngineTests: XCTestCase {
    /// A pool that fits every test here many times over, without touching the default
    /// quarter-of-memory budget.
    static let kvBytes = 64 << 20

    private func models() throws -> EngineModels { try EngineModels.shared() }

    /// draft-s and draft-m together, a few instances each.
    private func mixedPool(_ m: EngineModels) -> [DraftModel] {
        [DraftModel(model: m.draftS, instances: 3, name: "draft-s"),
         DraftModel(model: m.draftM, instances: 3, name: "draft-m")]
    }

    /// 25 propose and 25 value prompts from the held-out puzzles.
    private func demoPrompts(_ m: EngineModels) throws -> [[Int]] {
        let puzzles = try EngineModels.puzzles()
        XCTAssertGreaterThanOrEqual(puzzles.count, 50)
        return puzzles[0..<25].map { m.encode(EngineModels.proposePrompt($0)) }
            + puzzles[25..<50].map { m.encode(EngineModels.valuePrompt($0)) }
    }

    private func requests(_ prompts: [[Int]], maxTokens: Int, sampling: SamplingParameters = .greedy,
                          prefix: String = "r") -> [GenerationRequest] {
        prompts.enumerated().map { i, p in
            GenerationRequest(tag: "\(prefix)\(i)", promptTokens: p, sampling: sampling, maxTokens: maxTokens)
        }
    }

    private func engine(_ m: EngineModels, _ strategy: DecodingStrategy, drafts: [DraftModel] = [],
                        k: Int = 4, kvBytes: Int = EngineTests.kvBytes, blockTokens: Int = 16,
                        draftConfidence: Float = EngineConfiguration.defaultDraftConfidence) throws -> Engine {
        try Engine(target: m.target, drafts: drafts,
                   configuration: EngineConfiguration(strategy: strategy, draftTokens: k,
                                                      kvMemoryBytes: kvBytes, blockTokens: blockTokens,
                                                      draftConfidence: draftConfidence))
    }

    // MARK: greedy exactness

    func testGreedyStrategiesMatchAutoregressive() throws {
        let m = try models()
        let prompts = try demoPrompts(m)
        let batch = requests(prompts, maxTokens: 48)
        let reference = try engine(m, .autoregressive).generate(batch)
        XCTAssertTrue(reference.contains { $0.finishReason == .eos }, "value prompts end with EOS")

        var ties = 0
        for strategy in [DecodingStrategy.seed, .speculative, .auto] {
            let e = try engine(m, strategy, drafts: mixedPool(m))
            let out = try e.generate(batch)
            ties += try assertGreedyEqual(out, reference, prompts: prompts, models: m, "\(strategy)")
            switch strategy {
            case .seed:
                // Both draft models of the pool really drafted.
                for d in e.statistics.drafts {
                    XCTAssertGreaterThan(d.draftedTokens, 0, "\(strategy): \(d.name) drafted nothing")
                }
                // Greedy drafts stop at unsure tokens too (by their softmax), and still match.
                XCTAssertLessThan(e.statistics.meanDraftTokens, 3.5, "greedy drafts stopped at unsure tokens")
            case .speculative:
                // One request at a time always gets the first model's instance.
                XCTAssertGreaterThan(e.statistics.draftedTokens, 0, "\(strategy) drafted nothing")
            default:
                break  // auto may legitimately choose k = 0
            }
        }
        // Near ties are a property of rare positions, not of the engine: a handful at most.
        XCTAssertLessThanOrEqual(ties, 3, "near ties are rare (out of \(3 * prompts.count) completions)")
    }

    // MARK: rollback

    /// After every round, each running request's target and draft sequences hold exactly the
    /// committed tokens the engine says they hold, with the keys and values a fresh prefill of
    /// those tokens gives. Sampling at temperature 1 makes drafts get rejected; small blocks and
    /// shared prompts make trims cross block boundaries and hit shared (copied-on-write) blocks.
    func testCachesHoldExactlyTheCommittedTokensAfterEveryRound() throws {
        let m = try models()
        let puzzles = try EngineModels.puzzles()
        let propose = m.encode(EngineModels.proposePrompt(puzzles[60]))
        let value = m.encode(EngineModels.valuePrompt(puzzles[61]))
        let prompts = [propose, propose, value, propose]
        let sampling = SamplingParameters(temperature: 1, seed: 7)
        // Drafting all k tokens, so that rejections (and rollbacks) are many.
        let e = try engine(m, .seed, drafts: [DraftModel(model: m.draftS, instances: 2, name: "draft-s"),
                                              DraftModel(model: m.draftM, instances: 1, name: "draft-m")],
                           k: 4, blockTokens: 4, draftConfidence: 0)
        let draftModels = [m.draftS, m.draftM]
        var checkedTarget = 0, checkedDraft = 0, rounds = 0
        var failures: [String] = []
        e.roundObserver = { running in
            rounds += 1
            for r in running {
                do {
                    let seq = r.targetSequence!
                    let committed = Array(r.tokens[0..<r.targetCount])
                    if try e.targetPool.tokens(seq) != committed {
                        failures.append("round \(rounds) \(r.request.tag): target pool tokens differ from the committed \(r.targetCount)")
                    }
                    if let diff = try self.maxKVDifference(m.target, e.targetPool, seq, committed), diff > 1e-4 {
                        failures.append("round \(rounds) \(r.request.tag): target K/V differ from a fresh prefill by \(diff)")
                    }
                    checkedTarget += 1
                    if let (model, dseq) = r.draft {
                        let pool = e.draftPools[model]
                        let drafted = Array(r.tokens[0..<r.draftCount])
                        if try pool.tokens(dseq) != drafted {
                            failures.append("round \(rounds) \(r.request.tag): draft pool tokens differ from the committed \(r.draftCount)")
                        }
                        if let diff = try self.maxKVDifference(draftModels[model], pool, dseq, drafted), diff > 1e-4 {
                            failures.append("round \(rounds) \(r.request.tag): draft K/V differ from a fresh prefill by \(diff)")
                        }
                        checkedDraft += 1
                    }
                } catch {
                    failures.append("round \(rounds) \(r.request.tag): \(error)")
                }
            }
        }
        let out = try e.generate(requests(prompts, maxTokens: 40, sampling: sampling))
        XCTAssertEqual(failures, [])
        XCTAssertEqual(out.count, prompts.count)
        XCTAssertGreaterThan(checkedTarget, 20)
        XCTAssertGreaterThan(checkedDraft, 20)
        let stats = e.statistics
        XCTAssertGreaterThan(stats.draftedTokens, 0)
        XCTAssertLessThan(stats.acceptedTokens, stats.draftedTokens, "some drafts were rejected (rolled back)")
        XCTAssertNil(e.targetPool.checkInvariants())
        for pool in e.draftPools { XCTAssertNil(pool.checkInvariants()) }
    }

    /// Largest difference between the K and V rows a pool holds for `tokens` and those of a fresh
    /// prefill of exactly `tokens` on a contiguous cache (nil when there are no tokens).
    private func maxKVDifference(_ model: TransformerModel, _ pool: KVPool, _ seq: SequenceID,
                                 _ tokens: [Int]) throws -> Float? {
        guard !tokens.isEmpty else { return nil }
        let fresh = ContiguousKVCache(config: model.config)
        _ = try model.forward([ForwardInput(tokens: tokens, startPosition: 0, cache: fresh.blockTable, logits: .none)])
        let table = try pool.blockTable(seq)
        let layout = pool.layout
        let reference = fresh.blockTable
        var worst: Float = 0
        for position in tokens.indices {
            for layer in 0..<layout.layers {
                for (mine, theirs) in [(table.key(position: position, layer: layer), reference.key(position: position, layer: layer)),
                                       (table.value(position: position, layer: layer), reference.value(position: position, layer: layer))] {
                    for j in 0..<layout.kvDim {
                        worst = max(worst, abs(mine[j] - theirs[j]))
                    }
                }
            }
        }
        return worst
    }

    // MARK: scheduling

    /// More requests than draft instances: every request completes, instances are handed on, and
    /// draft assignment follows request order. The budget admits every request in the first
    /// round, so a draft instance is the only thing a request waits for (admission order under a
    /// budget that makes requests wait: `testTinyKVBudgetMakesRequestsWaitAndStillComplete`).
    func testMoreRequestsThanDraftInstancesAllCompleteInOrder() throws {
        let m = try models()
        let all = try demoPrompts(m)
        let prompts = Array(all[0..<6] + all[25..<31])
        let batch = requests(prompts, maxTokens: 40)
        let e = try engine(m, .seed, drafts: [DraftModel(model: m.draftS, instances: 2, name: "draft-s")], k: 3)
        // The observer runs at the end of every round that had requests running, with the
        // requests still running after it (finished ones are already gone). With every request
        // admitted in round 0 that is every round, so `round` here is the engine's round.
        var lastRound = [Int: Int]()  // request index → last round after which it was still running
        var waitingWithoutDraft = 0   // (round, request) pairs still running, holding no instance
        var round = 0
        e.roundObserver = { running in
            for r in running {
                lastRound[r.index] = round
                if r.draft == nil { waitingWithoutDraft += 1 }
            }
            round += 1
        }
        let out = try e.generate(batch)
        let reference = try engine(m, .autoregressive).generate(batch)
        let ties = try assertGreedyEqual(out, reference, prompts: prompts, models: m, "seed, 2 instances")
        XCTAssertLessThanOrEqual(ties, 1)
        XCTAssertEqual(out.map(\.tag), batch.map(\.tag))
        XCTAssertTrue(out.allSatisfy { !$0.tokenIDs.isEmpty })

        // The premise of the draft checks below (and of reading the observer's count as the
        // engine's round): nobody waits for KV room.
        XCTAssertEqual(out.map(\.statistics.admittedRound), Array(repeating: 0, count: batch.count),
                       "the ample budget admits every request in the first round")
        XCTAssertGreaterThan(waitingWithoutDraft, 0, "requests waited for a draft instance: the order below is tested")
        let assigned = out.map(\.statistics.draftAssignedRound)
        let withDraft = assigned.compactMap { $0 }
        XCTAssertEqual(withDraft, withDraft.sorted(), "draft instances go to the oldest request first")
        XCTAssertGreaterThan(withDraft.count, 2, "instances are handed on when requests finish")
        // Request i finishes in the round after the last one it was still running after (round 0
        // when the observer never saw it). In that round it is still running when instances are
        // handed out (before the passes), so as the oldest waiting request it would get a free
        // one then: a younger request j may get an instance that i lacks only in a later round.
        func finishedRound(_ i: Int) -> Int { (lastRound[i] ?? -1) + 1 }
        var comparisons = 0
        for (j, later) in assigned.enumerated() {
            guard let later else { continue }
            for i in 0..<j where assigned[i].map({ $0 > later }) ?? true {
                comparisons += 1
                XCTAssertGreaterThan(later, finishedRound(i),
                                     "request \(j) got a draft in round \(later) while older request \(i), running until round \(finishedRound(i)), had none")
            }
        }
        XCTAssertGreaterThan(comparisons, 0, "some request got an instance after an older one had finished without")
    }

    // MARK: requests that arrive mid-run

    /// Requests that `onCompletion` returns join the round right after the completion that
    /// brought them, come back after the given ones, and sample exactly what they sample alone.
    func testRequestsArrivingMidRunJoinTheNextRoundAndSampleAsAlone() throws {
        let m = try models()
        let all = try demoPrompts(m)
        let sampling = SamplingParameters(temperature: 1, seed: 5)
        let given = requests(Array(all[0..<3]), maxTokens: 30, sampling: sampling, prefix: "given")
        let arriving = requests(Array(all[25..<28]), maxTokens: 30, sampling: sampling, prefix: "arriving")
        let e = try engine(m, .autoregressive)
        var rounds = 0
        e.roundObserver = { _ in rounds += 1 }
        var roundsWhenBrought: [String: Int] = [:]
        var toBring = arriving
        let out = try e.generate(given) { _ in
            guard !toBring.isEmpty else { return [] }
            let next = toBring.removeFirst()
            roundsWhenBrought[next.tag] = rounds
            return [next]
        }
        XCTAssertEqual(out.map(\.tag), (given + arriving).map(\.tag), "given requests first, then arrivals in arrival order")
        for c in out.suffix(arriving.count) {
            XCTAssertEqual(c.statistics.admittedRound, roundsWhenBrought[c.tag], "\(c.tag) joins the next round")
        }
        XCTAssertEqual(e.statistics.requests, given.count + arriving.count)
        for (c, request) in zip(out, given + arriving) {
            let alone = try engine(m, .autoregressive).generate([request])[0]
            XCTAssertEqual(c.tokenIDs, alone.tokenIDs, "\(request.tag) samples what it samples alone")
        }
        XCTAssertEqual(e.targetPool.sequenceCount, 0)
        XCTAssertNil(e.targetPool.checkInvariants())
    }

    /// First come, first served holds for arrivals: they queue behind every request already waiting.
    func testArrivalsQueueBehindWaitingRequests() throws {
        let m = try models()
        let all = try demoPrompts(m)
        let given = requests(Array(all[0..<3]), maxTokens: 12, prefix: "given")
        let late = requests(Array(all[25..<26]), maxTokens: 12, prefix: "late")
        var finished: [String] = []
        _ = try engine(m, .sequential).generate(given) { c in
            finished.append(c.tag)
            return c.tag == "given0" ? late : []
        }
        XCTAssertEqual(finished, ["given0", "given1", "given2", "late0"])
    }

    /// An error from `onCompletion` (or a bad request it returns) ends the run with that error,
    /// frees every cache, and leaves the engine as good as new.
    func testAnErrorFromOnCompletionEndsTheRunAndFreesTheCaches() throws {
        struct Stop: Error {}
        let m = try models()
        let all = try demoPrompts(m)
        let batch = requests(Array(all[0..<4] + all[25..<29]), maxTokens: 30)
        let e = try engine(m, .seed, drafts: mixedPool(m))
        func assertFreed(_ when: String) {
            XCTAssertEqual(e.targetPool.sequenceCount, 0, when)
            XCTAssertNil(e.targetPool.checkInvariants(), when)
            for pool in e.draftPools {
                XCTAssertEqual(pool.sequenceCount, 0, when)
                XCTAssertNil(pool.checkInvariants(), when)
            }
        }
        XCTAssertThrowsError(try e.generate(batch) { _ in throw Stop() }) { XCTAssertTrue($0 is Stop, "\($0)") }
        assertFreed("after a thrown error")
        let bad = GenerationRequest(tag: "bad", promptTokens: [], maxTokens: 4)
        XCTAssertThrowsError(try e.generate(batch) { _ in [bad] }) { error in
            XCTAssertEqual(error as? EngineError, .emptyPrompt(tag: "bad"))
        }
        assertFreed("after a bad arrival")
        let fresh = try engine(m, .seed, drafts: mixedPool(m)).generate(batch)
        XCTAssertEqual(try e.generate(batch).map(\.tokenIDs), fresh.map(\.tokenIDs))
    }

    /// A KV budget for about two requests at a time: the rest wait, and all complete with the
    /// outputs an ample budget gives.
    func testTinyKVBudgetMakesRequestsWaitAndStillComplete() throws {
        let m = try models()
        let all = try demoPrompts(m)
        let prompts = Array(all[0..<4] + all[25..<29])
        let batch = requests(prompts, maxTokens: 40)
        let perBlock = KVLayout(config: m.target.config, blockTokens: 16).bytesPerToken * 16
        // Each request reserves blocks(prompt + 40 + k + 1) + 1 = 5 blocks of 16 tokens.
        let tight = try engine(m, .seed, drafts: mixedPool(m), k: 4, kvBytes: 11 * perBlock)
        let out = try tight.generate(batch)
        let reference = try engine(m, .seed, drafts: mixedPool(m), k: 4).generate(batch)
        XCTAssertEqual(reference.map(\.statistics.admittedRound), Array(repeating: 0, count: batch.count))
        let admitted = out.map(\.statistics.admittedRound)
        XCTAssertGreaterThan(admitted.max()!, 0, "some requests waited for room")
        XCTAssertEqual(admitted, admitted.sorted())
        XCTAssertLessThanOrEqual(tight.statistics.maxBatchSize, 2)
        let ties = try assertGreedyEqual(out, reference, prompts: prompts, models: m, "tiny KV budget")
        XCTAssertLessThanOrEqual(ties, 1)
        XCTAssertNil(tight.targetPool.checkInvariants())
    }

    /// A request that cannot fit even the empty pool is refused before anything runs.
    func testRequestLargerThanThePoolIsRefusedUpFront() throws {
        let m = try models()
        let perBlock = KVLayout(config: m.target.config, blockTokens: 16).bytesPerToken * 16
        let e = try engine(m, .seed, drafts: mixedPool(m), kvBytes: 4 * perBlock)
        let prompt = m.encode("Propose steps for: 4 5 6 10\n")
        let fits = GenerationRequest(tag: "small", promptTokens: prompt, maxTokens: 8)
        let huge = GenerationRequest(tag: "huge", promptTokens: prompt, maxTokens: 200)
        var completed = 0
        XCTAssertThrowsError(try e.generate([fits, huge]) { _ in completed += 1; return [] }) { error in
            guard case let .requestTooLarge(tag, _, bytesNeeded, poolBytes)? = error as? EngineError else {
                return XCTFail("expected requestTooLarge, got \(error)")
            }
            XCTAssertEqual(tag, "huge")
            XCTAssertGreaterThan(bytesNeeded, poolBytes)
        }
        XCTAssertEqual(completed, 0, "nothing ran")
        XCTAssertEqual(e.targetPool.metrics.tokensComputed, 0, "nothing ran")
        XCTAssertEqual(e.targetPool.sequenceCount, 0)
        // The same engine still serves what fits.
        XCTAssertEqual(try e.generate([fits]).first?.tokenIDs.count, 8)
    }

    func testEmptyAndTooLongPromptsAreRefused() throws {
        let m = try models()
        let e = try engine(m, .seed, drafts: mixedPool(m))
        let context = m.target.config.contextLength
        XCTAssertThrowsError(try e.generate([GenerationRequest(tag: "empty", promptTokens: [], maxTokens: 4)])) { error in
            XCTAssertEqual(error as? EngineError, .emptyPrompt(tag: "empty"))
        }
        let tooLong = [Int](repeating: 5, count: context + 1)
        XCTAssertThrowsError(try e.generate([GenerationRequest(tag: "long", promptTokens: tooLong, maxTokens: 4)])) { error in
            XCTAssertEqual(error as? EngineError, .promptTooLong(tag: "long", tokens: context + 1, context: context))
        }
    }

    /// A draft goes on past a token exactly when it gave that token at least the confidence:
    /// every round's drafts are sure tokens then at most one unsure one, and fewer than k only
    /// after an unsure one. Confidence 0 always drafts k. Values outside 0…1 are refused.
    func testDraftConfidenceStopsDraftsAtUnsureTokens() throws {
        let m = try models()
        let puzzles = try EngineModels.puzzles()
        let prompts = puzzles[0..<4].map { m.encode(EngineModels.proposePrompt($0)) }
        let batch = requests(prompts, maxTokens: 40, sampling: SamplingParameters(temperature: 1, seed: 11))
        for confidence: Float in [0.5, 0] {
            let e = try engine(m, .seed, drafts: mixedPool(m), k: 4, draftConfidence: confidence)
            var rounds = 0, short = 0
            var failures: [String] = []
            e.roundObserver = { running in
                // Requests still running after the round had room for all k drafts.
                for r in running where !r.drafts.isEmpty && r.remainingBudget > 4 {
                    rounds += 1
                    let p = r.draftProbabilities
                    XCTAssertEqual(p.count, r.drafts.count)
                    if p.dropLast().contains(where: { $0 < confidence }) {
                        failures.append("\(r.request.tag): drafted on past an unsure token: \(p)")
                    }
                    if p.count < 4 {
                        short += 1
                        if let last = p.last, last >= confidence {
                            failures.append("\(r.request.tag): stopped after a sure token: \(p)")
                        }
                    }
                }
            }
            let out = try e.generate(batch)
            XCTAssertEqual(out.count, batch.count)
            XCTAssertEqual(failures, [], "confidence \(confidence)")
            XCTAssertGreaterThan(rounds, 10, "confidence \(confidence): drafting rounds were observed")
            if confidence == 0 {
                XCTAssertEqual(short, 0, "confidence 0: k draft tokens every round")
            } else {
                XCTAssertGreaterThan(short, rounds / 10, "confidence \(confidence): drafts stopped early")
            }
        }

        for bad: Float in [-0.1, 1.5, .nan] {
            XCTAssertThrowsError(try engine(m, .seed, drafts: mixedPool(m), draftConfidence: bad)) { error in
                guard case .badOption(let message)? = error as? EngineError else {
                    return XCTFail("confidence \(bad): expected badOption, got \(error)")
                }
                XCTAssertTrue(message.contains("draft confidence must be between 0 and 1"), message)
            }
        }
    }

    func testSeedWithoutDraftsIsRefused() throws {
        let m = try models()
        for strategy in [DecodingStrategy.seed, .speculative, .auto] {
            XCTAssertThrowsError(try engine(m, strategy, drafts: [])) { error in
                XCTAssertEqual(error as? EngineError, .noDraftModel(strategy))
            }
        }
    }

    /// maxTokens 0, stop strings, EOS and the context limit end requests correctly in the middle
    /// of a drafting batch.
    func testStopConditions() throws {
        let m = try models()
        let propose = m.encode("Propose steps for: 4 5 6 10\n")
        let value = m.encode("Evaluate: 4 4 10\n")
        // A prompt that leaves 6 tokens of context: repeated propose blocks, as long as fits.
        let context = m.target.config.contextLength
        var long = propose
        while long.count + propose.count - 1 <= context - 6 { long += propose.dropFirst() }
        long += Array(repeating: long.last!, count: context - 6 - long.count)
        XCTAssertEqual(long.count, context - 6)

        let batch = [
            GenerationRequest(tag: "zero", promptTokens: propose, maxTokens: 0),
            GenerationRequest(tag: "stop", promptTokens: propose, maxTokens: 60, stopStrings: ["\n"]),
            GenerationRequest(tag: "stop-mid", promptTokens: propose, maxTokens: 60, stopStrings: [" ="]),
            GenerationRequest(tag: "eos", promptTokens: value, maxTokens: 100),
            GenerationRequest(tag: "context", promptTokens: long, maxTokens: 50),
            GenerationRequest(tag: "length", promptTokens: propose, maxTokens: 7),
            // A prompt that fills the context still gets its one token (its logits need no slot).
            GenerationRequest(tag: "full", promptTokens: long + Array(repeating: long.last!, count: 6), maxTokens: 5),
        ]
        let plain = batch.map { var r = $0; r.stopStrings = []; return r }
        let full = try engine(m, .autoregressive).generate(plain)
        for strategy in [DecodingStrategy.seed, .speculative, .autoregressive] {
            let out = try engine(m, strategy, drafts: mixedPool(m), k: 4).generate(batch)
            let byTag = Dictionary(uniqueKeysWithValues: out.map { ($0.tag, $0) })
            let fullByTag = Dictionary(uniqueKeysWithValues: full.map { ($0.tag, $0) })

            let zero = byTag["zero"]!
            XCTAssertEqual(zero.tokenIDs, [], "\(strategy)")
            XCTAssertEqual(zero.text, "")
            XCTAssertEqual(zero.finishReason, .length)

            for tag in ["stop", "stop-mid"] {
                let stop = batch.first { $0.tag == tag }!.stopStrings[0]
                let c = byTag[tag]!, whole = fullByTag[tag]!.text
                let cut = whole.range(of: stop).map { String(whole[..<$0.lowerBound]) }
                XCTAssertNotNil(cut, "the plain output contains \(stop.debugDescription)")
                XCTAssertEqual(c.finishReason, .stop, "\(strategy) \(tag)")
                XCTAssertEqual(c.text, cut, "\(strategy) \(tag): text is cut before the stop string")
                XCTAssertFalse(c.text.contains(stop))
            }

            let eos = byTag["eos"]!
            XCTAssertEqual(eos.finishReason, .eos, "\(strategy)")
            XCTAssertEqual(eos.tokenIDs.last, m.eos)
            XCTAssertEqual(eos.tokenIDs.filter { $0 == m.eos }.count, 1, "nothing after EOS")
            XCTAssertLessThan(eos.tokenIDs.count, 100)

            // The last sampled token needs no cache slot: context − prompt + 1 tokens.
            let ctx = byTag["context"]!
            XCTAssertEqual(ctx.finishReason, .length, "\(strategy)")
            XCTAssertEqual(ctx.tokenIDs.count, context - long.count + 1, "\(strategy): generation stops at the context")

            let length = byTag["length"]!
            XCTAssertEqual(length.finishReason, .length)
            XCTAssertEqual(length.tokenIDs.count, 7)

            let full = byTag["full"]!
            XCTAssertEqual(full.finishReason, .length, "\(strategy)")
            XCTAssertEqual(full.tokenIDs.count, 1, "\(strategy): a full context leaves room for one token")
        }
        // The context limit agrees with the plain single-sequence generator.
        let plainContext = try TextGenerator(model: m.target).generate(
            promptTokens: long, options: GenerationOptions(maxTokens: 50, sampling: .greedy))
        XCTAssertEqual(plainContext.tokenIDs.count, context - long.count + 1)
        XCTAssertTrue(plainContext.reachedContextLimit)
    }

    // MARK: determinism

    /// With one draft model and an instance for everyone, a sampled `seed` completion is the same
    /// whether its request runs alone or in a batch: its random numbers come from its own stream.
    func testSeedOutputDoesNotDependOnTheBatch() throws {
        let m = try models()
        let all = try demoPrompts(m)
        let sampling = SamplingParameters(temperature: 1, seed: 11)
        let batch = requests(Array(all[3..<7] + all[30..<34]), maxTokens: 40, sampling: sampling, prefix: "d")
        let drafts = [DraftModel(model: m.draftS, instances: batch.count, name: "draft-s")]
        let together = try engine(m, .seed, drafts: drafts, k: 3).generate(batch)
        XCTAssertEqual(together.map(\.statistics.draftAssignedRound), Array(repeating: 0, count: batch.count))
        for i in [0, 5] {
            let alone = try engine(m, .seed, drafts: drafts, k: 3).generate([batch[i]])[0]
            XCTAssertEqual(alone.tokenIDs, together[i].tokenIDs, "request \(i) alone vs in a batch of \(batch.count)")
            XCTAssertEqual(alone.text, together[i].text)
        }
        // And the batch itself is reproducible, in another order.
        let reversed = try engine(m, .seed, drafts: drafts, k: 3).generate(batch.reversed())
        XCTAssertEqual(reversed.reversed().map(\.tokenIDs), together.map(\.tokenIDs))
        // Sampling really happened: not every completion is the greedy one.
        let greedy = try engine(m, .autoregressive).generate(batch.map { var r = $0; r.sampling = .greedy; return r })
        XCTAssertNotEqual(greedy.map(\.tokenIDs), together.map(\.tokenIDs))
    }
}
