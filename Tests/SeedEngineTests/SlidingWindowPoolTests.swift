import Foundation
import XCTest
import SeedModel
@testable import SeedEngine

/// A sliding-window model (random Gemma 3 weights, two sliding layers to one global, a window of
/// 8 tokens) run by the engine over a paged pool of 4-token blocks: the sliding layers' pages of
/// blocks no window reaches go back to the pool while requests run, and the tokens stay those
/// of plain decoding over a contiguous cache that keeps everything.
final class SlidingWindowPoolTests: XCTestCase {
    private static let window = 8, blockTokens = 4

    private func randomGemma(seed: UInt64) throws -> TransformerModel {
        var spec = RandomModel(architecture: "gemma3", embeddingLength: 128, blockCount: 3, headCount: 2, headCountKV: 1,
                               feedForwardLength: 256, weightType: .f32)
        spec.contextLength = 256
        spec.tiedOutput = true
        spec.slidingWindow = Self.window
        spec.slidingWindowPeriod = 3
        spec.seed = seed
        let path = try spec.writeTemporary()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try TransformerModel(path: path, threads: 2)
    }

    private static let prompts = [[1, 270, 5, 281, 260, 77, 290, 3, 297, 259, 120, 265],
                                  [1, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57],
                                  [1, 270, 5, 281, 260, 77, 290, 3, 100, 101]]

    func testWindowPagesGoBackAndGreedyTokensMatchAFullCache() throws {
        let target = try randomGemma(seed: 7)
        XCTAssertEqual(target.config.slidingLayers, [true, true, false])
        let draft = try randomGemma(seed: 8)
        let maxTokens = 96
        var reference: [[Int]] = []
        for prompt in Self.prompts {
            let out = try TextGenerator(model: target).generate(promptTokens: prompt, options: GenerationOptions(maxTokens: maxTokens, sampling: .greedy))
            reference.append(out.tokenIDs)
        }
        for (strategy, drafts) in [(DecodingStrategy.autoregressive, [DraftModel]()),
                                   (.seed, [DraftModel(model: draft, instances: 2, name: "random")])] {
            let engine = try Engine(target: target, drafts: drafts,
                                    configuration: EngineConfiguration(strategy: strategy, draftTokens: 4, kvMemoryBytes: 8 << 20,
                                                                       blockTokens: Self.blockTokens, draftConfidence: 0))
            var failures: [String] = []
            var rounds = 0
            engine.roundObserver = { running in
                rounds += 1
                if let violation = engine.targetPool.checkInvariants() { failures.append("round \(rounds): \(violation)") }
                // Each running sequence holds its global layer's page for every block, and its two
                // sliding layers' pages only for the blocks its window still reaches (three here:
                // 8 tokens may straddle three 4-token blocks) and the ones a round adds.
                var bound = 0
                for r in running {
                    let blocks = (r.targetCount + Self.blockTokens - 1) / Self.blockTokens
                    bound += blocks + 2 * min(blocks, Self.window / Self.blockTokens + 1)
                }
                let pool = engine.targetPool
                if pool.pagesInUse - pool.cachedPages > bound {
                    failures.append("round \(rounds): \(pool.pagesInUse) pages in use, \(pool.cachedPages) of them cached, bound \(bound)")
                }
            }
            let requests = Self.prompts.enumerated().map { i, p in
                GenerationRequest(tag: "r\(i)", promptTokens: p, sampling: .greedy, maxTokens: maxTokens)
            }
            let out = try engine.generate(requests)
            XCTAssertEqual(failures, [], "\(strategy)")
            XCTAssertEqual(out.sorted { $0.tag < $1.tag }.map(\.tokenIDs), reference, "\(strategy): tokens differ from decoding over a full cache")
            XCTAssertGreaterThan(engine.targetPool.metrics.windowPagesReleased, 2 * 3 * 20,
                                 "\(strategy): sliding pages went back to the pool while the requests ran")
            XCTAssertNil(engine.targetPool.checkInvariants())
            if strategy == .seed {
                XCTAssertGreaterThan(engine.statistics.draftedTokens, engine.statistics.acceptedTokens, "rollbacks happened")
                for pool in engine.draftPools { XCTAssertNil(pool.checkInvariants()) }
                XCTAssertGreaterThan(engine.draftPools[0].metrics.windowPagesReleased, 0, "the draft's pool gave pages back too")
            }
        }
    }

    /// A prompt that reuses a cached prefix is served only as far as the window pages its next
    /// token reads are still there.
    func testPrefixReuseStopsWhereWindowPagesAreGone() throws {
        let layout = KVLayout(layers: 3, kvDim: 4, blockTokens: 4)
        let pool = KVPool(layout: layout, blockCount: 64, window: KVWindow(tokens: 8, layers: [true, true, false]))
        let prompt = Array(0..<40)
        let (a, reusedA) = pool.startSequence(prompt: prompt)
        XCTAssertEqual(reusedA, 0)
        _ = try pool.append(a, tokens: prompt)
        try pool.commit(a)
        try pool.settle(a)
        // Position 40's window starts at 33: blocks 0–7 (positions 0–31) gave their sliding pages.
        XCTAssertEqual(pool.metrics.windowPagesReleased, 8 * 2)
        XCTAssertThrowsError(try pool.trim(a, to: 39), "no rollback below the settled length") { error in
            XCTAssertEqual(error as? KVPoolError, .trimBelowSettled(a, to: 39, settled: 40))
            XCTAssertTrue("\(error)".contains("settled at 40"), "\(error)")
        }
        // A second sequence holding all of a's blocks: it keeps them readable where its own window
        // needs them (fork shares a's state, passed blocks included).
        let b = try pool.fork(a)
        pool.release(a)
        XCTAssertNil(pool.checkInvariants())
        pool.release(b)
        XCTAssertNil(pool.checkInvariants())
        // A prompt of 37 tokens: 36 would be reusable, but the window of position 36 (29–36)
        // reaches block 7, whose sliding pages are gone; 32, 28 … fare no better, since every
        // block before 8 lost them. So nothing is reused.
        let (c, reusedC) = pool.startSequence(prompt: Array(0..<37))
        XCTAssertEqual(reusedC, 0)
        pool.release(c)
        XCTAssertNil(pool.checkInvariants())
        // A longer one, whose next token's window lies within blocks that kept their pages.
        let (d, reusedD) = pool.startSequence(prompt: Array(0..<44))
        XCTAssertEqual(reusedD, 40, "blocks 0–9 reused: position 40's window (33–40) reads blocks 8 and 9, which kept their pages")
        XCTAssertNil(pool.checkInvariants())
        pool.release(d)
    }
}
