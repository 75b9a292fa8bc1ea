/// GPT-2 style byte-level BPE (`tokenizer.ggml.model = gpt2`): text is split into words by the
/// pre-tokenizer, each word's bytes start as one symbol per byte, and adjacent symbols are merged
/// in the order of `tokenizer.ggml.merges` (earlier lines first) until no listed pair is left.
/// Gemma 4's BPE (`gemma4`) is the same over UTF-8 text whose spaces are written ▁: symbols start
/// as characters, and a piece that is no token falls back to `<0xNN>` byte tokens.
public struct BPETokenizer: Tokenizer {
    public let vocabularySize: Int
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    public let endOfGenerationTokenIDs: Set<Int>
    public let addsBOS: Bool

    private let tokens: [String]
    private let kinds: [TokenKind]
    let preTokenizer: PreTokenizer
    /// Each token's bytes: normal tokens decoded through the byte↔unicode table, others as written.
    private let tokenBytes: ByteStrings
    /// Tokens by their bytes, for tokens written entirely in the byte↔unicode alphabet (the only
    /// ones a word can spell).
    private let byteLookup: ByteStringTable
    /// The token of each single byte, or -1 when the vocabulary lacks it.
    private let byteTokens: [Int32]
    private let merges: [UInt64: Merge]
    private let unknownTokenID: Int?
    private let splitter: SpecialTokenSplitter

    /// How token strings spell text.
    enum Spelling: Sendable {
        /// Through GPT-2's byte↔unicode table.
        case byteLevel
        /// As UTF-8 with spaces written ▁, bytes as `<0xNN>` tokens (SentencePiece's convention).
        case sentencePiece
    }

    let spelling: Spelling

    private struct Merge: Sendable {
        let rank: Int32
        let result: Int32
    }

    public init(file: GGUFFile) throws {
        try self.init(file: file, spelling: .byteLevel)
    }

    init(file: GGUFFile, spelling: Spelling) throws {
        let meta = try VocabularyMetadata(file: file)
        // llama.cpp gives every gemma4 vocabulary Gemma 4's rules, whatever the file says.
        let preName = spelling == .sentencePiece ? "gemma4" : try file.string("tokenizer.ggml.pre") ?? "default"
        guard let pre = PreTokenizer.byName[preName] else {
            throw TokenizerError.unknownPreTokenizer(path: file.path, pre: preName, supported: PreTokenizer.supportedNames,
                                                     nearest: PreTokenizer.nearestName(to: preName))
        }
        let mergeLines = try file.stringArray("tokenizer.ggml.merges") ?? []
        try self.init(metadata: meta, preTokenizer: pre, mergeLines: mergeLines, spelling: spelling)
    }

