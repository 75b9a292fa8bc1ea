/// What a run of the engine did, as a value: per draft model, how much was drafted and accepted;
/// for the target, how many passes and how full they were; and where the time went.
public struct EngineStatistics: Sendable, Codable, Equatable {
    public struct Draft: Sendable, Codable, Equatable {
        public var name: String
        public internal(set) var draftedTokens = 0
        public internal(set) var acceptedTokens = 0
        /// Request-rounds in which this model drafted (each ends in one verification).
        public internal(set) var verifications = 0
        /// `lookup` only: proposals copied from another request's text (the rest came from the
        /// request's own prompt and output).
        public internal(set) var siblingProposals = 0

        public init(name: String) { self.name = name }

        public var acceptanceRate: Double { draftedTokens == 0 ? 0 : Double(acceptedTokens) / Double(draftedTokens) }
        /// Draft tokens accepted per verification.
        public var meanAcceptedLength: Double { verifications == 0 ? 0 : Double(acceptedTokens) / Double(verifications) }
    }

    public init() {}

    public internal(set) var drafts: [Draft] = []
    public internal(set) var targetPasses = 0
    /// Token positions the target computed (prompts, pending tokens and drafts).
    public internal(set) var targetTokens = 0
    public internal(set) var generatedTokens = 0
    public internal(set) var requests = 0
    /// Requests per target pass: sum and largest.
    public internal(set) var batchSizeSum = 0
    public internal(set) var maxBatchSize = 0
    /// Draft tokens per drafting request, summed over rounds (`auto` varies it).
    public internal(set) var draftTokensChosenSum = 0
    public internal(set) var draftingRequestRounds = 0
    public internal(set) var draftSeconds = 0.0
    public internal(set) var verifySeconds = 0.0
    /// The run's wall time, less the time spent in the caller's `onCompletion`.
    public internal(set) var totalSeconds = 0.0

    public var draftedTokens: Int { drafts.reduce(0) { $0 + $1.draftedTokens } }
    public var acceptedTokens: Int { drafts.reduce(0) { $0 + $1.acceptedTokens } }
    public var acceptanceRate: Double { draftedTokens == 0 ? 0 : Double(acceptedTokens) / Double(draftedTokens) }
    /// Generated tokens per target pass: what speculation buys per sequential step.
    public var tokensPerTargetPass: Double { targetPasses == 0 ? 0 : Double(generatedTokens) / Double(targetPasses) }
    public var meanBatchSize: Double { targetPasses == 0 ? 0 : Double(batchSizeSum) / Double(targetPasses) }
    public var meanDraftTokens: Double {
        draftingRequestRounds == 0 ? 0 : Double(draftTokensChosenSum) / Double(draftingRequestRounds)
    }
    /// Time outside the model passes: sampling, acceptance, cache bookkeeping, detokenizing.
    public var bookkeepingSeconds: Double { max(0, totalSeconds - draftSeconds - verifySeconds) }

    /// Adds another run's counts to these.
    public mutating func merge(_ other: EngineStatistics) {
        for d in other.drafts {
            if let i = drafts.firstIndex(where: { $0.name == d.name }) {
                drafts[i].draftedTokens += d.draftedTokens
                drafts[i].acceptedTokens += d.acceptedTokens
                drafts[i].verifications += d.verifications
                drafts[i].siblingProposals += d.siblingProposals
            } else {
                drafts.append(d)
            }
        }
        targetPasses += other.targetPasses
        targetTokens += other.targetTokens
        generatedTokens += other.generatedTokens
        requests += other.requests
        batchSizeSum += other.batchSizeSum
        maxBatchSize = max(maxBatchSize, other.maxBatchSize)
        draftTokensChosenSum += other.draftTokensChosenSum
        draftingRequestRounds += other.draftingRequestRounds
        draftSeconds += other.draftSeconds
        verifySeconds += other.verifySeconds
        totalSeconds += other.totalSeconds
    }
}
