import Foundation

/// The JSON of results lines and comparisons, which must never fail on a number: JSON has no
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
            let marks = [("\u{0}seedflow:+inf:\(unique)", "\(Double.greatestFiniteMagnitude)"),
                         ("\u{0}seedflow:-inf:\(unique)", "\(-Double.greatestFiniteMagnitude)"),
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
}
