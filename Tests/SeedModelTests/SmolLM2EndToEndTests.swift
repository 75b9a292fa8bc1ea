import Foundation
import XCTest
@testable import SeedModel

/// SmolLM2-135M-Instruct (Q4_1, the file of `make real-models`) against llama.cpp on the same file:
/// per-token log-probabilities of a paragraph, greedy continuations, and the chat answer of
/// `--chat auto`. The reference numbers come from libllama (Resources/real-models/score-llama.c
/// and make-smollm2-fixtures.py, in smollm2-llama.json).
final class SmolLM2EndToEndTests: XCTestCase {
    private struct Reference: Decodable {
        struct Paragraph: Decodable { let text: String; let tokens: [Int]; let logprobs: [Double]; let logprobs_sequential: [Double] }
        struct Greedy: Decodable { let prompt: String; let prompt_tokens: [Int]; let tokens: [Int]; let top2_margins: [Double] }
        struct Chat: Decodable { let rendered: String; let question: String; let prompt_tokens: [Int]; let tokens: [Int]; let top2_margins: [Double] }
        let paragraph: Paragraph
        let greedy: [Greedy]
        let chat: Chat
    }

    /// A step whose reference top-2 logit margin is below this is a near tie: another summation
    /// order (llama.cpp quantizes the activations to 8 bits for its Q4_1 dot products) may flip it.
    static let nearTie = 0.1

