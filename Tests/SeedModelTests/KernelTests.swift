import CKernels
import XCTest

/// The C kernels against Double-precision references. Sizes straddle every vector width the
/// dispatched bodies use (8, 16, 32 lanes) so the scalar tails run; outputs outside the requested
/// rows carry a sentinel that must survive. Every body the processor can run is checked, not
/// only the one dispatch picks, so a machine with AVX-512 also tests the AVX2 and portable code.
final class KernelTests: XCTestCase {
    private static let columnCounts = [1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 47, 64, 100, 257]
    private static let sentinel: Float = -77777

    private var rng = SeededGenerator(seed: 0xCE11)

    private func randomHalves(_ n: Int) -> [UInt16] {
        (0..<n).map { _ in Float16(Float.random(in: -2...2, using: &rng)).bitPattern }
    }

    private func randomFloats(_ n: Int) -> [Float] {
        (0..<n).map { _ in Float.random(in: -2...2, using: &rng) }
    }

    /// Single-precision sums of n products are accurate relative to the sum of the magnitudes,
    /// not to the (possibly cancelled) result, so that is the scale of the 1e-4 tolerance.
    private func assertClose(_ got: Float, _ terms: [Double], _ message: @autoclosure () -> String,
                             file: StaticString = #filePath, line: UInt = #line) {
        let want = terms.reduce(0, +)
        let scale = max(terms.reduce(0) { $0 + abs($1) }, 1e-30)
        XCTAssertLessThanOrEqual(abs(Double(got) - want), 1e-4 * scale,
                                 "\(message()): \(got) vs \(want)", file: file, line: line)
    }

    private func half(_ bits: UInt16) -> Double { Double(Float16(bitPattern: bits)) }

    /// Runs `body` with every kernel body this processor can run, then restores the detected one.
    private func forEachISA(_ body: (String) -> Void) {
        defer { sf_kernel_force_isa(nil) }
        var ran: [String] = []
        for name in ["avx512", "avx2", "portable"] where sf_kernel_force_isa(name) == 1 {
            XCTAssertEqual(String(cString: sf_kernel_isa()), name)
            body(name)
            ran.append(name)
        }
        XCTAssertTrue(ran.contains("portable"), "the portable body must always be available")
    }

    func testIsaSelection() {
        let detected = String(cString: sf_kernel_isa())
        XCTAssertTrue(["avx512", "avx2", "portable"].contains(detected))
        XCTAssertEqual(sf_kernel_force_isa("sse9"), 0)
        XCTAssertEqual(String(cString: sf_kernel_isa()), detected, "an unknown name must change nothing")
        XCTAssertEqual(sf_kernel_force_isa("portable"), 1)
        XCTAssertEqual(String(cString: sf_kernel_isa()), "portable")
        XCTAssertEqual(sf_kernel_force_isa(nil), 1)
        XCTAssertEqual(String(cString: sf_kernel_isa()), detected)
    }

    func testF16ToF32() {
        forEachISA { isa in
            for n in Array(0...40) + [1000, 1023] {
                let src = randomHalves(n)
                var dst = [Float](repeating: Self.sentinel, count: n + 3)
                sf_f16_to_f32(src, &dst, n)
                for i in 0..<n { XCTAssertEqual(dst[i], Float(Float16(bitPattern: src[i])), "\(isa) n \(n) [\(i)]") }
                XCTAssertEqual(Array(dst[n...]), [Float](repeating: Self.sentinel, count: 3), "\(isa) n \(n): wrote past the end")
            }
        }
    }

    func testGemvF16() {
        forEachISA { isa in
            let rows = 19
            for cols in Self.columnCounts {
                let w = randomHalves(rows * cols), x = randomFloats(cols)
                // Whole eight-row tiles, tiles and a remainder, fewer rows than a tile, none.
                for (r0, r1) in [(0, rows), (0, 16), (1, 18), (2, 7), (4, 5), (3, 3)] {
                    var y = [Float](repeating: Self.sentinel, count: rows)
                    sf_gemv_f16(w, cols, r0, r1, x, &y)
                    for r in 0..<rows {
                        if (r0..<r1).contains(r) {
                            let terms = (0..<cols).map { half(w[r * cols + $0]) * Double(x[$0]) }
                            assertClose(y[r], terms, "\(isa) cols \(cols) rows \(r0)..<\(r1) y[\(r)]")
                        } else {
                            XCTAssertEqual(y[r], Self.sentinel, "\(isa) cols \(cols) rows \(r0)..<\(r1): wrote y[\(r)]")
                        }
                    }
                }
            }
        }
    }

    func testGemvF32() {
        forEachISA { isa in
            let rows = 5
            for cols in Self.columnCounts {
                let w = randomFloats(rows * cols), x = randomFloats(cols)
                var y = [Float](repeating: Self.sentinel, count: rows)
                sf_gemv_f32(w, cols, 1, 4, x, &y)
                XCTAssertEqual(y[0], Self.sentinel)
                XCTAssertEqual(y[4], Self.sentinel)
                for r in 1..<4 {
                    assertClose(y[r], (0..<cols).map { Double(w[r * cols + $0]) * Double(x[$0]) }, "\(isa) cols \(cols) y[\(r)]")
                }
            }
        }
    }

    func testGemmF16Small() {
        forEachISA { isa in
            let rows = 6, maxInputs = 11
            for cols in Self.columnCounts {
                // Strides wider than the data, so a kernel that assumes packed rows reads or writes
                // the padding and fails.
                let ldx = cols + 3, ldy = rows + 2
                let w = randomHalves(rows * cols)
                let x = randomFloats(maxInputs * ldx)
                let reference = (0..<maxInputs).map { m in
                    (0..<rows).map { r in (0..<cols).map { half(w[r * cols + $0]) * Double(x[m * ldx + $0]) } }
                }
                // 0 inputs must write nothing; 9 and more take the eight-at-a-time path repeatedly.
                for nx in 0...maxInputs {
                    // Whole three-row tiles, then one or two rows left over, and a single row.
                    for (r0, r1) in [(0, rows), (1, 5), (0, 5), (5, 6)] {
                        var y = [Float](repeating: Self.sentinel, count: maxInputs * ldy)
                        sf_gemm_f16_small(w, cols, r0, r1, x, ldx, nx, &y, ldy)
                        for m in 0..<maxInputs {
                            for r in 0..<ldy {
                                let got = y[m * ldy + r]
                                if m < nx, (r0..<r1).contains(r) {
                                    assertClose(got, reference[m][r], "\(isa) cols \(cols) nx \(nx) rows \(r0)..<\(r1) Y[\(m), \(r)]")
                                } else {
                                    XCTAssertEqual(got, Self.sentinel, "\(isa) cols \(cols) nx \(nx) rows \(r0)..<\(r1): wrote Y[\(m), \(r)]")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func testAttentionScores() {
        forEachISA { isa in
            // 64 and 128 are specialised; 48 and 80 take the generic vector loop, 6 the scalar one.
            for hd in [6, 48, 64, 80, 128] {
                let stride = hd + 5  // keys of a block sit further apart than one head
                let maxKeys = 40     // two full groups of 16 keys and a partial one
                let q = randomFloats(hd), k = randomFloats(maxKeys * stride)
                let scale: Float = 0.125
                for count in 0...maxKeys {
                    var scores = [Float](repeating: Self.sentinel, count: maxKeys + 1)
                    sf_attention_scores(q, k, stride, count, hd, scale, &scores)
                    for j in 0..<count {
                        assertClose(scores[j], (0..<hd).map { Double(q[$0]) * Double(k[j * stride + $0]) * Double(scale) },
                                    "\(isa) hd \(hd) count \(count) score[\(j)]")
                    }
                    XCTAssertEqual(Array(scores[count...]), [Float](repeating: Self.sentinel, count: maxKeys + 1 - count),
                                   "\(isa) hd \(hd) count \(count): wrote past the last key")
                }
            }
        }
    }

    func testAttentionAccumulate() {
        forEachISA { isa in
            for hd in [6, 48, 64, 80, 128] {
                let stride = hd + 5, maxKeys = 20
                let w = randomFloats(maxKeys), v = randomFloats(maxKeys * stride), out0 = randomFloats(hd)
                for count in [0, 1, 2, 7, 16, 20] {
                    var out = out0 + [Self.sentinel]
                    sf_attention_accumulate(w, v, stride, count, hd, &out)
                    for d in 0..<hd {
                        assertClose(out[d], [Double(out0[d])] + (0..<count).map { Double(w[$0]) * Double(v[$0 * stride + d]) },
                                    "\(isa) hd \(hd) count \(count) out[\(d)]")
                    }
                    XCTAssertEqual(out[hd], Self.sentinel, "\(isa) hd \(hd) count \(count): wrote past the row")
                }
            }
        }
    }

    func testDotF32() {
        forEachISA { isa in
            for n in Array(0...70) + [100, 1000, 4097] {
                let a = randomFloats(n), b = randomFloats(n)
                assertClose(sf_dot_f32(a, b, n), (0..<n).map { Double(a[$0]) * Double(b[$0]) }, "\(isa) n \(n)")
            }
        }
    }

    func testAxpyF32() {
        forEachISA { isa in
            for n in Array(0...70) + [100, 1000, 4097] {
                let x = randomFloats(n), y0 = randomFloats(n)
                let alpha = Float.random(in: -3...3, using: &rng)
                var y = y0 + [Self.sentinel]
                sf_axpy_f32(alpha, x, &y, n)
                for i in 0..<n {
                    assertClose(y[i], [Double(y0[i]), Double(alpha) * Double(x[i])], "\(isa) n \(n) y[\(i)]")
                }
                XCTAssertEqual(y[n], Self.sentinel, "\(isa) n \(n): wrote past the end")
            }
        }
    }
}
