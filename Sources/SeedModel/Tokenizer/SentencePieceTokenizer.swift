/// SentencePiece (`tokenizer.ggml.model = llama`): spaces become "▁", a "▁" is put before the text,
/// then starting from single characters the adjacent pair whose joined text is the highest-scoring
/// token is merged, again and again. Characters left that are not tokens are spelled with byte
/// tokens `<0xNN>`. This is llama.cpp's algorithm, whose output the test vectors record.
public struct SentencePieceTokenizer: Tokenizer {
    public let vocabularySize: Int
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    public let endOfGenerationTokenIDs: Set<Int>
    public let addsBOS: Bool
    /// `tokenizer.ggml.add_space_prefix`: put "▁" before the text (and drop it again when decoding).
    public let addsSpacePrefix: Bool

    private let tokens: [String]
    private let kinds: [TokenKind]
    private let scores: [Float]
    /// Tokens that text can be merged into, by their UTF-8 text (with "▁" for spaces). Control,
    /// unknown, unused and byte tokens are left out: SentencePiece never produces them from text,
    /// so "<s>" typed by a user stays text.
    private let lookup: ByteStringTable
    /// Decoded bytes of each token (▁ → space, <0xNN> → the byte).
    private let tokenBytes: ByteStrings
    private let byteTokens: [Int32]
    private let unknownTokenID: Int?
    private let splitter: SpecialTokenSplitter

    public var decodeRemovesLeadingSpace: Bool { addsSpacePrefix }

    private static let spaceMark: [UInt8] = Array("\u{2581}".utf8)
    /// llama.cpp shows an unknown token as "▅" so that lost text stays visible.
    private static let unknownMark: [UInt8] = Array("\u{2585}".utf8)

    public init(file: GGUFFile) throws {
        let meta = try VocabularyMetadata(file: file)
        let scores = try file.numberArray("tokenizer.ggml.scores")
        if let scores, scores.count != meta.tokens.count {
            throw TokenizerError.mismatchedLength(path: file.path, key: "tokenizer.ggml.scores",
                                                  count: scores.count, expected: meta.tokens.count)
        }
        let spacePrefix = try file.bool("tokenizer.ggml.add_space_prefix") ?? true
        self.init(metadata: meta, scores: scores.map { $0.map(Float.init) }, addsSpacePrefix: spacePrefix)
    }

    init(metadata meta: VocabularyMetadata, scores: [Float]?, addsSpacePrefix: Bool) {
        tokens = meta.tokens
        kinds = meta.kinds
        self.scores = scores ?? Array(repeating: 0, count: meta.tokens.count)
        vocabularySize = meta.tokens.count
        bosTokenID = meta.bosTokenID
        eosTokenID = meta.eosTokenID
        unknownTokenID = meta.unknownTokenID
        endOfGenerationTokenIDs = meta.endOfGenerationTokenIDs
        addsBOS = meta.addsBOSKey ?? true
        self.addsSpacePrefix = addsSpacePrefix
        splitter = SpecialTokenSplitter(tokens: meta.tokens, kinds: meta.kinds)

        var texts = ByteStrings()
        var decoded = ByteStrings()
        var byteTokens = [Int32](repeating: -1, count: 256)
        for (id, text) in meta.tokens.enumerated() {
            texts.append(text.utf8)
            switch meta.kinds[id] {
            case .byte:
                if let b = Self.byteValue(text) {
                    decoded.append(CollectionOfOne(b))
                    byteTokens[Int(b)] = Int32(id)
                } else {
                    decoded.append(Self.unescape(text))
                }
            case .unknown:
                decoded.append(Self.unknownMark)
            default:
                decoded.append(Self.unescape(text))
            }
        }
        let kinds = meta.kinds
        let mergeable = ByteStringTable(keys: texts, include: { kinds[$0] == .normal || kinds[$0] == .userDefined })
        // Vocabularies without byte tokens fall back to a token spelling the single byte.
        for b in 0..<128 where byteTokens[b] < 0 {
            byteTokens[b] = Int32(mergeable.id(of: [UInt8(b)]) ?? -1)
        }
        lookup = mergeable
        tokenBytes = decoded
        self.byteTokens = byteTokens
    }

    /// The byte of a `<0xNN>` token.
    static func byteValue(_ text: String) -> UInt8? {
        let u = Array(text.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
    }

    static func unescape(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar == "\u{2581}" { out.append(0x20) } else { out.append(contentsOf: String(scalar).utf8) }
        }
        return out
    }

