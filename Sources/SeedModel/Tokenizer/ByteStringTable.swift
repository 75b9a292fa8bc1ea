/// Byte strings stored back to back, indexed by position: one allocation for a whole vocabulary.
struct ByteStrings: Sendable {
    private(set) var storage: [UInt8] = []
    private(set) var offsets: [Int] = [0]

    var count: Int { offsets.count - 1 }

    mutating func append<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        storage.append(contentsOf: bytes)
        offsets.append(storage.count)
    }

    subscript(index: Int) -> ArraySlice<UInt8> {
        storage[offsets[index]..<offsets[index + 1]]
    }
}

/// Finds a token id by its exact bytes. Swift's `String` compares by canonical equivalence
/// ("é" == "e\u{301}"), which would merge distinct vocabulary entries, so lookups go by bytes.
/// Open addressing over a flat key store; a lookup allocates nothing.
struct ByteStringTable: Sendable {
    private let keys: ByteStrings
    private var slots: [Int32]
    private let mask: Int

    /// Keys `keys[i]` for which `include(i)` holds; when two ids share a key the later id wins,
    /// as in the reference tokenizer (`token_to_id[text] = id` in vocabulary order).
    init(keys: ByteStrings, include: (Int) -> Bool = { _ in true }) {
        self.keys = keys
        var capacity = 16
        while capacity < keys.count * 2 { capacity <<= 1 }
        mask = capacity - 1
        slots = [Int32](repeating: -1, count: capacity)
        for id in 0..<keys.count where include(id) {
            let key = keys[id]
            var slot = key.withUnsafeBufferPointer { Self.hash($0) } & mask
            while slots[slot] >= 0, keys[Int(slots[slot])] != key { slot = (slot + 1) & mask }
            slots[slot] = Int32(id)
        }
    }

    func id(of bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var slot = Self.hash(bytes) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return nil }
            let key = keys[entry]
            if key.count == bytes.count, key.elementsEqual(bytes) { return entry }
            slot = (slot + 1) & mask
        }
    }

    func id<C: Collection>(of bytes: C) -> Int? where C.Element == UInt8 {
        let array = Array(bytes)
        return array.withUnsafeBufferPointer { id(of: $0) }
    }

    /// FNV-1a: short keys, no need for a keyed hash (the table is built from a trusted vocabulary
    /// and probing stays linear in the worst case).
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3
        }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }
}
