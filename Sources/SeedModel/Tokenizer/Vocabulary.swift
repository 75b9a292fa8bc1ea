/// The role of a vocabulary entry, from `tokenizer.ggml.token_type` (llama.cpp's numbering).
enum TokenKind: Sendable, Equatable {
    case normal, unknown, control, userDefined, unused, byte

    init(ggufType: Int) {
        switch ggufType {
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        // 1 is normal; 0 ("undefined") and anything newer are treated as ordinary text.
        default: self = .normal
        }
    }
}

/// What both tokenizer families read from the GGUF metadata in the same way.
struct VocabularyMetadata: Sendable {
    let path: String
    let tokens: [String]
    let kinds: [TokenKind]
    let bosTokenID: Int?
    let eosTokenID: Int?
    let unknownTokenID: Int?
    let endOfGenerationTokenIDs: Set<Int>
    let addsBOSKey: Bool?

    /// Texts of end-of-turn tokens across chat formats; a control or user-defined token with one of
    /// these texts ends generation even when the file names only EOS (Llama 3, ChatML, Phi-3, Gemma…).
    static let endOfTurnTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
        "<EOT>", "<|end_of_text|>",
    ]

    init(file: GGUFFile) throws {
        path = file.path
        guard let tokens = try file.stringArray("tokenizer.ggml.tokens"), !tokens.isEmpty else {
            throw TokenizerError.missingTokens(path: file.path)
        }
        self.tokens = tokens
        if let types = try file.numberArray("tokenizer.ggml.token_type") {
            guard types.count == tokens.count else {
                throw TokenizerError.mismatchedLength(path: path, key: "tokenizer.ggml.token_type",
                                                      count: types.count, expected: tokens.count)
            }
            kinds = types.map { TokenKind(ggufType: Int($0)) }
        } else {
            kinds = Array(repeating: .normal, count: tokens.count)
        }

        func tokenID(_ key: String) throws -> Int? {
            guard let id = try file.int(key) else { return nil }
            guard id >= 0, id < tokens.count else {
                throw TokenizerError.tokenIDOutOfRange(path: file.path, key: key, id: id, vocabularySize: tokens.count)
            }
            return id
        }
        bosTokenID = try tokenID("tokenizer.ggml.bos_token_id")
        eosTokenID = try tokenID("tokenizer.ggml.eos_token_id")
        unknownTokenID = try tokenID("tokenizer.ggml.unknown_token_id")
        var eog = Set<Int>()
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
            if let id = try tokenID(key) { eog.insert(id) }
        }
        for (id, text) in tokens.enumerated()
        where (kinds[id] == .control || kinds[id] == .userDefined) && Self.endOfTurnTexts.contains(text) {
            eog.insert(id)
        }
        endOfGenerationTokenIDs = eog
        addsBOSKey = try file.bool("tokenizer.ggml.add_bos_token")
    }
}

/// One piece of input after special tokens have been cut out of it.
enum TextFragment: Equatable {
    case text(Range<Int>)
    case token(Int)
}

/// Cuts the tokens that are matched verbatim out of the text before the model's own algorithm
/// runs: user-defined tokens always, control and unknown tokens only when parsing special tokens.
/// Longer tokens are cut first across the whole text, then shorter ones in what remains,
/// which is the order the reference implementation uses (it decides overlapping matches).
struct SpecialTokenSplitter: Sendable {
    private struct Entry: Sendable {
        let id: Int
        let bytes: [UInt8]
        let alwaysMatched: Bool
    }

    private let entries: [Entry]

    init(tokens: [String], kinds: [TokenKind]) {
        var entries: [Entry] = []
        for (id, kind) in kinds.enumerated() where kind == .userDefined || kind == .control || kind == .unknown {
            let bytes = Array(tokens[id].utf8)
            guard !bytes.isEmpty else { continue }
            entries.append(Entry(id: id, bytes: bytes, alwaysMatched: kind == .userDefined))
        }
        // Stable order for equal lengths (lower id first) so results never depend on sort internals.
        self.entries = entries.enumerated().sorted {
            $0.element.bytes.count != $1.element.bytes.count
                ? $0.element.bytes.count > $1.element.bytes.count : $0.offset < $1.offset
        }.map(\.element)
    }

    func split(_ text: [UInt8], parseSpecial: Bool) -> [TextFragment] {
        guard !text.isEmpty else { return [] }
        var fragments: [TextFragment] = [.text(0..<text.count)]
        for entry in entries where parseSpecial || entry.alwaysMatched {
            var next: [TextFragment] = []
            var changed = false
            for fragment in fragments {
                guard case let .text(range) = fragment else {
                    next.append(fragment)
                    continue
                }
                var start = range.lowerBound
                var position = range.lowerBound
                let needle = entry.bytes
                while position + needle.count <= range.upperBound {
                    if text[position] == needle[0], text[position..<position + needle.count].elementsEqual(needle) {
                        if start < position { next.append(.text(start..<position)) }
                        next.append(.token(entry.id))
                        position += needle.count
                        start = position
                        changed = true
                    } else {
                        position += 1
                    }
                }
                if start < range.upperBound { next.append(.text(start..<range.upperBound)) }
            }
            if changed { fragments = next }
        }
        return fragments
    }
}
