import Foundation
import SeedModel

/// A handle on one sequence of a `KVPool`.
public struct SequenceID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public var description: String { "seq\(rawValue)" }
}

public enum KVPoolError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// Not enough free blocks right now; the request can wait for others to release theirs.
    case outOfBlocks(needed: Int, available: Int)
    /// The request could not fit even in an empty pool.
    case requestTooLarge(tokens: Int, bytesNeeded: Int, poolBytes: Int)
    case unknownSequence(SequenceID)
    case invalidTrim(SequenceID, to: Int, count: Int)
    /// A trim below the length the sequence settled at: sliding-window pages it would read
    /// again may already be gone.
    case trimBelowSettled(SequenceID, to: Int, settled: Int)

    public var description: String {
        switch self {
        case let .outOfBlocks(needed, available):
            return "KV cache full: \(needed) blocks needed, \(available) free"
        case let .requestTooLarge(tokens, bytesNeeded, poolBytes):
            return "a request of \(tokens) tokens needs \(formatBytes(bytesNeeded)) of KV cache but the pool holds \(formatBytes(poolBytes)) — raise models.kv_cache.memory (or --kv-memory)"
        case let .unknownSequence(id):
            return "unknown KV sequence \(id)"
        case let .invalidTrim(id, to, count):
            return "cannot trim \(id) to \(to) tokens: it holds \(count)"
        case let .trimBelowSettled(id, to, settled):
            return "cannot trim \(id) to \(to) tokens: it settled at \(settled), and the sliding-window pages before that may be gone (settle only what will not be rolled back)"
        }
    }

    public var errorDescription: String? { description }
}

/// A size as people write one: a whole number of bytes, or a number with a unit, binary (KiB,
/// MiB, GiB, TiB) or decimal (KB, MB, GB, TB) or B (`512MiB`, `1.5GiB`, `2GB`, `1048576`).
/// nil for anything else, for less than a byte and for more than 2⁵⁰ bytes. The one reading of
/// `--kv-memory` and of `models.kv_cache.memory`.
public func parseByteSize(_ text: String) -> Int? {
    let text = text.trimmingCharacters(in: .whitespaces)
    let units: [(suffix: String, bytes: Double)] = [("KiB", 0x1p10), ("MiB", 0x1p20), ("GiB", 0x1p30), ("TiB", 0x1p40),
                                                    ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1)]
    let unit = units.first { text.hasSuffix($0.suffix) } ?? ("", 1)
    let digits = text.dropLast(unit.suffix.count).trimmingCharacters(in: .whitespaces)
    // Decimal digits (and a point with a unit): not "0x10", "1e3" or "nan", which Double reads.
    // Without a unit only a whole number of bytes: "1.5" is no size.
    let allowed = unit.suffix.isEmpty ? "0123456789" : "0123456789."
    guard !digits.isEmpty, digits.allSatisfy({ allowed.contains($0) }), let amount = Double(digits) else { return nil }
    let bytes = amount * unit.bytes
    return bytes >= 1 && bytes <= 0x1p50 ? Int(bytes) : nil
}

/// The units `parseByteSize` reads, for messages.
public let byteSizeUnits = "B, KiB, MiB, GiB, TiB, KB, MB, GB, TB, or a whole number of bytes"

/// A byte count in the largest binary unit it reaches (e.g. "1.5 GiB"), for messages.
public func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

/// Counters of a pool, as a value.
public struct KVPoolMetrics: Sendable, Codable, Equatable {
    /// Whole blocks (every layer's page) the memory holds. Blocks that gave back their sliding
    /// layers' pages cost less, so with a `KVWindow` more blocks than this can be in use.
    public internal(set) var blocksTotal = 0
    public internal(set) var blocksUsed = 0
    /// Blocks held by no sequence but kept for the prefix cache (evictable).
    public internal(set) var blocksCached = 0
    public internal(set) var peakBlocksUsed = 0
    /// Full blocks found in the prefix cache when a sequence started.
    public internal(set) var prefixHits = 0
    /// Tokens whose keys and values were computed, and tokens taken from shared blocks instead
    /// (prefix-cache hits and forks).
    public internal(set) var tokensComputed = 0
    public internal(set) var tokensReused = 0
    public internal(set) var copiesOnWrite = 0
    public internal(set) var evictions = 0
    /// Sliding layers' pages given back because no window reached their block any more.
    public internal(set) var windowPagesReleased = 0
}

