/// Splits text into words before byte-level BPE, like the regular expressions each model family was
/// trained with. A family's rules are a list of passes: the first splits the text, each later one
/// splits every piece the one before left (matched runs and the gaps between them alike), as
/// llama.cpp applies the expressions of `tokenizer.ggml.pre`. The expressions are implemented as
/// hand-written scanners over Unicode scalars: a regex engine would be slower and Foundation's lacks
/// \p{…} classes on Linux.
struct PreTokenizer: Sendable, Equatable {
    /// The family's name in messages and tests (one of the names that select it).
    let family: String
    let passes: [SplitPass]
    /// Whether a word that is itself a vocabulary token is emitted whole without running merges
    /// (the tokenizers with `ignore_merges`: Llama 3, Tekken).
    let ignoresMerges: Bool
    /// Whether sequences start with BOS when the file does not say (`tokenizer.ggml.add_bos_token`).
    let addsBOSByDefault: Bool

    /// Whether a word made only of line feeds that is a vocabulary token is emitted whole (Gemma 4).
    let keepsLineFeedRuns: Bool

    init(_ family: String, _ passes: [SplitPass], ignoresMerges: Bool = false, addsBOS: Bool = false,
         keepsLineFeedRuns: Bool = false) {
        self.family = family
        self.passes = passes
        self.ignoresMerges = ignoresMerges
        addsBOSByDefault = addsBOS
        self.keepsLineFeedRuns = keepsLineFeedRuns
    }

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    static let gpt2 = PreTokenizer("gpt-2", [.gpt2])
    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    static let llama3 = PreTokenizer("llama3", [.llama3(maxDigits: 3, marksAreLetters: false)], ignoresMerges: true, addsBOS: true)
    /// Qwen 2: as Llama 3 but digits one at a time (`\p{N}`).
    static let qwen2 = PreTokenizer("qwen2", [.llama3(maxDigits: 1, marksAreLetters: false)])
    /// Qwen 3.5: as Qwen 2 with combining marks counted with letters (`[\p{L}\p{M}]+`).
    static let qwen35 = PreTokenizer("qwen35", [.llama3(maxDigits: 1, marksAreLetters: true)])
    /// StarCoder, SmolLM, Refact, Command R…: every digit alone (`\p{N}`), then GPT-2's rules.
    static let starcoder = PreTokenizer("smollm", [.isolate(.number, maxRun: 1), .gpt2])
    /// Falcon: runs of punctuation and `$+<=>^~|\``, GPT-2's rules, then ASCII digits in threes.
    static let falcon = PreTokenizer("falcon", [.isolate(.falconPunctuation, maxRun: nil), .gpt2, .asciiDigitTriples])
    /// DeepSeek LLM: newlines, cased-letter words, ASCII/full-width punctuation, trailing spaces, CJK, digit runs.
    static let deepseekLLM = PreTokenizer("deepseek-llm", [
        .isolate(.newline, maxRun: 1), .spaceThenRun(.casedLetter, anyWhitespace: true),
        .spaceThenRun(.deepseekPunctuation, anyWhitespace: true),
        .trailingWhitespace, .isolate(.deepseekCJK, maxRun: nil), .isolate(.number, maxRun: nil),
    ])
    /// DeepSeek Coder: newlines, letter words, punctuation runs, CJK, single digits.
    static let deepseekCoder = PreTokenizer("deepseek-coder", [
        .isolate(.newline, maxRun: 1), .spaceThenRun(.letter, anyWhitespace: true),
        .spaceThenRun(.punctuation, anyWhitespace: true),
        .isolate(.deepseekCJK, maxRun: nil), .isolate(.number, maxRun: 1),
    ])
    /// DeepSeek V3: digits in threes, kana/CJK runs, then words with marks and punctuation runs.
    static let deepseekV3 = PreTokenizer("deepseek-v3", [
        .isolate(.number, maxRun: 3), .isolate(.kanaCJK, maxRun: nil), .deepseekV3,
    ])
    /// Tekken (Mistral Nemo): words split where lower case turns to upper, single digits.
    static let tekken = PreTokenizer("tekken", [.casedWords(maxDigits: 1, contractions: false)],
                                     ignoresMerges: true, addsBOS: true)
    /// GPT-4o (Llama 4…): as Tekken with English contractions kept on the word, digits in threes.
    static let gpt4o = PreTokenizer("gpt-4o", [.casedWords(maxDigits: 3, contractions: true)])
    /// Gemma 4 (text with spaces written ▁): lines and runs of line feeds; a run that is a token stays whole.
    static let gemma4 = PreTokenizer("gemma4", [.isolate(.lineFeed, maxRun: nil)], addsBOS: true, keepsLineFeedRuns: true)
    /// BLOOM, Poro, GPT-3 Finnish: ` ?[^(\s|.,!?…。，、।۔،)]+`.
    static let bloom = PreTokenizer("bloom", [.spaceThenRun(.notBloomBreak, anyWhitespace: false)])
    /// Viking: BLOOM's rule, then single digits.
    static let viking = PreTokenizer("viking", [.spaceThenRun(.notBloomBreak, anyWhitespace: false), .isolate(.number, maxRun: 1)])

