@testable import SeedEngine
import XCTest

/// `auto`'s k on made-up costs of the two regimes it has to tell apart.
final class DraftLengthPolicyTests: XCTestCase {
    /// A memory-bound target: a pass costs 1 ms plus 10 µs per token; cheap drafts.
    private func memoryBound(overheadPerToken: Double = 0, acceptance: Double = 0.85) -> DraftLengthPolicy {
        DraftLengthPolicy(acceptance: [acceptance], continuation: [1], draftCost: { _, n in 5e-5 + 1e-6 * Double(n) },
                          targetCost: { 1e-3 + 1e-5 * Double($0) }, overheadPerToken: overheadPerToken)
    }

    /// A compute-bound target: every token costs the same 100 µs, however many share the pass.
    private let computeBound = DraftLengthPolicy(acceptance: [0.85], continuation: [1], draftCost: { _, n in 5e-5 + 1e-6 * Double(n) },
                                                 targetCost: { 1e-4 * Double($0) }, overheadPerToken: 0)

    func requests(_ count: Int, drafted: Int, remaining: Int = 100) -> [DraftLengthPolicy.Request] {
        (0..<count).map { .init(remaining: remaining, draftModel: $0 < drafted ? 0 : nil) }
    }

    func testFewRequestsOnAMemoryBoundTargetDraftTheMost() {
        XCTAssertEqual(memoryBound().best(requests: requests(3, drafted: 3), pending: 3, maxDraftTokens: 6), 6)
    }

    func testALargeComputeBoundBatchDoesNotDraft() {
        // 16 of 125 requests hold a draft instance: drafting would lengthen every round of all 125.
        XCTAssertEqual(computeBound.best(requests: requests(125, drafted: 16), pending: 125, maxDraftTokens: 6), 0)
    }

    func testWithoutDraftsOrAcceptanceKIsZero() {
        XCTAssertEqual(memoryBound().best(requests: requests(3, drafted: 0), pending: 3, maxDraftTokens: 6), 0)
        XCTAssertEqual(memoryBound(acceptance: 0).best(requests: requests(3, drafted: 3), pending: 3, maxDraftTokens: 6), 0)
        XCTAssertEqual(memoryBound().best(requests: requests(3, drafted: 3), pending: 3, maxDraftTokens: 0), 0)
    }

    /// The per-token bookkeeping is what every drafted token adds besides the pass: when it is
    /// dear, shorter drafts win; priced per round instead, it would have favoured long drafts.
    func testPerTokenOverheadShortensDrafts() {
        let cheap = memoryBound().best(requests: requests(3, drafted: 3), pending: 3, maxDraftTokens: 6)
        let dear = memoryBound(overheadPerToken: 3e-4).best(requests: requests(3, drafted: 3), pending: 3, maxDraftTokens: 6)
        XCTAssertLessThan(dear, cheap)
    }

    func testEstimateCountsRoundsOfTheSlowestRequest() {
        // One request of 100 tokens, no draft: 100 rounds of a 1-token pass.
        let policy = memoryBound()
        let plain = policy.estimatedSeconds(k: 0, requests: requests(1, drafted: 0), pending: 1)
        XCTAssertEqual(plain, 100 * (1e-3 + 1e-5), accuracy: 1e-9)
        // With a draft and certain acceptance, k = 4 advances 5 tokens a round: 20 rounds of 4
        // draft passes and a 5-token target pass.
        let certain = DraftLengthPolicy(acceptance: [1], continuation: [1], draftCost: { _, _ in 1e-4 },
                                        targetCost: { 1e-3 + 1e-5 * Double($0) }, overheadPerToken: 0)
        XCTAssertEqual(certain.estimatedSeconds(k: 4, requests: requests(1, drafted: 1), pending: 1),
                       20 * (4 * 1e-4 + 1e-3 + 5e-5), accuracy: 1e-9)
    }

    /// Drafts that stop early at unsure tokens: with continuation c the i-th token is drafted
    /// with probability cⁱ⁻¹, so the draft steps and verified tokens of a round shrink with it.
    func testEarlyStopsShrinkTheRound() {
        let halfSure = DraftLengthPolicy(acceptance: [1], continuation: [0.5], draftCost: { _, n in 1e-4 * Double(n) },
                                         targetCost: { 1e-3 + 1e-5 * Double($0) }, overheadPerToken: 0)
        // One request of 100 tokens, k = 2: it drafts 1 + 0.5 tokens and advances 1 + 1 + 0.5 a
        // round (40 rounds); step 1 always runs over it, step 2 half the time.
        XCTAssertEqual(halfSure.estimatedSeconds(k: 2, requests: requests(1, drafted: 1), pending: 1),
                       40 * (1e-4 + 0.5 * 1e-4 + 1e-3 + 1e-5 * 3), accuracy: 1e-9)
    }

    /// On a compute-bound target every drafted token is paid for in full, so at the same
    /// acceptance, drafts that often stop early make a longer k worth it (k = 2, not 1, here).
    func testEarlyStopsMakeLongerDraftsPayOnAComputeBoundTarget() {
        func policy(continuation: Double) -> DraftLengthPolicy {
            DraftLengthPolicy(acceptance: [0.9], continuation: [continuation], draftCost: { _, n in 5e-5 + 1e-6 * Double(n) },
                              targetCost: { 2e-4 + 1e-4 * Double($0) }, overheadPerToken: 0)
        }
        let all = policy(continuation: 1).best(requests: requests(3, drafted: 3), pending: 3, maxDraftTokens: 8)
        let stopping = policy(continuation: 0.75).best(requests: requests(3, drafted: 3), pending: 3, maxDraftTokens: 8)
        XCTAssertEqual(all, 1)
        XCTAssertEqual(stopping, 2)
    }

