/// Emits text as tokens arrive, never half a UTF-8 character (holds incomplete trailing bytes until completed).
/// At the start of a text the concatenation of everything returned equals `tokenizer.decode(ids)`
/// of the same ids; after a prompt with text it is the tokens' own text.
public struct StreamingDetokenizer: Sendable {
    private let tokenizer: any Tokenizer
    private var pending: [UInt8] = []
    private var leadingSpace: LeadingSpaceState

    /// `continuing`: the tokens before the streamed ones (a prompt). A SentencePiece decode drops
    /// the space its encoder put before the first word of a text; a completion that continues a
    /// prompt with text is not the start of one, and its first word's space separates it from the
    /// prompt ("Hello" + "▁world" is "Hello world"), so it is kept.
    public init(tokenizer: any Tokenizer, continuing prompt: [Int] = []) {
        self.tokenizer = tokenizer
        let atStart = !prompt.contains { !tokenizer.bytes(of: $0, includeSpecial: false).isEmpty }
        leadingSpace = LeadingSpaceState(enabled: tokenizer.decodeRemovesLeadingSpace && atStart)
    }

    public mutating func append(_ id: Int) -> String {
        pending.append(contentsOf: leadingSpace.process(tokenizer.bytes(of: id, includeSpecial: false)))
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Whatever is still held, invalid bytes repaired as `decode` repairs them.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// How many bytes can be emitted now: all but a trailing sequence that a later token could still
    /// complete (a lead byte followed by fewer continuation bytes than it announces). Cutting just
    /// before a lead byte decodes the same as the whole would, so the pieces add up to `decode`.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        var i = bytes.count - 1
        let lowest = max(0, bytes.count - 4)
        while i >= lowest, bytes[i] & 0xC0 == 0x80 { i -= 1 }
        guard i >= lowest else { return bytes.count }
        let lead = bytes[i]
        let width = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead < 0xF0 ? 3 : lead >= 0xC2 && lead < 0xE0 ? 2 : 1
        return bytes.count - i < width ? i : bytes.count
    }
}
