import Foundation
import SeedModel

/// Finishes a whole set of generation requests as fast as the target model's exact distribution
/// allows.
///
/// Every round: requests are admitted first come, first served while the KV budget holds them;
/// free draft instances go to the oldest requests without one; each draft model proposes up to
/// k tokens for all its requests together (one batched pass per drafted position); then the
/// target verifies every active request — pending tokens plus drafts — in one batched forward
/// pass. Accepted tokens commit, both caches trim the rejected tail, and finished requests hand
/// their draft instance on. A request without a draft still advances one token per round in the
/// same pass, so nothing starves. `autoregressive` is the same loop with k = 0; `sequential` and
/// `speculative` admit one request at a time.
///
/// A class because it owns the KV pools and the models' workspaces; one `generate` at a time.
public final class Engine {
    public let target: any LanguageModel
    public let drafts: [DraftModel]
    public let configuration: EngineConfiguration
    public let targetPool: KVPool
    public let draftPools: [KVPool]
    /// Counts of the last `generate` call.
    public private(set) var statistics = EngineStatistics()

    private var targetCost = PassCostModel()
    private var draftCosts: [PassCostModel]
    /// Running per-token acceptance rate per draft model.
    private var acceptance: [DecayedRate]
    /// Running share per draft model of its draft tokens sure enough to draft on (see
    /// `EngineConfiguration.draftConfidence`).
    private var continuation: [DecayedRate]
    private var calibrated = false
    /// Seconds a round spends outside the model passes, per token of its target pass (running
    /// average). Most of it is deciding each verified position (its distribution, acceptance),
    /// so a round of 3 pending tokens pays far less than one of 3 × 5: priced per round, it
    /// made rounds without drafts look dear and `auto` drafted where batching alone was faster.
    private var overheadPerToken = 0.0
    /// When `auto` drafts although it chose not to (see `ProbeSchedule`).
    private var probes = ProbeSchedule()
    /// Called after every round with the requests still running (tests check cache contents).
    var roundObserver: (([RequestState]) -> Void)?

    public init(target: any LanguageModel, drafts: [DraftModel] = [], configuration: EngineConfiguration) throws {
        if configuration.strategy.usesDrafts && drafts.isEmpty {
            throw EngineError.noDraftModel(configuration.strategy)
        }
        guard configuration.draftTokens >= 0, configuration.draftTokens <= 32 else {
            throw EngineError.badOption("draft tokens must be between 0 and 32, got \(configuration.draftTokens)")
        }
        guard configuration.draftConfidence >= 0, configuration.draftConfidence <= 1 else {
            throw EngineError.badOption("draft confidence must be between 0 and 1, got \(configuration.draftConfidence)")
        }
        guard configuration.blockTokens >= 1, configuration.blockTokens <= 1024 else {
            throw EngineError.badOption("KV block size must be between 1 and 1024 tokens, got \(configuration.blockTokens)")
        }
        for draft in drafts {
            try Self.checkVocabulary(target: target, draft: draft)
        }
        self.target = target
        self.drafts = drafts
        self.configuration = configuration
        let budget = configuration.kvMemoryBytes ?? Self.defaultKVBudget(target: target)
        if let memory = Self.memoryBelow(kvBudget: budget) {
            throw EngineError.badOption("a KV budget of \(formatBytes(budget)) is more than this machine's \(formatBytes(memory)) of memory — give less with --kv-memory (workflow: models.kv_cache.memory); it bounds the cache, which takes memory only as it fills, and the default is a quarter of memory")
        }
        targetPool = KVPool(config: target.config, memoryBytes: budget, blockTokens: configuration.blockTokens)
        // Drafts get the same number of token slots as the target (their tokens are cheaper).
        let slots = targetPool.blockCount * configuration.blockTokens
        draftPools = drafts.map { d in
            let perToken = KVLayout(config: d.model.config, blockTokens: configuration.blockTokens).bytesPerToken
            return KVPool(config: d.model.config, memoryBytes: slots * perToken, blockTokens: configuration.blockTokens)
        }
        draftCosts = drafts.map { _ in PassCostModel() }
        acceptance = drafts.map { _ in DecayedRate() }
        continuation = drafts.map { _ in DecayedRate() }
    }