    private static let reference: Result<Reference, Error> = Result {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: TestPaths.resource("real-models/smollm2-llama.json")))
    }

    private func load() throws -> (TransformerModel, any Tokenizer, Reference) {
        let path = try RealModels.path(RealModels.smolLM2)
        let file = try GGUFFile(path: path)
        return (try TransformerModel(path: path), try loadTokenizer(from: file), try Self.reference.get())
    }

    private func argmax(_ row: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<row.count where row[i] > row[best] { best = i }
        return best
    }

    /// llama.cpp gives two sets of numbers on this file: one batched pass, and the tokens fed one at
    /// a time (its decode path); the two differ from each other by a mean |Δ log p| of 0.076, above
    /// the issue's bound of 0.05, which therefore cannot be held against either. Ours must be no
    /// further from each than a quarter beyond that (a wrong layer, RoPE or norm gives whole nats).
    /// Measured: 0.074 against the token-by-token numbers, 0.077 against the batched ones.
    func testParagraphLogProbabilitiesAgreeWithLlamaCpp() throws {
        let (model, tokenizer, reference) = try load()
        let p = reference.paragraph
        XCTAssertEqual(tokenizer.encode(p.text), p.tokens, "tokens of the paragraph")
        XCTAssertEqual(p.logprobs.count, p.tokens.count - 1)
        XCTAssertEqual(p.logprobs_sequential.count, p.tokens.count - 1)
        let cache = ContiguousKVCache(config: model.config)
        let logits = try model.forward([ForwardInput(tokens: p.tokens, startPosition: 0, cache: cache.blockTable, logits: .all)])
        var ours: [Double] = []
        for i in 1..<p.tokens.count {
            let row = logits[i - 1]
            let maxLogit = Double(row.max() ?? 0)
            let logSum = log(row.reduce(0.0) { $0 + exp(Double($1) - maxLogit) })
            ours.append(Double(row[p.tokens[i]]) - maxLogit - logSum)
        }
        func meanAndMax(_ a: [Double], _ b: [Double]) -> (Double, Double) {
            let d = zip(a, b).map { abs($0 - $1) }
            return (d.reduce(0, +) / Double(d.count), d.max() ?? 0)
        }
        let (sequential, sequentialMax) = meanAndMax(ours, p.logprobs_sequential)
        let (batched, batchedMax) = meanAndMax(ours, p.logprobs)
        let (llamaSelf, _) = meanAndMax(p.logprobs, p.logprobs_sequential)
        print("SmolLM2 paragraph, \(ours.count) tokens: mean |Δ log p| \(sequential) (max \(sequentialMax)) against llama.cpp "
              + "token by token; \(batched) (max \(batchedMax)) against its batched pass; llama.cpp's two differ by \(llamaSelf)")
        XCTAssertGreaterThan(llamaSelf, 0.05, "llama.cpp's two paths agree within the issue's bound now: hold ours to 0.05")
        XCTAssertLessThanOrEqual(sequential, llamaSelf * 1.25, "against llama.cpp token by token (max \(sequentialMax))")
        XCTAssertLessThanOrEqual(batched, llamaSelf * 1.25, "against llama.cpp's batched pass (max \(batchedMax))")
    }

    /// Free-running greedy decoding must give llama.cpp's tokens; where llama.cpp's step was a near
    /// tie the two may part, and the comparison ends there (what follows depends on the choice).
    private func checkGreedy(_ model: TransformerModel, prompt: [Int], expected: [Int], margins: [Double], label: String) throws -> [Int] {
        let cache = ContiguousKVCache(config: model.config)
        var logits = try model.forward([ForwardInput(tokens: prompt, startPosition: 0, cache: cache.blockTable, logits: .last)])
        var position = prompt.count
        var ours: [Int] = []
        for step in expected.indices {
            let token = argmax(logits[0])
            ours.append(token)
            if token != expected[step] {
                XCTAssertLessThan(margins[step], Self.nearTie, "\(label): step \(step) gives \(token), llama.cpp \(expected[step])")
                break
            }
            logits = try model.forward([ForwardInput(tokens: [token], startPosition: position, cache: cache.blockTable, logits: .last)])
            position += 1
        }
        return ours
    }

    func testGreedyContinuationsEqualLlamaCpp() throws {
        let (model, tokenizer, reference) = try load()
        XCTAssertGreaterThanOrEqual(reference.greedy.count, 3)
        for g in reference.greedy {
            XCTAssertEqual(tokenizer.encode(g.prompt), g.prompt_tokens, g.prompt)
            XCTAssertEqual(g.tokens.count, 32)
            let ours = try checkGreedy(model, prompt: g.prompt_tokens, expected: g.tokens, margins: g.top2_margins, label: g.prompt)
            print("SmolLM2 greedy \(g.prompt.debugDescription): \(ours.count == 32 && ours == g.tokens ? "all 32 equal" : "parted at a near tie after \(ours.count - 1)")")
        }
    }

    /// `--chat auto`: the file's template renders the question as llama.cpp's reference prompt, and
    /// the greedy answer is llama.cpp's, token for token.
    func testChatAnswerEqualsLlamaCpp() throws {
        let (model, tokenizer, reference) = try load()
        let template = try ChatTemplate(named: "auto", file: GGUFFile(path: RealModels.path(RealModels.smolLM2)))
        let rendered = template.render(messages: [ChatMessage(role: "user", content: reference.chat.question)], addGenerationPrompt: true)
        XCTAssertEqual(rendered, reference.chat.rendered)
        let prompt = tokenizer.encode(rendered, addBOS: tokenizer.addsBOS, parseSpecial: true)
        XCTAssertEqual(prompt, reference.chat.prompt_tokens)
        let ours = try checkGreedy(model, prompt: prompt, expected: reference.chat.tokens, margins: reference.chat.top2_margins, label: "chat")
        print("SmolLM2 chat answer: \(tokenizer.decode(ours).debugDescription); llama.cpp's: "
              + tokenizer.decode(reference.chat.tokens).debugDescription)
        // checkGreedy compared every step up to the first near tie (llama.cpp's answer has one at
        // step 15 with a margin of 0.03); the answer's opening must be there.
        XCTAssertGreaterThanOrEqual(ours.count, 8)
        XCTAssertEqual(Array(ours.prefix(8)), Array(reference.chat.tokens.prefix(8)))
    }
}
