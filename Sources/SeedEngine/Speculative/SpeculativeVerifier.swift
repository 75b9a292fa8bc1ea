/// Speculative sampling (Leviathan et al. 2023; Chen et al. 2023): accept draft token dᵢ with
/// probability min(1, p(dᵢ)/q(dᵢ)); at the first rejection draw from normalize(max(0, p − q));
/// when all k are accepted draw a bonus token from the target's next distribution. p and q are
/// the target's and the draft's distributions after the same warping, so the committed tokens
/// follow the target's warped distribution exactly. Under greedy sampling both are one-hot and
/// this reduces to "accept while the target's argmax agrees".
///
/// A proposal copied from text (`lookup`) is a point mass: q = 1 on the proposed token x. Then
/// min(1, p/q) is p(x), and max(0, p − q) is p with x removed, renormalised: the same rule, with
/// no q rows to keep.
struct SpeculativeVerifier {
    /// The outcome of verifying one request's drafts: how many were accepted, and the token
    /// that follows them (the correction at the first rejection, or the bonus).
    struct Outcome {
        var accepted: Int
        var next: Int
    }

    /// - Parameters:
    ///   - drafts: the k proposed tokens.
    ///   - draftDistributions: k rows of the draft's warped distribution (unused when greedy or
    ///     when `pointMasses`).
    ///   - pointMasses: the drafts are point masses (q = 1 on each drafted token).
    ///   - targetLogits: k + 1 rows of target logits; row i follows the i-th draft.
    ///   - scratch: room for one distribution (vocabulary size floats).
    static func verify(drafts: [Int], draftDistributions: UnsafePointer<Float>, targetLogits: (Int) -> UnsafeBufferPointer<Float>,
                       sampler: inout Sampler, rng: inout RandomStream, scratch: UnsafeMutableBufferPointer<Float>,
                       pointMasses: Bool = false) -> Outcome {
        let k = drafts.count
        if sampler.parameters.isGreedy {
            for i in 0..<k {
                let best = Sampler.argmax(targetLogits(i))
                if best != drafts[i] { return Outcome(accepted: i, next: best) }
            }
            return Outcome(accepted: k, next: Sampler.argmax(targetLogits(k)))
        }
        let vocabulary = scratch.count
        for i in 0..<k {
            sampler.distribution(targetLogits(i), into: scratch)
            let d = drafts[i]
            let pd = scratch[d]
            var total: Float = 0
            if pointMasses {
                // Accept with probability p(d); else draw from p without d.
                if rng.nextUnit() < pd { continue }
                scratch[d] = 0
                for j in 0..<vocabulary { total += scratch[j] }
            } else {
                let q = draftDistributions + i * vocabulary
                let qd = q[d]
                // u < p/q, written without the division (q > 0: d was drawn from q).
                if rng.nextUnit() * qd < pd { continue }
                for j in 0..<vocabulary {
                    let r = max(0, scratch[j] - q[j])
                    scratch[j] = r
                    total += r
                }
            }
            if total <= 0 {
                // p ≤ q everywhere means p == q: the residual is empty and p itself is right.
                sampler.distribution(targetLogits(i), into: scratch)
                total = 1
            }
            let inverse = 1 / total
            for j in 0..<vocabulary { scratch[j] *= inverse }
            return Outcome(accepted: i, next: Sampler.draw(UnsafeBufferPointer(scratch), using: &rng))
        }
        sampler.distribution(targetLogits(k), into: scratch)
        return Outcome(accepted: k, next: Sampler.draw(UnsafeBufferPointer(scratch), using: &rng))
    }
}
