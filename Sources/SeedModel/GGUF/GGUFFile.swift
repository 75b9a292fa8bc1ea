import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One tensor of a GGUF file: its name, shape (ggml order: `dimensions[0]` is the length of a row)
/// and where its bytes lie in the mapping.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let dimensions: [Int]
    public let type: GGMLType
    /// Offset of the first byte from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { dimensions.reduce(1, *) }
    /// Elements in one row (the innermost dimension).
    public var rowLength: Int { dimensions.first ?? 1 }
    /// Number of rows (the product of the outer dimensions).
    public var rowCount: Int { dimensions.dropFirst().reduce(1, *) }
    public var rowBytes: Int { type.byteCount(elements: rowLength) }
}

/// A GGUF file (versions 2 and 3), memory-mapped read-only. Metadata is parsed and checked up
/// front; arrays of plain values (a vocabulary's tokens, scores, types and merges) stay in the
/// mapping and are decoded when asked for, and tensor data is handed out as views, so a model
/// costs no copy to load.
/// A class because it owns the mapping.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    private let entries: [String: GGUFMetadataEntry]
    /// Metadata keys in file order (for display and for writing back).
    public let metadataKeys: [String]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    public let fileSize: Int
    private let tensorIndex: [String: Int]
    private let base: UnsafeRawPointer?

    /// Refuse metadata arrays nested deeper than this; real files use one level.
    static let maxNesting = 4

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError.cannotOpen(path: path, reason: "not a regular file")
        }
        let size = Int(st.st_size)
        fileSize = size
        var mapped: UnsafeRawPointer?
        if size > 0 {
            let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
            guard let p, p != MAP_FAILED else {
                throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
            }
            mapped = UnsafeRawPointer(p)
        }
        base = mapped
        do {
            let bytes = UnsafeRawBufferPointer(start: mapped, count: size)
            var parser = GGUFParser(bytes: bytes, path: path)
            let header = try parser.parse()
            version = header.version
            entries = header.metadata
            metadataKeys = header.metadataKeys
            tensors = header.tensors
            alignment = header.alignment
            tensorIndex = Dictionary(header.tensors.enumerated().map { ($1.name, $0) },
                                     uniquingKeysWith: { a, _ in a })
        } catch {
            if let mapped { munmap(UnsafeMutableRawPointer(mutating: mapped), size) }
            throw error
        }
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), fileSize) }
    }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The raw bytes of a tensor, valid while this file object lives.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base.map { $0 + tensor.fileOffset }, count: tensor.byteCount)
    }

    /// Drops this process's mapped pages of the tensor (the whole pages inside it) once a copy
    /// has been made: they leave the resident set, and are read from the file again if touched.
    /// A hint; the data stays valid.
    func releasePages(of tensor: GGUFTensorInfo) {
        guard let base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = Int(bitPattern: base) + tensor.fileOffset
        let first = (start + page - 1) / page * page, end = (start + tensor.byteCount) / page * page
        guard end > first, let p = UnsafeMutableRawPointer(bitPattern: first) else { return }
        madvise(p, end - first, MADV_DONTNEED)
    }

    // MARK: typed metadata access

    /// Every metadata value, arrays decoded (for display and for writing back; a model reads
    /// its keys one by one).
    public var metadata: [String: GGUFValue] {
        var all: [String: GGUFValue] = [:]
        for key in entries.keys { all[key] = value(key) }
        return all
    }

    public func value(_ key: String) -> GGUFValue? {
        switch entries[key] {
        case nil: return nil
        case let .value(v)?: return v
        case let .array(_, _, offset)?:
            // Checked when the file was opened: decoding it again cannot fail.
            var parser = parser(at: offset)
            return try? parser.readValue(.array, key: key, depth: 0)
        }
    }

    private func parser(at offset: Int) -> GGUFParser {
        var parser = GGUFParser(bytes: UnsafeRawBufferPointer(start: base, count: fileSize), path: path)
        parser.offset = offset
        return parser
    }

    public func requiredInt(_ key: String) throws -> Int {
        guard let v = value(key) else { throw GGUFError.missingKey(path: path, key: key) }
        guard let i = v.intValue else { throw GGUFError.wrongKeyType(path: path, key: key, expected: "an integer") }
        return i
    }

    public func int(_ key: String) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = v.intValue else { throw GGUFError.wrongKeyType(path: path, key: key, expected: "an integer") }
        return i
    }

    public func double(_ key: String) throws -> Double? {
        guard let v = value(key) else { return nil }
        guard let d = v.doubleValue else { throw GGUFError.wrongKeyType(path: path, key: key, expected: "a number") }
        return d
    }

    public func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.stringValue else { throw GGUFError.wrongKeyType(path: path, key: key, expected: "a string") }
        return s
    }

    public func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else { throw GGUFError.missingKey(path: path, key: key) }
        return s
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        if let b = v.boolValue { return b }
        if let i = v.intValue { return i != 0 }
        throw GGUFError.wrongKeyType(path: path, key: key, expected: "a boolean")
    }

    public func stringArray(_ key: String) throws -> [String]? {
        if case let .array(type, count, offset)? = entries[key], type == .string {
            var parser = parser(at: offset + GGUFParser.arrayHeaderBytes)
            var out: [String] = []
            out.reserveCapacity(count)
            for _ in 0..<count { out.append(try parser.readString("the value of '\(key)'")) }
            return out
        }
        guard let v = value(key) else { return nil }
        guard let items = v.arrayValue else { throw GGUFError.wrongKeyType(path: path, key: key, expected: "an array of strings") }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let s = item.stringValue else { throw GGUFError.wrongKeyType(path: path, key: key, expected: "an array of strings") }
            out.append(s)
        }
        return out
    }

    public func numberArray(_ key: String) throws -> [Double]? {
        if case let .array(type, count, offset)? = entries[key], type != .string {
            var parser = parser(at: offset + GGUFParser.arrayHeaderBytes)
            var out: [Double] = []
            out.reserveCapacity(count)
            for _ in 0..<count {
                guard let d = try parser.readValue(type, key: key, depth: 1).doubleValue else {
                    throw GGUFError.wrongKeyType(path: path, key: key, expected: "an array of numbers")
                }
                out.append(d)
            }
            return out
        }
        guard let v = value(key) else { return nil }
        guard let items = v.arrayValue else { throw GGUFError.wrongKeyType(path: path, key: key, expected: "an array of numbers") }
        var out: [Double] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let d = item.doubleValue else { throw GGUFError.wrongKeyType(path: path, key: key, expected: "an array of numbers") }
            out.append(d)
        }
        return out
    }
}