    init(metadata meta: VocabularyMetadata, preTokenizer: PreTokenizer, mergeLines: [String],
         spelling: Spelling = .byteLevel) throws {
        self.spelling = spelling
        func spelled(_ text: String) -> [UInt8]? {
            spelling == .byteLevel ? ByteLevel.bytes(of: text) : Array(text.utf8)
        }
        tokens = meta.tokens
        kinds = meta.kinds
        vocabularySize = meta.tokens.count
        bosTokenID = meta.bosTokenID
        eosTokenID = meta.eosTokenID
        unknownTokenID = meta.unknownTokenID
        endOfGenerationTokenIDs = meta.endOfGenerationTokenIDs
        // Family default when the file does not say: Llama 3 and Tekken start every sequence with
        // BOS; GPT-2, Qwen2 and most others add nothing.
        addsBOS = meta.addsBOSKey ?? preTokenizer.addsBOSByDefault
        self.preTokenizer = preTokenizer
        splitter = SpecialTokenSplitter(tokens: meta.tokens, kinds: meta.kinds)

        var decoded = ByteStrings()
        var spellable = ByteStrings()
        var isSpellable: [Bool] = []
        for (id, text) in meta.tokens.enumerated() {
            let bytes = spelled(text)
            isSpellable.append(bytes != nil)
            spellable.append(bytes ?? [])
            switch (spelling, meta.kinds[id]) {
            case (.byteLevel, .normal), (.byteLevel, .byte), (.byteLevel, .unused):
                decoded.append(bytes ?? Array(text.utf8))
            case (.sentencePiece, .byte):
                decoded.append(SentencePieceTokenizer.byteValue(text).map { [$0] } ?? Array(text.utf8))
            case (.sentencePiece, .normal), (.sentencePiece, .unused), (.sentencePiece, .userDefined):
                decoded.append(SentencePieceTokenizer.unescape(text))
            case (_, .control), (_, .userDefined), (_, .unknown):
                decoded.append(text.utf8)
            }
        }
        tokenBytes = decoded
        let lookup = ByteStringTable(keys: spellable, include: { isSpellable[$0] })
        byteLookup = lookup
        let hex = Array("0123456789ABCDEF".utf8)
        let singleBytes = (0..<256).map { b in
            Int32(lookup.id(of: spelling == .byteLevel ? [UInt8(b)] : Array("<0x".utf8) + [hex[b >> 4], hex[b & 15], 0x3E]) ?? -1)
        }
        byteTokens = singleBytes

        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(mergeLines.count)
        for (rank, line) in mergeLines.enumerated() {
            // The separator is the first space after the first character, so a part may itself be a space.
            let scalars = Array(line.unicodeScalars)
            guard let split = scalars.indices.dropFirst().first(where: { scalars[$0] == " " }) else {
                throw TokenizerError.badMerge(path: meta.path, index: rank, line: line)
            }
            var left = String.UnicodeScalarView()
            left.append(contentsOf: scalars[..<split])
            var right = String.UnicodeScalarView()
            right.append(contentsOf: scalars[(split + 1)...])
            // A merge whose parts or result are not tokens can never produce a token; the reference
            // (Hugging Face tokenizers) refuses such files, we skip the line.
            guard let leftBytes = spelled(String(left)), let rightBytes = spelled(String(right)),
                  let leftID = lookup.id(of: leftBytes), let rightID = lookup.id(of: rightBytes),
                  let resultID = lookup.id(of: leftBytes + rightBytes) else { continue }
            let key = UInt64(leftID) << 32 | UInt64(rightID)
            if merges[key] == nil { merges[key] = Merge(rank: Int32(rank), result: Int32(resultID)) }
        }
        self.merges = merges
        // Every text is spelled from byte tokens up: without one for some byte (and no unknown
        // token to stand for it) that byte would vanish from the text without a word. Ordinary text
        // needs printable ASCII, tab, newline, carriage return and the bytes of UTF-8 up to plane 3;
        // a vocabulary may lack the other control bytes and the lead bytes of planes 4–16
        // (Falcon's lacks 16 of them), which are then dropped when encoding, as llama.cpp drops them.
        let missing = (0..<256).filter { singleBytes[$0] < 0 && BPETokenizer.isTextByte(UInt8($0)) }.map { UInt8($0) }
        if !missing.isEmpty && meta.unknownTokenID == nil {
            throw TokenizerError.missingByteTokens(path: meta.path, bytes: missing)
        }
    }

    /// Bytes that ordinary text is made of (see the check in `init`).
    static func isTextByte(_ b: UInt8) -> Bool {
        b == 0x09 || b == 0x0A || b == 0x0D || (0x20...0x7E).contains(b) || (0x80...0xBF).contains(b) || (0xC2...0xF0).contains(b)
    }

    public func piece(_ id: Int) -> String {
        tokens.indices.contains(id) ? tokens[id] : ""
    }