    /// The machine's memory when a KV budget exceeds it (a bound no larger than memory can be
    /// kept), else nil.
    public static func memoryBelow(kvBudget bytes: Int) -> Int? {
        let memory = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        return bytes > memory ? memory : nil
    }

    /// A quarter of physical memory, but no more than 256 full-context sequences need.
    public static func defaultKVBudget(target: any LanguageModel) -> Int {
        let perToken = KVLayout(config: target.config, blockTokens: 16).bytesPerToken
        let wanted = 256 * target.config.contextLength * perToken
        let quarter = Int(ProcessInfo.processInfo.physicalMemory / 4)
        return max(16 * perToken, min(quarter, wanted))
    }

    /// Target and draft must give the same ids the same strings; sizes may differ by padding.
    static func checkVocabulary(target: any LanguageModel, draft: DraftModel) throws {
        if let problem = target.tokenizer.draftMismatch(draft.model.tokenizer) {
            throw EngineError.vocabularyMismatch(draft: draft.name, detail: problem)
        }
    }

    // MARK: running

    /// Runs every request to completion and returns the completions in the order the requests
    /// were given.
    ///
    /// `onCompletion` is called as each request finishes (in finishing order) and may return new
    /// requests: they arrive mid-run and queue behind every request already waiting (so they join
    /// the next round unless the KV budget makes them wait), and their completions follow the
    /// others' in the result. A caller whose next calls depend on earlier answers (a tree search:
    /// a node's evaluations on its proposal) thereby keeps the batch full instead of waiting for
    /// the slowest request of a step. Time spent in `onCompletion` is not the engine's: it is left
    /// out of `statistics.totalSeconds`, and an arrival's `seconds` count from its arrival. An
    /// error thrown by `onCompletion`, or by the engine, ends the run; the caches are freed first.
    public func generate(_ requests: [GenerationRequest],
                         onCompletion: (Completion) throws -> [GenerationRequest] = { _ in [] }) throws -> [Completion] {
        let start = DispatchTime.now()
        let k = configuration.strategy.usesDrafts ? configuration.draftTokens : 0
        for request in requests { try validate(request, draftTokens: k) }
        if configuration.strategy == .auto && !calibrated && !requests.isEmpty {
            try calibrate()
        }
        statistics = EngineStatistics()
        probes = ProbeSchedule()
        statistics.drafts = drafts.map { EngineStatistics.Draft(name: $0.name) }
        statistics.requests = requests.count

        var requests = requests
        var arrivals = [DispatchTime](repeating: start, count: requests.count)
        var callerSeconds = 0.0
        var results = [Completion?](repeating: nil, count: requests.count)
        // First come, first served, arrivals included: the requests from this index on are waiting.
        var nextToAdmit = 0
        var active: [RequestState] = []
        var freeInstances = drafts.map(\.instances)
        let vocabulary = target.config.vocabularySize
        var scratch = [Float](repeating: 0, count: vocabulary)

        func release(_ r: RequestState) {
            if let seq = r.targetSequence { targetPool.release(seq) }
            if let (m, seq) = r.draft {
                draftPools[m].release(seq)
                freeInstances[m] += 1
            }
        }
        /// Frees a finished request's caches and draft instance, and records its completion.
        func retire(_ r: RequestState) -> Completion {
            release(r)
            r.statistics.seconds = elapsedSeconds(since: arrivals[r.index])
            let completion = r.completion()
            results[r.index] = completion
            return completion
        }
        /// Hands a completion to the caller and queues the requests it returns.
        func deliver(_ completion: Completion) throws {
            let callStart = DispatchTime.now()
            let arriving = try onCompletion(completion)
            let now = DispatchTime.now()
            callerSeconds += elapsedSeconds(since: callStart)
            for request in arriving {
                try validate(request, draftTokens: k)
                requests.append(request)
                arrivals.append(now)
                results.append(nil)
                statistics.requests += 1
            }
        }

        /// Rounds until no request is waiting or running.
        func runRounds() throws {
            var round = 0
            while nextToAdmit < requests.count || !active.isEmpty {
                defer { round += 1 }
                // Admission, first come first served, while the budget holds the request's worst case.
                let maxActive = configuration.strategy.isSequential ? 1 : Int.max
                while nextToAdmit < requests.count, active.count < maxActive,
                      fits(requests[nextToAdmit], pool: targetPool, model: target, active: active.map { ($0.targetSequence, $0.targetReservation) }) {
                    let next = nextToAdmit
                    nextToAdmit += 1
                    // A request for no tokens is finished on admission (and needs no draft rows).
                    let empty = requests[next].maxTokens == 0
                    let r = RequestState(index: next, request: requests[next], tokenizer: target.tokenizer, vocabulary: vocabulary,
                                         maxDraftTokens: empty ? 0 : k, contextLength: target.config.contextLength)
                    if empty {
                        try deliver(retire(r))
                        continue
                    }
                    let (seq, reused) = targetPool.startSequence(prompt: r.tokens)
                    r.targetSequence = seq
                    r.targetCount = reused
                    r.targetReservation = reservation(for: r.request, pool: targetPool, draftTokens: k, context: target.config.contextLength)
                    r.statistics.promptTokensReused = reused
                    r.statistics.admittedRound = round
                    active.append(r)
                }
                // Validation guarantees a lone request fits the empty pool, so an empty batch here
                // means only zero-token requests were admitted.
                if active.isEmpty { continue }

                // Draft instances, oldest request first.
                if configuration.strategy.usesDrafts {
                    // A request that has outgrown its draft's context drafts no more: the
                    // instance goes to a request that can use it.
                    for r in active {
                        if let (m, seq) = r.draft, !canDraft(r, model: m) {
                            draftPools[m].release(seq)
                            freeInstances[m] += 1
                            r.releaseDraft()
                        }
                    }
                    for r in active where r.draft == nil {
                        if !freeInstances.contains(where: { $0 > 0 }) { break }
                        // Free instances of drafts this request cannot use are for the next ones.
                        let usable = freeInstances.indices.filter { freeInstances[$0] > 0 && canDraft(r, model: $0) }
                        if usable.isEmpty { continue }
                        guard let m = usable.first(where: { m in
                            fits(r.request, pool: draftPools[m], model: drafts[m].model,
                                 active: active.filter { $0.draft?.model == m }.map { ($0.draft?.sequence, $0.draftReservation) })
                        }) else { break }
                        freeInstances[m] -= 1
                        let (seq, reused) = draftPools[m].startSequence(prompt: r.tokens)
                        r.assignDraft(model: m, sequence: seq)
                        r.statistics.draftAssignedRound = round
                        r.draftCount = reused
                        r.draftReservation = reservation(for: r.request, pool: draftPools[m], draftTokens: k,
                                                         context: drafts[m].model.config.contextLength)
                    }
                }

                let roundStart = DispatchTime.now()
                let modelSecondsBefore = statistics.draftSeconds + statistics.verifySeconds
                let targetTokensBefore = statistics.targetTokens
                chooseDraftTokens(active, maxDraftTokens: k, round: round)
                try draftPhase(active)
                try verifyPhase(active, scratch: &scratch)
                // What a round costs besides the model passes (sampling, acceptance, bookkeeping),
                // per verified token: `auto` weighs it with the passes.
                let modelSeconds = statistics.draftSeconds + statistics.verifySeconds - modelSecondsBefore
                let overhead = max(0, elapsedSeconds(since: roundStart) - modelSeconds)
                    / Double(max(1, statistics.targetTokens - targetTokensBefore))
                overheadPerToken = overheadPerToken == 0 ? overhead : 0.9 * overheadPerToken + 0.1 * overhead

                let finished = active.filter { $0.finishReason != nil }
                active.removeAll { $0.finishReason != nil }
                let completions = finished.map(retire)
                roundObserver?(active)
                for completion in completions { try deliver(completion) }
            }
        }

        defer { statistics.totalSeconds = elapsedSeconds(since: start) - callerSeconds }
        do {
            try runRounds()
        } catch {
            // Finished requests are retired before their completions are delivered, so `active`
            // holds exactly the requests whose caches are still held.
            for r in active { release(r) }
            throw error
        }
        return results.map { $0! }
    }

