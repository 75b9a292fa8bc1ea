import Foundation

/// Everything that can be wrong with a GGUF file, each case naming the file and the place.
public enum GGUFError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case badMagic(path: String, found: UInt32)
    case unsupportedVersion(path: String, version: UInt32)
    case truncated(path: String, offset: Int, reading: String)
    case badValueType(path: String, key: String, type: UInt32)
    case absurdCount(path: String, what: String, count: UInt64)
    case stringTooLong(path: String, what: String, length: UInt64, limit: UInt64)
    case nestingTooDeep(path: String, key: String)
    case unknownTensorType(path: String, tensor: String, type: UInt32)
    case badTensorShape(path: String, tensor: String, reason: String)
    case tensorOutsideFile(path: String, tensor: String, end: UInt64, fileSize: Int)
    case overlappingTensors(path: String, tensor: String, start: Int, end: Int, other: String, otherStart: Int)
    case duplicateTensor(path: String, tensor: String)
    case missingKey(path: String, key: String)
    case wrongKeyType(path: String, key: String, expected: String)
    case missingTensor(path: String, tensor: String)
    case unsupportedTensorType(path: String, tensor: String, type: String, supported: [String])

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "\(path): cannot open: \(reason)"
        case let .badMagic(path, found):
            return "\(path): not a GGUF file (magic 0x\(String(found, radix: 16)), expected 'GGUF') — pass a .gguf model file"
        case let .unsupportedVersion(path, version):
            return "\(path): GGUF version \(version) is not supported (versions 2 and 3 are) — re-convert the model with a current converter"
        case let .truncated(path, offset, reading):
            return "\(path): file ends at byte \(offset) while reading \(reading) — the file is truncated or corrupt; download or convert it again"
        case let .badValueType(path, key, type):
            return "\(path): metadata '\(key)' has unknown value type \(type) — the file is corrupt"
        case let .absurdCount(path, what, count):
            return "\(path): the file claims \(count) \(what), more than it could hold — the file is corrupt; download or convert it again"
        case let .stringTooLong(path, what, length, limit):
            return "\(path): \(what) is \(length) bytes long, over the limit of \(limit) bytes — the file is corrupt; download or convert it again"
        case let .nestingTooDeep(path, key):
            return "\(path): metadata '\(key)' nests arrays too deeply — the file is corrupt"
        case let .unknownTensorType(path, tensor, type):
            return "\(path): tensor '\(tensor)' has unknown type id \(type) — the file is corrupt or from a newer format"
        case let .badTensorShape(path, tensor, reason):
            return "\(path): tensor '\(tensor)': \(reason)"
        case let .tensorOutsideFile(path, tensor, end, fileSize):
            return "\(path): tensor '\(tensor)' ends at byte \(end), past the end of the file (\(fileSize) bytes) — the file is truncated"
        case let .overlappingTensors(path, tensor, start, end, other, otherStart):
            return "\(path): the data of tensor '\(tensor)' (bytes \(start) to \(end - 1)) runs into tensor '\(other)', which starts at byte \(otherStart) — the file is corrupt; download or convert it again"
        case let .duplicateTensor(path, tensor):
            return "\(path): tensor '\(tensor)' appears twice — the file is corrupt"
        case let .missingKey(path, key):
            return "\(path): required metadata key '\(key)' is missing"
        case let .wrongKeyType(path, key, expected):
            return "\(path): metadata '\(key)' should be \(expected)"
        case let .missingTensor(path, tensor):
            return "\(path): required tensor '\(tensor)' is missing"
        case let .unsupportedTensorType(path, tensor, type, supported):
            return "\(path): tensor '\(tensor)' has type \(type), which seedflow cannot compute with yet (supported: \(supported.joined(separator: ", ")))"
        }
    }
}

extension GGUFError: LocalizedError {
    public var errorDescription: String? { description }
}