    public func bytes(of id: Int, includeSpecial: Bool) -> [UInt8] {
        guard tokens.indices.contains(id) else { return [] }
        switch kinds[id] {
        case .control, .unknown:
            return includeSpecial ? Array(tokenBytes[id]) : []
        default:
            return Array(tokenBytes[id])
        }
    }

    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int] {
        var output: [Int] = []
        if addBOS, let bosTokenID { output.append(bosTokenID) }
        let bytes = Array(text.utf8)
        var scratch = MergeScratch()
        var escaped: [UInt8] = []
        for fragment in splitter.split(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case let .token(id):
                output.append(id)
            case let .text(range) where spelling == .sentencePiece:
                // Spaces are written ▁ before splitting, as the vocabulary spells them.
                escaped.removeAll(keepingCapacity: true)
                for b in bytes[range] {
                    if b == 0x20 { escaped.append(contentsOf: [0xE2, 0x96, 0x81]) } else { escaped.append(b) }
                }
                encodeText(escaped, range: 0..<escaped.count, into: &output, scratch: &scratch)
            case let .text(range):
                encodeText(bytes, range: range, into: &output, scratch: &scratch)
            }
        }
        return output
    }

    private func encodeText(_ bytes: [UInt8], range: Range<Int>, into output: inout [Int], scratch: inout MergeScratch) {
        bytes.withUnsafeBufferPointer { buffer in
            for word in preTokenizer.words(in: bytes, range: range) {
                encodeWord(UnsafeBufferPointer(rebasing: buffer[word]), into: &output, scratch: &scratch)
            }
        }
    }

    /// Reusable buffers so that a long text does not allocate per word.
    private struct MergeScratch {
        var ids: [Int32] = []
        var next: [Int32] = []
        var prev: [Int32] = []
        /// Byte offset in the word where each symbol starts.
        var starts: [Int32] = []
        var queue = PriorityQueue<Candidate>()
    }

    /// A mergeable adjacent pair. The lowest rank is merged first, the leftmost among equals.
    private struct Candidate: Comparable {
        let rank: Int32
        let left: Int32
        let right: Int32
        let leftID: Int32
        let rightID: Int32
        let result: Int32

        static func < (a: Candidate, b: Candidate) -> Bool {
            a.rank != b.rank ? a.rank > b.rank : a.left > b.left
        }
        static func == (a: Candidate, b: Candidate) -> Bool { a.rank == b.rank && a.left == b.left }
    }

    private func encodeWord(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int], scratch s: inout MergeScratch) {
        if preTokenizer.ignoresMerges || (preTokenizer.keepsLineFeedRuns && word.allSatisfy { $0 == 0x0A }),
           let id = byteLookup.id(of: word) {
            output.append(id)
            return
        }
        s.ids.removeAll(keepingCapacity: true)
        s.next.removeAll(keepingCapacity: true)
        s.prev.removeAll(keepingCapacity: true)
        s.starts.removeAll(keepingCapacity: true)
        s.queue.removeAll()
        // One symbol per byte, or per UTF-8 character for the ▁-spelled vocabularies.
        var offset = 0
        while offset < word.count {
            var length = 1
            if spelling == .sentencePiece {
                let lead = word[offset]
                length = min(lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, word.count - offset)
            }
            let i = s.ids.count
            s.ids.append(length == 1 && spelling == .byteLevel ? byteTokens[Int(word[offset])]
                         : Int32(byteLookup.id(of: UnsafeBufferPointer(rebasing: word[offset..<offset + length])) ?? -1))
            s.starts.append(Int32(offset))
            s.prev.append(Int32(i - 1))
            s.next.append(-1)
            if i > 0 { s.next[i - 1] = Int32(i) }
            offset += length
        }
        let n = s.ids.count

        func consider(_ left: Int32, _ right: Int32, _ s: inout MergeScratch) {
            guard left >= 0, right >= 0 else { return }
            let a = s.ids[Int(left)], b = s.ids[Int(right)]
            guard a >= 0, b >= 0, let merge = merges[UInt64(a) << 32 | UInt64(b)] else { return }
            s.queue.push(Candidate(rank: merge.rank, left: left, right: right, leftID: a, rightID: b, result: merge.result))
        }

        for i in 1..<max(n, 1) { consider(Int32(i - 1), Int32(i), &s) }
        while let c = s.queue.pop() {
            let l = Int(c.left), r = Int(c.right)
            // Stale when either side has since been merged into something else: a merged symbol
            // always has a different id, and a symbol merged away has id -2.
            guard s.ids[l] == c.leftID, s.ids[r] == c.rightID else { continue }
            s.ids[l] = c.result
            s.ids[r] = -2
            let after = s.next[r]
            s.next[l] = after
            if after >= 0 { s.prev[Int(after)] = c.left }
            consider(s.prev[l], c.left, &s)
            consider(c.left, after, &s)
        }

        var i: Int32 = n > 0 ? 0 : -1
        while i >= 0 {
            let id = s.ids[Int(i)]
            let after = s.next[Int(i)]
            if id >= 0 {
                output.append(Int(id))
            } else {
                // A piece that is no token: its bytes' tokens; a byte the vocabulary cannot spell
                // becomes the unknown token, or is dropped as llama.cpp drops it.
                let end = after >= 0 ? Int(s.starts[Int(after)]) : word.count
                for b in word[Int(s.starts[Int(i)])..<end] {
                    if byteTokens[Int(b)] >= 0 {
                        output.append(Int(byteTokens[Int(b)]))
                    } else if let unknownTokenID {
                        output.append(unknownTokenID)
                    }
                }
            }
            i = after
        }
    }
}

/// GPT-2's reversible byte↔unicode table: printable bytes stand for themselves, the rest are
/// shifted to U+0100 and up, so every byte string is spelled by visible characters.
enum ByteLevel {
    static let scalarOfByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var shifted: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = shifted
                shifted += 1
            }
        }
        return table
    }()

    static let byteOfScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, scalar) in scalarOfByte.enumerated() { table[Int(scalar)] = Int16(b) }
        return table
    }()

    /// The bytes a token spelled in the table stands for, or nil when it uses other characters.
    static func bytes(of text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let v = Int(scalar.value)
            guard v < byteOfScalar.count, byteOfScalar[v] >= 0 else { return nil }
            out.append(UInt8(byteOfScalar[v]))
        }
        return out
    }
}
