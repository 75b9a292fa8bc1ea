import Foundation
import SeedModel

/// A draft model of the pool as a draft source: it proposes for every request that holds one
/// of its instances, k batched passes a round (the first also catches its cache up with the
/// tokens committed since the request last drafted), sampling each token from its warped
/// distribution and stopping a request's proposal after a token it was unsure of.
final class ModelDraftSource: DraftSource {
    let draft: DraftModel
    let pool: KVPool
    /// See `EngineConfiguration.draftConfidence`.
    let confidence: Float
    /// Seconds of a drafting step by its tokens, calibrated once and refined by every step.
    var passCost = PassCostModel()
    /// Running share of its draft tokens sure enough to draft on.
    var continuation = DecayedRate()

    init(draft: DraftModel, pool: KVPool, confidence: Float) {
        self.draft = draft
        self.pool = pool
        self.confidence = confidence
    }

    var name: String { draft.name }
    var proposesPointMasses: Bool { false }
    var continuationRate: Double { continuation.rate }
    func cost(tokens: Int) -> Double { passCost.cost(tokens: tokens) }

    func calibrate(maxTokens: Int) throws {
        try passCost.calibrate(model: draft.model, pool: pool, maxTokens: maxTokens)
    }

    func propose(for members: [RequestState]) throws -> Double {
        guard let steps = members.map(\.k).max() else { return 0 }
        let phaseStart = DispatchTime.now()
        for r in members {
            r.drafts.removeAll(keepingCapacity: true)
            r.draftProbabilities.removeAll(keepingCapacity: true)
        }
        var inputs: [ForwardInput] = []
        var stepMembers: [RequestState] = []
        for step in 0..<steps {
            // A step's cost for `auto` is all of it: cache appends, the pass, and sampling
            // each draft token (a distribution over the vocabulary), which the pass alone
            // left out.
            let stepStart = DispatchTime.now()
            inputs.removeAll(keepingCapacity: true)
            stepMembers.removeAll(keepingCapacity: true)
            for r in members where r.k > step {
                let (_, seq) = r.draft!
                let tokens = step == 0 ? Array(r.tokens[r.draftCount...]) : [r.drafts[step - 1]]
                let position = step == 0 ? r.draftCount : r.tokens.count + step - 1
                let table = try pool.append(seq, tokens: tokens)
                inputs.append(ForwardInput(tokens: tokens, startPosition: position, cache: table, logits: .last))
                stepMembers.append(r)
            }
            // Every member may have stopped on an unsure token.
            if inputs.isEmpty { break }
            let logits = try draft.model.forward(inputs)
            for (i, r) in stepMembers.enumerated() {
                try pool.commit(r.draft!.sequence)
                r.draftCount = inputs[i].startPosition + inputs[i].tokens.count
                let (token, probability) = r.proposeDraftToken(logits.last(of: i), step: step)
                r.drafts.append(token)
                r.draftProbabilities.append(probability)
                // The unsure token is still verified (the pass for it is spent), but the
                // tokens after it would most likely follow a rejection. Stopping on the
                // draft's own numbers keeps speculative sampling exact.
                if probability < confidence { r.k = step + 1 }
            }
            passCost.record(tokens: inputs.reduce(0) { $0 + $1.tokens.count }, seconds: elapsedSeconds(since: stepStart))
        }
        for r in members {
            let sure = r.draftProbabilities.reduce(0) { $0 + ($1 >= confidence ? 1 : 0) }
            continuation.record(hits: sure, trials: r.drafts.count)
        }
        return elapsedSeconds(since: phaseStart)
    }
}
