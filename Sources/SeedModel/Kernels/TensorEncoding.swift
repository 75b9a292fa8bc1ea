import CKernels

/// Conversions between f32 values and the bytes of a tensor type: `dequantizeRow` widens stored
/// rows for the kernels; `encode` is the inverse, used by the GGUF writer. Types the kernels
/// cannot read are rejected at model load (see `GGMLType.computable`), so reaching the
/// `default` branches here is a programming error.
public enum TensorEncoding {
    /// Writes `count` f32 values decoded from `src` (which must hold whole blocks) into `dst`.
    public static func dequantizeRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        switch type {
        case .f32:
            dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            sf_f16_to_f32(src.assumingMemoryBound(to: UInt16.self), dst, count)
        case .bf16:
            sf_bf16_to_f32(src.assumingMemoryBound(to: UInt16.self), dst, count)
        case .q8_0:
            // Block: f16 scale, then 32 signed bytes.
            for block in 0..<(count / 32) {
                let b = src + block * 34
                let d = Float(Float16(bitPattern: b.loadUnaligned(as: UInt16.self)))
                let q = (b + 2).assumingMemoryBound(to: Int8.self)
                for i in 0..<32 { dst[block * 32 + i] = d * Float(q[i]) }
            }
        default:
            preconditionFailure("dequantizeRow: \(type) is not computable")
        }
    }

    /// The values of one stored tensor, widened to f32 (for tests and small tensors such as norms).
    public static func decode(_ bytes: UnsafeRawBufferPointer, type: GGMLType, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = bytes.baseAddress, count > 0 {
                dequantizeRow(type, base, buffer.baseAddress!, count: count)
            }
            initialized = count
        }
    }

    /// Encodes f32 values as `type` (F32, F16, BF16 or Q8_0).
    public static func encode(_ values: [Float], as type: GGMLType) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(type.byteCount(elements: values.count))
        func put16(_ v: UInt16) { out.append(UInt8(v & 0xff)); out.append(UInt8(v >> 8)) }
        switch type {
        case .f32:
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        case .f16:
            for v in values { put16(Float16(v).bitPattern) }
        case .bf16:
            for v in values {
                let bits = v.bitPattern
                guard !v.isNaN else {
                    // Rounding a NaN's payload could carry into the exponent (giving infinity) or
                    // wrap the sign (giving zero); truncate it and keep it a quiet NaN instead.
                    put16(UInt16(truncatingIfNeeded: bits >> 16) | 0x0040)
                    continue
                }
                // Round to nearest even on the dropped 16 bits.
                let rounded = bits &+ 0x7fff &+ ((bits >> 16) & 1)
                put16(UInt16(truncatingIfNeeded: rounded >> 16))
            }
        case .q8_0:
            precondition(values.count % 32 == 0, "Q8_0 needs a multiple of 32 values")
            for block in stride(from: 0, to: values.count, by: 32) {
                let chunk = values[block..<block + 32]
                let amax = chunk.map(abs).max() ?? 0
                // Decoding multiplies by the stored f16 scale, so quantize with that same scale,
                // rounded up to cover amax: every value then lands within half a step and needs
                // no more than ±127. (Quantizing with the exact amax/127 instead, as ggml does,
                // lets the f16 rounding of the scale add up to 127 × its error on top.)
                var d = Float16(min(amax / 127, Float(Float16.greatestFiniteMagnitude)))
                if Float(d) * 127 < amax, d < .greatestFiniteMagnitude { d = d.nextUp }
                let scale = Float(d)
                let inv = scale > 0 ? 1 / scale : 0
                put16(d.bitPattern)
                for v in chunk {
                    // Clamped so Int8() cannot trap: on rounding at exactly ±127 steps, or on
                    // infinite or NaN input, which Q8_0 cannot represent anyway.
                    let q = max(-127, min(127, (v * inv).rounded()))
                    out.append(UInt8(bitPattern: Int8(q)))
                }
            }
        default:
            preconditionFailure("encode: \(type) is not supported by the writer")
        }
        return out
    }
}
