import Foundation

/// Why a tokenizer could not be built from a GGUF file. Every message names the file and says what to do.
public enum TokenizerError: Error, Equatable, Sendable, LocalizedError, CustomStringConvertible {
    case missingTokens(path: String)
    case unknownModel(path: String, model: String, supported: [String])
    case unknownPreTokenizer(path: String, pre: String, supported: [String], nearest: String?)
    case badMerge(path: String, index: Int, line: String)
    case mismatchedLength(path: String, key: String, count: Int, expected: Int)
    case tokenIDOutOfRange(path: String, key: String, id: Int, vocabularySize: Int)
    case missingByteTokens(path: String, bytes: [UInt8])

    public var description: String {
        switch self {
        case let .missingTokens(path):
            return "\(path): no vocabulary: metadata 'tokenizer.ggml.tokens' is missing or empty — "
                + "convert the model with a converter that writes the tokenizer into the GGUF file"
        case let .unknownModel(path, model, supported):
            return "\(path): tokenizer.ggml.model '\(model)' is not supported (supported: "
                + "\(supported.joined(separator: ", "))) — use a model with one of these tokenizers"
        case let .unknownPreTokenizer(path, pre, supported, nearest):
            let hint = nearest.map { " The nearest supported name is '\($0)'; if the file means that one, set "
                + "tokenizer.ggml.pre to it (e.g. with gguf-py's gguf_set_metadata)." } ?? ""
            return "\(path): tokenizer.ggml.pre '\(pre)' is not supported (supported: "
                + "\(supported.joined(separator: ", "))) — use a model whose pre-tokenizer is one of these, "
                + "or add its splitting rules to PreTokenizer's table.\(hint)"
        case let .badMerge(path, index, line):
            return "\(path): tokenizer.ggml.merges[\(index)] is \"\(line)\", not two tokens separated by a space — "
                + "the file is corrupt; convert the model again"
        case let .mismatchedLength(path, key, count, expected):
            return "\(path): metadata '\(key)' has \(count) entries but the vocabulary has \(expected) tokens — "
                + "the file is corrupt; convert the model again"
        case let .tokenIDOutOfRange(path, key, id, vocabularySize):
            return "\(path): metadata '\(key)' is \(id), outside the vocabulary of \(vocabularySize) tokens — "
                + "fix or remove the key (e.g. with gguf-py's gguf_set_metadata)"
        case let .missingByteTokens(path, bytes):
            let shown = bytes.prefix(8).map { String(format: "0x%02X", $0) }.joined(separator: ", ") + (bytes.count > 8 ? ", …" : "")
            return "\(path): the byte-level vocabulary has no token for \(bytes.count) byte value\(bytes.count == 1 ? "" : "s") (\(shown)) "
                + "and no unknown token, so text containing them could not be encoded — the file is corrupt; convert the model again"
        }
    }

    public var errorDescription: String? { description }
}
