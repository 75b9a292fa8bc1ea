import XCTest
import SeedModel
import SeedEngine

/// Stands in for the forward pass on a pool without a model. Real keys and values at position p
/// are a function of tokens 0...p, so this writes, into every layer's key and value row of a
/// slot, bits of a hash of that prefix. Any sequence that reads a slot another prefix wrote
/// (a missing copy on write, a block in two places, a stale prefix-cache entry) sees the wrong
/// value. Floats hold 16-bit integers exactly, so comparisons are exact.
struct FakeKV {
    let layout: KVLayout

    static func prefixHashes(_ tokens: [Int]) -> [UInt64] {
        var h: UInt64 = 0x1234_5678
        return tokens.map { token in
            h = mix(h ^ UInt64(bitPattern: Int64(token)))
            return h
        }
    }

    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private func value(_ hash: UInt64, row: Int, component: Int) -> Float {
        let bits = Self.mix(hash &+ UInt64(row)) >> UInt64(16 * (component % 4))
        return Float(bits & 0xFFFF)
    }

    /// Rows of slot `position`: (pointer, row number) for every layer's key and value.
    private func rows(_ table: KVBlockTable, _ position: Int, layers: [Int]? = nil) -> [(UnsafeMutablePointer<Float>, Int)] {
        (layers ?? Array(0..<layout.layers)).flatMap { layer in
            [(table.key(position: position, layer: layer), 2 * layer),
             (table.value(position: position, layer: layer), 2 * layer + 1)]
        }
    }

    /// Writes the values of positions `range` of a sequence whose tokens are `tokens`.
    func write(_ table: KVBlockTable, tokens: [Int], positions range: Range<Int>) {
        let hashes = Self.prefixHashes(tokens)
        for p in range {
            for (row, number) in rows(table, p) {
                for i in 0..<layout.kvDim { row[i] = value(hashes[p], row: number, component: i) }
            }
        }
    }

    /// The first position whose stored values are not those of `tokens`' prefix, if any. The
    /// `window` layers' rows before `windowStart` must read as NaN instead: the pool gave their
    /// pages back, and its tables show such pages as NaN.
    func firstMismatch(_ table: KVBlockTable, tokens: [Int], window: KVWindow? = nil, windowStart: Int = 0) -> Int? {
        let hashes = Self.prefixHashes(tokens)
        let sliding = (0..<layout.layers).filter { window?.layers[$0] ?? false }
        let global = (0..<layout.layers).filter { !(window?.layers[$0] ?? false) }
        for p in tokens.indices {
            let gone = p < windowStart
            for (row, number) in rows(table, p, layers: gone ? global : nil) {
                for i in 0..<layout.kvDim where row[i] != value(hashes[p], row: number, component: i) {
                    return p
                }
            }
            if gone {
                for (row, _) in rows(table, p, layers: sliding) where !(0..<layout.kvDim).allSatisfy({ row[$0].isNaN }) { return p }
            }
        }
        return nil
    }
}

/// The pool's bookkeeping on its own: a long seeded random run of every operation against a
/// model kept in the test, and the edge cases of running out of room.
final class KVPoolStressTests: XCTestCase {
    private let layout = KVLayout(layers: 2, kvDim: 4, blockTokens: 4)

    private func blockPointers(_ pool: KVPool, _ id: SequenceID) throws -> [UnsafeMutablePointer<Float>] {
        let table = try pool.blockTable(id)
        return (0..<table.blockCount * table.layout.layers).map { table.pages[$0] }
    }

    /// Appends, "computes" (writes the fake values) and commits.
    @discardableResult
    private func append(_ pool: KVPool, _ id: SequenceID, _ tokens: [Int]) throws -> [Int] {
        let start = try pool.tokenCount(id)
        let table = try pool.append(id, tokens: tokens)
        let all = try pool.tokens(id)
        FakeKV(layout: layout).write(table, tokens: all, positions: start..<all.count)
        try pool.commit(id)
        return all
    }

    private func assertValues(_ pool: KVPool, _ id: SequenceID, _ what: String, windowStart: Int = 0,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let mismatch = FakeKV(layout: layout).firstMismatch(try pool.blockTable(id), tokens: try pool.tokens(id),
                                                            window: pool.window, windowStart: windowStart)
        XCTAssertNil(mismatch, "\(what): position \(mismatch ?? -1) holds another prefix's values",
                     file: file, line: line)
    }

    // MARK: 3. randomized operations

    func testRandomOperationsKeepInvariantsAndData() throws {
        try randomOperations(window: nil)
    }

    /// The same with the first layer sliding over a window of 6 tokens: sequences settle now and
    /// then, their blocks' sliding pages go back once no holder's window reaches them, and the
    /// pages that remain hold the right values.
    func testRandomOperationsWithASlidingLayerKeepInvariantsAndData() throws {
        try randomOperations(window: KVWindow(tokens: 6, layers: [true, false]))
    }

