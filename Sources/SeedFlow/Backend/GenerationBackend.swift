import Foundation
import SeedEngine

/// One model call as the runner asks for it: a prompt as text, how to sample, where to stop, and
/// one tag per sample wanted. Several tags ask for several samples of the same prompt (`n`); a
/// backend that can draw them in one request does (the prompt is then read once).
public struct TextRequest: Sendable, Equatable {
    /// One tag per sample; each names its completion and (locally) seeds its random stream.
    public var tags: [String]
    public var prompt: String
    public var sampling: SamplingParameters
    public var maxTokens: Int
    /// Text that ends the completion (cut before it).
    public var stopStrings: [String]
    /// Requests of one group share a prompt prefix (siblings of one tree node); a backend may use
    /// it to keep them together. nil: no group.
    public var group: String?

    public init(tags: [String], prompt: String, sampling: SamplingParameters, maxTokens: Int,
                stopStrings: [String] = [], group: String? = nil) {
        self.tags = tags
        self.prompt = prompt
        self.sampling = sampling
        self.maxTokens = maxTokens
        self.stopStrings = stopStrings
        self.group = group
    }

    /// Samples wanted.
    public var n: Int { tags.count }
}

/// One finished sample of a `TextRequest`, or why it could not be had.
public struct TextCompletion: Sendable {
    public var tag: String
    public var text: String
    public var finishReason: FinishReason
    /// Token counts, timings and (locally) drafting figures of this sample.
    public var statistics: CompletionStatistics
    /// Why the call failed after the backend's retries (a server down, a reply that did not
    /// parse); nil for a completion. The runner ends that input's search with it.
    public var failure: String?

    public init(tag: String, text: String, finishReason: FinishReason, statistics: CompletionStatistics, failure: String? = nil) {
        self.tag = tag
        self.text = text
        self.finishReason = finishReason
        self.statistics = statistics
        self.failure = failure
    }

    public static func failed(tag: String, _ reason: String) -> TextCompletion {
        TextCompletion(tag: tag, text: "", finishReason: .length, statistics: CompletionStatistics(), failure: reason)
    }
}

/// Why one call cannot run on a backend; the runner fails just that call's input with it.
public enum CallProblem: Sendable, Equatable {
    case emptyPrompt
    case promptTooLong(tokens: Int, context: Int)
    case cacheTooSmall(tokens: Int, bytesNeeded: Int, budgetBytes: Int)
    case other(String)

    /// The problem in words, for the result line of the input whose `call` it is.
    public func explain(call: String) -> String {
        switch self {
        case let .promptTooLong(tokens, context):
            return "\(call) renders to \(tokens) tokens for this input, but the model's context holds \(context) — shorten the input or the prompt, or use a model with a longer context"
        case let .cacheTooSmall(tokens, bytesNeeded, budgetBytes):
            return "\(call) needs \(formatBytes(bytesNeeded)) of KV cache for \(tokens) tokens, but the budget holds \(formatBytes(budgetBytes)) (in whole KV blocks, at least one) — raise models.kv_cache.memory (e.g. --set models.kv_cache.memory=4GiB)"
        case .emptyPrompt:
            return "\(call) renders to no tokens for this input"
        case let .other(reason):
            return "\(call): \(reason)"
        }
    }
}

/// What a backend did over one `generate`, for the run's summary and progress line.
public struct BackendStatistics: Sendable, Equatable {
    public var requests = 0
    public var generatedTokens = 0
    public var promptTokens = 0
    public var draftedTokens = 0
    public var acceptedTokens = 0
    public var targetPasses = 0
    public var draftSeconds = 0.0
    public var verifySeconds = 0.0
    /// Calls sent again after a fault (remote backends).
    public var retries = 0
    /// Calls that failed after their retries.
    public var failedCalls = 0
    /// Each draft source's figures (local drafting), the draft models first, then `lookup`.
    public var draftSources: [DraftSourceStatistics] = []

    public init() {}

    public var acceptanceRate: Double { draftedTokens == 0 ? 0 : Double(acceptedTokens) / Double(draftedTokens) }
    public var tokensPerTargetPass: Double { targetPasses == 0 ? 0 : Double(generatedTokens) / Double(targetPasses) }
}

/// What one draft source proposed and the target kept.
public struct DraftSourceStatistics: Sendable, Equatable {
    public var name: String
    public var draftedTokens: Int
    public var acceptedTokens: Int
    /// `lookup` only: the share of its proposals copied from another call's text.
    public var siblingShare: Double?

    public var acceptanceRate: Double { draftedTokens == 0 ? 0 : Double(acceptedTokens) / Double(draftedTokens) }
}

/// Where a run's model calls are computed: the local engine, or servers speaking the OpenAI
/// completions protocol. The runner, results and provenance know only this.
public protocol GenerationBackend: AnyObject {
    /// Runs the requests, calling `onCompletion` on the calling thread as each sample finishes
    /// (in finishing order); the requests it returns join the run. Returns when no request is
    /// left. An error thrown by `onCompletion` ends the run (calls in flight are cancelled).
    /// A call that fails is delivered as a completion with `failure` set, not thrown.
    func generate(_ requests: [TextRequest], onCompletion: (TextCompletion) throws -> [TextRequest]) throws

    /// Why `request` cannot run here, checked before it is sent; nil when it can.
    func problem(with request: TextRequest) -> CallProblem?

    /// Inputs to search at once when the user does not say: enough for every call slot to stay
    /// busy, given the calls of one input's widest level.
    func defaultJobs(callsPerLevel: Int) -> Int

    /// Totals of the last (or running) `generate`.
    var statistics: BackendStatistics { get }

    /// What the results' provenance records of the model: files (local) or servers (remote).
    func provenanceModels() throws -> ProvenanceModels

    /// The decoding strategy the results record (a remote server decodes as it is set up).
    var strategy: DecodingStrategy { get }
}

/// Model identity for provenance: local files by hash, or a server's model.
public enum ProvenanceModels: Sendable {
    case files([String])
    case server(Provenance.Server)
}

/// Ctrl-C seen by a backend while it waited for completions: the run ends, finished results kept.
public struct GenerationInterrupted: Error {
    public init() {}
}
