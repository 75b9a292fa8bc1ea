import Foundation
import SeedEngine
import SeedFlow

/// Failures of a well-formed command line: the input it names is missing or unusable.
/// Each message says what was wrong and what to do next.
enum CLIError: Error, Equatable {
    case modelNotFound(path: String)
    case fileNotFound(path: String)
    case unreadableFile(path: String, reason: String)
    case notUTF8(path: String, offset: Int)
    case malformedFile(path: String, line: Int, reason: String)
    case inputTooLong(what: String, tokens: Int, contextLength: Int)
    case nothingToScore(tokens: Int)
    case cannotWrite(path: String, reason: String)

    /// Distinct statuses so scripts can tell a missing input from a model that cannot run.
    var exitCode: Int32 {
        switch self {
        case .modelNotFound, .fileNotFound, .unreadableFile, .notUTF8, .malformedFile: 3
        case .inputTooLong, .nothingToScore: 4
        case .cannotWrite: 1
        }
    }

    /// The exit status of any error a command throws: an input the model cannot take is 4
    /// whichever layer noticed it; a draft that cannot serve the target is an unusable model (1).
    static func exitStatus(for error: any Error) -> Int32 {
        if let error = error as? CLIError { return error.exitCode }
        if error is RunInterrupted { return 130 }
        if error is GenerationError || error is RunInputsFailed { return 4 }
        if let error = error as? ResultsError {
            switch error {
            case .notAFile, .unreadable, .cannotRead: return 3
            case .exists, .busy, .cannotWrite, .differentRun: return 1
            }
        }
        if let error = error as? EngineError {
            switch error {
            case .emptyPrompt, .promptTooLong, .requestTooLarge: return 4
            case .noDraftModel, .badOption: return 2
            case .vocabularyMismatch: return 1
            }
        }
        return 1
    }
}

extension CLIError: LocalizedError, CustomStringConvertible {
    var description: String {
        switch self {
        case let .modelNotFound(path):
            return "model file '\(path)' not found — the demo models are in models/ (e.g. models/seedflow-demo-target.gguf)"
        case let .fileNotFound(path):
            return "file '\(path)' not found"
        case let .unreadableFile(path, reason):
            return "cannot read '\(path)': \(reason)"
        case let .notUTF8(path, offset):
            return "'\(path)' is not UTF-8 text: byte \(offset) (counting from 0) is not valid UTF-8 — save the file as UTF-8"
        case let .malformedFile(path, line, reason):
            return "\(path):\(line): \(reason)"
        case let .inputTooLong(what, tokens, contextLength):
            return "the \(what) has \(tokens) tokens but the model's context holds \(contextLength) — shorten it"
        case let .nothingToScore(tokens):
            return "the text gives \(tokens) token\(tokens == 1 ? "" : "s") with BOS; scoring needs at least two (every token is scored given the ones before it)"
        case let .cannotWrite(path, reason):
            return "cannot write '\(path)': \(reason)"
        }
    }

    var errorDescription: String? { description }
}
