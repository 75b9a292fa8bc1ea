/// Where the keys and values of a sequence's tokens live: a table of blocks, each holding
/// `blockTokens` token slots, and each block one page per layer. A page is laid out
/// `[key | value][slot][kvDim]` floats, so one layer's keys for consecutive positions are
/// contiguous within a block. Pages are separate so that a pool can give back the pages of the
/// sliding-window layers of a block no window reaches any more while its global layers' pages
/// stay. A contiguous cache is the one-block case; the paged pool hands out many blocks and
/// shares them between sequences.
public struct KVLayout: Sendable, Equatable {
    public let layers: Int
    public let kvDim: Int
    public let blockTokens: Int

    public init(layers: Int, kvDim: Int, blockTokens: Int) {
        self.layers = layers
        self.kvDim = kvDim
        self.blockTokens = blockTokens
    }

    public init(config: ModelConfig, blockTokens: Int) {
        self.init(layers: config.blockCount, kvDim: config.kvDim, blockTokens: blockTokens)
    }

    /// Floats in one layer's page of a block, and in a whole block (every layer's page).
    public var pageFloats: Int { 2 * blockTokens * kvDim }
    public var blockFloats: Int { layers * pageFloats }
    public var bytesPerToken: Int { layers * 2 * kvDim * MemoryLayout<Float>.size }

    /// Offsets within a page.
    @inline(__always)
    public func keyOffset(slot: Int) -> Int { slot * kvDim }
    @inline(__always)
    public func valueOffset(slot: Int) -> Int { (blockTokens + slot) * kvDim }
}

/// One sequence's view of its cache for a forward pass: for each of its blocks, in position
/// order, the base address of each layer's page (`pages[block * layers + layer]`). Valid while the
/// owner of the blocks keeps them. A page a pool has given back (a sliding layer's page of a
/// block before every window) reads as NaN, so a pass that read it would show.
public struct KVBlockTable: @unchecked Sendable {
    public var pages: UnsafePointer<UnsafeMutablePointer<Float>>
    /// The layout of each block and its pages.
    public var layout: KVLayout
    public var blockCount: Int
    /// The object that owns the blocks, kept alive as long as the table is: a table must never
    /// outlive its memory, whatever the optimizer does with the owner's last use.
    public let owner: AnyObject

    public init(pages: UnsafePointer<UnsafeMutablePointer<Float>>, layout: KVLayout, blockCount: Int, owner: AnyObject) {
        self.pages = pages
        self.layout = layout
        self.blockCount = blockCount
        self.owner = owner
    }

    public var blockTokens: Int { layout.blockTokens }
    /// Positions this table has room for.
    public var capacity: Int { blockCount * layout.blockTokens }

    @inline(__always)
    public func page(block: Int, layer: Int) -> UnsafeMutablePointer<Float> { pages[block * layout.layers + layer] }
    /// The key and value rows of one layer at one position.
    @inline(__always)
    public func key(position: Int, layer: Int) -> UnsafeMutablePointer<Float> {
        page(block: position / layout.blockTokens, layer: layer) + layout.keyOffset(slot: position % layout.blockTokens)
    }
    @inline(__always)
    public func value(position: Int, layer: Int) -> UnsafeMutablePointer<Float> {
        page(block: position / layout.blockTokens, layer: layer) + layout.valueOffset(slot: position % layout.blockTokens)
    }
}

/// A contiguous cache for one sequence: a single block as long as the context. The simple case;
/// the paged, shared pool lives in SeedEngine. A class because it owns memory.
public final class ContiguousKVCache: @unchecked Sendable {
    public let layout: KVLayout
    private let storage: UnsafeMutablePointer<Float>
    private let table: UnsafeMutablePointer<UnsafeMutablePointer<Float>>  // one page per layer
    /// Tokens whose keys and values are stored (positions 0..<count).
    public var count = 0

    public init(config: ModelConfig, capacity: Int? = nil) {
        layout = KVLayout(config: config, blockTokens: capacity ?? config.contextLength)
        // Left uninitialised: a position is always written before it is read, and the pages of
        // positions never reached stay out of resident memory.
        storage = .allocate(capacity: layout.blockFloats)
        table = .allocate(capacity: layout.layers)
        for layer in 0..<layout.layers { (table + layer).initialize(to: storage + layer * layout.pageFloats) }
    }

    deinit {
        storage.deallocate()
        table.deallocate()
    }

    public var capacity: Int { layout.blockTokens }
    public var blockTable: KVBlockTable {
        KVBlockTable(pages: table, layout: layout, blockCount: 1, owner: self)
    }
}