    private func randomOperations(window: KVWindow?) throws {
        let pool = KVPool(layout: layout, blockCount: 64, window: window)
        let fake = FakeKV(layout: layout)
        var rng = RandomStream(seed: 7, tag: "stress")
        // A few shared prompt headers over a small alphabet, so that prefixes repeat: prefix-cache
        // hits, including of blocks whose sequences are gone.
        let headers = (0..<3).map { _ in (0..<14).map { _ in Int.random(in: 0..<6, using: &rng) } }
        var ids: [SequenceID] = []
        var model: [SequenceID: [Int]] = [:]
        // Per sequence, the length it last settled at (the lowest it may be trimmed to), and the
        // first position whose sliding pages it still has.
        var floor: [SequenceID: Int] = [:]
        var windowStart: [SequenceID: Int] = [:]
        func settled(_ id: SequenceID, at count: Int) {
            floor[id] = count
            guard let window else { return }
            windowStart[id] = max(0, count - window.tokens + 1) / layout.blockTokens * layout.blockTokens
        }
        var counts: [String: Int] = [:]
        let maxSequences = 16

        func randomTokens(_ n: Int) -> [Int] { (0..<n).map { _ in Int.random(in: 0..<6, using: &rng) } }

        /// Everything observable about the pool, to show a failed append changed nothing.
        func snapshot() throws -> (KVPoolMetrics, [[Int]], [[UnsafeMutablePointer<Float>]]) {
            (pool.metrics, try ids.map { try pool.tokens($0) }, try ids.map { try blockPointers(pool, $0) })
        }

        /// Appends with the pool's protocol; on `outOfBlocks` checks that nothing changed.
        func tryAppend(_ id: SequenceID, _ tokens: [Int], commit: Bool) throws {
            let before = try snapshot()
            let start = model[id]!.count
            do {
                let table = try pool.append(id, tokens: tokens)
                model[id]! += tokens
                fake.write(table, tokens: model[id]!, positions: start..<model[id]!.count)
                // Sometimes commit later (or never): indexing must not depend on it.
                if commit { try pool.commit(id) }
                counts["append", default: 0] += 1
            } catch let KVPoolError.outOfBlocks(needed, available) {
                counts["outOfBlocks", default: 0] += 1
                XCTAssertGreaterThan(needed, available)
                XCTAssertEqual(available, pool.freeBlocks)
                let after = try snapshot()
                XCTAssertEqual(after.0, before.0, "metrics changed by a failed append")
                XCTAssertEqual(after.1, before.1, "tokens changed by a failed append")
                XCTAssertEqual(after.2, before.2, "block tables changed by a failed append")
            }
        }

        for step in 0..<4000 {
            let op = Int.random(in: 0..<100, using: &rng)
            let victim = ids.randomElement(using: &rng)
            var label = ""
            if op < 15 || victim == nil {
                label = "start"
                if ids.count >= maxSequences {
                    let oldest = ids.removeFirst()
                    pool.release(oldest)
                    model[oldest] = nil
                }
                var prompt: [Int]
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: prompt = headers.randomElement(using: &rng)! + randomTokens(Int.random(in: 0...6, using: &rng))
                case 1 where !ids.isEmpty:
                    let source = model[ids.randomElement(using: &rng)!]!
                    prompt = Array(source.prefix(Int.random(in: 0...source.count, using: &rng))) + randomTokens(Int.random(in: 1...3, using: &rng))
                default: prompt = randomTokens(Int.random(in: 1...20, using: &rng))
                }
                let hits = pool.metrics.prefixHits
                let (id, reused) = pool.startSequence(prompt: prompt)
                XCTAssertEqual(reused % layout.blockTokens, 0)
                XCTAssertLessThan(reused, max(prompt.count, 1))
                XCTAssertEqual(pool.metrics.prefixHits - hits, reused / layout.blockTokens)
                XCTAssertEqual(try pool.tokens(id), Array(prompt[0..<reused]))
                ids.append(id)
                model[id] = Array(prompt[0..<reused])
                settled(id, at: window == nil ? 0 : reused)
                if reused > 0 { counts["prefixHit", default: 0] += 1 }
                // The reused blocks must hold exactly this prefix's values.
                try assertValues(pool, id, "step \(step) prefix hit", windowStart: windowStart[id] ?? 0)
                try tryAppend(id, Array(prompt[reused...]), commit: true)
            } else if op < 50, let id = victim {
                label = "append"
                // Long sequences mostly roll back instead, so the pool keeps turning over.
                if model[id]!.count > 64 {
                    let to = max(floor[id]!, model[id]!.count / 2)
                    try pool.trim(id, to: to)
                    model[id]!.removeLast(model[id]!.count - to)
                } else {
                    try tryAppend(id, randomTokens(Int.random(in: 1...6, using: &rng)),
                                  commit: Int.random(in: 0..<4, using: &rng) != 0)
                }
            } else if op < 55, let id = victim {
                label = "commit"
                try pool.commit(id)
            } else if op < 70, let id = victim {
                label = "fork"
                if ids.count >= maxSequences { continue }
                let child = try pool.fork(id)
                ids.append(child)
                model[child] = model[id]
                floor[child] = floor[id]
                windowStart[child] = windowStart[id]
                counts["fork", default: 0] += 1
            } else if op < 82, let id = victim {
                label = "trim"
                let count = model[id]!.count
                let to = Int.random(in: 0..<4, using: &rng) == 0 ? Int.random(in: floor[id]!...count, using: &rng)
                    : max(floor[id]!, count - Int.random(in: 0...5, using: &rng))
                try pool.trim(id, to: to)
                model[id]!.removeLast(count - to)
                counts["trim", default: 0] += 1
            } else if op < 88, let id = victim {
                label = "settle"
                // As the engine does: what is settled has been computed.
                try pool.commit(id)
                try pool.settle(id)
                if window != nil { settled(id, at: model[id]!.count) }
                counts["settle", default: 0] += 1
                if floor[id]! > 0 {
                    XCTAssertThrowsError(try pool.trim(id, to: floor[id]! - 1), "a trim below the settled length")
                }
            } else if let id = victim {
                label = "release"
                pool.release(id)
                ids.removeAll { $0 == id }
                model[id] = nil
            }

            if let violation = pool.checkInvariants() {
                XCTFail("step \(step) (\(label)): \(violation)")
                return
            }
            XCTAssertEqual(pool.sequenceCount, ids.count)
            for id in ids {
                XCTAssertEqual(try pool.tokens(id), model[id]!, "step \(step) (\(label)): tokens of \(id)")
                let mismatch = fake.firstMismatch(try pool.blockTable(id), tokens: model[id]!, window: window,
                                                  windowStart: windowStart[id] ?? 0)
                if let mismatch {
                    XCTFail("step \(step) (\(label)): \(id) position \(mismatch) holds another prefix's values")
                    return
                }
            }
        }

