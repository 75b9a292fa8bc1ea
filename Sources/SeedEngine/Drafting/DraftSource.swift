import Foundation

/// What proposes the draft tokens of a request for one round. The engine's draft pool holds one
/// source per draft model and, when asked for, one `lookup` source; each round every request
/// draws from at most one of them, and the target verifies every proposal in one batched pass.
///
/// A model draft samples its tokens from its own distribution q and keeps q for verification;
/// `lookup` copies tokens out of text already seen, a point mass (q = 1 on the token), which
/// `SpeculativeVerifier` accepts with probability p(x). To add a source: a type conforming to
/// this protocol in its own file, and its line in `Engine.init`.
protocol DraftSource: AnyObject {
    /// The name in statistics and reports.
    var name: String { get }
    /// Whether proposals are point masses (no q rows) rather than draws from a distribution.
    var proposesPointMasses: Bool { get }
    /// Share of proposed tokens after which the proposal went on (see `DraftLengthPolicy`).
    var continuationRate: Double { get }
    /// Estimated seconds of one proposing step over `tokens` tokens of the batch.
    func cost(tokens: Int) -> Double
    /// Fills `r.drafts` with up to `r.k` tokens for each of `members` (setting `r.k` to the
    /// number proposed when fewer), and returns the seconds it took.
    func propose(for members: [RequestState]) throws -> Double
}
