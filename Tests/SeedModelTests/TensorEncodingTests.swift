import XCTest
@testable import SeedModel

/// `TensorEncoding` against slow references written from the format definitions:
/// F16 is IEEE binary16, BF16 the top half of an f32, and a Q8_0 block an f16 scale d followed by
/// 32 signed bytes q with value d·q.
final class TensorEncodingTests: XCTestCase {
    // MARK: references

    private func referenceF16(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

    private func referenceBF16(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    private func referenceQ8_0(_ bytes: [UInt8]) -> [Float] {
        stride(from: 0, to: bytes.count, by: 34).flatMap { start -> [Float] in
            let d = referenceF16(UInt16(bytes[start]) | UInt16(bytes[start + 1]) << 8)
            return (0..<32).map { d * Float(Int8(bitPattern: bytes[start + 2 + $0])) }
        }
    }

    /// BF16 by the definition of round-to-nearest-even: of the two bfloat16 neighbours, the closer;
    /// on a tie, the one with an even last bit. Not defined for NaN.
    private func referenceBF16Encode(_ v: Float) -> UInt16 {
        let bits = v.bitPattern
        let down = UInt16(bits >> 16)
        if bits & 0xffff == 0 { return down }
        let up = down &+ 1
        // Past the largest finite bfloat16 the next step is infinity, which sits where 2^128 would.
        let low = Double(referenceBF16(down))
        let high = up & 0x7fff == 0x7f80 ? (v < 0 ? -0x1p128 : 0x1p128) : Double(referenceBF16(up))
        let distDown = abs(Double(v) - low), distUp = abs(high - Double(v))
        if distDown != distUp { return distDown < distUp ? down : up }
        return down & 1 == 0 ? down : up
    }

    private func decode(_ bytes: [UInt8], _ type: GGMLType, count: Int) -> [Float] {
        bytes.withUnsafeBytes { TensorEncoding.decode($0, type: type, count: count) }
    }

    private func le16(_ values: [UInt16]) -> [UInt8] {
        values.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }
    }

    private func assertSameFloat(_ got: Float, _ want: Float, _ message: @autoclosure () -> String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        if want.isNaN {
            XCTAssertTrue(got.isNaN, message(), file: file, line: line)
        } else {
            XCTAssertEqual(got.bitPattern, want.bitPattern, "\(message()): \(got) vs \(want)", file: file, line: line)
        }
    }

    // MARK: decoding

    func testF32DecodesBitExactly() {
        var rng = SeededGenerator(seed: 1)
        let bits = (0..<1000).map { _ in UInt32.random(in: .min ... .max, using: &rng) }
        let bytes = bits.flatMap { b in withUnsafeBytes(of: b.littleEndian) { Array($0) } }
        let got = decode(bytes, .f32, count: bits.count)
        for (g, b) in zip(got, bits) { assertSameFloat(g, Float(bitPattern: b), "f32 0x\(String(b, radix: 16))") }
    }

    func testF16DecodesEveryBitPattern() {
        // All 65536 patterns: normals, subnormals, both zeros, infinities and NaNs. Decoding from
        // an odd start too, so the vector body and the scalar tail see every pattern.
        let all = (0...UInt16.max).map { $0 }
        for skip in [0, 5] {
            let got = decode(le16(Array(all.dropFirst(skip))), .f16, count: all.count - skip)
            for (g, b) in zip(got, all.dropFirst(skip)) { assertSameFloat(g, referenceF16(b), "f16 0x\(String(b, radix: 16))") }
        }
    }

    func testBF16DecodesEveryBitPattern() {
        let all = (0...UInt16.max).map { $0 }
        let got = decode(le16(all), .bf16, count: all.count)
        for (g, b) in zip(got, all) { assertSameFloat(g, referenceBF16(b), "bf16 0x\(String(b, radix: 16))") }
    }

    func testQ8_0DecodesBlocks() {
        var rng = SeededGenerator(seed: 8)
        var bytes: [UInt8] = []
        for block in 0..<200 {
            // Scales across the f16 range (subnormal, small, large, negative, zero); q anything.
            let scale: UInt16 = switch block % 5 {
            case 0: UInt16.random(in: 0x0001...0x03ff, using: &rng)
            case 1: UInt16.random(in: 0x0400...0x3c00, using: &rng)
            case 2: UInt16.random(in: 0x3c00...0x7bff, using: &rng)
            case 3: UInt16.random(in: 0x8000...0xfbff, using: &rng)
            default: 0
            }
            bytes += le16([scale])
            bytes += (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        }
        bytes[2] = 0x80  // q = -128, the one value the encoder never writes but a file may hold
        let got = decode(bytes, .q8_0, count: 200 * 32)
        for (i, (g, w)) in zip(got, referenceQ8_0(bytes)).enumerated() { assertSameFloat(g, w, "q8_0[\(i)]") }
    }

    func testDequantizeRowWritesOnlyItsCount() {
        // A row decoded into a larger buffer must leave the rest alone (rows are decoded in place
        // into scratch shared with the next row).
        let values: [Float] = (0..<64).map { Float($0) - 20 }
        for type in [GGMLType.f32, .f16, .bf16, .q8_0] {
            let bytes = TensorEncoding.encode(values, as: type)
            var out = [Float](repeating: 12345, count: 96)
            bytes.withUnsafeBytes { src in
                out.withUnsafeMutableBufferPointer { TensorEncoding.dequantizeRow(type, src.baseAddress!, $0.baseAddress!, count: 64) }
            }
            XCTAssertEqual(Array(out[64...]), [Float](repeating: 12345, count: 32), "\(type)")
        }
    }

    // MARK: encoding

    private static let specialValues: [Float] = [
        0, -0.0, 1, -1, 0.1, -3.14159, 65504, 65520, 1e-8, 6e-8, 1e-5, Float(bitPattern: 0x0001_1234),  // an f32 subnormal
        .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude,
        .leastNormalMagnitude, 1 + 0x1p-8, 1 + 0x1p-7 + 0x1p-8, 1 + 0x1p-11, 1 + 0x1p-10 + 0x1p-11,
        Float(bitPattern: 0x7f7f_ffff), Float(bitPattern: 0x7f7f_8000), Float(bitPattern: 0x3f80_8001),
    ]

    /// IEEE binary16 by its definition, independently of `Float16(_:)` (which the encoder
    /// uses, so comparing with it would test the conversion against itself): the magnitude in
    /// units of the last place of its binade, rounded to nearest, ties to even, in Double (every
    /// Float, times a power of two, is exact there). NaN is left to the caller.
    private func referenceF16Encode(_ v: Float) -> UInt16 {
        let sign: UInt16 = v.sign == .minus ? 0x8000 : 0
        let a = Double(v.magnitude)
        if a.isInfinite { return sign | 0x7c00 }
        if a < 0x1p-14 {
            // Subnormal: units of 2^-24. Rounding up to 1024 units gives the smallest normal,
            // whose bits are exactly 1024 = 0x0400.
            return sign | UInt16((a * 0x1p24).rounded(.toNearestOrEven))
        }
        var e = Int(a.exponent)
        var units = (a * Double(sign: .plus, exponent: 10 - e, significand: 1)).rounded(.toNearestOrEven)  // in [1024, 2048]
        if units == 2048 { e += 1; units = 1024 }
        if e > 15 { return sign | 0x7c00 }  // past 65504 + half a step: infinity
        return sign | UInt16(e + 15) << 10 | (UInt16(units) - 1024)
    }

    func testF32AndF16EncodeAsTheFormatDefines() {
        // Known encodings, written out: f32 is the value's bits, little-endian.
        XCTAssertEqual(TensorEncoding.encode([1.0, -2.0, 0.1], as: .f32),
                       [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0xCD, 0xCC, 0xCC, 0x3D])
        // f16 bit patterns from the IEEE half definition (not computed by any converter).
        let known: [(Float, UInt16, String)] = [
            (1.0, 0x3C00, "one"),
            (-2.0, 0xC000, "sign and exponent"),
            (65504, 0x7BFF, "largest finite"),
            (65520, 0x7C00, "halfway past the largest finite rounds to infinity"),
            (6e-8, 0x0001, "nearest is the smallest subnormal 2^-24"),
            (1 + 0x1p-11, 0x3C00, "tie between 1 and 1 + 2^-10 goes to the even 1"),
            (1 + 0x1p-10 + 0x1p-11, 0x3C02, "tie between 1 + 2^-10 and 1 + 2^-9 goes up to the even one"),
            (0.333251953125, 0x3555, "a mantissa with many bits set"),
            (-0.0, 0x8000, "negative zero keeps its sign"),
            (0x1p-14, 0x0400, "smallest normal"),
            (.infinity, 0x7C00, "infinity"),
        ]
        let knownBytes = TensorEncoding.encode(known.map(\.0), as: .f16)
        XCTAssertEqual(knownBytes.count, known.count * 2)
        for (i, (v, bits, why)) in known.enumerated() {
            let got = UInt16(knownBytes[2 * i]) | UInt16(knownBytes[2 * i + 1]) << 8
            XCTAssertEqual(got, bits, "f16(\(v)): \(why): got 0x\(String(got, radix: 16))")
            XCTAssertEqual(referenceF16Encode(v), bits, "the test's reference encoder on \(v)")
        }

        var rng = SeededGenerator(seed: 16)
        let values = Self.specialValues + (0..<2000).map { _ in Float(bitPattern: UInt32.random(in: .min ... .max, using: &rng)) }
        let f32 = TensorEncoding.encode(values, as: .f32)
        XCTAssertEqual(f32, values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } })
        let f16 = TensorEncoding.encode(values, as: .f16)
        XCTAssertEqual(f16.count, values.count * 2)
        for (i, v) in values.enumerated() {
            let got = UInt16(f16[2 * i]) | UInt16(f16[2 * i + 1]) << 8
            if v.isNaN {
                XCTAssertTrue(got & 0x7c00 == 0x7c00 && got & 0x03ff != 0, "f16(NaN) gave 0x\(String(got, radix: 16))")
            } else {
                XCTAssertEqual(got, referenceF16Encode(v), "f16(\(v) = 0x\(String(v.bitPattern, radix: 16)))")
            }
        }
    }