/// The sliding-window layers of a model, for a pool that gives back their pages once no window
/// reaches a block: every query at position p of such a layer sees positions p − tokens + 1 … p.
public struct KVWindow: Sendable, Equatable {
    public let tokens: Int
    /// Per layer, whether it slides.
    public let layers: [Bool]

    public init(tokens: Int, layers: [Bool]) {
        self.tokens = tokens
        self.layers = layers
    }

    /// The window of `config`'s sliding layers, or nil when none slides.
    public init?(config: ModelConfig) {
        guard let window = config.slidingWindow else { return nil }
        let layers = (0..<config.blockCount).map { config.slides(layer: $0) }
        guard layers.contains(true) else { return nil }
        self.init(tokens: window, layers: layers)
    }
}

/// The keys and values of every sequence of one model, in blocks of `blockTokens` tokens whose
/// memory (one page per layer) is allocated once at start-up. Sequences hold block tables;
/// blocks are reference-counted so that forks share them, a partial block is copied only when a
/// sharer writes to it, and full blocks are indexed by the hash of (parent block's key, their
/// tokens) so that a new sequence whose prompt starts the same way reuses them. Blocks no
/// sequence holds stay cached until the pool needs room, then go least recently used first; the
/// cache also gives up its oldest block instead of the pool touching never-used memory once it
/// holds more blocks than sequences do (`cacheBeforeFreshMemory`).
///
/// With a `KVWindow`, a block's sliding layers' pages go back to the pool once every sequence
/// holding it has settled (`settle`) past the point where any window still reaches it; its
/// global layers' pages stay as long as the block does. A model of five sliding layers to one
/// global one then holds about a sixth of its cache per token beyond the window. No allocation
/// per token. A class because it owns the memory.
public final class KVPool: @unchecked Sendable {
    public let layout: KVLayout
    /// Whole blocks (every layer's page) the memory holds.
    public let blockCount: Int
    public let window: KVWindow?
    private let memory: BlockMemory
    private var storage: UnsafeMutablePointer<Float> { memory.base }
    private let pageCount: Int
    /// Layers whose pages a block gives back when no window reaches it; the others' pages it keeps
    /// for its whole life.
    private let windowLayers: [Int]

    // Per block id (there are more ids than whole blocks when pages can be given back).
    private let idCount: Int
    private var refCount: [Int32]
    /// Sequences holding the block that may still read its sliding layers' pages.
    private var windowHolders: [Int32]
    /// Pages of each block, `pageOf[id * layers + layer]`, -1 where given back.
    private var pageOf: [Int32]
    private var blockKey: [UInt64]
    private var isIndexed: [Bool]
    private var blockTokens: [Int32]  // idCount × layout.blockTokens: the tokens of indexed blocks
    private var parentKey: [UInt64]
    // Free ids and pages (stacks) and cached-but-unheld blocks (an LRU list, oldest at the head).
    private var freeIDs: [Int32]
    private var freePages: [Int32]
    /// Pages held by cached blocks: free for the taking, by eviction.
    public private(set) var cachedPages = 0
    private var lruPrev: [Int32]
    private var lruNext: [Int32]
    private var lruHead: Int32 = -1
    private var lruTail: Int32 = -1
    private var prefixIndex: [UInt64: Int32] = [:]
    /// Pages below this index have been handed out at least once, so their memory is resident.
    /// The free stack gives never-used pages in index order, below every page released to it.
    public private(set) var touchedPages = 0
    /// Whole blocks' worth of touched memory.
    public var touchedBlocks: Int { (touchedPages + layout.layers - 1) / layout.layers }
    /// A page of NaNs (after the last page, in the same memory, so that it lives as long as any
    /// table) that tables show for given-back pages: reading one spoils the logits instead of
    /// silently reading another block's keys.
    private let poison: UnsafeMutablePointer<Float>

    /// The cache may hold this many blocks, or as many as sequences hold if that is more, before a
    /// new block is taken from it rather than from never-used memory. Without a bound every
    /// released full block stays cached and each new block is fresh memory: a 100-puzzle
    /// workflow run on the 13 MB demo target grew to 2.1 GB resident (its whole KV budget), and
    /// 3 % of its time went to page faults and zeroing, for a cache of generated text that
    /// prompts rarely share. Recently released blocks, which later prompts do share, are the
    /// last to go.
    public static let cacheBeforeFreshMemory = 64

