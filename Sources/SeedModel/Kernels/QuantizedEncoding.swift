/// Encoders for ggml's quantized block formats, so that tests and benchmarks can write models
/// in every type the kernels read. They round to nearest with simple scale choices (no search for
/// the error-minimising scale as llama.cpp's quantizer does): good enough for random weights,
/// and every stored value decodes within half a step of its input. The layouts are documented
/// next to their decoders in CKernels/quant.c.
extension TensorEncoding {
    static func encodeBlock(_ x: UnsafeBufferPointer<Float>, as type: GGMLType, into out: inout [UInt8]) {
        switch type {
        case .q4_0: encodeSymmetric(x, levels: 16, into: &out)
        case .q5_0: encodeSymmetric(x, levels: 32, into: &out)
        case .q4_1: encodeOffset(x, bits: 4, into: &out)
        case .q5_1: encodeOffset(x, bits: 5, into: &out)
        case .q8_0: encodeQ8_0(x, into: &out)
        case .q4_K: encodeK(x, bits: 4, into: &out)
        case .q5_K: encodeK(x, bits: 5, into: &out)
        case .q6_K: encodeQ6_K(x, into: &out)
        case .q2_K: encodeQ2_K(x, into: &out)
        case .q3_K: encodeQ3_K(x, into: &out)
        case .iq4_nl: encodeIQ4_NL(x, into: &out)
        case .iq4_xs: encodeIQ4_XS(x, into: &out)
        default: preconditionFailure("encodeBlock: \(type) is not a quantized type")
        }
    }

    /// The f16 scale to store for values up to `magnitude` in `steps` steps: rounded up, so that
    /// quantizing with the stored (not the exact) scale never needs more than `steps`.
    /// (Quantizing with the exact scale, as ggml does, lets the f16 rounding add up to `steps` ×
    /// its error on top of half a step.)
    static func storedScale(_ magnitude: Float, steps: Float) -> Float16 {
        var d = Float16(min(magnitude / steps, Float(Float16.greatestFiniteMagnitude)))
        if Float(d) * steps < magnitude, d < .greatestFiniteMagnitude { d = d.nextUp }
        return d
    }

    /// Quantizes to an integer in lo...hi; clamped so that NaN, infinities and rounding at the
    /// edge cannot trap or wrap.
    static func level(_ v: Float, _ inverse: Float, _ lo: Int, _ hi: Int) -> Int {
        let q = (v * inverse).rounded()
        return q.isNaN ? 0 : Int(max(Float(lo), min(Float(hi), q)))
    }

    private static func put16(_ v: UInt16, _ out: inout [UInt8]) {
        out.append(UInt8(v & 0xff))
        out.append(UInt8(v >> 8))
    }

