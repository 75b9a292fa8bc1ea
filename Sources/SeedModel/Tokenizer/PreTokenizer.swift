/// Splits text into words before byte-level BPE, like the regular expression each model family was
/// trained with. The expressions are implemented as hand-written scanners over Unicode scalars:
/// a regex engine would be slower and Foundation's lacks \p{…} classes on Linux.
enum PreTokenizer: Sendable, Equatable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3
    /// Qwen 2: as Llama 3 but digits one at a time (`\p{N}`).
    case qwen2

    /// `tokenizer.ggml.pre` values and what they mean; "default" is what converters write when
    /// they did not recognise the tokenizer, and GPT-2's rules are the byte-level BPE baseline.
    static let byName: [String: PreTokenizer] = [
        "gpt-2": .gpt2, "default": .gpt2,
        "llama-bpe": .llama3, "llama3": .llama3,
        "qwen2": .qwen2,
    ]

    static var supportedNames: [String] { byName.keys.sorted() }

    /// Whether a word that is itself a vocabulary token is emitted whole without running merges
    /// (Llama 3's tokenizer has `ignore_merges`).
    var ignoresMerges: Bool { self == .llama3 }

    /// Byte ranges (absolute offsets into `text`) of the words of `text[range]`, in order and covering it.
    func words(in text: [UInt8], range: Range<Int>) -> [Range<Int>] {
        var scanner = WordScanner(text: text, range: range)
        switch self {
        case .gpt2: return scanner.splitGPT2()
        case .llama3: return scanner.splitLlama3(maxDigits: 3)
        case .qwen2: return scanner.splitLlama3(maxDigits: 1)
        }
    }
}

/// The character classes the expressions use, per scalar.
private struct ScalarClass: OptionSet {
    let rawValue: UInt8
    static let letter = ScalarClass(rawValue: 1)
    static let number = ScalarClass(rawValue: 2)
    static let whitespace = ScalarClass(rawValue: 4)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ scalar: Unicode.Scalar) {
        var c: ScalarClass = []
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            c.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            c.insert(.number)
        default:
            break
        }
        if properties.isWhitespace { c.insert(.whitespace) }
        self = c
    }

    static let ascii: [ScalarClass] = (0..<128).map { ScalarClass(Unicode.Scalar(UInt8($0))) }

    static func of(_ value: UInt32) -> ScalarClass {
        if value < 128 { return ascii[Int(value)] }
        return Unicode.Scalar(value).map(ScalarClass.init) ?? []
    }
}

/// Decodes the range into scalars and classes once, then each split walks them; positions past
/// the end read as "no scalar", which is what the lookaheads of the expressions need.
private struct WordScanner {
    private var scalars: [UInt32] = []
    private var classes: [ScalarClass] = []
    /// Byte offset of each scalar, plus the end offset.
    private var offsets: [Int] = []
    private var words: [Range<Int>] = []
    private var wordStart = 0

    init(text: [UInt8], range: Range<Int>) {
        scalars.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            // The bytes come from a Swift String, so they are valid UTF-8.
            let lead = text[i]
            let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            var value = UInt32(lead) & (length == 1 ? 0x7F : length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
            for k in 1..<max(length, 1) where i + k < range.upperBound {
                value = value << 6 | UInt32(text[i + k] & 0x3F)
            }
            scalars.append(value)
            classes.append(ScalarClass.of(value))
            offsets.append(i)
            i += length
        }
        offsets.append(range.upperBound)
    }

    private var count: Int { scalars.count }

    private func scalar(_ i: Int) -> UInt32? { i < count ? scalars[i] : nil }
    private func cls(_ i: Int) -> ScalarClass { i < count ? classes[i] : [] }
    private func isLetter(_ i: Int) -> Bool { cls(i).contains(.letter) }
    private func isNumber(_ i: Int) -> Bool { cls(i).contains(.number) }
    private func isWhitespace(_ i: Int) -> Bool { cls(i).contains(.whitespace) }
    /// `[^\s\p{L}\p{N}]`: any scalar that exists and is none of the three.
    private func isOther(_ i: Int) -> Bool { i < count && cls(i).isEmpty }
    private func isNewline(_ i: Int) -> Bool { scalar(i) == 0x0A || scalar(i) == 0x0D }