    /// The blocks' memory, shared by the pool and its sequences so that a block table handed to a
    /// forward pass keeps it alive.
    /// Mapped without reserving swap (MAP_NORESERVE): the budget is a bound, and pages become
    /// memory only when a block is first written, so a budget near the machine's memory (which
    /// the engine checks it does not exceed) is not refused by the kernel's overcommit heuristic.
    final class BlockMemory {
        let base: UnsafeMutablePointer<Float>
        private let bytes: Int
        init(floats: Int) {
            bytes = max(1, floats * MemoryLayout<Float>.size)
            let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
            guard let address, address != MAP_FAILED else {
                fatalError("cannot map \(formatBytes(bytes)) for the KV cache (\(String(cString: strerror(errno)))) — give a smaller KV budget")
            }
            base = address.bindMemory(to: Float.self, capacity: floats)
        }
        deinit { munmap(base, bytes) }
    }

    private final class Sequence {
        let memory: BlockMemory
        var blocks: [Int32] = []
        var tokens: [Int] = []
        /// Tokens whose keys and values the forward pass has written (≤ tokens.count).
        var computed = 0
        /// Leading blocks this sequence no longer reads through a window (it is not among their
        /// `windowHolders`), and the length it may not be trimmed below since it settled.
        var windowPassed = 0
        var floor = 0
        var table: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
        var tableCapacity: Int

        init(memory: BlockMemory) {
            self.memory = memory
            tableCapacity = 64
            table = .allocate(capacity: tableCapacity)
        }

        deinit { table.deallocate() }
    }
    private var sequences: [Int: Sequence] = [:]
    private var nextSequence = 0
    public private(set) var metrics = KVPoolMetrics()

    public init(layout: KVLayout, blockCount: Int, window: KVWindow? = nil) {
        precondition(blockCount > 0 && layout.blockTokens > 0)
        let window = window.flatMap { $0.layers.count == layout.layers && $0.layers.contains(true) ? $0 : nil }
        self.layout = layout
        self.blockCount = blockCount
        self.window = window
        let layers = layout.layers
        windowLayers = (0..<layers).filter { window?.layers[$0] ?? false }
        pageCount = blockCount * layers
        // Once their window pages are gone, blocks cost only their global pages: that many more
        // can be held (a model whose every layer slides keeps a page per block anyway, for ids).
        idCount = windowLayers.isEmpty ? blockCount : pageCount / max(1, layers - windowLayers.count)
        memory = BlockMemory(floats: (pageCount + 1) * layout.pageFloats)
        poison = memory.base + pageCount * layout.pageFloats
        poison.update(repeating: .nan, count: layout.pageFloats)
        // Left uninitialised: a slot is always written before it is read, and untouched pages of a
        // large budget never become resident.
        refCount = Array(repeating: 0, count: idCount)
        windowHolders = Array(repeating: 0, count: idCount)
        pageOf = Array(repeating: -1, count: idCount * layers)
        blockKey = Array(repeating: 0, count: idCount)
        parentKey = Array(repeating: 0, count: idCount)
        isIndexed = Array(repeating: false, count: idCount)
        blockTokens = Array(repeating: 0, count: idCount * layout.blockTokens)
        freeIDs = (0..<Int32(idCount)).reversed()
        freePages = (0..<Int32(pageCount)).reversed()
        lruPrev = Array(repeating: -1, count: idCount)
        lruNext = Array(repeating: -1, count: idCount)
        metrics.blocksTotal = blockCount
    }

    /// A pool for `config` holding `memoryBytes` of keys and values (at least one block); its
    /// sliding layers' pages are given back when no window reaches them.
    public convenience init(config: ModelConfig, memoryBytes: Int, blockTokens: Int = 16) {
        let layout = KVLayout(config: config, blockTokens: blockTokens)
        let bytesPerBlock = layout.blockFloats * MemoryLayout<Float>.size
        self.init(layout: layout, blockCount: max(1, memoryBytes / bytesPerBlock), window: KVWindow(config: config))
    }

