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
    /// of a certain token pays.
    func testAComputeBoundTargetDraftsNothing() {
        let counts = computeBound.lengths(reach: Array(repeating: reach(0.9, 6), count: 120), pending: 120, requests: 120)
        XCTAssertEqual(counts, Array(repeating: 0, count: 120))
    }

    /// A gain within the margin (1 % of a plain round) is not taken: a token worth 10.3 µs
    /// (chance 0.03 of 1.03 ms / 3) against its 10 µs gains 0.3 µs, less than the 10.3 µs margin.
    func testAGainWithinTheMarginIsNotTaken() {
        XCTAssertEqual(memoryBound.lengths(reach: [[0.03]], pending: 3, requests: 3), [0])
        XCTAssertEqual(memoryBound.lengths(reach: [[0.1]], pending: 3, requests: 3), [1])
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
    /// more of its proposal verified.
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
    /// with the best gain, not just every token that pays on its own, nor only those before the jump.
    func testAJumpInPassCostIsWeighed() {
        // Up to 8 tokens a pass costs 1 ms; from 9 on, 2 ms. 2 requests (2 pending), tokens at
        // chance 0.3 are worth 0.15 ms each. Six fit under the step (0.9 ms gained).
        let stepped = ProposalSelection(passCost: { $0 <= 8 ? 1e-3 : 2e-3 }, overheadPerToken: 0)
        func total(_ perRequest: Int) -> Int {
            stepped.lengths(reach: [Array(repeating: 0.3, count: perRequest), Array(repeating: 0.3, count: perRequest)],
                            pending: 2, requests: 2).reduce(0, +)
        }
        // Twelve tokens gain 1.8 − 1 = 0.8 ms: stop under the step.
        XCTAssertEqual(total(6), 6)
        // Twenty gain 3.0 − 1 = 2.0 ms: past it, although the seventh token alone does not pay.
        XCTAssertEqual(total(10), 20)
    }

    /// The per-count estimates come from rounds over different contexts: here 27 tokens were
    /// measured at 109 ms in a round of long contexts and 28–60 at 64–100 ms in others, so their
    /// difference makes drafted tokens look free. Priced by the calibration curve's growth (a
    /// compute-bound 2.5 ms a token) on top of this round's 109 ms, 14 tokens expected to
    /// commit 8.3 tokens worth 4 ms each (34 ms) add about 54 ms, and none is drafted.
    func testDraftedTokensArePricedByTheCurvesGrowth() {
        let table: (Int) -> Double = { $0 == 27 ? 0.109 : 0.064 + 0.001 * Double(max(0, $0 - 28)) }
        let reach = Array(repeating: [0.7, 0.49], count: 7) + Array(repeating: [Double](), count: 20)
        let byTable = ProposalSelection(passCost: table, overheadPerToken: 0)
        XCTAssertGreaterThan(byTable.lengths(reach: reach, pending: 27, requests: 27).reduce(0, +), 0,
                             "the table alone makes the tokens look free")
        let byCurve = ProposalSelection(passCost: table, overheadPerToken: 0, passShape: { 3e-3 + 2.5e-3 * Double($0) })
        XCTAssertEqual(byCurve.lengths(reach: reach, pending: 27, requests: 27), Array(repeating: 0, count: 27))
    }

    func testNothingToChooseFrom() {
        XCTAssertEqual(memoryBound.lengths(reach: [[], []], pending: 2, requests: 2), [0, 0])
        XCTAssertEqual(memoryBound.lengths(reach: [], pending: 0, requests: 0), [])
    }
}
