import Foundation

/// Writes GGUF version 3 files: any architecture, tensor type and vocabulary. Tests and benchmarks
/// use it to make random-weight models of the shapes they need.
public struct GGUFWriter: Sendable {
    public struct Tensor: Sendable {
        public var name: String
        /// ggml order: `dimensions[0]` is the row length.
        public var dimensions: [Int]
        public var type: GGMLType
        public var bytes: [UInt8]
    }

    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    public private(set) var tensors: [Tensor] = []
    public var alignment: Int = 32

    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = metadata.firstIndex(where: { $0.key == key }) {
            metadata[i].value = value
        } else {
            metadata.append((key, value))
        }
    }

    public mutating func set(_ key: String, _ value: String) { set(key, .string(value)) }
    public mutating func set(_ key: String, uint32 value: Int) { set(key, .uint32(UInt32(value))) }
    public mutating func set(_ key: String, float value: Float) { set(key, .float32(value)) }
    public mutating func set(_ key: String, strings: [String]) {
        set(key, .array(.string, strings.map { .string($0) }))
    }

    /// Adds a tensor whose bytes are already encoded in `type`.
    public mutating func addTensor(_ name: String, dimensions: [Int], type: GGMLType, bytes: [UInt8]) {
        tensors.append(Tensor(name: name, dimensions: dimensions, type: type, bytes: bytes))
    }

    /// Adds a tensor from f32 values, encoded as F32, F16, BF16 or Q8_0.
    public mutating func addTensor(_ name: String, dimensions: [Int], type: GGMLType = .f32, values: [Float]) {
        precondition(values.count == dimensions.reduce(1, *), "tensor \(name): value count does not match shape")
        addTensor(name, dimensions: dimensions, type: type, bytes: TensorEncoding.encode(values, as: type))
    }

    public func encoded() -> [UInt8] {
        var out = header()
        for t in tensors {
            out.append(contentsOf: t.bytes)
            pad(&out)
        }
        return out
    }

    /// Writes the file tensor by tensor: a model of billions of weights is never copied whole.
    /// (Tensors may share one byte array, as the benchmark models' layers do.) A failure names
    /// the system's reason (a full disk, a size limit), not a Foundation error number.
    public func write(to path: String) throws(GGUFWriteError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw GGUFWriteError(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        func put(_ bytes: [UInt8]) throws(GGUFWriteError) {
            let failure = bytes.withUnsafeBytes { FileWriting.writeAll(descriptor, $0) }
            if failure != 0 { throw GGUFWriteError(path: path, reason: String(cString: strerror(failure))) }
        }
        try put(header())
        for t in tensors {
            try put(t.bytes)
            let rem = t.bytes.count % alignment
            if rem != 0 { try put([UInt8](repeating: 0, count: alignment - rem)) }
        }
    }

    /// Everything before the tensor data, padded to the alignment.
    private func header() -> [UInt8] {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        var out: [UInt8] = []
        out.append(contentsOf: [0x47, 0x47, 0x55, 0x46])  // "GGUF"
        append(UInt32(3), to: &out)
        append(UInt64(tensors.count), to: &out)
        var allMeta = metadata
        // The reader lays tensors out by `general.alignment` and the padding below uses
        // `alignment`: a key copied from another file's metadata must not contradict it.
        if let i = allMeta.firstIndex(where: { $0.key == "general.alignment" }) {
            allMeta[i].value = .uint32(UInt32(alignment))
        } else if alignment != 32 {
            allMeta.append(("general.alignment", .uint32(UInt32(alignment))))
        }
        append(UInt64(allMeta.count), to: &out)
        for (key, value) in allMeta {
            appendString(key, to: &out)
            append(value.type.rawValue, to: &out)
            appendValue(value, to: &out)
        }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.bytes.count + alignment - 1) / alignment * alignment
        }
        for (t, off) in zip(tensors, offsets) {
            appendString(t.name, to: &out)
            append(UInt32(t.dimensions.count), to: &out)
            for d in t.dimensions { append(UInt64(d), to: &out) }
            append(t.type.id, to: &out)
            append(UInt64(off), to: &out)
        }
        pad(&out)
        return out
    }

    private func pad(_ out: inout [UInt8]) {
        let rem = out.count % alignment
        if rem != 0 { out.append(contentsOf: repeatElement(0, count: alignment - rem)) }
    }

    private func append<T: FixedWidthInteger>(_ v: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private func appendString(_ s: String, to out: inout [UInt8]) {
        let utf8 = Array(s.utf8)
        append(UInt64(utf8.count), to: &out)
        out.append(contentsOf: utf8)
    }

    private func appendValue(_ value: GGUFValue, to out: inout [UInt8]) {
        switch value {
        case let .uint8(v): append(v, to: &out)
        case let .int8(v): append(v, to: &out)
        case let .uint16(v): append(v, to: &out)
        case let .int16(v): append(v, to: &out)
        case let .uint32(v): append(v, to: &out)
        case let .int32(v): append(v, to: &out)
        case let .uint64(v): append(v, to: &out)
        case let .int64(v): append(v, to: &out)
        case let .float32(v): append(v.bitPattern, to: &out)
        case let .float64(v): append(v.bitPattern, to: &out)
        case let .bool(v): out.append(v ? 1 : 0)
        case let .string(s): appendString(s, to: &out)
        case let .array(type, items):
            append(type.rawValue, to: &out)
            append(UInt64(items.count), to: &out)
            for item in items { appendValue(item, to: &out) }
        }
    }
}

/// A GGUF file that could not be written, with the system's reason.
public struct GGUFWriteError: Error, LocalizedError, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public var description: String { "cannot write '\(path)': \(reason)" }
    public var errorDescription: String? { description }
}