    /// When drafts stop on their own, only "no drafts" and "the most" are weighed: here the
    /// search over every k would pick 2, and the choice between 0 and 8 falls on 0 (8 tokens
    /// estimated dearer than none); a memory-bound target still drafts the most.
    func testNoneOrMostWeighsOnlyTheEnds() {
        var computeBound = DraftLengthPolicy(acceptance: [0.9], continuation: [0.75], draftCost: { _, n in 5e-5 + 1e-6 * Double(n) },
                                             targetCost: { 2e-4 + 1e-4 * Double($0) }, overheadPerToken: 0)
        XCTAssertEqual(computeBound.best(requests: requests(3, drafted: 3), pending: 3, maxDraftTokens: 8), 2)
        computeBound.choice = .noneOrMost
        XCTAssertEqual(computeBound.best(requests: requests(3, drafted: 3), pending: 3, maxDraftTokens: 8), 0)
        var few = memoryBound()
        few.choice = .noneOrMost
        XCTAssertEqual(few.best(requests: requests(3, drafted: 3), pending: 3, maxDraftTokens: 6), 6)
        XCTAssertEqual(few.best(requests: requests(3, drafted: 3), pending: 3, maxDraftTokens: 0), 0)
    }
}

/// When `auto` probes: only where drafting could pay, and further apart while probes confirm
/// the choice not to draft.
final class ProbeScheduleTests: XCTestCase {
    private let certainButDear = DraftLengthPolicy(acceptance: [0.05], continuation: [0.5], draftCost: { _, n in 5e-5 + 1e-6 * Double(n) },
                                                   targetCost: { 1e-3 + 1e-5 * Double($0) }, overheadPerToken: 0)

    func testDraftingCouldPayOnlyWhereAPerfectDraftWouldWin() {
        let few = (0..<3).map { _ in DraftLengthPolicy.Request(remaining: 100, draftModel: 0) }
        // A pessimistic acceptance estimate keeps `best` at 0, but perfect drafts would win.
        XCTAssertEqual(certainButDear.best(requests: few, pending: 3, maxDraftTokens: 6), 0)
        XCTAssertTrue(certainButDear.draftingCouldPay(requests: few, pending: 3, maxDraftTokens: 6))
        // 16 of 125 requests drafted on a compute-bound target: the undrafted requests set the
        // rounds, so even perfect drafts only make each round longer.
        let computeBound = DraftLengthPolicy(acceptance: [0.9], continuation: [1], draftCost: { _, n in 5e-5 + 1e-6 * Double(n) },
                                             targetCost: { 1e-4 * Double($0) }, overheadPerToken: 0)
        let level = (0..<125).map { DraftLengthPolicy.Request(remaining: 40, draftModel: $0 < 16 ? 0 : nil) }
        XCTAssertFalse(computeBound.draftingCouldPay(requests: level, pending: 125, maxDraftTokens: 6))
        XCTAssertFalse(certainButDear.draftingCouldPay(requests: few, pending: 3, maxDraftTokens: 0))
    }

    func testProbesComeFurtherApartUntilAutoDraftsAgain() {
        var schedule = ProbeSchedule()
        func probeRounds(_ rounds: Range<Int>, couldPay: Bool = true) -> [Int] {
            rounds.filter { schedule.probes(round: $0, draftingCouldPay: couldPay) }
        }
        // Gaps 32, 64, then 128 at most.
        XCTAssertEqual(probeRounds(0..<500), [15, 47, 111, 239, 367, 495])
        // A round that drafts by choice starts the gaps over.
        schedule.drafted(round: 500)
        XCTAssertEqual(probeRounds(501..<600), [516, 548])
        // Never where drafting could not pay; the probe due waits for a round where it could.
        schedule = ProbeSchedule()
        XCTAssertEqual(probeRounds(0..<100, couldPay: false), [])
        XCTAssertEqual(probeRounds(100..<101), [100])
    }
}

extension DraftLengthPolicyTests {
    /// Three requests and two draft instances on a memory-bound target: the third request takes
    /// over an instance when a drafted one finishes, so drafting pays. Without counting that
    /// hand-over the batch looked as slow as its undrafted request and `auto` chose k = 0.
    func testRequestsWithoutAnInstanceTakeOneOverAsOthersFinish() {
        var policy = DraftLengthPolicy(acceptance: [0.8], continuation: [1], draftCost: { _, n in 2e-4 + 1e-5 * Double(n) },
                                       targetCost: { 2e-3 + 1e-5 * Double($0) }, overheadPerToken: 0, choice: .noneOrMost)
        let requests = (0..<3).map { DraftLengthPolicy.Request(remaining: 160, draftModel: $0 < 2 ? 0 : nil) }
        XCTAssertEqual(policy.best(requests: requests, pending: 3, maxDraftTokens: 6), 0, "without hand-over: no drafting")
        policy.instanceSources = 1
        XCTAssertEqual(policy.best(requests: requests, pending: 3, maxDraftTokens: 6), 6, "with hand-over: drafting pays")
    }
}