    /// `tokenizer.ggml.pre` values and their rules, as llama.cpp's vocabulary loader maps them.
    /// "default" is what converters write when they did not recognise the tokenizer, and GPT-2's
    /// rules are the byte-level BPE baseline.
    static let byName: [String: PreTokenizer] = {
        let groups: [(PreTokenizer, [String])] = [
            (gpt2, ["default", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
                    "a.x-4.0", "mellum", "modern-bert", "mpt", "olmo", "jais", "exaone4", "trillion",
                    "granite-docling", "gpt-neox"]),
            (llama3, ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                      "jina-v5-nano"]),
            // Llama 3's expression without its ignore-merges and BOS settings.
            (PreTokenizer("dbrx", [.llama3(maxDigits: 3, marksAreLetters: false)]), ["dbrx", "smaug-bpe", "chatglm-bpe"]),
            (PreTokenizer("glm4", [.llama3(maxDigits: 3, marksAreLetters: false)], ignoresMerges: true), ["glm4", "glm5"]),
            (qwen2, ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan",
                     "solar-open", "grok-2"]),
            (qwen35, ["qwen35"]),
            (starcoder, ["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", "mellum2"]),
            (falcon, ["falcon"]),
            (deepseekLLM, ["deepseek-llm"]),
            (deepseekCoder, ["deepseek-coder"]),
            (deepseekV3, ["deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"]),
            (tekken, ["tekken"]),
            (gpt4o, ["gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"]),
            (bloom, ["bloom", "poro-chat", "gpt3-finnish"]),
            (viking, ["viking"]),
            (gemma4, ["gemma4"]),
        ]
        var table: [String: PreTokenizer] = [:]
        for (rules, names) in groups {
            for name in names { table[name] = rules }
        }
        return table
    }()

    static var supportedNames: [String] { byName.keys.sorted() }

    /// The supported name closest to `name` by edit distance (ignoring case), or nil when none is
    /// close enough to be a likely misspelling.
    static func nearestName(to name: String) -> String? {
        let target = Array(name.lowercased().unicodeScalars)
        let ranked = supportedNames.map { ($0, NearestName.editDistance(target, Array($0.unicodeScalars))) }
        guard let best = ranked.min(by: { $0.1 < $1.1 }), best.1 <= max(2, target.count / 2) else { return nil }
        return best.0
    }

    static func == (a: PreTokenizer, b: PreTokenizer) -> Bool {
        a.family == b.family && a.passes == b.passes && a.ignoresMerges == b.ignoresMerges
            && a.addsBOSByDefault == b.addsBOSByDefault && a.keepsLineFeedRuns == b.keepsLineFeedRuns
    }

    /// Byte ranges (absolute offsets into `text`) of the words of `text[range]`, in order and covering it.
    func words(in text: [UInt8], range: Range<Int>) -> [Range<Int>] {
        var scanner = WordScanner(text: text, range: range)
        return scanner.run(passes)
    }
}

