@testable import SeedEngine
import XCTest

/// `auto`'s choice of how much of each `lookup` proposal to verify, on made-up pass costs.
final class ProposalSelectionTests: XCTestCase {
    /// A memory-bound target: 1 ms a pass plus 10 µs a token.
    private let memoryBound = ProposalSelection(passCost: { 1e-3 + 1e-5 * Double($0) }, overheadPerToken: 0)
    /// A compute-bound target: 100 µs a token, however many share the pass.
    private let computeBound = ProposalSelection(passCost: { 1e-4 * Double($0) }, overheadPerToken: 0)

    private func reach(_ alpha: Double, _ tokens: Int) -> [Double] {
        (1...max(1, tokens)).prefix(tokens).map { pow(alpha, Double($0)) }
    }

    /// Three requests, one without a match: the two with proposals still draft (before, the one
    /// without a match was taken to set the batch's pace for good, and the round went undrafted).
    func testARequestWithoutAMatchDoesNotStopTheOthers() {
        let counts = memoryBound.lengths(reach: [reach(0.8, 6), [], reach(0.5, 2)], pending: 3, requests: 3)
        XCTAssertEqual(counts, [6, 0, 2])
    }

    /// A token is worth a plain round's cost per request (here 1.03 ms / 3) times its chance, and
    /// costs 10 µs: tokens below a chance of about 3 % are left out.
    func testUnlikelyTokensAreLeftOut() {
        let counts = memoryBound.lengths(reach: [[0.5, 0.2, 0.05, 0.02, 0.01]], pending: 3, requests: 3)
        XCTAssertEqual(counts, [3])
    }

    /// On a compute-bound target a drafted token costs what a committed one saves: nothing short
    /// of a certain token pays, and the margin leaves even those out.
    func testAComputeBoundTargetDraftsNothing() {
        let counts = computeBound.lengths(reach: Array(repeating: reach(0.9, 6), count: 120), pending: 120, requests: 120)
        XCTAssertEqual(counts, Array(repeating: 0, count: 120))
    }

    /// Per-token bookkeeping is a cost of every verified token: when it is dear only sure tokens pay.
    func testPerTokenOverheadShortensProposals() {
        let dear = ProposalSelection(passCost: memoryBound.passCost, overheadPerToken: 2e-4)
        let proposals = [reach(0.7, 6), reach(0.7, 6), reach(0.7, 6)]
        let cheap = memoryBound.lengths(reach: proposals, pending: 3, requests: 3)
        let shorter = dear.lengths(reach: proposals, pending: 3, requests: 3)
        XCTAssertEqual(cheap, [6, 6, 6])
        XCTAssertLessThan(shorter.reduce(0, +), 18)
        XCTAssertGreaterThan(shorter.reduce(0, +), 0)
    }

    /// The surest tokens go first, so a request with a longer match (a higher acceptance) gets
    /// more of its proposal verified, and each request's count is a prefix of its proposal.
    func testSurerProposalsGetMoreTokens() {
        let dear = ProposalSelection(passCost: memoryBound.passCost, overheadPerToken: 1e-4)
        let counts = dear.lengths(reach: [reach(0.9, 6), reach(0.5, 6)], pending: 2, requests: 2)
        XCTAssertGreaterThan(counts[0], counts[1])
        XCTAssertGreaterThan(counts[1], 0)
    }

    /// A request's first round carries its prompt: the value of a token is still a plain round's
    /// per request, not the prompt pass's (which would make every draft look worth it).
    func testPromptTokensDoNotInflateATokensWorth() {
        // 4 requests with 1,000 prompt tokens each; a token costs 10 µs beside a 1 ms pass. A
        // plain round is worth 0.26 ms a request: a token reached with chance 0.2 pays (52 µs
        // against 10), one with chance 0.002 does not (0.5 µs). Judged by the 41 ms prompt pass
        // (10.25 ms a request), the second would pay too (20 µs).
        let selection = ProposalSelection(passCost: { 1e-3 + 1e-5 * Double($0) }, overheadPerToken: 0)
        let counts = selection.lengths(reach: [[0.2], [0.002], [], []], pending: 4000, requests: 4)
        XCTAssertEqual(counts, [1, 0, 0, 0])
    }

    /// Pass costs jump where the kernels start a new sweep of rows: the round verifies the count
    /// with the best gain, not just every token that pays on its own.
    func testAJumpInPassCostIsWeighed() {
        // Up to 8 tokens a pass costs 1 ms; from 9 on, 2 ms.
        let stepped = ProposalSelection(passCost: { $0 <= 8 ? 1e-3 : 2e-3 }, overheadPerToken: 0)
        // 2 requests (2 pending), 12 tokens at chance 0.3: worth 0.15 ms each. Six fit under the
        // step (0.9 ms gained); all twelve gain 1.8 − 1 = 0.8 ms.
        let counts = stepped.lengths(reach: [Array(repeating: 0.3, count: 6), Array(repeating: 0.3, count: 6)], pending: 2, requests: 2)
        XCTAssertEqual(counts.reduce(0, +), 6)
    }

    func testNothingToChooseFrom() {
        XCTAssertEqual(memoryBound.lengths(reach: [[], []], pending: 2, requests: 2), [0, 0])
        XCTAssertEqual(memoryBound.lengths(reach: [], pending: 0, requests: 0), [])
    }
}
