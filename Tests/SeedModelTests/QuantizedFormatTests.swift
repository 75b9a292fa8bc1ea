import CKernels
import XCTest
@testable import SeedModel

/// The quantized ggml formats against a slow reference decoder written here, element by element,
/// from the format definitions (ggml's block_q* structs): every body the processor can run decodes
/// random blocks as the reference does, the encoders round-trip, and the fused products match a
/// Double dot product over the reference decoding.
final class QuantizedFormatTests: XCTestCase {
    static let types: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs]

    /// ggml's kvalues_iq4nl, the levels an IQ4_NL / IQ4_XS nibble indexes.
    static let iq4Levels: [Double] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    /// The f16 fields (scales, minimums) of each format's blocks, by byte offset.
    static func scaleOffsets(_ type: GGMLType) -> [Int] {
        switch type {
        case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
        case .q2_K: [80, 82]
        case .q3_K: [108]
        case .q6_K: [208]
        default: [0]
        }
    }

    // MARK: reference

    /// Element `e` of one block, as (a, b) with value a − b: the caller needs both terms' sizes
    /// for its tolerance, since the kernels may round a·q − b as one fused multiply-add.
    static func reference(_ type: GGMLType, _ b: [UInt8], _ e: Int) -> (Double, Double) {
        func half(_ at: Int) -> Double { Double(Float16(bitPattern: UInt16(b[at]) | UInt16(b[at + 1]) << 8)) }
        func bit(_ word: Int, _ i: Int) -> Int { Int(b[word + i / 8] >> UInt8(i % 8)) & 1 }
        // 32-element blocks: byte j holds element j (low nibble) and element j + 16 (high).
        func nibble32(_ qs: Int) -> Int { e < 16 ? Int(b[qs + e] & 0xF) : Int(b[qs + e - 16] >> 4) }
        // K-quant 6-bit scale and minimum of sub-block s from the 12 bytes at offset 4.
        func scaleMin(_ s: Int) -> (Int, Int) {
            let q = Array(b[4..<16])
            if s < 4 { return (Int(q[s] & 63), Int(q[s + 4] & 63)) }
            return (Int(q[s + 4] & 0xF) | Int(q[s - 4] >> 6) << 4, Int(q[s + 4] >> 4) | Int(q[s] >> 6) << 4)
        }
        switch type {
        case .q4_0: return (half(0) * Double(nibble32(2) - 8), 0)
        case .q4_1: return (half(0) * Double(nibble32(4)), -half(2))
        case .iq4_nl: return (half(0) * iq4Levels[nibble32(2)], 0)
        case .q2_K, .q3_K:
            // Sixteen sub-blocks of 16. The 2-bit values: each half of 128 has 32 bytes, and
            // element 32j + l of it is bits 2j, 2j+1 of byte l.
            let h = e / 128, j = e % 128 / 32, l = e % 32, s = e / 16
            if type == .q2_K {
                let q = Int(b[16 + 32 * h + l] >> UInt8(2 * j)) & 3
                let sc = Int(b[s] & 0xF), m = Int(b[s] >> 4)
                return (half(80) * Double(sc) * Double(q), half(82) * Double(m))
            }
            // Q3_K: the third bit of the element is bit (4h + j) of hmask byte l; clear means −4.
            // Scales as ggml's dequantize_row_q3_K unpacks them: three little-endian words
            // a0, a1, a2 of the twelve bytes at 96 become four words of 6-bit values.
            let hbit = Int(b[l] >> UInt8(4 * h + j)) & 1
            let q = (Int(b[32 + 32 * h + l] >> UInt8(2 * j)) & 3) - (hbit == 1 ? 0 : 4)
            func word(_ i: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[96 + 4 * i + $1]) << UInt32(8 * $1) } }
            let a0 = word(0), a1 = word(1), a2 = word(2)
            let k1: UInt32 = 0x0303_0303, k2: UInt32 = 0x0f0f_0f0f
            let words = [(a0 & k2) | ((a2 & k1) << 4), (a1 & k2) | (((a2 >> 2) & k1) << 4),
                         ((a0 >> 4) & k2) | (((a2 >> 4) & k1) << 4), ((a1 >> 4) & k2) | (((a2 >> 6) & k1) << 4)]
            let sc = Int((words[s / 4] >> UInt32(8 * (s % 4))) & 0xff) - 32
            return (half(108) * Double(sc) * Double(q), 0)
        case .iq4_xs:
            // Eight sub-blocks of 32: a 6-bit scale (low nibble in byte 4 + s/2, top two bits in
            // the 16-bit word at 2), then 16 bytes of nibbles as in IQ4_NL.
            let s = e / 32, j = e % 32
            let high = (Int(b[2]) | Int(b[3]) << 8) >> (2 * s) & 3
            let ls = Int(b[4 + s / 2] >> UInt8(4 * (s % 2))) & 0xF | high << 4
            let byte = b[8 + 16 * s + j % 16]
            let q = Int(j < 16 ? byte & 0xF : byte >> 4)
            return (half(0) * Double(ls - 32) * iq4Levels[q], 0)
        case .q5_0: return (half(0) * Double((nibble32(6) | bit(2, e) << 4) - 16), 0)
        case .q5_1: return (half(0) * Double(nibble32(8) | bit(4, e) << 4), -half(2))
        case .q8_0: return (half(0) * Double(Int8(bitPattern: b[2 + e])), 0)
        case .q4_K, .q5_K:
            // Sub-block s of 32; pairs of sub-blocks share 32 bytes (low nibbles, high nibbles).
            let s = e / 32, l = e % 32
            let qs = type == .q4_K ? 16 : 48
            let byte = b[qs + s / 2 * 32 + l]
            var q = Int(s % 2 == 0 ? byte & 0xF : byte >> 4)
            if type == .q5_K { q |= (Int(b[16 + l] >> UInt8(s)) & 1) << 4 }
            let (sc, m) = scaleMin(s)
            return (half(0) * Double(sc) * Double(q), half(2) * Double(m))
        case .q6_K:
            // Halves of 128; in a half, quarter k of 32 takes low (k < 2) or high nibbles of
            // ql bytes l or l + 32 (k odd), and bits 2k, 2k+1 of qh byte l.
            let h = e / 128, k = e % 128 / 32, l = e % 32
            let low = b[h * 64 + l + (k % 2) * 32]
            let q = Int(k < 2 ? low & 0xF : low >> 4) | (Int(b[128 + h * 32 + l] >> UInt8(2 * k)) & 3) << 4
            return (half(208) * Double(Int8(bitPattern: b[192 + e / 16])) * Double(q - 32), 0)
        default:
            preconditionFailure("no reference for \(type)")
        }
    }

    /// Random blocks: quantized bits anything, scales random finite halves of moderate size.
    static func randomBlocks(_ type: GGMLType, count: Int, rng: inout SeededGenerator) -> [UInt8] {
        var bytes = (0..<count * type.blockBytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for block in 0..<count {
            for offset in scaleOffsets(type) {
                let bits = Float16(Float.random(in: -0.1...0.1, using: &rng)).bitPattern
                bytes[block * type.blockBytes + offset] = UInt8(bits & 0xff)
                bytes[block * type.blockBytes + offset + 1] = UInt8(bits >> 8)
            }
        }
        return bytes
    }

    static func referenceDecode(_ type: GGMLType, _ bytes: [UInt8]) -> [(Double, Double)] {
        stride(from: 0, to: bytes.count, by: type.blockBytes).flatMap { start in
            let block = Array(bytes[start..<start + type.blockBytes])
            return (0..<type.blockSize).map { reference(type, block, $0) }
        }
    }

    /// Runs `body` with every kernel body this processor can run, then restores the detected one.
    private func forEachISA(_ body: (String) -> Void) {
        defer { sf_kernel_force_isa(nil) }
        for name in ["avx512", "avx2", "portable"] where sf_kernel_force_isa(name) == 1 { body(name) }
    }

    // MARK: tests

    func testDecodingMatchesTheFormatDefinition() {
        var rng = SeededGenerator(seed: 0x9A)
        for type in Self.types {
            let blocks = type.blockSize == 32 ? 24 : 6
            let bytes = Self.randomBlocks(type, count: blocks, rng: &rng)
            let want = Self.referenceDecode(type, bytes)
            forEachISA { isa in
                let got = bytes.withUnsafeBytes { TensorEncoding.decode($0, type: type, count: want.count) }
                for (i, ((a, b), g)) in zip(want, got).enumerated() {
                    // Two roundings of single precision on the larger term at most.
                    let tolerance = 2 * Double(Float(max(abs(a), abs(b))).ulp)
                    XCTAssertLessThanOrEqual(abs(Double(g) - (a - b)), tolerance, "\(type) \(isa) [\(i)]: \(g) vs \(a - b)")
                }
            }
        }
    }

    func testEncodingRoundTrips() {
        var rng = SeededGenerator(seed: 0x9B)
        // Relative RMS error bounds: about a third of a step of each format's resolution.
        let bounds: [GGMLType: Double] = [.q4_0: 0.1, .q4_1: 0.08, .q5_0: 0.05, .q5_1: 0.04, .q8_0: 0.006,
                                          .q2_K: 0.4, .q3_K: 0.17, .q4_K: 0.1, .q5_K: 0.05, .q6_K: 0.03,
                                          .iq4_nl: 0.1, .iq4_xs: 0.1]
        for type in Self.types {
            let values = (0..<4096).map { i in Float.random(in: -1...1, using: &rng) * (i % 512 < 256 ? 1 : 0.01) }
            let bytes = TensorEncoding.encode(values, as: type)
            XCTAssertEqual(bytes.count, type.byteCount(elements: values.count), "\(type)")
            let decoded = Self.referenceDecode(type, bytes).map { $0.0 - $0.1 }
            // Error relative to each 256-element group's own scale (the groups differ 100×).
            for group in stride(from: 0, to: values.count, by: 256) {
                var error = 0.0, power = 0.0
                for i in group..<group + 256 {
                    error += pow(decoded[i] - Double(values[i]), 2)
                    power += pow(Double(values[i]), 2)
                }
                XCTAssertLessThan((error / power).squareRoot(), bounds[type]!, "\(type) group \(group / 256)")
            }
        }
        // All-zero blocks stay zero.
        for type in Self.types {
            let bytes = TensorEncoding.encode([Float](repeating: 0, count: 256), as: type)
            XCTAssertTrue(Self.referenceDecode(type, bytes).allSatisfy { $0.0 - $0.1 == 0 }, "\(type)")
        }
    }

    /// Blocks at the edges of each format: quantized bits all clear or all set, and scales
    /// (and minimums) at zero, the largest half, a subnormal half and either sign.
    static func edgeBlocks(_ type: GGMLType, count: Int, rng: inout SeededGenerator) -> [UInt8] {
        var bytes = randomBlocks(type, count: count, rng: &rng)
        let scaleOffsets = scaleOffsets(type)
        let halves: [Float16] = [0, 65504, -65504, Float16(bitPattern: 1), -0.001, 0.25]
        for block in 0..<count {
            let base = block * type.blockBytes
            let fill: UInt8? = block % 3 == 0 ? 0 : block % 3 == 1 ? 0xFF : nil
            for i in 0..<type.blockBytes where !scaleOffsets.contains(where: { i == $0 || i == $0 + 1 }) {
                if let fill { bytes[base + i] = fill }
            }
            for (n, offset) in scaleOffsets.enumerated() {
                let bits = halves[(block + n) % halves.count].bitPattern
                bytes[base + offset] = UInt8(bits & 0xff)
                bytes[base + offset + 1] = UInt8(bits >> 8)
            }
        }
        return bytes
    }

    /// Inputs with an all-zero 32-element block, a block of one spike among tiny values, a block
    /// at ± its own maximum, and random blocks.
    static func edgeInputs(_ n: Int, rng: inout SeededGenerator) -> [Float] {
        (0..<n).map { i in
            switch i / 32 % 5 {
            case 0: 0
            case 1: i % 32 == 7 ? 3.5 : Float.random(in: -1e-3...1e-3, using: &rng)
            case 2: i % 2 == 0 ? 0.75 : -0.75
            default: Float.random(in: -1...1, using: &rng)
            }
        }
    }

    /// The fused products of every type, on every body, against a Double dot product over the
    /// reference decoding. The vector bodies round each input to 8 bits per 32-element block
    /// (integer products, as ggml does): each input value may move half a step of its block's
    /// scale amax/127, so the bound is Σ |w| · amax/254 on top of single-precision rounding.
    /// The portable body decodes to floats and is exact in the input.
    func testFusedProductsMatchTheReference() {
        var rng = SeededGenerator(seed: 0x9C)
        let pool = ThreadPool(threads: 2)
        for type in Self.types {
            let cols = type.blockSize == 32 ? 352 : 768  // not a multiple of the 256-element chunk
            let rows = 37  // not a multiple of the 16-row granule, nor of two threads
            let count = rows * cols / type.blockSize
            let edges = Self.edgeBlocks(type, count: count / 2, rng: &rng)
            let w = edges + Self.randomBlocks(type, count: count - count / 2, rng: &rng)
            let weights = Self.referenceDecode(type, w).map { $0.0 - $0.1 }
            let rowBytes = cols / type.blockSize * type.blockBytes
            for nx in Array(1...8) + [11] {
                let x = Self.edgeInputs(nx * cols, rng: &rng)
                forEachISA { isa in
                    // Once directly on rows 2..<rows (row 0 and 1 must stay untouched), once split
                    // over two threads as the linear layers split them.
                    var direct = [Float](repeating: -777, count: nx * rows)
                    var split = [Float](repeating: -777, count: nx * rows)
                    w.withUnsafeBytes { wp in
                        sf_gemm_quant_small(Int32(type.id), wp.baseAddress, rowBytes, cols, 2, rows, x, cols, nx, &direct, rows)
                        let base = wp.baseAddress!
                        x.withUnsafeBufferPointer { xp in
                            split.withUnsafeMutableBufferPointer { yp in
                                let y = yp.baseAddress!
                                pool.chunks(rows, granule: 16) { r in
                                    sf_gemm_quant_small(Int32(type.id), base, rowBytes, cols, r.lowerBound, r.upperBound,
                                                        xp.baseAddress, cols, nx, y, rows)
                                }
                            }
                        }
                    }
                    let roundsInput = isa != "portable"
                    for m in 0..<nx {
                        XCTAssertEqual(direct[m * rows], -777, "\(type) \(isa): row 0 is outside the range")
                        XCTAssertEqual(direct[m * rows + 1], -777, "\(type) \(isa): row 1 is outside the range")
                        let step = (0..<cols / 32).map { b in
                            roundsInput ? Double(x[(m * cols + b * 32)..<(m * cols + b * 32 + 32)].map(abs).max()!) / 254 : 0
                        }
                        for r in 0..<rows {
                            var want = 0.0, scale = 0.0, inputRounding = 0.0
                            for c in 0..<cols {
                                let term = weights[r * cols + c] * Double(x[m * cols + c])
                                want += term
                                scale += abs(term)
                                inputRounding += abs(weights[r * cols + c]) * step[c / 32]
                            }
                            let tolerance = 1e-5 * scale + inputRounding * 1.001 + 1e-30
                            if r >= 2 {
                                XCTAssertEqual(Double(direct[m * rows + r]), want, accuracy: tolerance,
                                               "\(type) \(isa) nx \(nx) [\(m), \(r)]")
                            }
                            XCTAssertEqual(Double(split[m * rows + r]), want, accuracy: tolerance,
                                           "\(type) \(isa) nx \(nx) split [\(m), \(r)]")
                        }
                    }
                }
            }
        }
    }

    /// Inputs rounded once for the whole product (`sf_quant_prepare_inputs`, as the linear layers
    /// do it, in two disjoint parts) give bit for bit what the per-call kernel gives: the products
    /// of a pass do not depend on how many rows it has. Row ranges in 16-row blocks.
    func testPreparedInputsGiveTheSameProducts() {
        var rng = SeededGenerator(seed: 0x5E)
        for type in Self.types {
            let cols = type.blockSize == 32 ? 352 : 768
            let rows = 37
            let count = rows * cols / type.blockSize
            let w = Self.randomBlocks(type, count: count, rng: &rng)
            let rowBytes = cols / type.blockSize * type.blockBytes
            for nx in [1, 3, 8, 9, 20] {
                let x = Self.edgeInputs(nx * cols, rng: &rng)
                forEachISA { isa in
                    let bytes = sf_quant_prepared_bytes(Int32(type.id), cols, nx)
                    guard isa != "portable" else {
                        XCTAssertEqual(bytes, 0, "\(type): the portable body has no prepared path")
                        return
                    }
                    XCTAssertEqual(bytes % 64, 0, "\(type) \(isa)")
                    guard bytes > 0 else { return XCTFail("\(type) \(isa): prepared path unavailable") }
                    let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                    defer { buffer.deallocate() }
                    var direct = [Float](repeating: -777, count: nx * rows)
                    var prepared = [Float](repeating: -777, count: nx * rows)
                    w.withUnsafeBytes { wp in
                        sf_gemm_quant_small(Int32(type.id), wp.baseAddress, rowBytes, cols, 0, rows, x, cols, nx, &direct, rows)
                        sf_quant_prepare_inputs(x, cols, cols, 0, nx / 2, buffer)
                        sf_quant_prepare_inputs(x, cols, cols, nx / 2, nx - nx / 2, buffer)
                        prepared.withUnsafeMutableBufferPointer { yp in
                            for r0 in stride(from: 0, to: rows, by: 16) {
                                sf_gemm_quant_prepared(Int32(type.id), wp.baseAddress, rowBytes, cols, r0, min(rows, r0 + 16),
                                                       buffer, nx, yp.baseAddress, rows)
                            }
                        }
                    }
                    XCTAssertFalse(direct.contains(-777), "\(type) \(isa) nx \(nx): unwritten output")
                    XCTAssertEqual(prepared, direct, "\(type) \(isa) nx \(nx)")
                }
            }
        }
    }
}