/// One expression of a family's list.
enum SplitPass: Sendable, Equatable {
    /// GPT-2's expression.
    case gpt2
    /// Llama 3's expression with `\p{N}{1,maxDigits}`; Qwen 3.5 counts marks as letters.
    case llama3(maxDigits: Int, marksAreLetters: Bool)
    /// `X{1,maxRun}` (or `X+`): every run of the class becomes its own piece.
    case isolate(CharacterSet, maxRun: Int?)
    /// `\s?X+` (or ` ?X+`): a run of the class with the whitespace scalar (the space) before it.
    case spaceThenRun(CharacterSet, anyWhitespace: Bool)
    /// `\s+$`: the whitespace at the end of a piece.
    case trailingWhitespace
    /// `[0-9][0-9][0-9]`.
    case asciiDigitTriples
    /// Tekken's and GPT-4o's expression: words that may start upper case and go on lower case.
    case casedWords(maxDigits: Int, contractions: Bool)
    /// DeepSeek V3's last expression.
    case deepseekV3

    /// The scalar sets the passes name (each a test on a scalar and its categories).
    enum CharacterSet: Sendable, Equatable {
        case number, letter, punctuation, newline
        /// `\n` alone.
        case lineFeed
        /// Upper-, lower- and title-case letters.
        case casedLetter
        /// `[\p{P}\$\+<=>\^~\|\`]`
        case falconPunctuation
        /// `[!-/:-~！-／：-～‘-‟　-。]` (U+3000 is whitespace, which the reference never puts in a class).
        case deepseekPunctuation
        /// `[一-龥ࠀ-一가-퟿]`
        case deepseekCJK
        /// `[一-龥぀-ゟ゠-ヿ]`
        case kanaCJK
        /// `[^(\s|.,!?…。，、।۔،)]`
        case notBloomBreak
    }
}

/// The character classes the expressions use, per scalar.
private struct ScalarClass: OptionSet {
    let rawValue: UInt8
    static let letter = ScalarClass(rawValue: 1)
    static let number = ScalarClass(rawValue: 2)
    static let whitespace = ScalarClass(rawValue: 4)
    static let punctuation = ScalarClass(rawValue: 8)
    static let symbol = ScalarClass(rawValue: 16)
    static let mark = ScalarClass(rawValue: 32)
    static let cased = ScalarClass(rawValue: 64)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ scalar: Unicode.Scalar) {
        var c: ScalarClass = []
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter:
            c.formUnion([.letter, .cased])
        case .modifierLetter, .otherLetter:
            c.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            c.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            c.insert(.punctuation)
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            c.insert(.symbol)
        case .spacingMark, .enclosingMark, .nonspacingMark:
            c.insert(.mark)
        default:
            break
        }
        if properties.isWhitespace { c = .whitespace }
        self = c
    }

    static let ascii: [ScalarClass] = (0..<128).map { ScalarClass(Unicode.Scalar(UInt8($0))) }

    static func of(_ value: UInt32) -> ScalarClass {
        if value < 128 { return ascii[Int(value)] }
        return Unicode.Scalar(value).map(ScalarClass.init) ?? []
    }
}

/// Decodes the range into scalars and classes once; each pass walks the pieces the one before left.
/// Positions past the end of the current piece read as "no scalar", which is what the lookaheads
/// of the expressions need (the reference matches each piece on its own).
private struct WordScanner {
    private var scalars: [UInt32] = []
    private var classes: [ScalarClass] = []
    /// Byte offset of each scalar, plus the end offset.
    private var offsets: [Int] = []
    /// End (exclusive, in scalars) of the piece being split.
    private var end = 0
    /// Boundaries (scalar indices) of the pieces of the current pass.
    private var pieces: [Int] = []
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

    mutating func run(_ passes: [SplitPass]) -> [Range<Int>] {
        var bounds = [0, scalars.count]
        for pass in passes {
            pieces = [0]
            pieces.reserveCapacity(bounds.count * 2)
            for k in 1..<bounds.count where bounds[k] > bounds[k - 1] {
                wordStart = bounds[k - 1]
                end = bounds[k]
                split(pass)
                emit(upTo: end)
            }
            bounds = pieces
        }
        var words: [Range<Int>] = []
        words.reserveCapacity(bounds.count)
        for k in 1..<bounds.count where bounds[k] > bounds[k - 1] {
            words.append(offsets[bounds[k - 1]]..<offsets[bounds[k]])
        }
        return words
    }

