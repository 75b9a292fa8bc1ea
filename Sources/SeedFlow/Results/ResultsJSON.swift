import Foundation

/// The JSON of results lines and comparisons, which must never fail on a number (nor must reading
/// a line back, see `numbersInRange`): JSON has no
/// infinity or NaN, and a plain `JSONEncoder` throws on them, which would lose a finished
/// input's result. An infinity is written as the largest finite number of its sign
/// (±1.7976931348623157e+308), so the line still reads back as numbers everywhere; a NaN, which
/// has no nearest number, as `null`. Output without such numbers is what `JSONEncoder` writes.
public enum ResultsJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(value)
        } catch EncodingError.invalidValue(let number, _) where number is Double || number is Float {
            // Placeholders no text of the record can hold (a fresh UUID each time), then replaced
            // by literals. Only a record that held a non-finite number takes this path.
            let unique = UUID().uuidString
            let marks = [("\u{0}seedflow:+inf:\(unique)", largest(negative: false)),
                         ("\u{0}seedflow:-inf:\(unique)", largest(negative: true)),
                         ("\u{0}seedflow:nan:\(unique)", "null")]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: marks[0].0,
                                                                          negativeInfinity: marks[1].0, nan: marks[2].0)
            var text = String(decoding: try encoder.encode(value), as: UTF8.self)
            for (mark, literal) in marks {
                // The placeholder as the encoder quotes and escapes it.
                let quoted = String(decoding: try encoder.encode(mark), as: UTF8.self)
                text = text.replacingOccurrences(of: quoted, with: literal)
            }
            return Data(text.utf8)
        }
    }

    /// A line with its numbers beyond a double's range (`1e999`, `-1e999`, `1e-999`, as a hand
    /// edit may leave them) brought within it, the way they are written: ±1.7976931348623157e+308,
    /// and 0 for a number too small. nil when the line has no such number (then its problem is
    /// another). `JSONDecoder` refuses such numbers as "not valid JSON".
    public static func numbersInRange(_ line: Data) -> Data? {
        let bytes = [UInt8](line)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var changed = false
        var inString = false, escaped = false
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                out.append(b)
                i += 1
                continue
            }
            guard b == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) else {
                if b == UInt8(ascii: "\"") { inString = true }
                out.append(b)
                i += 1
                continue
            }
            var end = i
            while end < bytes.count, Self.numberBytes.contains(bytes[end]) { end += 1 }
            let token = String(decoding: bytes[i..<end], as: UTF8.self)
            let mantissa = token.prefix { $0 != "e" && $0 != "E" }
            if let value = Double(token), value.isInfinite {
                out += Array(largest(negative: value < 0).utf8)
                changed = true
            } else if Double(token) == 0, mantissa.contains(where: { ("1"..."9").contains($0) }) {
                out += Array("0".utf8)
                changed = true
            } else {
                out += bytes[i..<end]
            }
            i = end
        }
        return changed ? Data(out) : nil
    }

    private static let numberBytes = Set("0123456789+-.eE".utf8)

    /// What an infinity is written as: the largest finite double of its sign.
    private static func largest(negative: Bool) -> String {
        "\(negative ? -Double.greatestFiniteMagnitude : Double.greatestFiniteMagnitude)"
    }
}
