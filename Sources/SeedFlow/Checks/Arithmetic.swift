/// An exact rational number, so that `8 / (3 - 8 / 3)` is exactly 24 and no float rounding can
/// accept a wrong answer or refuse a right one.
public struct Rational: Equatable, Sendable, CustomStringConvertible {
    public let numerator: Int
    public let denominator: Int

    /// Int.min is not allowed: its magnitude does not fit an Int, so its sign could not move.
    /// Products and sums that reach it are overflow (`combine` returns nil).
    public init(_ numerator: Int, _ denominator: Int = 1) {
        precondition(denominator != 0 && numerator != .min && denominator != .min)
        let g = Rational.gcd(abs(numerator), abs(denominator))
        let sign = denominator < 0 ? -1 : 1
        self.numerator = sign * numerator / max(g, 1)
        self.denominator = sign * denominator / max(g, 1)
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    public var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }

    /// nil on overflow (Int.min included) or division by zero.
    func combine(_ op: Character, _ o: Rational) -> Rational? {
        func checked(_ result: (partialValue: Int, overflow: Bool)) -> Int? {
            result.overflow || result.partialValue == .min ? nil : result.partialValue
        }
        func m(_ a: Int, _ b: Int) -> Int? { checked(a.multipliedReportingOverflow(by: b)) }
        switch op {
        case "+", "-":
            guard let x = m(numerator, o.denominator), let y = m(o.numerator, denominator),
                  let d = m(denominator, o.denominator),
                  let n = checked(op == "+" ? x.addingReportingOverflow(y) : x.subtractingReportingOverflow(y))
            else { return nil }
            return Rational(n, d)
        case "*":
            guard let n = m(numerator, o.numerator), let d = m(denominator, o.denominator) else { return nil }
            return Rational(n, d)
        case "/":
            guard o.numerator != 0, let n = m(numerator, o.denominator), let d = m(denominator, o.numerator) else { return nil }
            return Rational(n, d)
        default:
            return nil
        }
    }
}

/// A parsed arithmetic expression over whole numbers with + − × ÷ and parentheses.
public struct ArithmeticExpression: Sendable {
    public let value: Rational
    /// The number literals in the order written.
    public let numbers: [Int]

    /// Parses and evaluates exactly; nil when the text is not such an expression or divides by zero.
    public init?(_ text: String) {
        var parser = Parser(Array(text.replacingOccurrences(of: "×", with: "*").replacingOccurrences(of: "÷", with: "/")
            .replacingOccurrences(of: "−", with: "-")))
        guard let v = parser.expression(), parser.atEnd else { return nil }
        value = v
        numbers = parser.numbers
    }

    /// Whether the expression uses exactly the given numbers, each once (as a multiset).
    public func usesExactly(_ expected: [Int]) -> Bool { numbers.sorted() == expected.sorted() }

    private struct Parser {
        let chars: [Character]
        var i = 0
        var numbers: [Int] = []
        var depth = 0

        init(_ chars: [Character]) { self.chars = chars }

        var atEnd: Bool {
            mutating get { skipSpaces(); return i == chars.count }
        }

        mutating func skipSpaces() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }

        mutating func expression() -> Rational? {
            guard var left = term() else { return nil }
            while true {
                skipSpaces()
                guard i < chars.count, chars[i] == "+" || chars[i] == "-" else { return left }
                let op = chars[i]
                i += 1
                guard let right = term(), let v = left.combine(op, right) else { return nil }
                left = v
            }
        }

        mutating func term() -> Rational? {
            guard var left = factor() else { return nil }
            while true {
                skipSpaces()
                guard i < chars.count, chars[i] == "*" || chars[i] == "/" else { return left }
                let op = chars[i]
                i += 1
                guard let right = factor(), let v = left.combine(op, right) else { return nil }
                left = v
            }
        }

        mutating func factor() -> Rational? {
            skipSpaces()
            guard i < chars.count else { return nil }
            if chars[i] == "(" {
                depth += 1
                guard depth <= 64 else { return nil }
                i += 1
                guard let v = expression() else { return nil }
                skipSpaces()
                guard i < chars.count, chars[i] == ")" else { return nil }
                i += 1
                depth -= 1
                return v
            }
            var digits = ""
            while i < chars.count, chars[i].isASCII, chars[i].isNumber {
                digits.append(chars[i])
                i += 1
            }
            guard !digits.isEmpty, digits.count <= 12, let n = Int(digits) else { return nil }
            numbers.append(n)
            return Rational(n)
        }
    }
}