/// Parses the header, metadata and tensor table from the mapped bytes, checking every read
/// against the end of the file and every count against what could possibly fit.
struct GGUFParser {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    struct Header {
        var version: UInt32
        var metadata: [String: GGUFMetadataEntry]
        var metadataKeys: [String]
        var tensors: [GGUFTensorInfo]
        var alignment: Int
    }

    mutating func parse() throws -> Header {
        let magic: UInt32 = try read("the magic number")
        guard magic == 0x4655_4747 else { throw GGUFError.badMagic(path: path, found: magic) }
        let version: UInt32 = try read("the version")
        guard version == 2 || version == 3 else {
            throw GGUFError.unsupportedVersion(path: path, version: version)
        }
        let tensorCount: UInt64 = try read("the tensor count")
        let kvCount: UInt64 = try read("the metadata count")
        // A metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor entry at
        // least 8 + 4 + 4 + 8. Counts beyond that are corruption, refused before allocating.
        try checkCount(kvCount, minimumBytes: 13, what: "metadata entries")
        try checkCount(tensorCount, minimumBytes: 24, what: "tensors")

        var metadata: [String: GGUFMetadataEntry] = [:]
        var keys: [String] = []
        keys.reserveCapacity(Int(kvCount))
        for _ in 0..<Int(kvCount) {
            let key = try readString("a metadata key", maxLength: Self.maxNameLength)
            let rawType: UInt32 = try read("the type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.badValueType(path: path, key: key, type: rawType)
            }
            let entry = try type == .array ? skipPlainArray(key: key) ?? .value(readValue(type, key: key, depth: 0))
                                           : .value(readValue(type, key: key, depth: 0))
            if metadata.updateValue(entry, forKey: key) == nil { keys.append(key) }
        }

        var alignment = 32
        if let entry = metadata["general.alignment"] {
            guard case let .value(a) = entry, let v = a.intValue, v > 0, v <= 1 << 20, v & (v - 1) == 0 else {
                throw GGUFError.wrongKeyType(path: path, key: "general.alignment", expected: "a power of two")
            }
            alignment = v
        }

        struct RawTensor { var name: String; var dims: [Int]; var type: GGMLType; var offset: UInt64 }
        var raw: [RawTensor] = []
        raw.reserveCapacity(Int(tensorCount))
        var seen = Set<String>()
        for _ in 0..<Int(tensorCount) {
            let name = try readString("a tensor name", maxLength: Self.maxNameLength)
            guard seen.insert(name).inserted else { throw GGUFError.duplicateTensor(path: path, tensor: name) }
            let nDims: UInt32 = try read("the dimension count of '\(name)'")
            guard nDims >= 1, nDims <= 4 else {
                throw GGUFError.badTensorShape(path: path, tensor: name, reason: "\(nDims) dimensions (1 to 4 allowed)")
            }
            var dims: [Int] = []
            var elements: UInt64 = 1
            for _ in 0..<nDims {
                let d: UInt64 = try read("the shape of '\(name)'")
                guard d >= 1, d <= UInt64(Int32.max) else {
                    throw GGUFError.badTensorShape(path: path, tensor: name, reason: "dimension \(d) is out of range")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, product <= UInt64(bytes.count) * 64 else {
                    throw GGUFError.badTensorShape(path: path, tensor: name, reason: "element count too large for the file")
                }
                elements = product
                dims.append(Int(d))
            }
            let typeID: UInt32 = try read("the type of '\(name)'")
            guard let type = GGMLType.lookup(typeID) else {
                throw GGUFError.unknownTensorType(path: path, tensor: name, type: typeID)
            }
            guard dims[0] % type.blockSize == 0 else {
                throw GGUFError.badTensorShape(path: path, tensor: name,
                    reason: "row length \(dims[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
            }
            let off: UInt64 = try read("the data offset of '\(name)'")
            raw.append(RawTensor(name: name, dims: dims, type: type, offset: off))
        }

        let dataStart = (offset + alignment - 1) / alignment * alignment
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(raw.count)
        for t in raw {
            guard t.offset % UInt64(alignment) == 0 else {
                throw GGUFError.badTensorShape(path: path, tensor: t.name,
                    reason: "data offset \(t.offset) is not aligned to \(alignment) bytes")
            }
            let elements = t.dims.reduce(1, *)
            let size = t.type.byteCount(elements: elements)
            let (end, overflow) = UInt64(dataStart).addingReportingOverflow(t.offset)
            let (stop, overflow2) = end.addingReportingOverflow(UInt64(size))
            guard !overflow, !overflow2, stop <= UInt64(bytes.count) else {
                throw GGUFError.tensorOutsideFile(path: path, tensor: t.name,
                                                  end: overflow || overflow2 ? UInt64.max : stop, fileSize: bytes.count)
            }
            tensors.append(GGUFTensorInfo(name: t.name, dimensions: t.dims, type: t.type,
                                          fileOffset: Int(end), byteCount: size))
        }
        // Each tensor's bytes must end before the next one's begin: llama.cpp refuses a table
        // whose tensors do not follow one another, and overlapping data would be read as both.
        let ordered = tensors.sorted { $0.fileOffset < $1.fileOffset }
        for (t, next) in zip(ordered, ordered.dropFirst()) where t.fileOffset + t.byteCount > next.fileOffset {
            throw GGUFError.overlappingTensors(path: path, tensor: t.name, start: t.fileOffset, end: t.fileOffset + t.byteCount,
                                               other: next.name, otherStart: next.fileOffset)
        }
        return Header(version: version, metadata: metadata, metadataKeys: keys, tensors: tensors, alignment: alignment)
    }

    private func checkCount(_ count: UInt64, minimumBytes: Int, what: String) throws {
        let remaining = UInt64(bytes.count - offset)
        if count > remaining / UInt64(minimumBytes) {
            throw GGUFError.absurdCount(path: path, what: what, count: count)
        }
    }

    private mutating func read<T: FixedWidthInteger>(_ what: @autoclosure () -> String) throws -> T {
        let n = MemoryLayout<T>.size
        guard offset + n <= bytes.count else {
            throw GGUFError.truncated(path: path, offset: bytes.count, reading: what())
        }
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += n
        return T(littleEndian: v)
    }

    /// GGUF limits keys to 65535 bytes (and ggml tensor names to 64); past that, a length is
    /// corruption, and taking it at face value would put megabytes of tensor data into the
    /// key or name that the next error message quotes.
    static let maxNameLength: UInt64 = 65535

    mutating func readString(_ what: @autoclosure () -> String, maxLength: UInt64 = 1 << 40) throws -> String {
        String(decoding: try readStringBytes(what(), maxLength: maxLength), as: UTF8.self)
    }

    private mutating func readStringBytes(_ what: @autoclosure () -> String, maxLength: UInt64 = 1 << 40) throws -> UnsafeRawBufferPointer {
        let length: UInt64 = try read(what())
        guard length <= UInt64(bytes.count - offset), length <= maxLength else {
            if length > maxLength {
                throw GGUFError.stringTooLong(path: path, what: what(), length: length, limit: maxLength)
            }
            throw GGUFError.truncated(path: path, offset: bytes.count, reading: what())
        }
        let n = Int(length)
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n])
    }

