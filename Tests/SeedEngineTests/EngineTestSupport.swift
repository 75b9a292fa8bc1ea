import Foundation
import XCTest
import SeedModel
@testable import SeedEngine

/// The demo models, loaded once for all engine tests: loading maps the files and builds the
/// tokenizers, which is not what these tests measure.
final class EngineModels: @unchecked Sendable {
    let target: TransformerModel
    let draftS: TransformerModel
    let draftM: TransformerModel

    private init() throws {
        target = try TransformerModel(path: EngineTestPaths.target)
        draftS = try TransformerModel(path: EngineTestPaths.draftS)
        draftM = try TransformerModel(path: EngineTestPaths.model("seedflow-demo-draft-m.gguf"))
    }

    private static let loaded = Result { try EngineModels() }
    static func shared() throws -> EngineModels { try loaded.get() }

    var eos: Int { target.tokenizer.eosTokenID! }

    func encode(_ text: String) -> [Int] { target.tokenizer.encode(text) }

    // MARK: prompts in the demo formats (models/MODEL_CARD.md)

    /// The held-out Game-of-24 puzzles, four numbers each.
    static func puzzles() throws -> [[Int]] {
        let url = EngineTestPaths.repoRoot.appendingPathComponent("data/game24-heldout.txt")
        return try String(contentsOf: url, encoding: .utf8)
            .split(separator: "\n")
            .map { $0.split(separator: " ").compactMap { Int($0) } }
            .filter { $0.count == 4 }
    }

    static func proposePrompt(_ numbers: [Int]) -> String {
        "Propose steps for: " + numbers.map(String.init).joined(separator: " ") + "\n"
    }

    /// A value prompt for the state after the first step `a + b` of a puzzle ("left" numbers are
    /// listed in ascending order, as the models were trained).
    static func valuePrompt(_ numbers: [Int]) -> String {
        let left = ([numbers[0] + numbers[1]] + numbers[2...]).sorted()
        return "Evaluate: " + left.map(String.init).joined(separator: " ") + "\n"
    }

    // MARK: the plain reference: one sequence, one pass, contiguous cache

    /// Target logits after the last token of `tokens`, from a single-sequence prefill.
    func lastLogits(_ model: TransformerModel, _ tokens: [Int]) throws -> [Float] {
        let cache = ContiguousKVCache(config: model.config)
        let view = try model.forward([ForwardInput(tokens: tokens, startPosition: 0,
                                                   cache: cache.blockTable, logits: .last)])
        return Array(view[0])
    }
}

extension XCTestCase {
    /// Greedy outputs of `other` must equal `reference` token for token, up to the first near tie:
    /// where they differ, the target's top-2 margin at the first differing position (from a plain
    /// single-sequence pass) must be below 1e-2 — batched and one-row arithmetic may legitimately
    /// pick different tokens there, and nowhere else. Returns the number of such ties.
    func assertGreedyEqual(_ other: [Completion], _ reference: [Completion], prompts: [[Int]],
                           models: EngineModels, _ what: String,
                           file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        XCTAssertEqual(other.count, reference.count, "\(what): completion count", file: file, line: line)
        var ties = 0
        for (i, (got, want)) in zip(other, reference).enumerated() {
            XCTAssertEqual(got.tag, want.tag, "\(what): completions in request order", file: file, line: line)
            if got.tokenIDs == want.tokenIDs {
                XCTAssertEqual(got.text, want.text, "\(what) #\(i): text", file: file, line: line)
                XCTAssertEqual(got.finishReason, want.finishReason, "\(what) #\(i): finish reason", file: file, line: line)
                continue
            }
            let common = zip(got.tokenIDs, want.tokenIDs).prefix { $0 == $1 }.count
            guard common < got.tokenIDs.count, common < want.tokenIDs.count else {
                XCTFail("\(what) #\(i): one output is a proper prefix of the other (\(got.tokenIDs.count) vs \(want.tokenIDs.count) tokens, \(got.finishReason) vs \(want.finishReason))",
                        file: file, line: line)
                continue
            }
            let logits = try models.lastLogits(models.target, prompts[i] + want.tokenIDs[0..<common])
            let sorted = logits.sorted(by: >)
            let margin = sorted[0] - sorted[1]
            if margin < 1e-2 {
                ties += 1
            } else {
                XCTFail("\(what) #\(i): differs from autoregressive at generated token \(common) (\(got.tokenIDs[common]) vs \(want.tokenIDs[common])) although the target's top-2 margin there is \(margin)",
                        file: file, line: line)
            }
        }
        return ties
    }
}