        // The run must have exercised what it is meant to test.
        let metrics = pool.metrics
        for key in ["append", "outOfBlocks", "prefixHit", "fork", "trim"] {
            XCTAssertGreaterThan(counts[key, default: 0], 10, "too few \(key) operations: \(counts)")
        }
        XCTAssertGreaterThan(metrics.copiesOnWrite, 10)
        XCTAssertGreaterThan(metrics.evictions, 10)
        if window != nil { XCTAssertGreaterThan(metrics.windowPagesReleased, 10) }

        for id in ids { pool.release(id) }
        XCTAssertNil(pool.checkInvariants())
        XCTAssertEqual(pool.sequenceCount, 0)
        XCTAssertEqual(pool.metrics.blocksUsed, 0, "every block is free or cached once all sequences are gone")
        XCTAssertEqual(pool.freeBlocks, pool.blockCount)
    }

    // MARK: targeted cases

    /// A block indexed by the prefix cache, trimmed into while another sequence shared it, must
    /// not be rewritten in place once that sharer is gone: a later prompt would find it under its
    /// old tokens.
    func testRewriteAfterTrimDoesNotCorruptPrefixCache() throws {
        let pool = KVPool(layout: layout, blockCount: 16)
        let prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let a = pool.startSequence(prompt: prompt).0
        try append(pool, a, prompt)  // blocks [1 2 3 4] [5 6 7 8] indexed, [9] partial
        let b = try pool.fork(a)
        try pool.trim(a, to: 6)  // into [5 6 7 8] while b still holds it
        pool.release(b)
        try append(pool, a, [70, 71])  // a now holds the block alone and writes slots 6, 7
        try assertValues(pool, a, "a")

        // [1 2 3 4] is untouched and still indexed: c reuses it. [5 6 7 8] was rewritten to
        // [5 6 70 71] and must no longer be offered under its old tokens, so reuse stops there
        // (and never takes the partial [9]: a prompt's last token is always computed).
        let (c, reused) = pool.startSequence(prompt: prompt)
        XCTAssertEqual(reused, 4, "only the untouched first block is reused")
        XCTAssertEqual(try pool.tokens(c), Array(prompt[0..<reused]))
        // Whatever the pool offers must hold the values of c's own prefix.
        try assertValues(pool, c, "c reusing the cached prefix")
        XCTAssertNil(pool.checkInvariants())
    }

    // MARK: 4. out of room

    func testAppendOutOfBlocksChangesNothing() throws {
        let pool = KVPool(layout: layout, blockCount: 4)
        let s = pool.startSequence(prompt: []).0
        try append(pool, s, Array(0..<10))  // 3 blocks, last one partial
        let metrics = pool.metrics
        let pointers = try blockPointers(pool, s)

        XCTAssertThrowsError(try pool.append(s, tokens: Array(10..<17))) { error in
            XCTAssertEqual(error as? KVPoolError, .outOfBlocks(needed: 2, available: 1))
        }
        XCTAssertEqual(pool.metrics, metrics)
        XCTAssertEqual(try pool.tokens(s), Array(0..<10))
        XCTAssertEqual(try blockPointers(pool, s), pointers)
        XCTAssertNil(pool.checkInvariants())
        try assertValues(pool, s, "after the failed append")

        // What fits still goes in, to the last slot.
        try append(pool, s, Array(10..<16))
        XCTAssertEqual(pool.freeBlocks, 0)
        XCTAssertThrowsError(try pool.append(s, tokens: [16])) { error in
            XCTAssertEqual(error as? KVPoolError, .outOfBlocks(needed: 1, available: 0))
        }
        XCTAssertEqual(try pool.tokenCount(s), 16)

        // Room comes back when blocks are let go (here by a rollback): the request can wait and retry.
        try pool.trim(s, to: 8)
        try append(pool, s, [16, 17, 18])
        try assertValues(pool, s, "after waiting for room")
        XCTAssertNil(pool.checkInvariants())
    }

    /// The copy a write into a shared partial block needs counts as a block too.
    func testCopyOnWriteOutOfBlocksChangesNothing() throws {
        let pool = KVPool(layout: layout, blockCount: 2)
        let s = pool.startSequence(prompt: []).0
        try append(pool, s, [1, 2, 3, 4, 5, 6])  // [1 2 3 4] [5 6 _ _]
        let f = try pool.fork(s)
        let metrics = pool.metrics
        XCTAssertThrowsError(try pool.append(f, tokens: [9])) { error in
            XCTAssertEqual(error as? KVPoolError, .outOfBlocks(needed: 1, available: 0))
        }
        XCTAssertEqual(pool.metrics, metrics)
        XCTAssertEqual(try blockPointers(pool, f), try blockPointers(pool, s), "still shared")
        XCTAssertNil(pool.checkInvariants())

        // Once the parent is gone the child owns the block and writes in place.
        pool.release(s)
        try append(pool, f, [9])
        try assertValues(pool, f, "child")
        XCTAssertEqual(pool.metrics.copiesOnWrite, metrics.copiesOnWrite)
        XCTAssertNil(pool.checkInvariants())
    }

    /// Cached blocks nobody holds count as room: an append evicts them rather than failing.
    func testCachedBlocksAreEvictedForRoom() throws {
        let pool = KVPool(layout: layout, blockCount: 3)
        let s = pool.startSequence(prompt: []).0
        try append(pool, s, Array(0..<8))  // two full, indexed blocks
        pool.release(s)
        XCTAssertEqual(pool.metrics.blocksCached, 2)
        let t = pool.startSequence(prompt: []).0
        try append(pool, t, Array(100..<112))  // needs all three blocks
        XCTAssertEqual(pool.metrics.evictions, 2)
        XCTAssertEqual(pool.startSequence(prompt: Array(0..<9)).reused, 0)
        XCTAssertNil(pool.checkInvariants())
    }

    /// Released full blocks stay cached, but once the cache holds more than
    /// `cacheBeforeFreshMemory` blocks (and more than sequences hold) new blocks come from it,
    /// oldest first, rather than from never-used memory; the newest cached prefixes still hit.
    func testCacheGivesUpOldBlocksBeforeFreshMemoryIsTouched() throws {
        let limit = KVPool.cacheBeforeFreshMemory
        let pool = KVPool(layout: layout, blockCount: 10 * limit)
        // One sequence at a time, each leaving 4 full blocks cached: without the bound the pool
        // would touch 4 × 100 blocks.
        var prompts: [[Int]] = []
        for n in 0..<100 {
            let prompt = (0..<16).map { 1000 * n + $0 }
            let s = pool.startSequence(prompt: []).0
            try append(pool, s, prompt)
            pool.release(s)
            prompts.append(prompt)
            XCTAssertLessThanOrEqual(pool.metrics.blocksCached, limit + 4, "after \(n + 1) sequences")
        }
        XCTAssertLessThanOrEqual(pool.touchedBlocks, limit + 4 + 4)
        XCTAssertGreaterThan(pool.metrics.evictions, 0)
        XCTAssertEqual(pool.startSequence(prompt: prompts[99] + [7]).reused, 16, "the newest prefix is still cached")
        XCTAssertEqual(pool.startSequence(prompt: prompts[0] + [7]).reused, 0, "the oldest was given up")
        XCTAssertNil(pool.checkInvariants())
    }
}
