import Foundation
import SeedModel

/// Reading the files a command line names, with the checks that give a clear message instead of a
/// library error about an unopenable path.
enum InputFiles {
    /// Fails early when a model path names nothing, before any loader sees it.
    static func checkModelExists(_ path: String) throws {
        try checkFile(path, missing: .modelNotFound(path: path), directory: "it is a directory, not a .gguf file")
    }

    /// Fails early when a workflow path names nothing or a directory, so that a missing file is
    /// reported as one (exit status 3) rather than as a workflow with problems.
    static func checkWorkflowExists(_ path: String) throws {
        try checkFile(path, missing: .fileNotFound(path: path),
                      directory: "it is a directory — give the workflow's .yaml file (e.g. workflows/game24.yaml)")
        // Unreadable is a file problem (status 3), not a workflow with problems (1).
        if access(path, R_OK) != 0 {
            throw CLIError.unreadableFile(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// `missing` when nothing is at `path`; an unreadable-file error saying `directory` for a directory.
    private static func checkFile(_ path: String, missing: CLIError, directory: String) throws {
        switch PathKind(path) {
        case .missing: throw missing
        case .directory: throw CLIError.unreadableFile(path: path, reason: directory)
        case .file: break
        }
    }

    /// A text file byte for byte: no newline is trimmed (the demo prompts end in one the models
    /// expect). A UTF-8 byte-order mark at the start, which some editors write, is not text and is
    /// dropped, as workflow prompt files drop it. Invalid UTF-8 is refused, with the offset of
    /// its first bad byte, rather than silently repaired.
    static func readText(_ path: String) throws -> String {
        try checkFile(path, missing: .fileNotFound(path: path), directory: "it is a directory, not a text file")
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CLIError.unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
        let body = UTF8Text.droppingByteOrderMark(data)
        if let offset = UTF8Text.firstInvalidByte(body) {
            throw CLIError.notUTF8(path: path, offset: offset + (body.startIndex - data.startIndex))
        }
        return String(decoding: body, as: UTF8.self)
    }
}