    public var bytes: Int { blockCount * layout.blockFloats * MemoryLayout<Float>.size }
    /// Whole blocks that can be handed out now, from free memory and by evicting cached blocks.
    public var freeBlocks: Int { min((freePages.count + cachedPages) / layout.layers, freeIDs.count + metrics.blocksCached) }
    /// Pages in use by held and cached blocks.
    public var pagesInUse: Int { pageCount - freePages.count }

    public func blocksNeeded(tokens: Int) -> Int { (tokens + layout.blockTokens - 1) / layout.blockTokens }

    // MARK: sequences

    /// Starts a sequence whose prompt is `prompt`, reusing cached full blocks of its prefix.
    /// Returns how many prompt tokens are already present; the caller computes the rest with
    /// `append`. At least one token is always left to compute, so its logits can be had.
    public func startSequence(prompt: [Int]) -> (SequenceID, reused: Int) {
        let seq = Sequence(memory: memory)
        let id = SequenceID(rawValue: nextSequence)
        nextSequence += 1
        sequences[id.rawValue] = seq
        let b = layout.blockTokens
        var key: UInt64 = 0
        var reused = 0
        while reused + b < prompt.count {
            let chunk = prompt[reused..<reused + b]
            let next = Self.key(parent: key, tokens: chunk)
            guard let block = prefixIndex[next], matches(block, parent: key, tokens: chunk) else { break }
            retain(block)
            seq.blocks.append(block)
            seq.tokens.append(contentsOf: chunk)
            key = next
            reused += b
        }
        if let window {
            // The first token computed, at position `reused`, reads the sliding layers' pages of
            // the blocks its window reaches: reuse only as far as those pages are all still there.
            while reused > 0 {
                let first = firstWindowBlock(count: reused, window: window)
                if (first..<seq.blocks.count).allSatisfy({ hasWindowPages(seq.blocks[$0]) }) { break }
                release(seq.blocks.removeLast())
                seq.tokens.removeLast(b)
                reused -= b
            }
            seq.windowPassed = firstWindowBlock(count: reused, window: window)
            for i in seq.windowPassed..<seq.blocks.count { windowHolders[Int(seq.blocks[i])] += 1 }
            // Cached blocks before the window may still have the pages of a window that reached
            // them once; no holder reads them now.
            for i in 0..<seq.windowPassed where windowHolders[Int(seq.blocks[i])] == 0 { freeWindowPages(seq.blocks[i]) }
            seq.floor = reused
        }
        seq.computed = reused
        metrics.prefixHits += reused / b
        metrics.tokensReused += reused
        syncTable(seq)
        return (id, reused)
    }

    /// A new sequence sharing every block of `parent` (copy on write for the partial last one).
    public func fork(_ parent: SequenceID) throws -> SequenceID {
        let p = try sequence(parent)
        let child = Sequence(memory: memory)
        child.blocks = p.blocks
        child.tokens = p.tokens
        child.computed = p.computed
        child.windowPassed = p.windowPassed
        child.floor = p.floor
        for block in p.blocks { retain(block) }
        if window != nil {
            for i in child.windowPassed..<child.blocks.count { windowHolders[Int(child.blocks[i])] += 1 }
        }
        let id = SequenceID(rawValue: nextSequence)
        nextSequence += 1
        sequences[id.rawValue] = child
        metrics.tokensReused += p.computed
        syncTable(child)
        return id
    }

    /// Makes room for `tokens` after the sequence's current end and records them; returns the
    /// block table to pass to the forward pass, which writes their keys and values. Call
    /// `commit` after the forward pass. Throws `outOfBlocks` (nothing changed) when the pool
    /// cannot supply the blocks now.
    public func append(_ id: SequenceID, tokens: [Int]) throws -> KVBlockTable {
        let seq = try sequence(id)
        let start = seq.tokens.count
        let end = start + tokens.count
        let b = layout.blockTokens
        let partialShared = start % b != 0 && refCount[Int(seq.blocks[start / b])] > 1
        let needed = blocksNeeded(tokens: end) - seq.blocks.count + (partialShared ? 1 : 0)
        if needed > freeBlocks {
            throw KVPoolError.outOfBlocks(needed: needed, available: freeBlocks)
        }
        if partialShared {
            // Copy on write: another sequence still reads this block's first slots.
            let index = start / b
            let old = seq.blocks[index]
            let fresh = takeBlock()
            copyBlock(from: old, to: fresh, slots: start % b)
            dropBlock(old, of: seq, at: index)
            seq.blocks[index] = fresh
            metrics.copiesOnWrite += 1
        } else if start % b != 0, isIndexed[Int(seq.blocks[start / b])] {
            // A full block trimmed into (see `trim`) is still in the prefix index under its old
            // tokens. Its slots are about to be overwritten, so it must leave the index now, or a
            // later prompt would reuse the new data as the old prefix's.
            unindex(seq.blocks[start / b])
        }
        while seq.blocks.count < blocksNeeded(tokens: end) {
            seq.blocks.append(takeBlock())
        }
        seq.tokens.append(contentsOf: tokens)
        // Blocks before the one written into are unchanged (a copy on write replaces that one).
        syncTable(seq, from: start / b)
        return table(seq)
    }