    // MARK: admission

    /// Why `request` cannot run on this engine (empty, longer than the context, more than the KV
    /// budget holds), or nil: lets a caller with many requests drop one instead of the whole run.
    public func problem(with request: GenerationRequest) -> EngineError? {
        do {
            try validate(request, draftTokens: configuration.strategy.usesDrafts ? configuration.draftTokens : 0)
            return nil
        } catch let error as EngineError {
            return error
        } catch {
            return .badOption("\(error)")
        }
    }

    private func validate(_ request: GenerationRequest, draftTokens: Int) throws {
        let context = target.config.contextLength
        if request.promptTokens.isEmpty { throw EngineError.emptyPrompt(tag: request.tag) }
        if request.promptTokens.count > context {
            throw EngineError.promptTooLong(tag: request.tag, tokens: request.promptTokens.count, context: context)
        }
        if request.maxTokens < 0 { throw EngineError.badOption("request \(request.tag): max tokens must not be negative") }
        let need = reservation(for: request, pool: targetPool, draftTokens: draftTokens, context: context)
        if need > targetPool.blockCount {
            let tokens = need * targetPool.layout.blockTokens
            throw EngineError.requestTooLarge(tag: request.tag, tokens: tokens,
                                              bytesNeeded: need * targetPool.layout.blockFloats * 4, poolBytes: targetPool.bytes)
        }
    }

