/// Where the keys and values of a sequence's tokens live: a table of blocks, each holding
/// `blockTokens` token slots for every layer. Inside a block the layout is
/// `[layer][key | value][slot][kvDim]` floats, so one layer's keys for consecutive positions are
/// contiguous within a block. A contiguous cache is the one-block case; the paged pool hands out
/// many blocks and shares them between sequences.
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

    /// Floats in one block.
    public var blockFloats: Int { layers * 2 * blockTokens * kvDim }
    public var bytesPerToken: Int { layers * 2 * kvDim * MemoryLayout<Float>.size }

    @inline(__always)
    public func keyOffset(layer: Int, slot: Int) -> Int { ((layer * 2) * blockTokens + slot) * kvDim }
    @inline(__always)
    public func valueOffset(layer: Int, slot: Int) -> Int { ((layer * 2 + 1) * blockTokens + slot) * kvDim }
}

/// One sequence's view of its cache for a forward pass: the base address of each of its blocks,
/// in position order. Valid while the owner of the blocks keeps them.
public struct KVBlockTable: @unchecked Sendable {
    public var blocks: UnsafePointer<UnsafeMutablePointer<Float>>
    public var blockCount: Int
    public var blockTokens: Int
    /// The object that owns the blocks, kept alive as long as the table is: a table must never
    /// outlive its memory, whatever the optimizer does with the owner's last use.
    public let owner: AnyObject

    public init(blocks: UnsafePointer<UnsafeMutablePointer<Float>>, blockCount: Int, blockTokens: Int, owner: AnyObject) {
        self.blocks = blocks
        self.blockCount = blockCount
        self.blockTokens = blockTokens
        self.owner = owner
    }

    /// Positions this table has room for.
    public var capacity: Int { blockCount * blockTokens }
}

/// A contiguous cache for one sequence: a single block as long as the context. The simple case;
/// the paged, shared pool lives in SeedEngine. A class because it owns memory.
public final class ContiguousKVCache: @unchecked Sendable {
    public let layout: KVLayout
    private let storage: UnsafeMutablePointer<Float>
    private let table: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    /// Tokens whose keys and values are stored (positions 0..<count).
    public var count = 0

    public init(config: ModelConfig, capacity: Int? = nil) {
        layout = KVLayout(config: config, blockTokens: capacity ?? config.contextLength)
        // Left uninitialised: a position is always written before it is read, and the pages of
        // positions never reached stay out of resident memory.
        storage = .allocate(capacity: layout.blockFloats)
        table = .allocate(capacity: 1)
        table.initialize(to: storage)
    }

    deinit {
        storage.deallocate()
        table.deallocate()
    }

    public var capacity: Int { layout.blockTokens }
    public var blockTable: KVBlockTable { KVBlockTable(blocks: table, blockCount: 1, blockTokens: layout.blockTokens, owner: self) }
}
