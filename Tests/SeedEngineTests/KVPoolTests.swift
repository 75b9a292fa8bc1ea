import XCTest
import SeedModel
import SeedEngine

/// The paged KV pool against the simplest correct cache: a sequence's logits must not depend on
/// how its keys and values are stored (paged, shared with forks, taken from the prefix cache,
/// trimmed and rewritten) nor on what else runs in the same batch.
final class KVPoolTests: XCTestCase {
    static let tolerance: Float = 1e-4

    // MARK: helpers

    private func loadTarget() throws -> TransformerModel {
        try TransformerModel(path: EngineTestPaths.target)
    }

    /// The small draft: the pool's bookkeeping does not depend on the model's size, and the suite
    /// stays fast in debug builds.
    private func loadDraft() throws -> TransformerModel {
        try TransformerModel(path: EngineTestPaths.draftS)
    }

    /// `count` random tokens, avoiding the special ids 0–2.
    private func randomTokens(_ count: Int, _ rng: inout RandomStream) -> [Int] {
        (0..<count).map { _ in Int.random(in: 3..<512, using: &rng) }
    }

    /// Logits after every token of `tokens`, computed alone in one pass over a contiguous cache.
    private func reference(_ model: TransformerModel, _ tokens: [Int]) throws -> [[Float]] {
        let cache = ContiguousKVCache(config: model.config)
        let view = try model.forward([ForwardInput(tokens: tokens, startPosition: 0,
                                                   cache: cache.blockTable, logits: .all)])
        return (0..<view.rows).map { Array(view[$0]) }
    }