    /// Blocks a request may come to hold: its longest possible sequence plus a copied block.
    private func reservation(for request: GenerationRequest, pool: KVPool, draftTokens: Int, context: Int) -> Int {
        let longest = min(context, request.promptTokens.count + request.maxTokens + draftTokens + 1)
        return pool.blocksNeeded(tokens: longest) + 1
    }

    /// Whether the pool can take `request` on top of what the active requests may still grow by.
    private func fits(_ request: GenerationRequest, pool: KVPool, model: any LanguageModel,
                      active: [(SequenceID?, Int)]) -> Bool {
        var promised = 0
        for (seq, reserved) in active {
            guard let seq, let count = try? pool.tokenCount(seq) else { continue }
            promised += max(0, reserved - pool.blocksNeeded(tokens: count))
        }
        let k = configuration.strategy.usesDrafts ? configuration.draftTokens : 0
        let need = reservation(for: request, pool: pool, draftTokens: k, context: model.config.contextLength)
        return pool.freeBlocks - promised >= need
    }

    /// Whether draft model `m` can still propose a token for `r`: its first drafting step reads
    /// every committed token, so they must all fit the draft's context and be ids of its
    /// vocabulary (a target's padded vocabulary may be larger than the draft's).
    private func canDraft(_ r: RequestState, model m: Int) -> Bool {
        let config = drafts[m].model.config
        return r.tokens.count <= config.contextLength && r.largestToken < config.vocabularySize
    }

    // MARK: rounds

    /// Sets each request's k for this round.
    private func chooseDraftTokens(_ active: [RequestState], maxDraftTokens: Int, round: Int) {
        let context = target.config.contextLength
        var k = maxDraftTokens
        if configuration.strategy == .auto {
            let policy = draftLengthPolicy()
            let requests = active.map { DraftLengthPolicy.Request(remaining: $0.remainingBudget, draftModel: $0.draft?.model) }
            let pending = active.reduce(0) { $0 + ($1.tokens.count - $1.targetCount) }
            k = policy.best(requests: requests, pending: pending, maxDraftTokens: maxDraftTokens)
            if k > 0 {
                probes.drafted(round: round)
            } else if probes.probes(round: round, draftingCouldPay: policy.draftingCouldPay(
                requests: requests, pending: pending, maxDraftTokens: maxDraftTokens)) {
                k = min(ProbeSchedule.probeTokens, maxDraftTokens)
            }
        }
        for r in active {
            guard let (m, _) = r.draft else {
                r.k = 0
                continue
            }
            // Never draft past either context: the target verifies the pending token and k drafts
            // (positions up to tokens + k − 1); the draft reads draft i at position tokens + i − 1
            // to propose draft i + 1, the last one at tokens + k − 2.
            let room = context - r.tokens.count
            let draftRoom = drafts[m].model.config.contextLength - r.tokens.count + 1
            r.k = max(0, min(k, room, draftRoom, r.remainingBudget - 1))
        }
    }

