/// The n-gram index of one lookup group: the token sequences (prompt and output so far) of its
/// requests, and for every n-gram of them (n from `minNgram` to `maxNgram`) that is followed by
/// a token, where its latest occurrence ends. Appending a token indexes the n-grams that end
/// right before it: `maxNgram − minNgram + 1` hash-table writes, whatever the length of the text.
/// A class: the requests of a group share it and append to it as they commit.
final class LookupIndex {
    struct Match {
        /// The document the continuation is read from and where it starts.
        var document: Int
        var start: Int
        /// The length of the n-gram that matched.
        var n: Int
    }

    private struct Position {
        var document: Int32
        var end: Int32
    }

    let minNgram: Int
    let maxNgram: Int
    /// One document per request of the group, in the order they joined.
    private(set) var documents: [[Int]] = []
    /// Hash of (n, the n tokens) → the latest position after them. Collisions are caught by
    /// comparing the tokens on lookup.
    private var table: [UInt64: Position] = [:]
    /// Documents still growing (their request runs): a group without any may be dropped.
    private(set) var open = 0

    init(minNgram: Int, maxNgram: Int) {
        self.minNgram = minNgram
        self.maxNgram = maxNgram
    }

    /// Adds a request's prompt as a new document and returns its number.
    func addDocument(_ tokens: [Int]) -> Int {
        let document = documents.count
        documents.append([])
        documents[document].reserveCapacity(tokens.count + 256)
        open += 1
        for token in tokens { append(token, to: document) }
        return document
    }

    /// The request of `document` finished: its text stays for the others to draft from.
    func close(_ document: Int) {
        open -= 1
    }

    /// Appends a committed token to `document`, first indexing every n-gram that ends right
    /// before it (the token is their continuation).
    func append(_ token: Int, to document: Int) {
        let end = documents[document].count
        documents[document].withUnsafeBufferPointer { text in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            var n = 0
            while n < maxNgram && n < end {
                n += 1
                hash = Self.mix(hash, text[end - n])
                if n >= minNgram {
                    table[Self.mix(hash, -n)] = Position(document: Int32(document), end: Int32(end))
                }
            }
        }
        documents[document].append(token)
    }

    /// The latest earlier occurrence of the longest suffix of `document` (from `maxNgram` down to
    /// `minNgram` tokens) that has a continuation, or nil.
    func match(_ document: Int) -> Match? {
        documents[document].withUnsafeBufferPointer { text in
            let end = text.count
            var hashes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                         UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            let longest = min(maxNgram, end)
            guard longest >= minNgram else { return nil }
            return withUnsafeMutableBytes(of: &hashes) { raw in
                let h = raw.bindMemory(to: UInt64.self)
                var hash: UInt64 = 0xcbf2_9ce4_8422_2325
                for n in 1...longest {
                    hash = Self.mix(hash, text[end - n])
                    h[n - 1] = Self.mix(hash, -n)
                }
                for n in stride(from: longest, through: minNgram, by: -1) {
                    guard let p = table[h[n - 1]] else { continue }
                    let d = Int(p.document), e = Int(p.end)
                    // The same n tokens (not a hash collision), and a continuation to copy.
                    let same = documents[d].withUnsafeBufferPointer { other in
                        e >= n && e < other.count && (1...n).allSatisfy { other[e - $0] == text[end - $0] }
                    }
                    if same { return Match(document: d, start: e, n: n) }
                }
                return nil
            }
        }
    }

    /// Copies up to `limit` tokens of `match`'s continuation into `out` (emptied first).
    func continuation(_ match: Match, limit: Int, into out: inout [Int]) {
        out.removeAll(keepingCapacity: true)
        let text = documents[match.document]
        let stop = min(text.count, match.start + limit)
        if stop > match.start { out.append(contentsOf: text[match.start..<stop]) }
    }

    private static func mix(_ hash: UInt64, _ value: Int) -> UInt64 {
        var h = (hash ^ UInt64(bitPattern: Int64(value))) &* 0x100_0000_01b3
        h ^= h >> 29
        return h
    }
}