    private mutating func emit(upTo end: Int) {
        if end > wordStart { words.append(offsets[wordStart]..<offsets[end]) }
        wordStart = end
    }

    /// Length of a contraction `'s 't 'm 'd 're 've 'll` at `i` (ASCII letters, optionally either case), or 0.
    private func contraction(at i: Int, caseInsensitive: Bool) -> Int {
        guard scalar(i) == 0x27, let next = scalar(i + 1) else { return 0 }
        func lower(_ v: UInt32) -> UInt32 {
            caseInsensitive && v >= 0x41 && v <= 0x5A ? v + 0x20 : v
        }
        let a = lower(next)
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
        guard let after = scalar(i + 2) else { return 0 }
        let b = lower(after)
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
        return 0
    }

    /// Whitespace: `\s+(?!\S)` leaves the last whitespace scalar for the next word when a
    /// non-space follows, else `\s+` takes the run.
    private mutating func whitespaceRun(at start: Int) -> Bool {
        var end = start
        while isWhitespace(end) { end += 1 }
        guard end > start else { return false }
        if end - start > 1, end < count { end -= 1 }
        emit(upTo: end)
        return true
    }

    mutating func splitGPT2() -> [Range<Int>] {
        var i = 0
        while i < count {
            let c = contraction(at: i, caseInsensitive: false)
            if c > 0 {
                i += c
                emit(upTo: i)
                continue
            }
            // ` ?X+` for the three classes: an optional leading space joins the run after it.
            let head = scalar(i) == 0x20 && i + 1 < count ? i + 1 : i
            if isLetter(head) {
                i = head
                while isLetter(i) { i += 1 }
                emit(upTo: i)
                continue
            }
            if isNumber(head) {
                i = head
                while isNumber(i) { i += 1 }
                emit(upTo: i)
                continue
            }
            if isOther(head) {
                i = head
                while isOther(i) { i += 1 }
                emit(upTo: i)
                continue
            }
            if whitespaceRun(at: i) {
                i = wordStart
                continue
            }
            i += 1
            emit(upTo: i)
        }
        return words
    }

    mutating func splitLlama3(maxDigits: Int) -> [Range<Int>] {
        var i = 0
        while i < count {
            let c = contraction(at: i, caseInsensitive: true)
            if c > 0 {
                i += c
                emit(upTo: i)
                continue
            }
            // `[^\r\n\p{L}\p{N}]?\p{L}+`
            if !isNewline(i), !isNumber(i), isLetter(i) || isLetter(i + 1) {
                i += 1
                while isLetter(i) { i += 1 }
                emit(upTo: i)
                continue
            }
            // `\p{N}{1,maxDigits}`
            if isNumber(i) {
                var run = 0
                while isNumber(i), run < maxDigits {
                    i += 1
                    run += 1
                }
                emit(upTo: i)
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let head = scalar(i) == 0x20 ? i + 1 : i
            if isOther(head) {
                i = head
                while isOther(i) { i += 1 }
                while isNewline(i) { i += 1 }
                emit(upTo: i)
                continue
            }
            // `\s*[\r\n]+`: a whitespace run that contains a newline ends after its last newline.
            var end = i
            var afterLastNewline: Int?
            while isWhitespace(end) {
                if isNewline(end) { afterLastNewline = end + 1 }
                end += 1
            }
            if let afterLastNewline {
                i = afterLastNewline
                emit(upTo: i)
                continue
            }
            if whitespaceRun(at: i) {
                i = wordStart
                continue
            }
            i += 1
            emit(upTo: i)
        }
        return words
    }
}