    public func piece(_ id: Int) -> String {
        tokens.indices.contains(id) ? tokens[id] : ""
    }

    public func bytes(of id: Int, includeSpecial: Bool) -> [UInt8] {
        guard tokens.indices.contains(id) else { return [] }
        switch kinds[id] {
        case .control:
            return includeSpecial ? Array(tokens[id].utf8) : []
        case .unused:
            return []
        default:
            return Array(tokenBytes[id])
        }
    }

    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int] {
        var output: [Int] = []
        if addBOS, let bosTokenID { output.append(bosTokenID) }
        let bytes = Array(text.utf8)
        // The space prefix goes before the text and after every special token matched inside it.
        var afterSpecial = true
        var scratch = MergeScratch()
        for fragment in splitter.split(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case let .token(id):
                output.append(id)
                afterSpecial = true
            case let .text(range):
                var escaped: [UInt8] = []
                escaped.reserveCapacity(range.count + 3)
                if addsSpacePrefix && afterSpecial { escaped.append(contentsOf: Self.spaceMark) }
                for b in bytes[range] {
                    if b == 0x20 { escaped.append(contentsOf: Self.spaceMark) } else { escaped.append(b) }
                }
                escaped.withUnsafeBufferPointer { encodeEscaped($0, into: &output, scratch: &scratch) }
                afterSpecial = false
            }
        }
        return output
    }

    private struct MergeScratch {
        var start: [Int] = []
        var length: [Int] = []
        var next: [Int] = []
        var prev: [Int] = []
        var queue = PriorityQueue<Candidate>()
    }

    /// Two adjacent symbols whose joined text is a token. Highest score first, leftmost among equals.
    private struct Candidate: Comparable {
        let score: Float
        let left: Int
        let right: Int
        /// Joined length in bytes when queued; a mismatch later means a side has changed since.
        let length: Int

        static func < (a: Candidate, b: Candidate) -> Bool {
            a.score != b.score ? a.score < b.score : a.left > b.left
        }
        static func == (a: Candidate, b: Candidate) -> Bool { a.score == b.score && a.left == b.left }
    }

    private func encodeEscaped(_ text: UnsafeBufferPointer<UInt8>, into output: inout [Int], scratch s: inout MergeScratch) {
        s.start.removeAll(keepingCapacity: true)
        s.length.removeAll(keepingCapacity: true)
        s.next.removeAll(keepingCapacity: true)
        s.prev.removeAll(keepingCapacity: true)
        s.queue.removeAll()
        var offset = 0
        while offset < text.count {
            let lead = text[offset]
            let width = min(lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, text.count - offset)
            s.prev.append(s.start.count - 1)
            s.start.append(offset)
            s.length.append(width)
            offset += width
            s.next.append(offset < text.count ? s.start.count : -1)
        }
        guard !s.start.isEmpty else { return }

        func consider(_ left: Int, _ right: Int, _ s: inout MergeScratch) {
            guard left >= 0, right >= 0 else { return }
            let length = s.length[left] + s.length[right]
            let joined = UnsafeBufferPointer(rebasing: text[s.start[left]..<s.start[left] + length])
            guard let id = lookup.id(of: joined) else { return }
            s.queue.push(Candidate(score: scores[id], left: left, right: right, length: length))
        }

        for i in 1..<s.start.count { consider(i - 1, i, &s) }
        while let c = s.queue.pop() {
            let l = c.left, r = c.right
            guard s.length[l] > 0, s.length[r] > 0, s.length[l] + s.length[r] == c.length else { continue }
            s.length[l] += s.length[r]
            s.length[r] = 0
            s.next[l] = s.next[r]
            if s.next[r] >= 0 { s.prev[s.next[r]] = l }
            consider(s.prev[l], l, &s)
            consider(l, s.next[l], &s)
        }

        var i = 0
        while i >= 0 {
            let symbol = UnsafeBufferPointer(rebasing: text[s.start[i]..<s.start[i] + s.length[i]])
            if let id = lookup.id(of: symbol) {
                output.append(id)
            } else if symbol.allSatisfy({ byteTokens[Int($0)] >= 0 }) {
                for b in symbol { output.append(Int(byteTokens[Int(b)])) }
            } else if let unknownTokenID {
                // No byte fallback in this vocabulary: one unknown token per character, as SentencePiece does.
                output.append(unknownTokenID)
            }
            i = s.next[i]
        }
    }
}
