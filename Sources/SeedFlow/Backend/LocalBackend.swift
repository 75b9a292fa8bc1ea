import Foundation
import SeedEngine
import SeedModel

/// The local engine as a backend: GGUF files on this machine, scheduled speculative decoding
/// with the workflow's drafts, prompts tokenized (and wrapped in the chat template) here.
public final class LocalBackend: GenerationBackend {
    public let engine: Engine
    public let strategy: DecodingStrategy
    private let target: any LanguageModel
    private let modelFiles: [String]
    private let encodePrompt: (String) -> [Int]
    /// Prompts tokenized by `problem(with:)`, taken by `generate` so each is encoded once.
    private var encoded: [String: [Int]] = [:]

    public init(workflow: Workflow, strategy: DecodingStrategy, threads: Int) throws {
        let pool = ThreadPool(threads: threads)
        let target = try loadLanguageModel(file: GGUFFile(path: workflow.models.target.path), pool: pool)
        let drafts = try workflow.models.drafts.map { d in
            DraftModel(model: try loadLanguageModel(file: GGUFFile(path: d.path), pool: pool), instances: d.instances)
        }
        var configuration = workflow.decoding.engineConfiguration(kvCache: workflow.models.kvCache)
        configuration.strategy = strategy
        engine = try Engine(target: target, drafts: drafts, lookup: workflow.models.lookup, configuration: configuration)
        self.target = target
        self.strategy = strategy
        modelFiles = [workflow.models.target.path] + workflow.models.drafts.map(\.path)
        encodePrompt = try Self.promptEncoder(target: target, chat: workflow.chat)
    }

    /// Turns a rendered prompt into tokens: as it is, or as the user turn of the model's chat
    /// format when the workflow has a `chat` section (then the template's own markers, such as
    /// `<|im_start|>`, are read as the special tokens they stand for).
    private static func promptEncoder(target: any LanguageModel, chat: ChatSection?) throws -> (String) -> [Int] {
        let tokenizer = target.tokenizer
        guard let chat else { return { tokenizer.encode($0) } }
        let template = try ChatTemplate(named: chat.template, file: target.file)
        let system = chat.system.map { [ChatMessage(role: "system", content: $0)] } ?? []
        return { prompt in
            let text = template.render(messages: system + [ChatMessage(role: "user", content: prompt)], addGenerationPrompt: true)
            return tokenizer.encode(text, addBOS: tokenizer.addsBOS, parseSpecial: true)
        }
    }

    private func tokens(_ prompt: String) -> [Int] {
        if let t = encoded[prompt] { return t }
        let t = encodePrompt(prompt)
        encoded[prompt] = t
        return t
    }

    /// One engine request per sample: each tag seeds its own random stream, as before the seam.
    private func engineRequests(_ request: TextRequest) -> [GenerationRequest] {
        let promptTokens = tokens(request.prompt)
        return request.tags.map { tag in
            GenerationRequest(tag: tag, promptTokens: promptTokens, sampling: request.sampling,
                              maxTokens: request.maxTokens, stopStrings: request.stopStrings, group: request.group)
        }
    }

    public func problem(with request: TextRequest) -> CallProblem? {
        guard let first = engineRequests(request).first, let problem = engine.problem(with: first) else { return nil }
        switch problem {
        case .emptyPrompt: return .emptyPrompt
        case let .promptTooLong(_, tokens, context): return .promptTooLong(tokens: tokens, context: context)
        case let .requestTooLarge(_, tokens, bytesNeeded, poolBytes):
            return .cacheTooSmall(tokens: tokens, bytesNeeded: bytesNeeded, budgetBytes: poolBytes)
        default: return .other(problem.description)
        }
    }

    public func generate(_ requests: [TextRequest], onCompletion: (TextCompletion) throws -> [TextRequest]) throws {
        defer { encoded.removeAll() }
        let first = requests.flatMap(engineRequests)
        guard !first.isEmpty else { return }
        _ = try engine.generate(first) { completion in
            var statistics = completion.statistics
            statistics.generatedTokens = completion.tokenIDs.count
            let next = try onCompletion(TextCompletion(tag: completion.tag, text: completion.text,
                                                       finishReason: completion.finishReason, statistics: statistics))
            // Prompts asked about in the callback are taken now; the cache does not grow with the run.
            let arriving = next.flatMap(engineRequests)
            encoded.removeAll()
            return arriving
        }
    }

    public var statistics: BackendStatistics {
        let e = engine.statistics
        var s = BackendStatistics()
        s.requests = e.requests
        s.generatedTokens = e.generatedTokens
        s.draftedTokens = e.draftedTokens
        s.acceptedTokens = e.acceptedTokens
        s.targetPasses = e.targetPasses
        s.draftSeconds = e.draftSeconds
        s.verifySeconds = e.verifySeconds
        // The lookup source comes after the draft models.
        s.draftSources = e.drafts.enumerated().map { i, d in
            DraftSourceStatistics(name: d.name, draftedTokens: d.draftedTokens, acceptedTokens: d.acceptedTokens,
                                  siblingShare: i == engine.drafts.count && d.verifications > 0
                                      ? Double(d.siblingProposals) / Double(d.verifications) : nil)
        }
        return s
    }

    /// As many inputs as the target's KV budget holds at their widest level, each call at most a
    /// context long.
    public func defaultJobs(callsPerLevel: Int) -> Int {
        let blocksPerCall = engine.targetPool.blocksNeeded(tokens: target.config.contextLength) + 1
        return max(1, engine.targetPool.blockCount / max(1, callsPerLevel * blocksPerCall))
    }

    public func provenanceModels() throws -> ProvenanceModels { .files(modelFiles) }
}