    private func maxDiff(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    private func assertClose(_ rows: [[Float]], _ expected: ArraySlice<[Float]>, _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(rows.count, expected.count, "\(what): row count", file: file, line: line)
        for (row, want) in zip(rows, expected) {
            let diff = maxDiff(row, want)
            XCTAssertLessThanOrEqual(diff, Self.tolerance, "\(what): max abs diff", file: file, line: line)
        }
    }

    /// Appends each step's tokens to its sequence, runs them all as one ragged batch with logits
    /// after every new token, commits, and returns each step's rows. This is the pool's protocol:
    /// append (reserve + record), forward from the old token count, commit.
    private func run(_ model: TransformerModel, _ pool: KVPool,
                     _ steps: [(SequenceID, [Int])]) throws -> [[[Float]]] {
        var inputs: [ForwardInput] = []
        for (id, tokens) in steps {
            let start = try pool.tokenCount(id)
            let table = try pool.append(id, tokens: tokens)
            inputs.append(ForwardInput(tokens: tokens, startPosition: start, cache: table, logits: .all))
        }
        let view = try model.forward(inputs)
        let rows = steps.indices.map { i in
            (0..<steps[i].1.count).map { Array(view[view.firstRow[i] + $0]) }
        }
        for (id, _) in steps { try pool.commit(id) }
        return rows
    }

    /// Starts a sequence for `prompt` and computes what the prefix cache did not supply.
    private func start(_ model: TransformerModel, _ pool: KVPool,
                       _ prompt: [Int]) throws -> (SequenceID, reused: Int, rows: [[Float]]) {
        let (id, reused) = pool.startSequence(prompt: prompt)
        let rows = try run(model, pool, [(id, Array(prompt[reused...]))])[0]
        return (id, reused, rows)
    }

    // MARK: 1. mixed batches

    /// Prefill chunks, single decode tokens and 5-token verification chunks of different
    /// sequences in one forward call, with every kind of logits selection, against each sequence
    /// computed alone.
    func testMixedBatchLogitsEqualSequenceAlone() throws {
        let model = try loadTarget()
        let pool = KVPool(layout: KVLayout(config: model.config, blockTokens: 16), blockCount: 64)
        var rng = RandomStream(seed: 1, tag: "mixed")
        // Full token lists; each step takes the next piece of them.
        let a = randomTokens(44, &rng)  // prefill in two chunks (24 + 16), then decodes
        let b = randomTokens(16, &rng)  // prompt of 13, then decodes
        let c = randomTokens(9, &rng)   // prompt of 9, then speculative verification chunks
        let d = randomTokens(36, &rng)  // prompt of 30 (crosses a block), decode, verification
        var ids = (0..<4).map { _ in pool.startSequence(prompt: []).0 }
        var tokens: [[Int]] = [[], [], [], []]

        struct Step {
            var input: Int
            var tokens: [Int]
            var logits: LogitsSelection
        }
        func check(_ steps: [Step], _ label: String) throws {
            var inputs: [ForwardInput] = []
            for step in steps {
                let start = tokens[step.input].count
                let table = try pool.append(ids[step.input], tokens: step.tokens)
                inputs.append(ForwardInput(tokens: step.tokens, startPosition: start, cache: table,
                                           logits: step.logits))
                tokens[step.input] += step.tokens
            }
            let view = try model.forward(inputs)
            // Copy out before the next forward pass (the view points into the workspace).
            var got: [[[Float]]] = []
            var expectedRows = 0
            for (i, step) in steps.enumerated() {
                XCTAssertEqual(view.firstRow[i], expectedRows, "\(label): first row of input \(i)")
                let n = step.logits == .all ? step.tokens.count : (step.logits == .last ? 1 : 0)
                got.append((0..<n).map { Array(view[view.firstRow[i] + $0]) })
                if n > 0 { XCTAssertEqual(Array(view.last(of: i)), got[i].last, "\(label): last(of: \(i))") }
                expectedRows += n
            }
            XCTAssertEqual(view.rows, expectedRows, "\(label): rows")
            for step in steps { try pool.commit(ids[step.input]) }
            for (i, step) in steps.enumerated() {
                let all = tokens[step.input]
                let ref = try reference(model, all)
                let range = step.logits == .all ? (all.count - step.tokens.count)..<all.count
                    : (step.logits == .last ? (all.count - 1)..<all.count : all.count..<all.count)
                assertClose(got[i], ref[range], "\(label) input \(i) (sequence \(step.input))")
            }
        }

        try check([Step(input: 0, tokens: Array(a[0..<24]), logits: .none),
                   Step(input: 1, tokens: Array(b[0..<13]), logits: .last),
                   Step(input: 2, tokens: c, logits: .all),
                   Step(input: 3, tokens: Array(d[0..<30]), logits: .last)], "step 1")
        let verify1 = randomTokens(5, &rng)
        try check([Step(input: 0, tokens: Array(a[24..<40]), logits: .all),
                   Step(input: 1, tokens: [b[13]], logits: .last),
                   Step(input: 2, tokens: verify1, logits: .all),
                   Step(input: 3, tokens: [d[30]], logits: .last)], "step 2")
        // Sequence 2 rejects the last two verified tokens and verifies five more.
        try pool.trim(ids[2], to: tokens[2].count - 2)
        tokens[2].removeLast(2)
        XCTAssertEqual(try pool.tokens(ids[2]), tokens[2])
        try check([Step(input: 2, tokens: randomTokens(5, &rng), logits: .all),
                   Step(input: 1, tokens: [b[14]], logits: .last),
                   Step(input: 0, tokens: [a[40]], logits: .last),
                   Step(input: 3, tokens: Array(d[31..<36]), logits: .all)], "step 3")
        // A new sequence that shares sequence 0's first two full blocks joins a decode batch.
        let eprompt = Array(a[0..<35]) + randomTokens(3, &rng)
        let (e, reused) = pool.startSequence(prompt: eprompt)
        XCTAssertEqual(reused, 32)
        ids.append(e)
        tokens.append(Array(eprompt[0..<reused]))
        try check([Step(input: 4, tokens: Array(eprompt[reused...]), logits: .all),
                   Step(input: 0, tokens: [a[41]], logits: .last),
                   Step(input: 1, tokens: [b[15]], logits: .last),
                   Step(input: 2, tokens: [7], logits: .all),
                   Step(input: 3, tokens: randomTokens(1, &rng), logits: .none)], "step 4")
        XCTAssertNil(pool.checkInvariants())
    }

    // MARK: 2. forks, trims, the prefix cache

    func testForkDivergentContinuationsEqualSeparateSequences() throws {
        let model = try loadDraft()
        let pool = KVPool(layout: KVLayout(config: model.config, blockTokens: 16), blockCount: 64)
        var rng = RandomStream(seed: 2, tag: "fork")
        // 21 tokens: the second block is partial (5 of 16), so both sides writing into it after
        // the fork needs copy on write.
        let prompt = randomTokens(21, &rng)
        let (parent, _, promptRows) = try start(model, pool, prompt)
        assertClose(promptRows, try reference(model, prompt)[0...], "prompt")

        let before = pool.metrics
        let child = try pool.fork(parent)
        XCTAssertEqual(try pool.tokens(child), prompt)
        XCTAssertEqual(pool.metrics.tokensReused, before.tokensReused + 21)
        XCTAssertEqual(pool.metrics.blocksUsed, before.blocksUsed, "a fork shares every block")
        let x = randomTokens(3, &rng), y = randomTokens(2, &rng)
        let rows = try run(model, pool, [(parent, x), (child, y)])
        XCTAssertEqual(pool.metrics.copiesOnWrite, before.copiesOnWrite + 1,
                       "the first writer into the shared partial block copies it; the last writes in place")
        assertClose(rows[0], try reference(model, prompt + x)[21...], "parent after fork")
        assertClose(rows[1], try reference(model, prompt + y)[21...], "child after fork")

        // A fork of the fork, then both continue across the next block boundary.
        let grandchild = try pool.fork(child)
        let z = randomTokens(1, &rng), w = randomTokens(12, &rng)
        let rows2 = try run(model, pool, [(child, z), (grandchild, w), (parent, [x[0]])])
        assertClose(rows2[0], try reference(model, prompt + y + z)[23...], "child decode")
        assertClose(rows2[1], try reference(model, prompt + y + w)[23...], "grandchild")
        assertClose(rows2[2], try reference(model, prompt + x + [x[0]])[24...], "parent decode")
        XCTAssertNil(pool.checkInvariants())

        // A fork at a block boundary shares only full blocks: nothing to copy.
        let q = randomTokens(32, &rng)
        let (qParent, _, _) = try start(model, pool, q)
        let qChild = try pool.fork(qParent)
        let cow = pool.metrics.copiesOnWrite
        let a = randomTokens(2, &rng), b = randomTokens(4, &rng)
        let rows3 = try run(model, pool, [(qParent, a), (qChild, b)])
        XCTAssertEqual(pool.metrics.copiesOnWrite, cow)
        assertClose(rows3[0], try reference(model, q + a)[32...], "boundary fork parent")
        assertClose(rows3[1], try reference(model, q + b)[32...], "boundary fork child")

        for id in [parent, child, grandchild, qParent, qChild] { pool.release(id) }
        XCTAssertNil(pool.checkInvariants())
        XCTAssertEqual(pool.metrics.blocksUsed, 0)
    }

    func testTrimThenReappendEqualsNeverHavingAppended() throws {
        let model = try loadDraft()
        let pool = KVPool(layout: KVLayout(config: model.config, blockTokens: 16), blockCount: 64)
        var rng = RandomStream(seed: 3, tag: "trim")
        let prompt = randomTokens(30, &rng)
        let (id, _, _) = try start(model, pool, prompt)

        // Rejected speculation crossing a block boundary (30 → 35), rolled back.
        _ = try run(model, pool, [(id, randomTokens(5, &rng))])
        try pool.trim(id, to: 30)
        XCTAssertEqual(try pool.tokens(id), prompt)
        XCTAssertEqual(try pool.blockTable(id).blockCount, 2, "the block past the boundary is freed")
        let accepted = randomTokens(4, &rng)
        let rows = try run(model, pool, [(id, accepted)])
        assertClose(rows[0], try reference(model, prompt + accepted)[30...], "after trim to 30")

        // Deep into the first (full, prefix-indexed) block, then a different continuation.
        try pool.trim(id, to: 10)
        XCTAssertEqual(try pool.tokens(id), Array(prompt[0..<10]))
        let other = randomTokens(9, &rng)
        let rows2 = try run(model, pool, [(id, other)])
        assertClose(rows2[0], try reference(model, Array(prompt[0..<10]) + other)[10...], "after trim to 10")

        // The cache must not offer the rewritten block under its old tokens.
        let (probe, reused) = pool.startSequence(prompt: prompt)
        XCTAssertEqual(reused, 0, "the block holding prompt[0..<16] was rewritten")
        pool.release(probe)

        try pool.trim(id, to: 0)
        XCTAssertEqual(try pool.tokens(id), [])
        let fresh = randomTokens(6, &rng)
        let rows3 = try run(model, pool, [(id, fresh)])
        assertClose(rows3[0], try reference(model, fresh)[0...], "after trim to 0")

        XCTAssertThrowsError(try pool.trim(id, to: 7)) { error in
            XCTAssertEqual(error as? KVPoolError, .invalidTrim(id, to: 7, count: 6))
        }
        XCTAssertNil(pool.checkInvariants())
    }

    func testPrefixCacheHitComputesOnlyUncachedTokens() throws {
        let model = try loadDraft()
        let pool = KVPool(layout: KVLayout(config: model.config, blockTokens: 16), blockCount: 64)
        var rng = RandomStream(seed: 4, tag: "prefix")
        let a = randomTokens(40, &rng)
        let (first, reusedA, _) = try start(model, pool, a)
        XCTAssertEqual(reusedA, 0)
        XCTAssertEqual(pool.metrics.tokensComputed, 40)

        // Shares 35 tokens: two full blocks (32 tokens) come from the cache.
        let b = Array(a[0..<35]) + randomTokens(4, &rng)
        let before = pool.metrics
        let (second, reusedB, rowsB) = try start(model, pool, b)
        XCTAssertEqual(reusedB, 32)
        XCTAssertEqual(pool.metrics.tokensComputed - before.tokensComputed, 39 - 32)
        XCTAssertEqual(pool.metrics.tokensReused - before.tokensReused, 32)
        XCTAssertEqual(pool.metrics.prefixHits - before.prefixHits, 2)
        let refB = try reference(model, b)
        assertClose(rowsB, refB[32...], "prefix hit")
        // Decoding on reads the shared blocks.
        let rowsB2 = try run(model, pool, [(second, [5]), (first, [6])])
        assertClose(rowsB2[0], try reference(model, b + [5])[39...], "decode after hit")
        assertClose(rowsB2[1], try reference(model, a + [6])[40...], "decode of the original")

        // A prompt of exactly two blocks still leaves one token to compute, for its logits.
        let (third, reusedC, rowsC) = try start(model, pool, Array(a[0..<32]))
        XCTAssertEqual(reusedC, 16)
        assertClose(rowsC, try reference(model, Array(a[0..<32]))[16...], "two-block prompt")
        for id in [first, second, third] { pool.release(id) }
        XCTAssertNil(pool.checkInvariants())
    }

    func testPrefixCacheHitAfterOriginalReleased() throws {
        let model = try loadDraft()
        let pool = KVPool(layout: KVLayout(config: model.config, blockTokens: 16), blockCount: 64)
        var rng = RandomStream(seed: 5, tag: "released")
        let a = randomTokens(40, &rng)
        let (first, _, _) = try start(model, pool, a)
        pool.release(first)
        XCTAssertEqual(pool.metrics.blocksUsed, 0)
        XCTAssertEqual(pool.metrics.blocksCached, 2, "the two full blocks stay cached; the partial one is freed")
        XCTAssertNil(pool.checkInvariants())

        let d = Array(a[0..<33]) + randomTokens(2, &rng)
        let computed = pool.metrics.tokensComputed
        let (second, reused, rows) = try start(model, pool, d)
        XCTAssertEqual(reused, 32)
        XCTAssertEqual(pool.metrics.tokensComputed - computed, 3)
        XCTAssertEqual(pool.metrics.blocksCached, 0, "both cached blocks are held again")
        assertClose(rows, try reference(model, d)[32...], "hit after release")
        pool.release(second)
        XCTAssertNil(pool.checkInvariants())
    }

    func testEvictedBlocksMissInsteadOfReturningOverwrittenData() throws {
        let model = try loadDraft()
        // Four blocks of 16: room for one 48-token sequence at a time.
        let pool = KVPool(layout: KVLayout(config: model.config, blockTokens: 16), blockCount: 4)
        var rng = RandomStream(seed: 6, tag: "evict")
        let a = randomTokens(40, &rng), b = randomTokens(48, &rng)

        let (first, _, _) = try start(model, pool, a)
        pool.release(first)  // a's two full blocks cached (LRU: a0, a1), two blocks free
        let (second, _, rowsB) = try start(model, pool, b)  // two free blocks, then evicts a0
        XCTAssertEqual(pool.metrics.evictions, 1)
        XCTAssertEqual(pool.metrics.blocksCached, 1, "a1 is still cached")
        assertClose(rowsB, try reference(model, b)[0...], "b")
        pool.release(second)  // LRU: a1, b0, b1, b2

        // a0 is gone, so a1 — though still cached and correct — cannot be reached.
        let (third, reusedA, rowsA) = try start(model, pool, a)  // evicts a1, b0, b1
        XCTAssertEqual(reusedA, 0)
        assertClose(rowsA, try reference(model, a)[0...], "a recomputed")
        pool.release(third)

        // b0 and b1 now hold a's keys and values: b must miss, not reuse them.
        let (fourth, reusedB, rowsB2) = try start(model, pool, b)
        XCTAssertEqual(reusedB, 0)
        assertClose(rowsB2, try reference(model, b)[0...], "b recomputed")
        pool.release(fourth)
        XCTAssertEqual(pool.metrics.evictions, 1 + 3 + 2)
        XCTAssertNil(pool.checkInvariants())
    }

    /// One reading of a size for --kv-memory and models.kv_cache.memory.
    func testSizesAreReadWithBinaryAndDecimalUnitsOrAsBytes() {
        XCTAssertEqual(parseByteSize("512MiB"), 512 << 20)
        XCTAssertEqual(parseByteSize("1.5GiB"), 3 << 29)
        XCTAssertEqual(parseByteSize("2GB"), 2_000_000_000)
        XCTAssertEqual(parseByteSize(" 64 KiB "), 64 << 10)
        XCTAssertEqual(parseByteSize("1048576"), 1 << 20)
        XCTAssertEqual(parseByteSize("3B"), 3)
        for bad in ["", "1.5", "MiB", "-1MiB", "0.5B", "2XB", "1e99GiB", "nanGiB", "2PB", "0x10MiB", "1e3MB", "+5MiB"] {
            XCTAssertNil(parseByteSize(bad), bad)
        }
    }
}
