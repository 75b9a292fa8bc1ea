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
    /// The `lookup` draft source's settings, nil when the pool has none.
    public let lookup: LookupConfiguration?
    /// Counts of the last `generate` call.
    public private(set) var statistics = EngineStatistics()

    private var targetCost = PassCostModel()
    /// The draft pool: one source per draft model (same order as `drafts`), then `lookup`.
    private let sources: [any DraftSource]
    private let modelSources: [ModelDraftSource]
    private let lookupSource: LookupDraftSource?
    /// Running per-token acceptance rate per source.
    private var acceptance: [DecayedRate]
    /// `lookup`'s running per-token acceptance by the length of the n-gram that matched (a
    /// longer match is the surer one).
    private var lookupAcceptance = [DecayedRate](repeating: DecayedRate(), count: LookupConfiguration.ngramRange.upperBound + 1)
    /// A lookup proposal is cut where the chance that all its tokens so far are accepted falls
    /// below this (and a request whose first token would fall below it takes no lookup draft):
    /// rejected tokens cost a verified position each.
    static let lookupReach = 0.25
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

    public init(target: any LanguageModel, drafts: [DraftModel] = [], lookup: LookupConfiguration? = nil,
                configuration: EngineConfiguration) throws {
        if configuration.strategy.usesDrafts && drafts.isEmpty && lookup == nil {
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
        if let lookup {
            let range = LookupConfiguration.ngramRange
            guard range.contains(lookup.minNgram), range.contains(lookup.maxNgram), lookup.minNgram <= lookup.maxNgram else {
                throw EngineError.badOption("lookup n-gram lengths must satisfy \(range.lowerBound) ≤ min ≤ max ≤ \(range.upperBound), got min \(lookup.minNgram) and max \(lookup.maxNgram)")
            }
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
        self.lookup = lookup
        modelSources = zip(drafts, draftPools).map { ModelDraftSource(draft: $0, pool: $1, confidence: configuration.draftConfidence) }
        lookupSource = lookup.map { LookupDraftSource(configuration: $0) }
        sources = modelSources + (lookupSource.map { [$0] } ?? [])
        acceptance = sources.map { _ in DecayedRate() }
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
        statistics.drafts = sources.map { EngineStatistics.Draft(name: $0.name) }
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
            if let (index, document) = r.lookup { index.close(document) }
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
                    lookupSource?.attach(r)
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
                for (s, source) in sources.enumerated() {
                    let members = active.filter { $0.source == s && $0.k > 0 }
                    if !members.isEmpty { statistics.draftSeconds += try source.propose(for: members) }
                }
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

    /// Sets each request's source and k for this round. Each request's candidate is the source
    /// expected to advance it most: the draft model whose instance it holds, or `lookup` when
    /// its text has a match (a tie goes to `lookup`, which costs no pass). `seed` drafts every
    /// candidate; `auto` first weighs no drafting against drafting from the candidates, from
    /// the model drafts only, or from `lookup` only (see `DraftLengthPolicy`).
    private func chooseDraftTokens(_ active: [RequestState], maxDraftTokens: Int, round: Int) {
        let context = target.config.contextLength
        let lookupStart = DispatchTime.now()
        let lookupIndex = drafts.count
        // `auto` over `lookup` alone chooses each proposal's length itself (`ProposalSelection`).
        let selects = configuration.strategy == .auto && drafts.isEmpty && lookupSource != nil
        for r in active {
            r.source = nil
            r.k = 0
            r.modelChoice = nil
            r.lookupProposal.removeAll(keepingCapacity: true)
            // Never draft past the target's context: it verifies the pending token and k drafts
            // (positions up to tokens + k − 1).
            let room = max(0, min(maxDraftTokens, context - r.tokens.count, r.remainingBudget - 1))
            guard room > 0 else { continue }
            if let (m, _) = r.draft {
                // The draft reads draft i at position tokens + i − 1 to propose draft i + 1, the
                // last one at tokens + k − 2.
                let km = min(room, drafts[m].model.config.contextLength - r.tokens.count + 1)
                if km > 0 { r.modelChoice = (m, km) }
            }
            if let lookupSource {
                lookupSource.find(for: r, limit: room)
                // With drafts cut at unsure tokens (a confidence above 0), a lookup proposal
                // ends where reaching its next token becomes unlikely.
                if configuration.draftConfidence > 0 && !selects && !r.lookupProposal.isEmpty {
                    let alpha = lookupAcceptance[r.lookupMatchLength].rate
                    var keep = 0, reach = 1.0
                    while keep < r.lookupProposal.count && reach * alpha >= Self.lookupReach {
                        reach *= alpha
                        keep += 1
                    }
                    r.lookupProposal.removeLast(r.lookupProposal.count - keep)
                }
            }
        }
        if lookupSource != nil { statistics.draftSeconds += elapsedSeconds(since: lookupStart) }

        /// The source a request drafts from when drafting is allowed from `models` and `lookup`.
        func pick(_ r: RequestState, models: Bool, lookup: Bool) -> Int? {
            let model = models ? r.modelChoice : nil
            let proposed = lookup ? r.lookupProposal.count : 0
            guard proposed > 0 else { return model?.model }
            guard let model else { return lookupIndex }
            let viaModel = expectedAdvance(source: model.model, tokens: model.tokens, continuation: sources[model.model].continuationRate)
            let viaLookup = expectedAdvance(source: lookupIndex, tokens: proposed, continuation: 1,
                                            acceptance: lookupAcceptance[r.lookupMatchLength].rate)
            return viaLookup >= viaModel ? lookupIndex : model.model
        }
        var plan = active.map { pick($0, models: true, lookup: true) }
        var k = maxDraftTokens
        if configuration.strategy == .auto {
            let policy = draftLengthPolicy()
            let pending = active.reduce(0) { $0 + ($1.tokens.count - $1.targetCount) }
            func requests(_ plan: [Int?]) -> [DraftLengthPolicy.Request] {
                zip(active, plan).map { r, source in
                    // A lookup proposal's length is known this round: the policy weighs it, not
                    // lookup's average length, and its match length's acceptance.
                    source == lookupIndex
                        ? DraftLengthPolicy.Request(remaining: r.remainingBudget, draftModel: source, tokenLimit: r.lookupProposal.count,
                                                    acceptance: lookupAcceptance[r.lookupMatchLength].rate)
                        : DraftLengthPolicy.Request(remaining: r.remainingBudget, draftModel: source)
                }
            }
            if selects && selectLookupTokens(active, pending: pending) {
                probes.drafted(round: round)
                return
            }
            // Over lookup alone there is nothing more to weigh once the selection drafts nothing.
            var variants = selects ? [] : [plan]
            if lookupSource != nil && !drafts.isEmpty {
                variants.append(active.map { pick($0, models: true, lookup: false) })
                variants.append(active.map { pick($0, models: false, lookup: true) })
            }
            var bestTime = variants.isEmpty ? 0 : policy.estimatedSeconds(k: 0, requests: requests(plan), pending: pending)
            k = 0
            for variant in variants where variant.contains(where: { $0 != nil }) {
                let candidates = requests(variant)
                let length = policy.best(requests: candidates, pending: pending, maxDraftTokens: maxDraftTokens)
                guard length > 0 else { continue }
                let time = policy.estimatedSeconds(k: length, requests: candidates, pending: pending)
                if time < bestTime * 0.99 {
                    bestTime = time
                    k = length
                    plan = variant
                }
            }
            if k > 0 {
                probes.drafted(round: round)
            } else if probes.probes(round: round, draftingCouldPay: policy.draftingCouldPay(
                requests: requests(plan), pending: pending, maxDraftTokens: maxDraftTokens)) {
                k = min(ProbeSchedule.probeTokens, maxDraftTokens)
            }
        }
        guard k > 0 else { return }
        for (r, source) in zip(active, plan) {
            guard let source else { continue }
            r.source = source
            r.k = source == lookupIndex ? min(k, r.lookupProposal.count) : min(k, r.modelChoice?.tokens ?? 0)
        }
    }

    /// `auto` over `lookup` alone: sets the source and k of the requests whose proposals
    /// `ProposalSelection` finds worth verifying this round; whether there were any.
    private func selectLookupTokens(_ active: [RequestState], pending: Int) -> Bool {
        let reach = active.map { r in
            let alpha = lookupAcceptance[r.lookupMatchLength].rate
            return r.lookupProposal.indices.map { pow(alpha, Double($0 + 1)) }
        }
        let selection = ProposalSelection(passCost: { [targetCost] in targetCost.cost(tokens: $0) },
                                          overheadPerToken: overheadPerToken,
                                          passShape: { [targetCost] in targetCost.calibratedCost(tokens: $0) })
        var any = false
        for (r, n) in zip(active, selection.lengths(reach: reach, pending: pending, requests: active.count)) where n > 0 {
            r.source = drafts.count
            r.k = n
            any = true
        }
        return any
    }

    /// Tokens a request is expected to advance in a round drafting `tokens` tokens from `source`.
    private func expectedAdvance(source: Int, tokens: Int, continuation c: Double, acceptance a: Double? = nil) -> Double {
        DraftLengthPolicy.expected(tokens: tokens, acceptance: a ?? acceptance[source].rate, continuation: c).advance
    }

    /// `auto`'s estimates for this round (see `DraftLengthPolicy`), from the measured pass
    /// costs, acceptance and continuation rates and overhead.
    private func draftLengthPolicy() -> DraftLengthPolicy {
        DraftLengthPolicy(acceptance: acceptance.map(\.rate), continuation: sources.map(\.continuationRate),
                          draftCost: { [sources] m, tokens in sources[m].cost(tokens: tokens) },
                          targetCost: { [targetCost] tokens in targetCost.cost(tokens: tokens) },
                          overheadPerToken: overheadPerToken,
                          choice: configuration.draftConfidence > 0 ? .noneOrMost : .anyLength,
                          instanceSources: drafts.count)
    }

    private func calibrate() throws {
        let limit = min(256, target.config.contextLength * 4)
        try targetCost.calibrate(model: target, pool: targetPool, maxTokens: limit)
        for source in modelSources {
            try source.calibrate(maxTokens: min(64, limit))
        }
        calibrated = true
    }

    /// One batched target pass over every active request: its pending tokens and its drafts.
    private func verifyPhase(_ active: [RequestState], scratch: inout [Float]) throws {
        let phaseStart = DispatchTime.now()
        var inputs: [ForwardInput] = []
        inputs.reserveCapacity(active.count)
        for r in active {
            if r.k == 0 || r.source == nil { r.drafts.removeAll(keepingCapacity: true) }
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
                r.verify(targetLogits: { logits[firstRow + $0] }, scratch: buffer,
                         pointMasses: r.source.map { sources[$0].proposesPointMasses } ?? false)
            }
            let committedBefore = r.tokens.count
            r.statistics.targetPasses += 1
            if let m = r.source, !r.drafts.isEmpty {
                // Per-token acceptance: j accepted then one rejection (or none when all k passed).
                // accepted/drafted would count the tokens after a rejection as failures too.
                let trials = outcome.accepted + (outcome.accepted < r.drafts.count ? 1 : 0)
                statistics.drafts[m].draftedTokens += r.drafts.count
                statistics.drafts[m].acceptedTokens += outcome.accepted
                statistics.drafts[m].verifications += 1
                if m == drafts.count {
                    lookupAcceptance[r.lookupMatchLength].record(hits: outcome.accepted, trials: trials)
                    r.statistics.lookupDraftedTokens += r.drafts.count
                    r.statistics.lookupAcceptedTokens += outcome.accepted
                    r.statistics.lookupProposals += 1
                    if r.lookupFromSibling {
                        r.statistics.lookupSiblingProposals += 1
                        statistics.drafts[m].siblingProposals += 1
                    }
                }
                statistics.draftTokensChosenSum += r.drafts.count
                statistics.draftingRequestRounds += 1
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
            // Committed tokens are never rolled back, so a sliding-window model's pages that no
            // window reaches from here on can go back to the pool.
            try targetPool.settle(r.targetSequence!)
            if let (m, seq) = r.draft { try draftPools[m].settle(seq) }
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
    /// The source drafting for this request this round (index into the engine's pool), nil: none.
    var source: Int?
    /// The draft model instance this request could draft from this round, and how many tokens.
    var modelChoice: (model: Int, tokens: Int)?
    /// Where this request's text sits in its lookup group's index (nil without `lookup`), this
    /// round's lookup proposal, and whether it was copied from another request's text.
    var lookup: (index: LookupIndex, document: Int)?
    var lookupProposal: [Int] = []
    var lookupFromSibling = false
    var lookupMatchLength = 0
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

    func verify(targetLogits: (Int) -> UnsafeBufferPointer<Float>, scratch: UnsafeMutableBufferPointer<Float>,
                pointMasses: Bool) -> SpeculativeVerifier.Outcome {
        draftDistributions.withUnsafeBufferPointer { q in
            SpeculativeVerifier.verify(drafts: drafts, draftDistributions: q.baseAddress ?? UnsafePointer(scratch.baseAddress!),
                                       targetLogits: targetLogits, sampler: &sampler, rng: &rng, scratch: scratch,
                                       pointMasses: pointMasses)
        }
    }

    /// Appends newly decided tokens in order, stopping at the first that ends the request.
    func commit(_ newTokens: [Int]) {
        for token in newTokens {
            if let (index, document) = lookup { index.append(token, to: document) }
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