    private mutating func split(_ pass: SplitPass) {
        switch pass {
        case .gpt2: splitGPT2()
        case let .llama3(maxDigits, marks): splitLlama3(maxDigits: maxDigits, marksAreLetters: marks)
        case let .isolate(set, maxRun): isolate(set, maxRun: maxRun)
        case let .spaceThenRun(set, anyWhitespace): spaceThenRun(set, anyWhitespace: anyWhitespace)
        case .trailingWhitespace: trailingWhitespace()
        case .asciiDigitTriples: asciiDigitTriples()
        case let .casedWords(maxDigits, contractions): splitCasedWords(maxDigits: maxDigits, contractions: contractions)
        case .deepseekV3: splitDeepSeekV3()
        }
    }

    private func scalar(_ i: Int) -> UInt32? { i < end ? scalars[i] : nil }
    private func cls(_ i: Int) -> ScalarClass { i < end ? classes[i] : [] }
    private func isLetter(_ i: Int) -> Bool { cls(i).contains(.letter) }
    private func isNumber(_ i: Int) -> Bool { cls(i).contains(.number) }
    private func isWhitespace(_ i: Int) -> Bool { cls(i).contains(.whitespace) }
    /// `[^\s\p{L}\p{N}]`: any scalar that exists and is none of the three.
    private func isOther(_ i: Int) -> Bool { i < end && cls(i).isDisjoint(with: [.letter, .number, .whitespace]) }
    private func isNewline(_ i: Int) -> Bool { scalar(i) == 0x0A || scalar(i) == 0x0D }

    private func contains(_ set: SplitPass.CharacterSet, _ i: Int) -> Bool {
        guard let v = scalar(i) else { return false }
        let c = classes[i]
        switch set {
        case .number: return c.contains(.number)
        case .letter: return c.contains(.letter)
        case .punctuation: return c.contains(.punctuation)
        case .newline: return v == 0x0A || v == 0x0D
        case .lineFeed: return v == 0x0A
        case .casedLetter: return c.contains(.cased)
        case .falconPunctuation:
            return c.contains(.punctuation) || v == 0x24 || v == 0x2B || (0x3C...0x3E).contains(v) || v == 0x5E
                || v == 0x7E || v == 0x7C || v == 0x60
        case .deepseekPunctuation:
            return (0x21...0x2F).contains(v) || (0x3A...0x7E).contains(v) || (0xFF01...0xFF0F).contains(v)
                || (0xFF1A...0xFF5E).contains(v) || (0x2018...0x201F).contains(v) || v == 0x3001 || v == 0x3002
        case .deepseekCJK:
            return (0x4E00...0x9FA5).contains(v) || (0x0800...0x4E00).contains(v) || (0xAC00...0xD7FF).contains(v)
        case .kanaCJK:
            return (0x4E00...0x9FA5).contains(v) || (0x3040...0x30FF).contains(v)
        case .notBloomBreak:
            // The class lists ( | ) literally as well as the punctuation.
            if c.contains(.whitespace) { return false }
            switch v {
            case 0x28, 0x7C, 0x29, 0x2E, 0x2C, 0x21, 0x3F, 0x2026, 0x3002, 0xFF0C, 0x3001, 0x0964, 0x06D4, 0x060C:
                return false
            default:
                return true
            }
        }
    }

    /// Ends the piece being built at `end`, leaving the scalars before it that no rule matched as
    /// one piece of their own (as the reference keeps the gaps between matches).
    private mutating func emit(upTo stop: Int) {
        if stop > wordStart {
            pieces.append(stop)
            wordStart = stop
        }
    }