    /// Bytes before an array's first element: its element type (4) and length (8).
    static let arrayHeaderBytes = 12

    /// Checks an array of plain values (numbers, booleans or strings) from its element type on,
    /// as `readValue` would, and steps over it without decoding it; nil, with nothing read, for
    /// an array of arrays.
    mutating func skipPlainArray(key: String) throws -> GGUFMetadataEntry? {
        let start = offset
        let rawType: UInt32 = try read("the element type of '\(key)'")
        guard let elementType = GGUFValueType(rawValue: rawType) else {
            throw GGUFError.badValueType(path: path, key: key, type: rawType)
        }
        if elementType == .array {
            offset = start
            return nil
        }
        let count: UInt64 = try read("the length of '\(key)'")
        try checkCount(count, minimumBytes: elementType.minimumEncodedSize, what: "entries in the array '\(key)'")
        if elementType == .string {
            for _ in 0..<Int(count) { _ = try readStringBytes("the value of '\(key)'") }
        } else {
            // A fixed size, and checkCount saw that they all fit.
            offset += Int(count) * elementType.minimumEncodedSize
        }
        return .array(elementType: elementType, count: Int(count), offset: start)
    }

    mutating func readValue(_ type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        let what = "the value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try read(what))
        case .int8: return .int8(try read(what))
        case .uint16: return .uint16(try read(what))
        case .int16: return .int16(try read(what))
        case .uint32: return .uint32(try read(what))
        case .int32: return .int32(try read(what))
        case .uint64: return .uint64(try read(what))
        case .int64: return .int64(try read(what))
        case .float32: return .float32(Float(bitPattern: try read(what)))
        case .float64: return .float64(Double(bitPattern: try read(what)))
        case .bool:
            let b: UInt8 = try read(what)
            return .bool(b != 0)
        case .string: return .string(try readString(what))
        case .array:
            guard depth < GGUFFile.maxNesting else { throw GGUFError.nestingTooDeep(path: path, key: key) }
            let rawType: UInt32 = try read("the element type of '\(key)'")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.badValueType(path: path, key: key, type: rawType)
            }
            let count: UInt64 = try read("the length of '\(key)'")
            try checkCount(count, minimumBytes: elementType.minimumEncodedSize, what: "entries in the array '\(key)'")
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                items.append(try readValue(elementType, key: key, depth: depth + 1))
            }
            return .array(elementType, items)
        }
    }
}

/// A metadata value as the file keeps it: decoded, or an array of plain values left in the mapping.
enum GGUFMetadataEntry {
    case value(GGUFValue)
    /// `offset`: where the array's element type is stored; its elements follow the length.
    case array(elementType: GGUFValueType, count: Int, offset: Int)
}

extension GGUFValueType {
    /// The fewest bytes one value of this type takes in the file.
    var minimumEncodedSize: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }
}