    /// Marks every recorded token as computed and indexes the blocks that became full.
    public func commit(_ id: SequenceID) throws {
        let seq = try sequence(id)
        let b = layout.blockTokens
        let firstNewBlock = seq.computed / b
        metrics.tokensComputed += seq.tokens.count - seq.computed
        seq.computed = seq.tokens.count
        let fullBlocks = seq.computed / b
        guard firstNewBlock < fullBlocks else { return }
        var key = firstNewBlock == 0 ? 0 : keyOfBlock(seq, firstNewBlock - 1)
        for i in firstNewBlock..<fullBlocks {
            let chunk = seq.tokens[i * b..<(i + 1) * b]
            let next = Self.key(parent: key, tokens: chunk)
            let block = seq.blocks[i]
            if !isIndexed[Int(block)] && prefixIndex[next] == nil {
                index(block, key: next, parent: key, tokens: chunk)
            }
            key = next
        }
    }

    /// Drops every token from position `count` on (speculative rollback), freeing blocks no one
    /// else holds. A sequence cannot be trimmed below the length it last settled at.
    public func trim(_ id: SequenceID, to count: Int) throws {
        let seq = try sequence(id)
        guard count >= 0, count <= seq.tokens.count else {
            throw KVPoolError.invalidTrim(id, to: count, count: seq.tokens.count)
        }
        guard count >= seq.floor else { throw KVPoolError.trimBelowSettled(id, to: count, settled: seq.floor) }
        let keep = blocksNeeded(tokens: count)
        while seq.blocks.count > keep {
            let index = seq.blocks.count - 1
            dropBlock(seq.blocks.removeLast(), of: seq, at: index)
        }
        seq.tokens.removeLast(seq.tokens.count - count)
        seq.computed = min(seq.computed, count)
        // A full block trimmed into keeps its prefix-index entry: its data is still that of its
        // tokens until someone writes to it, and `append` (the only writer) copies it or unindexes
        // it first. Unindexing here was not enough: a block shared at trim time stayed indexed and
        // was rewritten in place once the other holders released it.
        // The table's entries for the blocks kept are unchanged.
    }

    /// Says that the sequence will not be trimmed below its current length: every later query
    /// is at a later position, so the blocks that lie wholly before the window of its current
    /// end no longer need their sliding layers' pages for it. Pages no holder needs go back to
    /// the pool. Does nothing for a pool without a window.
    public func settle(_ id: SequenceID) throws {
        let seq = try sequence(id)
        guard let window else { return }
        seq.floor = max(seq.floor, seq.tokens.count)
        // Queries still to come are at computed positions and later.
        let passed = min(firstWindowBlock(count: seq.computed, window: window), seq.blocks.count)
        let layers = layout.layers
        while seq.windowPassed < passed {
            let i = seq.windowPassed
            leaveWindow(seq.blocks[i])
            for layer in windowLayers { seq.table[i * layers + layer] = poison }
            seq.windowPassed += 1
        }
    }

    public func release(_ id: SequenceID) {
        guard let seq = sequences.removeValue(forKey: id.rawValue) else { return }
        for (index, block) in seq.blocks.enumerated() { dropBlock(block, of: seq, at: index) }
    }

    public func tokenCount(_ id: SequenceID) throws -> Int { try sequence(id).tokens.count }
    public func tokens(_ id: SequenceID) throws -> [Int] { try sequence(id).tokens }
    public var sequenceCount: Int { sequences.count }

    /// The current block table of a sequence (for a forward pass with no new blocks).
    public func blockTable(_ id: SequenceID) throws -> KVBlockTable { table(try sequence(id)) }

    // MARK: invariants (for tests)