// MARK: statistics

/// Chi-square goodness of fit, the textbook way: bins with expected count below 5 are merged
/// (all of them into one bin, which joins the smallest remaining bin if still below 5).
enum ChiSquare {
    struct Result {
        var statistic: Double
        var degreesOfFreedom: Int
        var bins: Int
    }

    /// `expected` are probabilities over outcomes (their remainder to 1 is one more outcome,
    /// "anything else"); `observed` counts outcomes, including any outside `expected`. Those
    /// only join the "anything else" cell, so a caller for whom an outcome outside `expected`
    /// is impossible must check for it separately: here it barely moves the statistic.
    static func test<Key: Hashable>(observed: [Key: Int], expected: [Key: Double]) -> Result {
        let n = Double(observed.values.reduce(0, +))
        var cells: [(expected: Double, observed: Double)] = []
        var rest = (expected: max(0, 1 - expected.values.reduce(0, +)) * n, observed: 0.0)
        for (key, p) in expected where p > 0 {
            cells.append((p * n, Double(observed[key] ?? 0)))
        }
        for (key, count) in observed where (expected[key] ?? 0) <= 0 {
            rest.observed += Double(count)  // outcomes the target gives no mass to land here
        }
        cells.append(rest)
        var merged = (expected: 0.0, observed: 0.0)
        var kept: [(expected: Double, observed: Double)] = []
        for cell in cells {
            if cell.expected < 5 {
                merged.expected += cell.expected
                merged.observed += cell.observed
            } else {
                kept.append(cell)
            }
        }
        if merged.expected > 0 || merged.observed > 0 {
            if merged.expected < 5, let smallest = kept.indices.min(by: { kept[$0].expected < kept[$1].expected }) {
                kept[smallest].expected += merged.expected
                kept[smallest].observed += merged.observed
            } else {
                kept.append(merged)
            }
        }
        // An observation where nothing was expected makes the statistic infinite: a sure failure.
        let statistic = kept.reduce(0.0) { sum, c in
            c.expected > 0 ? sum + (c.observed - c.expected) * (c.observed - c.expected) / c.expected
                           : (c.observed > 0 ? .infinity : sum)
        }
        return Result(statistic: statistic, degreesOfFreedom: max(1, kept.count - 1), bins: kept.count)
    }

    /// Upper critical value of the chi-square distribution at α = 0.001, by the Wilson–Hilferty
    /// approximation χ² ≈ ν(1 − 2/(9ν) + z·√(2/(9ν)))³ with z the standard normal's 0.999
    /// quantile. It errs slightly high for ν ≤ 2 (11.2 vs 10.83 at ν = 1), i.e. conservatively.
    static func critical001(degreesOfFreedom df: Int) -> Double {
        let z = 3.090232306167813
        let v = Double(df)
        let a = 2 / (9 * v)
        return v * pow(1 - a + z * a.squareRoot(), 3)
    }
}

/// The target's warped distribution computed independently of `Sampler`, in Double: softmax of
/// logits / T, then the smallest most-likely set whose mass reaches top-p, renormalised.
func warpedDistribution(_ logits: [Float], temperature: Double, topP: Double = 1) -> [Double] {
    let maxLogit = Double(logits.max()!)
    var p = logits.map { exp((Double($0) - maxLogit) / temperature) }
    let sum = p.reduce(0, +)
    p = p.map { $0 / sum }
    if topP < 1 {
        let order = p.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
        var cumulative = 0.0
        var kept = Set<Int>()
        for id in order {
            kept.insert(id)
            cumulative += p[id]
            if cumulative >= topP { break }
        }
        for id in p.indices where !kept.contains(id) { p[id] = 0 }
        let keptSum = p.reduce(0, +)
        p = p.map { $0 / keptSum }
    }
    return p
}
