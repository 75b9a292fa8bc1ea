import CKernels

/// Conversions between f32 values and the bytes of a tensor type: `dequantizeRow` widens stored
/// rows for the kernels; `encode` is the inverse, used by the GGUF writer. Types the kernels
/// cannot read are rejected at model load (see `GGMLType.computable`), so reaching the
/// `default` branches here is a programming error. The quantized formats are decoded in C
/// (CKernels/quant.c, vectorized); their encoders are in QuantizedEncoding.swift.
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
        case _ where type.isQuantized:
            sf_dequantize_row(Int32(type.id), src, dst, count)
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

    /// Encodes f32 values as `type`: F32, F16, BF16 or any of `GGMLType.quantized`.
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
        case _ where type.isQuantized:
            precondition(values.count % type.blockSize == 0, "\(type) needs a multiple of \(type.blockSize) values")
            values.withUnsafeBufferPointer { all in
                for start in stride(from: 0, to: all.count, by: type.blockSize) {
                    encodeBlock(UnsafeBufferPointer(rebasing: all[start..<start + type.blockSize]), as: type, into: &out)
                }
            }
        default:
            preconditionFailure("encode: \(type) is not supported by the writer")
        }
        return out
    }
}
