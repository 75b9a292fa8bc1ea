import Foundation
import SeedModel

/// What to generate: how many tokens, how to sample them, where to stop.
public struct GenerationOptions: Sendable {
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Generation stops when the text contains one of these; the text is cut before it.
    public var stopStrings: [String]

    public init(maxTokens: Int, sampling: SamplingParameters, stopStrings: [String] = []) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopStrings = stopStrings
    }
}

public enum FinishReason: String, Codable, Sendable {
    /// The model produced an end-of-generation token.
    case eos
    /// `maxTokens` or the model's context was reached.
    case length
    /// A stop string appeared.
    case stop
}

public struct GenerationResult: Sendable {
    public var text: String
    /// Generated ids only; the end-of-generation token is included when it ended the text.
    public var tokenIDs: [Int]
    public var finishReason: FinishReason
    public var promptTokenCount: Int
    public var promptSeconds: Double
    public var generationSeconds: Double
    /// Generation stopped because the context was full, before `maxTokens`.
    public var reachedContextLimit: Bool
}

public enum GenerationError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case emptyPrompt
    case promptTooLong(tokens: Int, context: Int)

    public var description: String {
        switch self {
        case .emptyPrompt:
            return "the prompt is empty and the model adds no BOS token — give a prompt"
        case let .promptTooLong(tokens, context):
            return "the prompt has \(tokens) tokens but the model's context holds \(context) — shorten the prompt"
        }
    }

    public var errorDescription: String? { description }
}

/// One sequence at a time, autoregressive: the plain path behind `seedflow generate` and
/// `seedflow score`. The batched, speculative engine builds on the same model calls.
public final class TextGenerator {
    public let model: any LanguageModel
    private let cache: ContiguousKVCache
    private var probabilities: [Float]

    public init(model: any LanguageModel) {
        self.model = model
        cache = ContiguousKVCache(config: model.config)
        probabilities = [Float](repeating: 0, count: model.config.vocabularySize)
    }

    /// Generates a continuation of `promptTokens`, passing each piece of text to `onText` as soon
    /// as it is certain (never half a character, never the start of a stop string).
    public func generate(promptTokens: [Int], options: GenerationOptions,
                         onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        guard !promptTokens.isEmpty else { throw GenerationError.emptyPrompt }
        let context = model.config.contextLength
        guard promptTokens.count <= context else {
            throw GenerationError.promptTooLong(tokens: promptTokens.count, context: context)
        }
        let tokenizer = model.tokenizer
        let stops = tokenizer.endOfGenerationTokenIDs
        var sampler = Sampler(options.sampling)
        var rng = RandomStream(seed: options.sampling.seed)
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer, continuing: promptTokens)
        var stopper = StopStringMatcher(stops: options.stopStrings)

        let promptStart = DispatchTime.now()
        var logits = try model.forward([ForwardInput(tokens: promptTokens, startPosition: 0,
                                                     cache: cache.blockTable, logits: .last)])
        let promptSeconds = elapsedSeconds(since: promptStart)

        let generationStart = DispatchTime.now()
        var ids: [Int] = []
        var position = promptTokens.count
        // The token sampled at position p needs no cache slot itself; only feeding it does.
        let budget = min(options.maxTokens, context - promptTokens.count + 1)
        var finish = FinishReason.length
        while ids.count < budget {
            let token = probabilities.withUnsafeMutableBufferPointer { scratch in
                sampler.sample(logits[0], scratch: scratch, using: &rng)
            }
            ids.append(token)
            if stops.contains(token) {
                finish = .eos
                break
            }
            let (safe, hitStop) = stopper.feed(detokenizer.append(token))
            if !safe.isEmpty { onText(safe) }
            if hitStop {
                finish = .stop
                break
            }
            if ids.count == budget { break }
            logits = try model.forward([ForwardInput(tokens: [token], startPosition: position,
                                                     cache: cache.blockTable, logits: .last)])
            position += 1
        }
        if finish != .stop {
            let (safe, hitStop) = stopper.feed(detokenizer.finish())
            if !safe.isEmpty { onText(safe) }
            if hitStop { finish = .stop }
            let rest = stopper.flush()
            if !rest.isEmpty { onText(rest) }
        }
        return GenerationResult(text: stopper.text, tokenIDs: ids, finishReason: finish,
                                promptTokenCount: promptTokens.count, promptSeconds: promptSeconds,
                                generationSeconds: elapsedSeconds(since: generationStart),
                                reachedContextLimit: finish == .length && budget < options.maxTokens)
    }

    /// Natural-log probability of each token given the ones before it: `tokens.count - 1` values,
    /// for tokens[1...]. One prefill pass (in context-sized windows' worth, refused beyond).
    public func score(tokens: [Int]) throws -> [Float] {
        guard tokens.count <= model.config.contextLength else {
            throw GenerationError.promptTooLong(tokens: tokens.count, context: model.config.contextLength)
        }
        guard tokens.count > 1 else { return [] }
        let logits = try model.forward([ForwardInput(tokens: tokens, startPosition: 0,
                                                     cache: cache.blockTable, logits: .all)])
        return (1..<tokens.count).map { i in
            let row = logits[i - 1]
            var maxLogit = -Float.infinity
            for v in row { maxLogit = max(maxLogit, v) }
            var sum: Double = 0
            for v in row { sum += Double(expf(v - maxLogit)) }
            return row[tokens[i]] - maxLogit - Float(log(sum))
        }
    }
}

/// Finds stop strings in streamed text and holds back any tail that could still become one.
/// Text is compared as Unicode scalars, exactly: as Characters, "\r\n" is one grapheme, so its
/// "\r" alone was never held back (and a combining mark arriving in a later piece changed what
/// had matched), and Foundation's search would also match canonical equivalents.
struct StopStringMatcher {
    let stops: [[Unicode.Scalar]]
    /// Text already handed out, and the tail held back because it could still begin a stop
    /// string. A stop string can only begin in the held tail (any earlier start would have made
    /// that suffix a held prefix), so each piece costs work in proportion to the tail, not to the
    /// whole text.
    private var emitted = ""
    private var held: [Unicode.Scalar] = []

    init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty }.map { Array($0.unicodeScalars) } }

    /// Everything accepted so far (cut before a stop string once one is found).
    var text: String { emitted + Self.string(held[...]) }

    private static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Where `stop` first occurs in the held tail.
    private func firstOccurrence(of stop: [Unicode.Scalar]) -> Int? {
        guard held.count >= stop.count else { return nil }
        return (0...(held.count - stop.count)).first { start in held[start..<(start + stop.count)].elementsEqual(stop) }
    }

    /// Adds new text; returns what can be shown now and whether a stop string was found.
    mutating func feed(_ piece: String) -> (String, Bool) {
        held.append(contentsOf: piece.unicodeScalars)
        if let start = stops.compactMap(firstOccurrence).min() {
            let out = Self.string(held[..<start])
            emitted += out
            held = []
            return (out, true)
        }
        // Hold back the longest tail that is a proper prefix of some stop string.
        var hold = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, held.count), to: hold, by: -1)
            where held.suffix(length).elementsEqual(stop.prefix(length)) {
                hold = length
                break
            }
        }
        let out = Self.string(held.dropLast(hold))
        emitted += out
        held.removeFirst(held.count - hold)
        return (out, false)
    }

    /// Everything not yet handed out.
    mutating func flush() -> String {
        let out = Self.string(held[...])
        emitted += out
        held = []
        return out
    }
}