    private static func put32(_ v: UInt32, _ out: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8((v >> UInt32(shift)) & 0xff)) }
    }

    /// Q8_0: d, then 32 signed bytes in −127...127.
    private static func encodeQ8_0(_ x: UnsafeBufferPointer<Float>, into out: inout [UInt8]) {
        let d = storedScale(x.map(abs).max() ?? 0, steps: 127)
        let inverse = Float(d) > 0 ? 1 / Float(d) : 0
        put16(d.bitPattern, &out)
        for v in x { out.append(UInt8(bitPattern: Int8(level(v, inverse, -127, 127)))) }
    }

    /// Q4_0 (16 levels) and Q5_0 (32): d, [Q5_0: fifth bits], nibbles; value = d × (q − levels/2).
    /// The largest magnitude, whatever its sign, sets d so that −levels/2 reaches it.
    private static func encodeSymmetric(_ x: UnsafeBufferPointer<Float>, levels: Int, into out: inout [UInt8]) {
        let half = levels / 2
        let d = storedScale(x.map(abs).max() ?? 0, steps: Float(half - 1))
        let inverse = Float(d) > 0 ? 1 / Float(d) : 0
        let q = x.map { level($0, inverse, -half, half - 1) + half }
        put16(d.bitPattern, &out)
        if levels == 32 {
            var high: UInt32 = 0
            for (j, v) in q.enumerated() where v & 16 != 0 { high |= 1 << UInt32(j) }
            put32(high, &out)
        }
        for j in 0..<16 { out.append(UInt8(q[j] & 0xF) | UInt8(q[j + 16] & 0xF) << 4) }
    }

    /// Q4_1 (4 bits) and Q5_1 (5): d, m, [Q5_1: fifth bits], nibbles; value = d × q + m with q
    /// in 0...2^bits − 1.
    private static func encodeOffset(_ x: UnsafeBufferPointer<Float>, bits: Int, into out: inout [UInt8]) {
        let top = (1 << bits) - 1
        let lo = x.min() ?? 0, hi = x.max() ?? 0
        let m = Float16(lo)
        let d = storedScale(max(0, hi - Float(m)), steps: Float(top))
        let inverse = Float(d) > 0 ? 1 / Float(d) : 0
        let q = x.map { level($0 - Float(m), inverse, 0, top) }
        put16(d.bitPattern, &out)
        put16(m.bitPattern, &out)
        if bits == 5 {
            var high: UInt32 = 0
            for (j, v) in q.enumerated() where v & 16 != 0 { high |= 1 << UInt32(j) }
            put32(high, &out)
        }
        for j in 0..<16 { out.append(UInt8(q[j] & 0xF) | UInt8(q[j + 16] & 0xF) << 4) }
    }

    /// The signed value of largest magnitude in `values` (0 for none).
    private static func extreme<C: Collection<Float>>(_ values: C) -> Float {
        values.max { abs($0) < abs($1) } ?? 0
    }

    /// Q2_K: sixteen sub-blocks of 16, value = d·sc × q − dmin·m with q in 0...3 and 4-bit sc, m.
    private static func encodeQ2_K(_ x: UnsafeBufferPointer<Float>, into out: inout [UInt8]) {
        var steps = [Float](repeating: 0, count: 16), offsets = [Float](repeating: 0, count: 16)
        for s in 0..<16 {
            let sub = x[(s * 16)..<(s * 16 + 16)]
            let lo = min(0, sub.min() ?? 0)
            offsets[s] = -lo
            steps[s] = ((sub.max() ?? 0) - lo) / 3
        }
        let d = storedScale(steps.max() ?? 0, steps: 15)
        let dmin = storedScale(offsets.max() ?? 0, steps: 15)
        // Scales round up (never below the step a sub-block needs); minimums to nearest.
        let sc = steps.map { Float(d) > 0 ? min(15, Int(($0 / Float(d)).rounded(.up))) : 0 }
        let mn = offsets.map { Float(dmin) > 0 ? min(15, Int(($0 / Float(dmin)).rounded())) : 0 }
        var qs = [UInt8](repeating: 0, count: 64)
        for e in 0..<256 {
            let s = e / 16
            let step = Float(d) * Float(sc[s]), offset = Float(dmin) * Float(mn[s])
            let q = level(x[e] + offset, step > 0 ? 1 / step : 0, 0, 3)
            // Element 32j + l of half h: bits 2j, 2j + 1 of byte 32h + l.
            qs[e / 128 * 32 + e % 32] |= UInt8(q) << UInt8(2 * (e % 128 / 32))
        }
        for s in 0..<16 { out.append(UInt8(sc[s]) | UInt8(mn[s]) << 4) }
        out.append(contentsOf: qs)
        put16(d.bitPattern, &out)
        put16(dmin.bitPattern, &out)
    }

    /// Q3_K: sixteen sub-blocks of 16, value = d × sc × q with q in −4...3 and signed 6-bit sc
    /// (−32...31). Each sub-block's scale takes the sign that maps its extreme value to −4.
    private static func encodeQ3_K(_ x: UnsafeBufferPointer<Float>, into out: inout [UInt8]) {
        let steps = (0..<16).map { s in -extreme(x[(s * 16)..<(s * 16 + 16)]) / 4 }
        let d = storedScale(steps.map(abs).max() ?? 0, steps: 31)
        let sc = steps.map { step -> Int in
            guard Float(d) > 0 else { return 0 }
            let n = min(31, Int((abs(step) / Float(d)).rounded(.up)))
            return step < 0 ? -n : n
        }
        var hmask = [UInt8](repeating: 0, count: 32), qs = [UInt8](repeating: 0, count: 64)
        for e in 0..<256 {
            let step = Float(d) * Float(sc[e / 16])
            let q = level(x[e], step != 0 ? 1 / step : 0, -4, 3) + 4
            let group = e / 32, l = e % 32
            if q >= 4 { hmask[l] |= 1 << UInt8(group) }
            qs[e / 128 * 32 + l] |= UInt8(q & 3) << UInt8(2 * (group % 4))
        }
        let u = sc.map { UInt8($0 + 32) }
        var packed = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { packed[i] = (u[i] & 0xF) | (u[i + 8] & 0xF) << 4 }
        for s in 0..<16 { packed[8 + s % 4] |= (u[s] >> 4) << UInt8(2 * (s / 4)) }
        out.append(contentsOf: hmask)
        out.append(contentsOf: qs)
        out.append(contentsOf: packed)
        put16(d.bitPattern, &out)
    }

    /// The levels of IQ4_NL and IQ4_XS (ggml's kvalues_iq4nl): a nibble indexes this table.
    static let iq4Levels: [Int] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    /// The nibble whose level is nearest to v / step.
    private static func iq4Index(_ v: Float, _ step: Float) -> Int {
        let t = step != 0 ? v / step : 0
        guard t.isFinite else { return 8 }
        var best = 0
        for i in 1..<16 where abs(Float(iq4Levels[i]) - t) < abs(Float(iq4Levels[best]) - t) { best = i }
        return best
    }

    /// Sixteen nibbles of one 32-element body: byte j holds element j and j + 16.
    private static func putNibbles(_ q: [Int], _ out: inout [UInt8]) {
        for j in 0..<16 { out.append(UInt8(q[j]) | UInt8(q[j + 16]) << 4) }
    }

    /// IQ4_NL: d, nibbles; value = d × iq4Levels[q]. d maps the extreme value to −127, the
    /// level of largest magnitude.
    private static func encodeIQ4_NL(_ x: UnsafeBufferPointer<Float>, into out: inout [UInt8]) {
        let d = Float16(-extreme(x) / 127)
        put16(d.bitPattern, &out)
        putNibbles(x.map { iq4Index($0, Float(d)) }, &out)
    }

    /// IQ4_XS: d, the 6-bit sub-block scales (top bits, then low nibbles), eight IQ4_NL bodies;
    /// value = d × (scale − 32) × iq4Levels[q].
    private static func encodeIQ4_XS(_ x: UnsafeBufferPointer<Float>, into out: inout [UInt8]) {
        let steps = (0..<8).map { s in -extreme(x[(s * 32)..<(s * 32 + 32)]) / 127 }
        let d = storedScale(steps.map(abs).max() ?? 0, steps: 31)
        let ls = steps.map { step -> Int in
            guard Float(d) > 0 else { return 32 }
            let n = min(31, Int((abs(step) / Float(d)).rounded()))
            return (step < 0 ? -n : n) + 32
        }
        put16(d.bitPattern, &out)
        var high: UInt16 = 0
        for s in 0..<8 { high |= UInt16(ls[s] >> 4) << UInt16(2 * s) }
        put16(high, &out)
        for i in 0..<4 { out.append(UInt8(ls[2 * i] & 0xF) | UInt8(ls[2 * i + 1] & 0xF) << 4) }
        for s in 0..<8 {
            let step = Float(d) * Float(ls[s] - 32)
            putNibbles((0..<32).map { iq4Index(x[s * 32 + $0], step) }, &out)
        }
    }

    /// Q4_K / Q5_K: eight sub-blocks of 32, each value = d·sc × q − dmin·m with 6-bit sc and m.
    private static func encodeK(_ x: UnsafeBufferPointer<Float>, bits: Int, into out: inout [UInt8]) {
        let top = (1 << bits) - 1
        // Per sub-block: its step and the (non-negative) offset subtracted after scaling.
        var steps = [Float](repeating: 0, count: 8), offsets = [Float](repeating: 0, count: 8)
        for s in 0..<8 {
            let sub = x[(s * 32)..<(s * 32 + 32)]
            let lo = min(0, sub.min() ?? 0)
            offsets[s] = -lo
            steps[s] = ((sub.max() ?? 0) - lo) / Float(top)
        }
        let d = storedScale(steps.max() ?? 0, steps: 63)
        let dmin = storedScale(offsets.max() ?? 0, steps: 63)
        // Scales round up (never below the step a sub-block needs); minimums to nearest.
        let sc = steps.map { Float(d) > 0 ? min(63, Int(($0 / Float(d)).rounded(.up))) : 0 }
        let mn = offsets.map { Float(dmin) > 0 ? min(63, Int(($0 / Float(dmin)).rounded())) : 0 }
        var q = [Int](repeating: 0, count: 256)
        for s in 0..<8 {
            let step = Float(d) * Float(sc[s]), offset = Float(dmin) * Float(mn[s])
            let inverse = step > 0 ? 1 / step : 0
            for l in 0..<32 { q[s * 32 + l] = level(x[s * 32 + l] + offset, inverse, 0, top) }
        }
        put16(d.bitPattern, &out)
        put16(dmin.bitPattern, &out)
        var packed = [UInt8](repeating: 0, count: 12)
        for j in 0..<4 {
            packed[j] = UInt8(sc[j] & 63) | UInt8(sc[j + 4] >> 4) << 6
            packed[j + 4] = UInt8(mn[j] & 63) | UInt8(mn[j + 4] >> 4) << 6
            packed[j + 8] = UInt8(sc[j + 4] & 0xF) | UInt8(mn[j + 4] & 0xF) << 4
        }
        out.append(contentsOf: packed)
        if bits == 5 {
            for l in 0..<32 {
                var h: UInt8 = 0
                for s in 0..<8 where q[s * 32 + l] & 16 != 0 { h |= 1 << UInt8(s) }
                out.append(h)
            }
        }
        for pair in 0..<4 {
            for l in 0..<32 {
                out.append(UInt8(q[pair * 64 + l] & 0xF) | UInt8(q[pair * 64 + 32 + l] & 0xF) << 4)
            }
        }
    }

    /// Q6_K: sixteen sub-blocks of 16, value = d × sc × (q − 32) with signed 8-bit sc.
    private static func encodeQ6_K(_ x: UnsafeBufferPointer<Float>, into out: inout [UInt8]) {
        let magnitudes = (0..<16).map { s in x[(s * 16)..<(s * 16 + 16)].map(abs).max() ?? 0 }
        let d = storedScale((magnitudes.max() ?? 0) / 31, steps: 127)
        let sc = magnitudes.map { Float(d) > 0 ? min(127, Int(($0 / 31 / Float(d)).rounded(.up))) : 0 }
        var q = [Int](repeating: 32, count: 256)
        for e in 0..<256 {
            let step = Float(d) * Float(sc[e / 16])
            q[e] = level(x[e], step > 0 ? 1 / step : 0, -32, 31) + 32
        }
        var ql = [UInt8](repeating: 0, count: 128), qh = [UInt8](repeating: 0, count: 64)
        for half in 0..<2 {
            for l in 0..<32 {
                let e = half * 128 + l
                ql[half * 64 + l] = UInt8(q[e] & 0xF) | UInt8(q[e + 64] & 0xF) << 4
                ql[half * 64 + l + 32] = UInt8(q[e + 32] & 0xF) | UInt8(q[e + 96] & 0xF) << 4
                qh[half * 32 + l] = UInt8(q[e] >> 4) | UInt8(q[e + 32] >> 4) << 2
                    | UInt8(q[e + 64] >> 4) << 4 | UInt8(q[e + 96] >> 4) << 6
            }
        }
        out.append(contentsOf: ql)
        out.append(contentsOf: qh)
        for s in sc { out.append(UInt8(bitPattern: Int8(s))) }
        put16(d.bitPattern, &out)
    }
}