    /// Checks the bookkeeping: every block is free, cached or held exactly as often as sequences
    /// hold it; every page is free or in exactly one block; window pages are where a holder
    /// needs them; nothing is in two places. Returns a description of the first violation.
    public func checkInvariants() -> String? {
        var held = [Int32](repeating: 0, count: idCount)
        var windowHeld = [Int32](repeating: 0, count: idCount)
        for seq in sequences.values {
            for (i, block) in seq.blocks.enumerated() {
                held[Int(block)] += 1
                if window != nil && i >= seq.windowPassed { windowHeld[Int(block)] += 1 }
            }
            if seq.blocks.count != blocksNeeded(tokens: seq.tokens.count) {
                return "a sequence of \(seq.tokens.count) tokens holds \(seq.blocks.count) blocks"
            }
        }
        var inFree = Set<Int32>()
        for block in freeIDs {
            if !inFree.insert(block).inserted { return "block \(block) twice in the free list" }
        }
        var inLRU = Set<Int32>()
        var cursor = lruHead
        while cursor >= 0 {
            if !inLRU.insert(cursor).inserted { return "LRU list has a cycle at \(cursor)" }
            cursor = lruNext[Int(cursor)]
        }
        var pageOwners = [Int](repeating: 0, count: pageCount)
        for page in freePages { pageOwners[Int(page)] += 1 }
        var used = 0
        var pagesOfCached = 0
        for block in 0..<idCount {
            let b = Int32(block)
            if held[block] != refCount[block] { return "block \(block): refcount \(refCount[block]) but held \(held[block]) times" }
            if windowHeld[block] != windowHolders[block] {
                return "block \(block): \(windowHolders[block]) window holders but \(windowHeld[block]) sequences read it through a window"
            }
            let places = (inFree.contains(b) ? 1 : 0) + (inLRU.contains(b) ? 1 : 0) + (held[block] > 0 ? 1 : 0)
            if places != 1 { return "block \(block) is in \(places) places (free/cached/held)" }
            if inLRU.contains(b) && !isIndexed[block] { return "block \(block) cached but not indexed" }
            if inFree.contains(b) && isIndexed[block] { return "block \(block) free but indexed" }
            for layer in 0..<layout.layers {
                let page = pageOf[block * layout.layers + layer]
                if page >= 0 { pageOwners[Int(page)] += 1 }
                if inFree.contains(b) && page >= 0 { return "free block \(block) keeps a page" }
                if !inFree.contains(b) && page < 0 && !windowLayers.contains(layer) { return "block \(block) lacks its layer \(layer) page" }
                if inLRU.contains(b) && page >= 0 { pagesOfCached += 1 }
            }
            if windowHolders[block] > 0 && !hasWindowPages(b) { return "block \(block) read through a window lacks its window pages" }
            if window != nil && held[block] > 0 && windowHolders[block] == 0 && windowLayers.contains(where: { pageOf[block * layout.layers + $0] >= 0 }) {
                return "held block \(block) keeps window pages no holder reads"
            }
            if held[block] > 0 { used += 1 }
        }
        if let page = pageOwners.firstIndex(where: { $0 != 1 }) { return "page \(page) is in \(pageOwners[page]) places" }
        if pagesOfCached != cachedPages { return "cached blocks hold \(pagesOfCached) pages, counted \(cachedPages)" }
        if used != metrics.blocksUsed { return "metrics say \(metrics.blocksUsed) used, counted \(used)" }
        if inLRU.count != metrics.blocksCached { return "metrics say \(metrics.blocksCached) cached, counted \(inLRU.count)" }
        if inFree.count + inLRU.count + used != idCount { return "free + cached + used != total" }
        return nil
    }

    // MARK: blocks

    private func sequence(_ id: SequenceID) throws -> Sequence {
        guard let seq = sequences[id.rawValue] else { throw KVPoolError.unknownSequence(id) }
        return seq
    }

    private func table(_ seq: Sequence) -> KVBlockTable {
        KVBlockTable(pages: seq.table, layout: layout, blockCount: seq.blocks.count, owner: seq)
    }

