import Foundation
import SeedModel

/// One completion to compute: a prompt, how to sample, where to stop, and a tag that names it in
/// results and seeds its random stream.
public struct GenerationRequest: Sendable {
    public var tag: String
    public var promptTokens: [Int]
    public var sampling: SamplingParameters
    public var maxTokens: Int
    /// Text that ends the completion (cut before it). End-of-generation tokens always end it.
    public var stopStrings: [String]
    /// Requests of one group (the samples of one prompt, one tree level of one input) draft from
    /// each other's text under the `lookup` draft source; nil: a group of its own.
    public var group: String?

    public init(tag: String, promptTokens: [Int], sampling: SamplingParameters = .greedy,
                maxTokens: Int, stopStrings: [String] = [], group: String? = nil) {
        self.tag = tag
        self.promptTokens = promptTokens
        self.sampling = sampling
        self.maxTokens = maxTokens
        self.stopStrings = stopStrings
        self.group = group
    }
}

/// What one request produced, with its own statistics.
public struct Completion: Sendable {
    public var tag: String
    public var text: String
    /// Generated ids; an end-of-generation token is included when it ended the text.
    public var tokenIDs: [Int]
    public var finishReason: FinishReason
    public var statistics: CompletionStatistics
}

public struct CompletionStatistics: Sendable, Codable, Equatable {
    public var promptTokens = 0
    /// Prompt tokens whose keys and values came from the prefix cache.
    public var promptTokensReused = 0
    public var generatedTokens = 0
    public var draftedTokens = 0
    public var acceptedTokens = 0
    /// Of those, the ones the `lookup` source proposed, and its proposals (rounds it drafted)
    /// and how many of them came from another request's text rather than this one's.
    public var lookupDraftedTokens = 0
    public var lookupAcceptedTokens = 0
    public var lookupProposals = 0
    public var lookupSiblingProposals = 0
    /// Target passes this request took part in.
    public var targetPasses = 0
    /// From the call to `generate` (or, for a request that arrived mid-run, its arrival) until
    /// this request finished.
    public var seconds = 0.0
    /// The round in which the request was admitted, and in which it got a draft instance
    /// (nil: never). First come, first served means both follow request order.
    public var admittedRound = 0
    public var draftAssignedRound: Int?

    public init() {}
}

/// How the engine schedules a set of requests. All run on the same engine so they compare honestly.
public enum DecodingStrategy: String, CaseIterable, Codable, Sendable {
    /// Every active request advances one token per step, all in one batched target pass.
    case autoregressive
    /// The SeeD paper's baseline: one request after another, plain decoding.
    case sequential
    /// The paper's second baseline: one request after another, classic two-model speculative decoding.
    case speculative
    /// SeeD: drafts proposed in parallel by the draft pool, verified together in one batched pass.
    case seed
    /// SeeD with the number of draft tokens chosen each round from measured costs (0: no drafting).
    case auto

    public var usesDrafts: Bool { self == .speculative || self == .seed || self == .auto }
    /// Strategies that run one request at a time.
    public var isSequential: Bool { self == .sequential || self == .speculative }
}

/// A draft model of the pool and how many requests it may serve at once.
public struct DraftModel: @unchecked Sendable {
    public var model: any LanguageModel
    public var instances: Int
    public var name: String

    public init(model: any LanguageModel, instances: Int = 1, name: String? = nil) {
        self.model = model
        self.instances = max(1, instances)
        self.name = name ?? model.file.path.split(separator: "/").last.map(String.init) ?? model.file.path
    }
}

/// The `lookup` draft source: drafts copied from text already seen (the request's prompt and
/// output, its group's outputs) where its last n tokens occurred before, longest n first.
public struct LookupConfiguration: Sendable, Equatable {
    public static let ngramRange = 1...16
    public var minNgram: Int
    public var maxNgram: Int
    public var name: String

    public init(minNgram: Int = 2, maxNgram: Int = 5, name: String = "lookup") {
        self.minNgram = minNgram
        self.maxNgram = maxNgram
        self.name = name
    }
}

public struct EngineConfiguration: Sendable {
    public var strategy: DecodingStrategy
    /// Tokens each draft proposes per round (`auto`: the most it may choose).
    public var draftTokens: Int
    /// KV cache budget of the target model in bytes (drafts get theirs in proportion to their
    /// size). nil: a default sized to the machine and the model.
    public var kvMemoryBytes: Int?
    public var blockTokens: Int
    /// A draft stops proposing for a request, until the next round, after a token it gave less
    /// than this probability (under the request's sampling; a greedy draft's at temperature 1).
    /// Such tokens are the ones the target tends to reject, and every token after a rejection is
    /// verified for nothing. 0 always drafts k tokens, as the SeeD paper does.
    public var draftConfidence: Float

    /// Measured on the benchmark workloads (both demo targets): 0.5 made every k of `seed` at
    /// least as fast as drafting all k, and k = 10 no longer slower than k = 6.
    public static let defaultDraftConfidence: Float = 0.5

    public init(strategy: DecodingStrategy = .autoregressive, draftTokens: Int = 4,
                kvMemoryBytes: Int? = nil, blockTokens: Int = 16,
                draftConfidence: Float = EngineConfiguration.defaultDraftConfidence) {
        self.strategy = strategy
        self.draftTokens = draftTokens
        self.kvMemoryBytes = kvMemoryBytes
        self.blockTokens = blockTokens
        self.draftConfidence = draftConfidence
    }
}

public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case noDraftModel(DecodingStrategy)
    case emptyPrompt(tag: String)
    case promptTooLong(tag: String, tokens: Int, context: Int)
    case requestTooLarge(tag: String, tokens: Int, bytesNeeded: Int, poolBytes: Int)
    case vocabularyMismatch(draft: String, detail: String)
    case badOption(String)

    public var description: String {
        switch self {
        case let .noDraftModel(strategy):
            return "strategy '\(strategy.rawValue)' needs a draft model or lookup — add --draft MODEL or --draft lookup (or drafts: in the workflow), or use --strategy autoregressive"
        case let .emptyPrompt(tag):
            return "request \(tag): the prompt is empty"
        case let .promptTooLong(tag, tokens, context):
            return "request \(tag): the prompt has \(tokens) tokens but the model's context holds \(context) — shorten the prompt"
        case let .requestTooLarge(tag, tokens, bytesNeeded, poolBytes):
            return "request \(tag): \(tokens) tokens need \(formatBytes(bytesNeeded)) of KV cache but the budget holds \(formatBytes(poolBytes)) (in whole KV blocks, at least one) — raise it with --kv-memory (workflow: models.kv_cache.memory)"
        case let .vocabularyMismatch(draft, detail):
            return "draft \(draft) cannot draft for this target: \(detail) — target and drafts must share one tokenizer"
        case let .badOption(message):
            return message
        }
    }

    public var errorDescription: String? { description }
}
