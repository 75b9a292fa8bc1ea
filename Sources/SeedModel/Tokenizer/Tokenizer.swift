/// Turns text into token ids and back, as the model's own tokenizer does.
public protocol Tokenizer: Sendable {
    var vocabularySize: Int { get }
    var bosTokenID: Int? { get }
    var eosTokenID: Int? { get }
    /// Token ids that end generation (EOS, plus EOT-like tokens such as <|eot_id|>, <|im_end|>, <|end|> when present).
    var endOfGenerationTokenIDs: Set<Int> { get }
    /// `tokenizer.ggml.add_bos_token` (family default when absent: true for llama/SPM, false for gpt2 BPE).
    var addsBOS: Bool { get }
    /// Encode text. parseSpecial=false: control tokens' text (e.g. "<s>") is NOT matched as the control token;
    /// user-defined (added) tokens (token_type 4) are always matched, as the reference tokenizers do.
    func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int]
    /// The raw bytes a token stands for (byte-level BPE decoded through the byte↔unicode table,
    /// SPM ▁ → space, <0xNN> → byte). Control tokens give [] unless includeSpecial.
    func bytes(of id: Int, includeSpecial: Bool) -> [UInt8]
    /// The vocabulary's own string for the id (as stored in tokenizer.ggml.tokens).
    func piece(_ id: Int) -> String
    /// Whether decoding drops one space from the start of the text: SentencePiece encoding adds
    /// one ("add_space_prefix"), so decoding removes it again to give back the original text.
    var decodeRemovesLeadingSpace: Bool { get }
}

extension Tokenizer {
    public var decodeRemovesLeadingSpace: Bool { false }

    /// Why a model with tokenizer `draft` cannot draft for one with this tokenizer, or nil. Its
    /// tokens must mean the same text: the same string for every id both have, sizes apart by
    /// at most 128 padding entries (Qwen2.5-7B has 152,064, its 0.5B sibling 151,936).
    public func draftMismatch(_ draft: any Tokenizer) -> String? {
        if abs(vocabularySize - draft.vocabularySize) > 128 {
            return "the draft has \(draft.vocabularySize) tokens and the target \(vocabularySize), more than 128 apart"
        }
        for id in 0..<min(vocabularySize, draft.vocabularySize) where piece(id) != draft.piece(id) {
            return "token \(id) is '\(draft.piece(id))' in the draft but '\(piece(id))' in the target"
        }
        return nil
    }

    public func encode(_ text: String) -> [Int] {
        encode(text, addBOS: addsBOS, parseSpecial: false)
    }

    /// The tokens' bytes concatenated; bytes that are not valid UTF-8 become U+FFFD.
    public func decode(_ ids: [Int], includeSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        var state = LeadingSpaceState(enabled: decodeRemovesLeadingSpace)
        for id in ids {
            bytes.append(contentsOf: state.process(self.bytes(of: id, includeSpecial: includeSpecial)))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Drops the space that SentencePiece prefixed to the text: it sits at the start of the first token
/// that has any bytes (leading control tokens such as BOS decode to nothing). This is SentencePiece's
/// rule; llama.cpp keeps the space after a leading BOS, which would break `decode(encode(s)) == s`
/// since `encode` adds BOS by default. Shared by `decode` and `StreamingDetokenizer` so both agree.
struct LeadingSpaceState: Sendable {
    private var pending: Bool

    init(enabled: Bool) { pending = enabled }

    mutating func process(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        guard pending, let first = bytes.first else { return bytes[...] }
        pending = false
        return first == 0x20 ? bytes.dropFirst() : bytes[...]
    }
}

/// The tokenizer a GGUF file describes, chosen by `tokenizer.ggml.model`.
public func loadTokenizer(from file: GGUFFile) throws -> any Tokenizer {
    let model = try file.string("tokenizer.ggml.model") ?? ""
    switch model {
    case "gpt2":
        return try BPETokenizer(file: file)
    case "gemma4":
        return try BPETokenizer(file: file, spelling: .sentencePiece)
    case "llama":
        return try SentencePieceTokenizer(file: file)
    default:
        guard try file.stringArray("tokenizer.ggml.tokens")?.isEmpty == false else {
            throw TokenizerError.missingTokens(path: file.path)
        }
        throw TokenizerError.unknownModel(path: file.path, model: model, supported: ["gpt2", "llama", "gemma4"])
    }
}