    /// Writes the table's entries for the sequence's blocks from `first` on (all of them when the
    /// table has to grow): every append rewriting every block cost blocks × layers per token.
    private func syncTable(_ seq: Sequence, from first: Int = 0) {
        let layers = layout.layers
        let entries = seq.blocks.count * layers
        var first = first
        if entries > seq.tableCapacity {
            seq.table.deallocate()
            seq.tableCapacity = max(entries, seq.tableCapacity * 2)
            seq.table = .allocate(capacity: seq.tableCapacity)
            first = 0
        }
        let pageFloats = layout.pageFloats
        for i in min(first, seq.blocks.count)..<seq.blocks.count {
            let base = Int(seq.blocks[i]) * layers
            for layer in 0..<layers {
                let page = pageOf[base + layer]
                seq.table[i * layers + layer] = page >= 0 ? storage + Int(page) * pageFloats : poison
            }
        }
        // A block this sequence has passed may still have its window pages for another holder;
        // its table shows them as poison all the same, so that it never reads them.
        let passed = min(seq.windowPassed, seq.blocks.count)
        for i in min(first, passed)..<passed {
            for layer in windowLayers { seq.table[i * layers + layer] = poison }
        }
    }

    /// The first block the window of a query at position `count` (the next token) reaches.
    private func firstWindowBlock(count: Int, window: KVWindow) -> Int {
        max(0, count - window.tokens + 1) / layout.blockTokens
    }

    private func hasWindowPages(_ block: Int32) -> Bool {
        guard let layer = windowLayers.first else { return true }
        return pageOf[Int(block) * layout.layers + layer] >= 0
    }

    /// A block with every layer's page, held once.
    private func takeBlock() -> Int32 {
        let layers = layout.layers
        // Fresh memory is touched only while the cache is small; otherwise (or when ids or
        // pages run out) the least recently used cached block goes first.
        while true {
            let enough = freePages.count >= layers && !freeIDs.isEmpty
            let cacheFull = metrics.blocksCached > max(metrics.blocksUsed, Self.cacheBeforeFreshMemory)
            let touched = enough && Int(freePages[freePages.count - layers]) < touchedPages
            if enough && (touched || !cacheFull) || lruHead < 0 { break }
            evict(lruHead)
        }
        guard let block = freeIDs.popLast() else { preconditionFailure("takeBlock called without a free block id") }
        for layer in 0..<layers {
            guard let page = freePages.popLast() else { preconditionFailure("takeBlock called without free pages") }
            pageOf[Int(block) * layers + layer] = page
            touchedPages = max(touchedPages, Int(page) + 1)
        }
        refCount[Int(block)] = 1
        windowHolders[Int(block)] = window == nil ? 0 : 1
        metrics.blocksUsed += 1
        metrics.peakBlocksUsed = max(metrics.peakBlocksUsed, metrics.blocksUsed)
        return block
    }

    private func evict(_ block: Int32) {
        lruRemove(block)
        unindex(block)
        metrics.blocksCached -= 1
        metrics.evictions += 1
        cachedPages -= pageCount(of: block)
        givePagesBack(block, layers: 0..<layout.layers)
        freeIDs.append(block)
    }

    private func pageCount(of block: Int32) -> Int {
        let base = Int(block) * layout.layers
        return (0..<layout.layers).reduce(0) { $0 + (pageOf[base + $1] >= 0 ? 1 : 0) }
    }

    /// Returns the block's pages of `layers` (those it still has) to the free stack; how many.
    @discardableResult
    private func givePagesBack(_ block: Int32, layers: some Swift.Sequence<Int>) -> Int {
        let base = Int(block) * layout.layers
        var given = 0
        for layer in layers where pageOf[base + layer] >= 0 {
            freePages.append(pageOf[base + layer])
            pageOf[base + layer] = -1
            given += 1
        }
        return given
    }

    private func retain(_ block: Int32) {
        if refCount[Int(block)] == 0 {
            // Back from the cache.
            lruRemove(block)
            metrics.blocksCached -= 1
            cachedPages -= pageCount(of: block)
            metrics.blocksUsed += 1
            metrics.peakBlocksUsed = max(metrics.peakBlocksUsed, metrics.blocksUsed)
        }
        refCount[Int(block)] += 1
    }

    /// A sequence lets go of its block at `index` (released, trimmed off or copied away from).
    private func dropBlock(_ block: Int32, of seq: Sequence, at index: Int) {
        if window != nil && index >= seq.windowPassed {
            // The last holder leaves the block whole: to the cache, so that a prompt reusing it
            // finds the window pages its next token reads, or back to the pool with every page.
            leaveWindow(block, keepPages: refCount[Int(block)] == 1)
        }
        release(block)
    }

