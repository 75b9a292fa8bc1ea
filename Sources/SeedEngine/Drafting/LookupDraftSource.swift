import Foundation

/// Prompt lookup across a group: proposes the tokens that followed the latest earlier
/// occurrence of a request's last n tokens (n from `maxNgram` down to `minNgram`) in its own
/// prompt and output or in the prompts and outputs, finished or in progress, of the other
/// requests of its group. No model pass: a proposal is a hash lookup and a copy, and it is a
/// point mass, verified exactly by `SpeculativeVerifier`.
///
/// A group's index lives on after its requests finish, so that later requests of the group
/// (samples that arrive later, the next call of a tree level) draft from them; the least
/// recently used groups without running requests are dropped beyond `keptGroups`.
final class LookupDraftSource: DraftSource {
    let configuration: LookupConfiguration
    static let keptGroups = 64

    private var groups: [String: LookupIndex] = [:]
    /// Last use of each group (a counter), for dropping the least recently used.
    private var lastUse: [String: Int] = [:]
    private var clock = 0
    /// Share of proposed tokens after which the proposal went on (it ends where the copied text
    /// ends or at the round's k).
    private var continuation = DecayedRate()
    /// Running seconds per proposed token (a lookup and a copy).
    private var secondsPerToken = 0.0

    init(configuration: LookupConfiguration) {
        self.configuration = configuration
    }

    var name: String { configuration.name }
    var proposesPointMasses: Bool { true }
    var continuationRate: Double { continuation.rate }
    func cost(tokens: Int) -> Double { secondsPerToken * Double(tokens) }

    /// Enters a newly admitted request's prompt into its group's index.
    func attach(_ r: RequestState) {
        clock += 1
        let index: LookupIndex
        if let group = r.request.group {
            if let existing = groups[group] {
                index = existing
            } else {
                index = LookupIndex(minNgram: configuration.minNgram, maxNgram: configuration.maxNgram)
                dropOldGroups()
                groups[group] = index
            }
            lastUse[group] = clock
        } else {
            index = LookupIndex(minNgram: configuration.minNgram, maxNgram: configuration.maxNgram)
        }
        r.lookup = (index, index.addDocument(r.tokens))
    }

    private func dropOldGroups() {
        guard groups.count >= Self.keptGroups else { return }
        let idle = lastUse.filter { groups[$0.key]?.open == 0 }.sorted { $0.value < $1.value }
        for (group, _) in idle.prefix(groups.count - Self.keptGroups + 1) {
            groups[group] = nil
            lastUse[group] = nil
        }
    }

    /// Finds `r`'s proposal of up to `limit` tokens into `r.lookupProposal` (empty: no match).
    func find(for r: RequestState, limit: Int) {
        r.lookupProposal.removeAll(keepingCapacity: true)
        r.lookupFromSibling = false
        r.lookupMatchLength = 0
        guard limit > 0, let (index, document) = r.lookup, let match = index.match(document) else { return }
        index.continuation(match, limit: limit, into: &r.lookupProposal)
        r.lookupFromSibling = match.document != document
        r.lookupMatchLength = match.n
    }

    func propose(for members: [RequestState]) throws -> Double {
        let start = DispatchTime.now()
        var tokens = 0
        for r in members {
            // The proposal was found when the round's sources were chosen; the round's k cuts it.
            let n = min(r.k, r.lookupProposal.count)
            r.drafts.removeAll(keepingCapacity: true)
            r.drafts.append(contentsOf: r.lookupProposal[0..<n])
            r.k = n
            tokens += n
            // It went on after each token but the last, unless the round's k cut it.
            continuation.record(hits: n - 1 + (r.lookupProposal.count > n ? 1 : 0), trials: n)
        }
        let seconds = elapsedSeconds(since: start)
        if tokens > 0 {
            let perToken = seconds / Double(tokens)
            secondsPerToken = secondsPerToken == 0 ? perToken : 0.9 * secondsPerToken + 0.1 * perToken
        }
        return seconds
    }
}