    /// `auto`'s estimates for this round (see `DraftLengthPolicy`), from the measured pass
    /// costs, acceptance and continuation rates and overhead.
    private func draftLengthPolicy() -> DraftLengthPolicy {
        DraftLengthPolicy(acceptance: acceptance.map(\.rate), continuation: continuation.map(\.rate),
                          draftCost: { [draftCosts] m, tokens in draftCosts[m].cost(tokens: tokens) },
                          targetCost: { [targetCost] tokens in targetCost.cost(tokens: tokens) },
                          overheadPerToken: overheadPerToken,
                          choice: configuration.draftConfidence > 0 ? .noneOrMost : .anyLength)
    }

    private func calibrate() throws {
        let limit = min(256, target.config.contextLength * 4)
        try targetCost.calibrate(model: target, pool: targetPool, maxTokens: limit)
        for (m, d) in drafts.enumerated() {
            try draftCosts[m].calibrate(model: d.model, pool: draftPools[m], maxTokens: min(64, limit))
        }
        calibrated = true
    }

    /// Each draft model proposes k tokens for all its requests: k batched passes, the first also
    /// catching the draft cache up with tokens committed since its last round.
    private func draftPhase(_ active: [RequestState]) throws {
        for (m, draft) in drafts.enumerated() {
            let pool = draftPools[m]
            let members = active.filter { $0.draft?.model == m && $0.k > 0 }
            guard let steps = members.map(\.k).max() else { continue }
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
                    if probability < configuration.draftConfidence { r.k = step + 1 }
                }
                draftCosts[m].record(tokens: inputs.reduce(0) { $0 + $1.tokens.count }, seconds: elapsedSeconds(since: stepStart))
            }
            statistics.draftSeconds += elapsedSeconds(since: phaseStart)
            for r in members {
                let sure = r.draftProbabilities.reduce(0) { $0 + ($1 >= configuration.draftConfidence ? 1 : 0) }
                continuation[m].record(hits: sure, trials: r.drafts.count)
            }
        }
    }

    /// One batched target pass over every active request: its pending tokens and its drafts.
    private func verifyPhase(_ active: [RequestState], scratch: inout [Float]) throws {
        let phaseStart = DispatchTime.now()
        var inputs: [ForwardInput] = []
        inputs.reserveCapacity(active.count)
        for r in active {
            if r.k == 0 { r.drafts.removeAll(keepingCapacity: true) }
            let tokens = Array(r.tokens[r.targetCount...]) + r.drafts
            let table = try targetPool.append(r.targetSequence!, tokens: tokens)
            inputs.append(ForwardInput(tokens: tokens, startPosition: r.targetCount, cache: table, logits: .tail(r.drafts.count + 1)))
        }
        let logits = try target.forward(inputs)
        let passTokens = inputs.reduce(0) { $0 + $1.tokens.count }
        targetCost.record(tokens: passTokens, seconds: elapsedSeconds(since: phaseStart))
        statistics.verifySeconds += elapsedSeconds(since: phaseStart)
        statistics.targetPasses += 1
        statistics.targetTokens += passTokens
        statistics.batchSizeSum += active.count
        statistics.maxBatchSize = max(statistics.maxBatchSize, active.count)

        for (i, r) in active.enumerated() {
            try targetPool.commit(r.targetSequence!)
            let firstRow = logits.firstRow[i]
            let outcome = scratch.withUnsafeMutableBufferPointer { buffer in
                r.verify(targetLogits: { logits[firstRow + $0] }, scratch: buffer)
            }
            let committedBefore = r.tokens.count
            r.statistics.targetPasses += 1
            if let (m, _) = r.draft, !r.drafts.isEmpty {
                statistics.drafts[m].draftedTokens += r.drafts.count
                statistics.drafts[m].acceptedTokens += outcome.accepted
                statistics.drafts[m].verifications += 1
                statistics.draftTokensChosenSum += r.drafts.count
                statistics.draftingRequestRounds += 1
                // Per-token acceptance: j accepted then one rejection (or none when all k passed).
                // accepted/drafted would count the tokens after a rejection as failures too.
                let trials = outcome.accepted + (outcome.accepted < r.drafts.count ? 1 : 0)
                acceptance[m].record(hits: outcome.accepted, trials: trials)
                r.statistics.draftedTokens += r.drafts.count
                r.statistics.acceptedTokens += outcome.accepted
            }
            let generatedBefore = r.generated.count
            r.commit(Array(r.drafts[0..<outcome.accepted]) + [outcome.next])
            statistics.generatedTokens += r.generated.count - generatedBefore
            if r.finishReason != nil { continue }
            // The target holds committed tokens up to (not including) the newest one.
            let keep = committedBefore + outcome.accepted
            try targetPool.trim(r.targetSequence!, to: keep)
            r.targetCount = keep
            if let (m, seq) = r.draft, r.draftCount > keep {
                try draftPools[m].trim(seq, to: keep)
                r.draftCount = keep
            }
        }
    }
}