    /// One holder no longer reads the block's sliding layers; when it was the last, the pages
    /// go back to the pool (unless `keepPages`).
    private func leaveWindow(_ block: Int32, keepPages: Bool = false) {
        let i = Int(block)
        windowHolders[i] -= 1
        guard windowHolders[i] == 0, !keepPages else { return }
        freeWindowPages(block)
    }

    /// Gives back a living block's sliding layers' pages (counted in `windowPagesReleased`).
    private func freeWindowPages(_ block: Int32) {
        metrics.windowPagesReleased += givePagesBack(block, layers: windowLayers)
    }

    private func release(_ block: Int32) {
        refCount[Int(block)] -= 1
        guard refCount[Int(block)] == 0 else { return }
        metrics.blocksUsed -= 1
        if isIndexed[Int(block)] {
            lruAppend(block)
            metrics.blocksCached += 1
            cachedPages += pageCount(of: block)
        } else {
            givePagesBack(block, layers: 0..<layout.layers)
            freeIDs.append(block)
        }
    }

    private func copyBlock(from source: Int32, to destination: Int32, slots: Int) {
        let layers = layout.layers
        for layer in 0..<layers {
            let from = pageOf[Int(source) * layers + layer], to = pageOf[Int(destination) * layers + layer]
            guard from >= 0, to >= 0 else { continue }  // a window page no one reads any more
            let src = storage + Int(from) * layout.pageFloats
            let dst = storage + Int(to) * layout.pageFloats
            (dst + layout.keyOffset(slot: 0)).update(from: src + layout.keyOffset(slot: 0), count: slots * layout.kvDim)
            (dst + layout.valueOffset(slot: 0)).update(from: src + layout.valueOffset(slot: 0), count: slots * layout.kvDim)
        }
    }

    // MARK: prefix index

    static func key(parent: UInt64, tokens: ArraySlice<Int>) -> UInt64 {
        var h = parent ^ 0x9E37_79B9_7F4A_7C15
        for t in tokens {
            h = (h ^ UInt64(bitPattern: Int64(t))) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 29
        }
        return h == 0 ? 1 : h  // 0 stands for "no parent"
    }

    private func keyOfBlock(_ seq: Sequence, _ index: Int) -> UInt64 {
        let block = Int(seq.blocks[index])
        if isIndexed[block] { return blockKey[block] }
        var key: UInt64 = 0
        let b = layout.blockTokens
        for i in 0...index { key = Self.key(parent: key, tokens: seq.tokens[i * b..<(i + 1) * b]) }
        return key
    }

    private func matches(_ block: Int32, parent: UInt64, tokens: ArraySlice<Int>) -> Bool {
        let i = Int(block)
        guard isIndexed[i], parentKey[i] == parent else { return false }
        let base = i * layout.blockTokens
        for (j, t) in tokens.enumerated() where Int(blockTokens[base + j]) != t { return false }
        return true
    }

    private func index(_ block: Int32, key: UInt64, parent: UInt64, tokens: ArraySlice<Int>) {
        let i = Int(block)
        isIndexed[i] = true
        blockKey[i] = key
        parentKey[i] = parent
        let base = i * layout.blockTokens
        for (j, t) in tokens.enumerated() { blockTokens[base + j] = Int32(truncatingIfNeeded: t) }
        prefixIndex[key] = block
    }

    private func unindex(_ block: Int32) {
        let i = Int(block)
        guard isIndexed[i] else { return }
        isIndexed[i] = false
        if prefixIndex[blockKey[i]] == block { prefixIndex[blockKey[i]] = nil }
    }

    private func lruAppend(_ block: Int32) {
        lruPrev[Int(block)] = lruTail
        lruNext[Int(block)] = -1
        if lruTail >= 0 { lruNext[Int(lruTail)] = block } else { lruHead = block }
        lruTail = block
    }

    private func lruRemove(_ block: Int32) {
        let p = lruPrev[Int(block)], n = lruNext[Int(block)]
        if p >= 0 { lruNext[Int(p)] = n } else { lruHead = n }
        if n >= 0 { lruPrev[Int(n)] = p } else { lruTail = p }
        lruPrev[Int(block)] = -1
        lruNext[Int(block)] = -1
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif
