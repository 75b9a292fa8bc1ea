import CKernels
@testable import SeedModel
import Foundation
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

    /// Only AVX-512 processors repack f16 weights in panels; the one-dot-per-input loops of the
    /// other instruction sets keep the file's rows and hand large batches to sgemm.
    func testPanelsOnlyWithAVX512() {
        forEachISA { isa in
            XCTAssertEqual(sf_f16_panels_preferred() != 0, isa == "avx512", isa)
        }
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
                // Each input alone: every output of a batch must come out bit-identical to the
                // input's own one-input product.
                let alone: [[Float]] = (0..<maxInputs).map { m in
                    var y = [Float](repeating: Self.sentinel, count: rows)
                    x.withUnsafeBufferPointer { sf_gemm_f16_small(w, cols, 0, rows, $0.baseAddress! + m * ldx, ldx, 1, &y, rows) }
                    return y
                }
                // 0 inputs must write nothing.
                for nx in 0...maxInputs {
                    // All rows, inner ranges, and a single row.
                    for (r0, r1) in [(0, rows), (1, 5), (0, 5), (5, 6)] {
                        var y = [Float](repeating: Self.sentinel, count: maxInputs * ldy)
                        sf_gemm_f16_small(w, cols, r0, r1, x, ldx, nx, &y, ldy)
                        for m in 0..<maxInputs {
                            for r in 0..<ldy {
                                let got = y[m * ldy + r]
                                if m < nx, (r0..<r1).contains(r) {
                                    assertClose(got, reference[m][r], "\(isa) cols \(cols) nx \(nx) rows \(r0)..<\(r1) Y[\(m), \(r)]")
                                    XCTAssertEqual(got, alone[m][r], "\(isa) cols \(cols) nx \(nx) rows \(r0)..<\(r1) Y[\(m), \(r)]: depends on the batch")
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

    func testPackF16Panels() {
        for (rows, cols) in [(1, 1), (15, 3), (16, 5), (17, 2), (40, 7)] {
            let w = randomHalves(rows * cols)
            let panels = (rows + 15) / 16
            XCTAssertEqual(sf_f16_panels_halves(rows, cols), panels * 16 * cols)
            var packed = [UInt16](repeating: 0xFFFF, count: panels * 16 * cols + 5)
            // Two disjoint ranges of panels, as two threads would pack them.
            sf_pack_f16_panels(w, rows, cols, 0, panels / 2, &packed)
            sf_pack_f16_panels(w, rows, cols, panels / 2, panels, &packed)
            for p in 0..<panels {
                for i in 0..<cols {
                    for lane in 0..<16 {
                        let r = p * 16 + lane
                        XCTAssertEqual(packed[p * 16 * cols + i * 16 + lane], r < rows ? w[r * cols + i] : 0,
                                       "rows \(rows) cols \(cols): panel \(p) column \(i) lane \(lane)")
                    }
                }
            }
            XCTAssertEqual(Array(packed[(panels * 16 * cols)...]), [UInt16](repeating: 0xFFFF, count: 5),
                           "rows \(rows) cols \(cols): wrote past the panels")
        }
    }

    /// The panel product against the reference, and every output bit-identical whatever else is
    /// computed with it: alone or in a batch of up to 11 inputs (groups of 8 and uneven ones),
    /// any row range (a range inside one panel, ranges crossing panels, tiles of 8, 3 and 1
    /// panels), weights streaming or not, and on every instruction set (the portable body is
    /// the AVX-512 one's reference, bit for bit).
    func testGemmF16Panels() {
        let maxInputs = 11
        // 200 rows: a one-input product of all of them takes an 8-panel tile, then three- and
        // one-panel ones; from row 20 the 8-panel tile starts past panel 0.
        for (rows, cols) in [(5, 33), (16, 16), (37, 17), (70, 1), (130, 64), (150, 257), (48, 2), (200, 33)] {
            let ldx = cols + 3, ldy = rows + 2
            let w = randomHalves(rows * cols)
            var packed = [UInt16](repeating: 0, count: sf_f16_panels_halves(rows, cols))
            sf_pack_f16_panels(w, rows, cols, 0, (rows + 15) / 16, &packed)
            let x = randomFloats(maxInputs * ldx)
            func product(_ r0: Int, _ r1: Int, _ nx: Int, streaming: Int32) -> [Float] {
                var y = [Float](repeating: Self.sentinel, count: maxInputs * ldy)
                sf_gemm_f16_panels(packed, cols, r0, r1, x, ldx, nx, &y, ldy, streaming)
                return y
            }
            sf_kernel_force_isa("portable")
            let portable = product(0, rows, maxInputs, streaming: 0)
            sf_kernel_force_isa(nil)
            // Each input alone, over all rows: the reference bits for everything below.
            let alone: [[Float]] = (0..<maxInputs).map { m in
                var y = [Float](repeating: Self.sentinel, count: rows)
                x.withUnsafeBufferPointer { sf_gemm_f16_panels(packed, cols, 0, rows, $0.baseAddress! + m * ldx, ldx, 1, &y, rows, 0) }
                return y
            }
            for m in 0..<maxInputs {
                for r in 0..<rows {
                    assertClose(alone[m][r], (0..<cols).map { half(w[r * cols + $0]) * Double(x[m * ldx + $0]) },
                                "rows \(rows) cols \(cols) Y[\(m), \(r)]")
                    XCTAssertEqual(portable[m * ldy + r].bitPattern, alone[m][r].bitPattern,
                                   "rows \(rows) cols \(cols) Y[\(m), \(r)]: the portable body differs")
                }
            }
            let ranges = [(0, rows), (1, rows - 1), (min(3, rows), min(9, rows)), (rows / 2, rows), (min(20, rows), rows), (0, 0)]
            for nx in 0...maxInputs {
                for (r0, r1) in ranges where r0 <= r1 {
                    for streaming: Int32 in [0, 1] {
                        let y = product(r0, r1, nx, streaming: streaming)
                        for m in 0..<maxInputs {
                            for r in 0..<ldy {
                                let want = m < nx && (r0..<r1).contains(r) ? alone[m][r] : Self.sentinel
                                XCTAssertEqual(y[m * ldy + r].bitPattern, want.bitPattern,
                                               "rows \(rows) cols \(cols) nx \(nx) rows \(r0)..<\(r1) streaming \(streaming): Y[\(m), \(r)]")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Rows widened back from panels are the file's rows, exactly, for any range.
    func testF16PanelsToF32() {
        forEachISA { isa in
            for (rows, cols) in [(5, 3), (16, 16), (37, 17), (70, 1), (40, 100)] {
                let w = randomHalves(rows * cols)
                var packed = [UInt16](repeating: 0, count: sf_f16_panels_halves(rows, cols))
                sf_pack_f16_panels(w, rows, cols, 0, (rows + 15) / 16, &packed)
                for (r0, r1) in [(0, rows), (1, rows - 1), (rows - 1, rows), (min(17, rows), rows), (2, 2)] where r0 <= r1 {
                    var dst = [Float](repeating: Self.sentinel, count: (r1 - r0) * cols + 3)
                    sf_f16_panels_to_f32(packed, cols, r0, r1, &dst)
                    let want = (r0..<r1).flatMap { r in (0..<cols).map { Float(Float16(bitPattern: w[r * cols + $0])) } }
                    XCTAssertEqual(Array(dst[..<((r1 - r0) * cols)]), want, "\(isa) rows \(rows) cols \(cols) range \(r0)..<\(r1)")
                    XCTAssertEqual(Array(dst[((r1 - r0) * cols)...]), [Float](repeating: Self.sentinel, count: 3),
                                   "\(isa) rows \(rows) cols \(cols) range \(r0)..<\(r1): wrote past the rows")
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

    /// The many-vector attention kernels give every vector exactly what the one-vector kernels
    /// give it (bit for bit: a verification row must match one-token decoding), see only the keys
    /// of its causal window, and write nothing else. Shapes cover groups of 4, 2 and 1 vectors,
    /// grouped-query heads, rows that see none, some or all of the block, blocks of more than 16
    /// keys, and heads that are not a multiple of 16 or wider than 64. (On AVX2 and portable
    /// builds the many-vector calls take one vector at a time, so only their windows are tested.)
    func testAttentionRowsMatchOneVectorAtATime() {
        forEachISA { isa in
            for hd in [6, 48, 64, 80, 128] {
                for heads in [1, 2, 3] {
                    for rows in [1, 2, 5, 8] {
                        let vectors = heads * rows
                        // Blocks may hold more than 16 keys (the block size is configurable).
                        let qRowStride = heads * hd + 3, stride = hd + 5, maxKeys = 33
                        let scoreStride = maxKeys + 2, outRowStride = heads * hd + 7
                        let q = randomFloats(rows * qRowStride), k = randomFloats(maxKeys * stride)
                        let w = randomFloats(vectors * scoreStride), out0 = randomFloats(rows * outRowStride)
                        for count in [0, 1, 7, 16, 33] {
                            for firstVisible in [-3, 0, 1, 4, 16, 40] {
                                func seen(_ m: Int) -> Int { max(0, min(count, firstVisible + m / heads)) }
                                func queryOffset(_ m: Int) -> Int { (m / heads) * qRowStride + (m % heads) * hd }
                                func outOffset(_ m: Int) -> Int { (m / heads) * outRowStride + (m % heads) * hd }
                                let shape = "\(isa) hd \(hd) heads \(heads) rows \(rows) count \(count) first \(firstVisible)"

                                var scores = [Float](repeating: Self.sentinel, count: vectors * scoreStride)
                                sf_attention_scores_rows(q, qRowStride, heads, rows, k, stride, firstVisible, count, hd, 0.125,
                                                         &scores, scoreStride)
                                var out = out0
                                sf_attention_accumulate_rows(w, scoreStride, heads, rows, k, stride, firstVisible, count, hd,
                                                             &out, outRowStride)
                                var wantOut = out0
                                for m in 0..<vectors {
                                    var alone = [Float](repeating: Self.sentinel, count: scoreStride)
                                    q.withUnsafeBufferPointer { qb in
                                        sf_attention_scores(qb.baseAddress! + queryOffset(m), k, stride, seen(m), hd, 0.125, &alone)
                                    }
                                    XCTAssertEqual(scores[(m * scoreStride)..<((m + 1) * scoreStride)].map(\.bitPattern),
                                                   alone.map(\.bitPattern), "\(shape): scores of vector \(m)")
                                    wantOut.withUnsafeMutableBufferPointer { ob in
                                        w.withUnsafeBufferPointer { wb in
                                            sf_attention_accumulate(wb.baseAddress! + m * scoreStride, k, stride, seen(m), hd,
                                                                    ob.baseAddress! + outOffset(m))
                                        }
                                    }
                                }
                                XCTAssertEqual(out.map(\.bitPattern), wantOut.map(\.bitPattern), "\(shape): value sums")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The vector exp against double precision: relative error of a few ulp over the whole range
    /// where e^x is a normal float, and the edges (overflow, underflow) handled as expf does.
    func testExp() {
        forEachISA { isa in
            var x = (0..<2000).map { _ in Float.random(in: -87...88, using: &rng) }
            x += [0, -0.0, 1, -1, 0.5 * Float(M_LN2), -0.5 * Float(M_LN2), 1e-8, -1e-8, 20, -20, 88, -87]
            var y = [Float](repeating: Self.sentinel, count: x.count + 1)
            sf_exp_f32(x, &y, x.count)
            for (i, v) in x.enumerated() {
                let want = Foundation.exp(Double(v))
                XCTAssertLessThanOrEqual(abs(Double(y[i]) - want) / want, 4e-7, "\(isa) exp(\(v)) = \(y[i]), want \(want)")
            }
            XCTAssertEqual(y[x.count], Self.sentinel, "\(isa): wrote past the end")
            var inPlace = x
            sf_exp_f32(inPlace, &inPlace, x.count)
            XCTAssertEqual(inPlace, Array(y[0..<x.count]), "\(isa): in place must give the same values")
            // Far below the range every body gives (nearly) 0, never a NaN; far above, a huge value.
            let edges: [Float] = [-200, -.infinity, 200]
            var e = [Float](repeating: 0, count: 3)
            sf_exp_f32(edges, &e, 3)
            XCTAssertLessThanOrEqual(e[0], 1.2e-38, isa)
            XCTAssertLessThanOrEqual(e[1], 1.2e-38, isa)
            XCTAssertGreaterThan(e[2], 1e38, isa)
        }
    }

    func testSwiGLU() {
        forEachISA { isa in
            for n in [0, 1, 7, 8, 15, 16, 17, 33, 1000] {
                let g0 = (0..<n).map { _ in Float.random(in: -30...30, using: &rng) } + [-120, 120]
                let u = randomFloats(g0.count)
                var g = g0 + [Self.sentinel]
                sf_swiglu(&g, u, g0.count)
                for i in 0..<g0.count {
                    let a = Double(g0[i])
                    let want = a / (1 + Foundation.exp(-a)) * Double(u[i])
                    XCTAssertEqual(Double(g[i]), want, accuracy: 1e-6 * max(1, abs(want)), "\(isa) n \(n) silu(\(a)) · \(u[i])")
                }
                XCTAssertEqual(g[g0.count], Self.sentinel, "\(isa) n \(n): wrote past the end")
            }
        }
    }

    func testSoftmax() {
        forEachISA { isa in
            for n in [1, 2, 7, 8, 15, 16, 17, 100, 257] {
                let x = (0..<n).map { _ in Float.random(in: -40...10, using: &rng) }
                var row = x + [Self.sentinel]
                sf_softmax(&row, n)
                let top = Double(x.max()!)
                let e = x.map { Foundation.exp(Double($0) - top) }
                let total = e.reduce(0, +)
                for i in 0..<n {
                    XCTAssertEqual(Double(row[i]), e[i] / total, accuracy: 1e-6, "\(isa) n \(n) p[\(i)]")
                }
                XCTAssertEqual(row[n], Self.sentinel, "\(isa) n \(n): wrote past the end")
            }
            var empty: [Float] = [Self.sentinel]
            sf_softmax(&empty, 0)
            XCTAssertEqual(empty, [Self.sentinel], "\(isa): n = 0 must write nothing")
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