    func testBF16EncodeRoundsToNearestEvenAndKeepsNaN() {
        var rng = SeededGenerator(seed: 30)
        let nans: [Float] = [.nan, -.nan, .signalingNaN, Float(bitPattern: 0x7f80_0001), Float(bitPattern: 0xffff_ffff),
                             Float(bitPattern: 0x7fff_ffff)]
        let values = Self.specialValues + nans
            + (0..<4000).map { _ in Float(bitPattern: UInt32.random(in: .min ... .max, using: &rng)) }
        let bf16 = TensorEncoding.encode(values, as: .bf16)
        for (i, v) in values.enumerated() {
            let got = UInt16(bf16[2 * i]) | UInt16(bf16[2 * i + 1]) << 8
            if v.isNaN {
                XCTAssertTrue(referenceBF16(got).isNaN, "bf16(NaN 0x\(String(v.bitPattern, radix: 16))) gave 0x\(String(got, radix: 16))")
            } else {
                XCTAssertEqual(got, referenceBF16Encode(v), "bf16(\(v) = 0x\(String(v.bitPattern, radix: 16)))")
            }
        }
    }

    func testQ8_0EncodeIsWithinHalfAStep() {
        var rng = SeededGenerator(seed: 80)
        var values: [Float] = []
        for block in 0..<2000 {
            // Block magnitudes from 1e-3 to 1e3, some blocks all zero, some with one outlier.
            let magnitude = Float(pow(10, Double.random(in: -3...3, using: &rng)))
            var chunk = (0..<32).map { _ in Float.random(in: -magnitude...magnitude, using: &rng) }
            if block % 50 == 0 { chunk = [Float](repeating: 0, count: 32) }
            if block % 7 == 0 { chunk[Int.random(in: 0..<32, using: &rng)] = -magnitude * 3 }
            values += chunk
        }
        let bytes = TensorEncoding.encode(values, as: .q8_0)
        XCTAssertEqual(bytes.count, values.count / 32 * 34)
        let decoded = decode(bytes, .q8_0, count: values.count)
        for block in 0..<values.count / 32 {
            let d = referenceF16(UInt16(bytes[block * 34]) | UInt16(bytes[block * 34 + 1]) << 8)
            let chunk = values[block * 32..<block * 32 + 32]
            let amax = chunk.map(abs).max()!
            if amax == 0 {
                XCTAssertEqual(d, 0)
            } else {
                // The scale maps the largest magnitude to ±127, to f16 precision (an ulp, as
                // the scale may round up; a fixed step once it is subnormal).
                XCTAssertEqual(d, amax / 127, accuracy: max(amax / 127 * 0x1p-10, 0x1p-24), "block \(block)")
            }
            for i in chunk.indices {
                XCTAssertLessThanOrEqual(abs(decoded[i] - values[i]), d / 2 * (1 + 0x1p-20),
                                         "block \(block)[\(i % 32)]: \(values[i]) → \(decoded[i]), d = \(d)")
            }
        }
    }
}