/// A rate from decayed counts: each new observation weighs fully, older ones fade by 2 % per
/// record, so the rate follows a draft model as the text it drafts changes. It starts at 0.7 with
/// the weight of 10 trials.
struct DecayedRate {
    private var hits = 7.0
    private var trials = 10.0

    var rate: Double { hits / trials }

    mutating func record(hits newHits: Int, trials newTrials: Int) {
        hits = 0.98 * hits + Double(newHits)
        trials = 0.98 * trials + Double(newTrials)
    }
}

/// One request while it runs: its committed tokens, where each model's cache stands, its own
/// random stream and samplers, and what has been decoded of it.
final class RequestState {
    let index: Int
    let request: GenerationRequest
    let promptCount: Int
    let contextLength: Int
    /// Prompt plus generated tokens.
    var tokens: [Int]
    /// The largest id in `tokens`.
    private(set) var largestToken: Int
    var generated: [Int] = []
    var targetSequence: SequenceID?
    /// Tokens of `tokens` whose keys and values the target cache holds (the newest never is).
    var targetCount = 0
    var targetReservation = 0
    private(set) var draft: (model: Int, sequence: SequenceID)?
    var draftCount = 0
    var draftReservation = 0
    /// Draft tokens this round, their number, and the draft's distributions (k × vocabulary).
    var k = 0
    var drafts: [Int] = []
    /// The draft's probability of each token of `drafts`, which decided where drafting stopped.
    var draftProbabilities: [Float] = []
    /// Allocated only while the request holds a draft instance: k × vocabulary floats is about
    /// 5 MB at a 150 000-token vocabulary, and most requests of a wide batch have no draft.
    private var draftDistributions: [Float] = []
    private let draftRows: Int
    private var sampler: Sampler
    private var draftSampler: Sampler
    private var rng: RandomStream
    private var detokenizer: StreamingDetokenizer
    private var stopper: StopStringMatcher
    private let endTokens: Set<Int>
    private let vocabulary: Int
    var finishReason: FinishReason?
    var statistics = CompletionStatistics()