    /// A match from `start` to `stop`: the gap before it becomes a piece, then the match.
    private mutating func match(_ start: Int, _ stop: Int) {
        emit(upTo: start)
        emit(upTo: stop)
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
    private mutating func whitespaceRun(at start: Int) -> Int? {
        var stop = start
        while isWhitespace(stop) { stop += 1 }
        guard stop > start else { return nil }
        if stop - start > 1, stop < end { stop -= 1 }
        return stop
    }

    /// `\s*[\r\n]+`: a whitespace run that contains a newline ends after its last newline.
    private func newlineRun(at start: Int) -> Int? {
        var stop = start
        var afterLastNewline: Int?
        while isWhitespace(stop) {
            if isNewline(stop) { afterLastNewline = stop + 1 }
            stop += 1
        }
        return afterLastNewline
    }

    /// The end of a run of at most `maxDigits` numeric scalars starting at `start` (`\p{N}{1,n}`).
    private func endOfDigits(from start: Int, maxDigits: Int) -> Int {
        var i = start
        while isNumber(i), i - start < maxDigits { i += 1 }
        return i
    }

    private mutating func splitGPT2() {
        var i = wordStart
        while i < end {
            let c = contraction(at: i, caseInsensitive: false)
            if c > 0 {
                i += c
                emit(upTo: i)
                continue
            }
            // ` ?X+` for the three classes: an optional leading space joins the run after it.
            let head = scalar(i) == 0x20 && i + 1 < end ? i + 1 : i
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
            if let stop = whitespaceRun(at: i) {
                i = stop
                emit(upTo: i)
                continue
            }
            i += 1
            emit(upTo: i)
        }
    }

    private mutating func splitLlama3(maxDigits: Int, marksAreLetters: Bool) {
        let letters: ScalarClass = marksAreLetters ? [.letter, .mark] : .letter
        func isWordScalar(_ i: Int) -> Bool { !cls(i).isDisjoint(with: letters) }
        // `[^\s\p{L}(\p{M})\p{N}]`
        func isOtherScalar(_ i: Int) -> Bool { i < end && cls(i).isDisjoint(with: letters.union([.number, .whitespace])) }
        var i = wordStart
        while i < end {
            let c = contraction(at: i, caseInsensitive: true)
            if c > 0 {
                i += c
                emit(upTo: i)
                continue
            }
            // `[^\r\n\p{L}\p{N}]?\p{L}+`
            if isWordScalar(i) || (!isNewline(i) && !isNumber(i) && !isLetter(i) && isWordScalar(i + 1)) {
                i += 1
                while isWordScalar(i) { i += 1 }
                emit(upTo: i)
                continue
            }
            // `\p{N}{1,maxDigits}`
            if isNumber(i) {
                i = endOfDigits(from: i, maxDigits: maxDigits)
                emit(upTo: i)
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let head = scalar(i) == 0x20 ? i + 1 : i
            if isOtherScalar(head) {
                i = head
                while isOtherScalar(i) { i += 1 }
                while isNewline(i) { i += 1 }
                emit(upTo: i)
                continue
            }
            if let stop = newlineRun(at: i) ?? whitespaceRun(at: i) {
                i = stop
                emit(upTo: i)
                continue
            }
            i += 1
            emit(upTo: i)
        }
    }

    private mutating func isolate(_ set: SplitPass.CharacterSet, maxRun: Int?) {
        var i = wordStart
        while i < end {
            guard contains(set, i) else {
                i += 1
                continue
            }
            let start = i
            while contains(set, i), maxRun.map({ i - start < $0 }) ?? true { i += 1 }
            match(start, i)
        }
    }

    private mutating func spaceThenRun(_ set: SplitPass.CharacterSet, anyWhitespace: Bool) {
        var i = wordStart
        while i < end {
            let start = i
            if anyWhitespace ? isWhitespace(i) : scalar(i) == 0x20, contains(set, i + 1) {
                i += 1
            } else if !contains(set, i) {
                i += 1
                continue
            }
            while contains(set, i) { i += 1 }
            match(start, i)
        }
    }

    private mutating func trailingWhitespace() {
        var start = end
        while start > wordStart, isWhitespace(start - 1) { start -= 1 }
        if start < end { match(start, end) }
    }

    private mutating func asciiDigitTriples() {
        func isDigit(_ i: Int) -> Bool { scalar(i).map { (0x30...0x39).contains($0) } ?? false }
        var i = wordStart
        while i + 2 < end {
            if isDigit(i), isDigit(i + 1), isDigit(i + 2) {
                match(i, i + 3)
                i += 3
            } else {
                i += 1
            }
        }
    }

    /// `P?U*L+(C)?|P?U+L*(C)?|\p{N}{1,d}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+` where P is
    /// `[^\r\n\p{L}\p{N}]`, U a letter that is not a–z and L a letter that is not A–Z (so letters
    /// outside ASCII count as both, as in the reference, which compares against a–z and A–Z only),
    /// and C an English contraction. Alternatives are tried in order with backtracking, as the
    /// reference's regex engine does: the first alternative takes the longest U-run after which a
    /// L-run can start.
    private mutating func splitCasedWords(maxDigits: Int, contractions: Bool) {
        func isUpperish(_ i: Int) -> Bool { isLetter(i) && !(0x61...0x7A).contains(scalars[i]) }
        func isLowerish(_ i: Int) -> Bool { isLetter(i) && !(0x41...0x5A).contains(scalars[i]) }
        var i = wordStart
        while i < end {
            let prefix = !isNewline(i) && !isLetter(i) && !isNumber(i)
            let start = prefix && isLetter(i + 1) ? i + 1 : i
            if isLetter(start) {
                var upperEnd = start
                while isUpperish(upperEnd) { upperEnd += 1 }
                var k = upperEnd
                while k >= start, !isLowerish(k) { k -= 1 }
                var stop: Int
                if k >= start {
                    stop = k
                    while isLowerish(stop) { stop += 1 }
                } else {
                    stop = upperEnd
                    while isLowerish(stop) { stop += 1 }
                }
                if contractions { stop += contraction(at: stop, caseInsensitive: true) }
                i = stop
                emit(upTo: i)
                continue
            }
            // `\p{N}{1,maxDigits}`
            if isNumber(i) {
                i = endOfDigits(from: i, maxDigits: maxDigits)
                emit(upTo: i)
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n/]*`
            let head = scalar(i) == 0x20 ? i + 1 : i
            if isOther(head) {
                i = head
                while isOther(i) { i += 1 }
                while isNewline(i) || scalar(i) == 0x2F { i += 1 }
                emit(upTo: i)
                continue
            }
            if let stop = newlineRun(at: i) ?? whitespaceRun(at: i) {
                i = stop
                emit(upTo: i)
                continue
            }
            i += 1
            emit(upTo: i)
        }
    }

    /// ``[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+``
    private mutating func splitDeepSeekV3() {
        func isASCIILetter(_ i: Int) -> Bool {
            scalar(i).map { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) } ?? false
        }
        func isASCIIPunctuation(_ i: Int) -> Bool {
            scalar(i).map { $0 < 0x80 && !ScalarClass.ascii[Int($0)].isDisjoint(with: [.punctuation, .symbol]) } ?? false
        }
        func isWord(_ i: Int) -> Bool { !cls(i).isDisjoint(with: [.letter, .mark]) }
        func isPunctuation(_ i: Int) -> Bool { !cls(i).isDisjoint(with: [.punctuation, .symbol]) }
        var i = wordStart
        while i < end {
            let start = i
            if isASCIIPunctuation(i), isASCIILetter(i + 1) {
                i += 1
                while isASCIILetter(i) { i += 1 }
                match(start, i)
                continue
            }
            let prefix = i < end && !isNewline(i) && cls(i).isDisjoint(with: [.letter, .punctuation, .symbol])
            if (prefix && isWord(i + 1)) || isWord(i) {
                i += 1
                while isWord(i) { i += 1 }
                match(start, i)
                continue
            }
            let head = scalar(i) == 0x20 && isPunctuation(i + 1) ? i + 1 : i
            if isPunctuation(head) {
                i = head
                while isPunctuation(i) { i += 1 }
                while isNewline(i) { i += 1 }
                match(start, i)
                continue
            }
            if let stop = newlineRun(at: i) ?? whitespaceRun(at: i) {
                i = stop
                match(start, i)
                continue
            }
            i += 1
        }
    }
}