    init(index: Int, request: GenerationRequest, tokenizer: any Tokenizer, vocabulary: Int, maxDraftTokens: Int, contextLength: Int) {
        self.index = index
        self.request = request
        self.contextLength = contextLength
        self.vocabulary = vocabulary
        promptCount = request.promptTokens.count
        tokens = request.promptTokens
        largestToken = request.promptTokens.max() ?? 0
        sampler = Sampler(request.sampling)
        draftSampler = Sampler(request.sampling)
        rng = RandomStream(seed: request.sampling.seed, tag: request.tag)
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer, continuing: request.promptTokens)
        stopper = StopStringMatcher(stops: request.stopStrings)
        endTokens = tokenizer.endOfGenerationTokenIDs
        // Greedy keeps no q, but needs one row of scratch for its softmax.
        draftRows = maxDraftTokens == 0 ? 0 : request.sampling.isGreedy ? 1 : maxDraftTokens
        statistics.promptTokens = promptCount
        if request.maxTokens == 0 { finishReason = .length }
    }

    /// Tokens this request may still generate.
    var remainingBudget: Int { request.maxTokens - generated.count }

    /// Floats held for the draft's distributions (0 without a draft instance).
    var draftDistributionFloats: Int { draftDistributions.count }

    /// Gives the request a draft instance's sequence, with room for the draft's distributions.
    func assignDraft(model: Int, sequence: SequenceID) {
        draft = (model, sequence)
        if draftDistributions.isEmpty { draftDistributions = [Float](repeating: 0, count: draftRows * vocabulary) }
    }

    /// Takes the draft instance away (the request finished or outgrew the draft's context).
    func releaseDraft() {
        draft = nil
        draftDistributions = []
    }

    /// Samples the draft token for position `step` from the draft's logits, keeping q, and
    /// returns it with the draft's probability of it (greedy: its softmax at temperature 1, the
    /// one-hot q saying nothing about how sure the draft is).
    func proposeDraftToken(_ logits: UnsafeBufferPointer<Float>, step: Int) -> (token: Int, probability: Float) {
        // A draft whose vocabulary is padded past the target's proposes target ids only: q is its
        // distribution renormalised over them, still the distribution the token is drawn from,
        // so acceptance stays exact.
        let logits = logits.count > vocabulary ? UnsafeBufferPointer(rebasing: logits[0..<vocabulary]) : logits
        return draftDistributions.withUnsafeMutableBufferPointer { all in
            if request.sampling.isGreedy {
                let token = Sampler.argmax(logits)
                return (token, Sampler.softmaxProbability(of: token, logits, scratch: all))
            }
            let row = UnsafeMutableBufferPointer(rebasing: all[(step * vocabulary)..<((step + 1) * vocabulary)])
            draftSampler.distribution(logits, into: row)
            let token = Sampler.draw(UnsafeBufferPointer(row), using: &rng)
            return (token, row[token])
        }
    }

    func verify(targetLogits: (Int) -> UnsafeBufferPointer<Float>, scratch: UnsafeMutableBufferPointer<Float>) -> SpeculativeVerifier.Outcome {
        draftDistributions.withUnsafeBufferPointer { q in
            SpeculativeVerifier.verify(drafts: drafts, draftDistributions: q.baseAddress ?? UnsafePointer(scratch.baseAddress!),
                                       targetLogits: targetLogits, sampler: &sampler, rng: &rng, scratch: scratch)
        }
    }

    /// Appends newly decided tokens in order, stopping at the first that ends the request.
    func commit(_ newTokens: [Int]) {
        for token in newTokens {
            tokens.append(token)
            largestToken = max(largestToken, token)
            generated.append(token)
            if endTokens.contains(token) {
                finishReason = .eos
                break
            }
            let (_, hitStop) = stopper.feed(detokenizer.append(token))
            if hitStop {
                finishReason = .stop
                break
            }
            // A sequence of exactly `contextLength` tokens cannot be extended: the pending token
            // would need position contextLength.
            if generated.count >= request.maxTokens || tokens.count > contextLength {
                finishReason = .length
                break
            }
        }
        statistics.generatedTokens = generated.count
    }

    func completion() -> Completion {
        if finishReason != .stop {
            let (_, hitStop) = stopper.feed(detokenizer.finish())
            if hitStop { finishReason = .stop }
        }
        return Completion(tag: request.tag, text: stopper.text, tokenIDs: generated,
                          finishReason: finishReason ?? .length, statistics: statistics)
    }
}
