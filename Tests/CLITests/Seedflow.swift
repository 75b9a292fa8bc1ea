import Foundation
import XCTest

/// Runs the built `seedflow` binary the way a user does, from the repository root, and captures
/// what it prints. The binary is the one built next to this test bundle (`make test` builds both),
/// or the one `SEEDFLOW_BINARY` names.
enum Seedflow {
    struct Result {
        let status: Int32
        let stdout: Data
        let stderr: String

        var output: String { String(decoding: stdout, as: UTF8.self) }

        /// stdout parsed as exactly one JSON object on one line.
        func jsonObject(file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
            XCTAssertEqual(output.filter { $0 == "\n" }.count, 1, "one line of JSON", file: file, line: line)
            let value = try JSONSerialization.jsonObject(with: stdout)
            return try XCTUnwrap(value as? [String: Any], "stdout is a JSON object", file: file, line: line)
        }
    }

    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let targetModel = "models/seedflow-demo-target.gguf"
    static let smallDraft = "models/seedflow-demo-draft-s.gguf"
    static let mediumDraft = "models/seedflow-demo-draft-m.gguf"
    static let proposePrompt = "prompts/demo/propose.txt"
    static let gpt2Vocabulary = "Tests/SeedModelTests/Resources/vocab/ggml-vocab-gpt-2.gguf"

    static var binary: URL {
        get throws {
            if let path = ProcessInfo.processInfo.environment["SEEDFLOW_BINARY"] {
                return URL(fileURLWithPath: path)
            }
            // On Linux the test bundle is an executable in the products directory, beside seedflow.
            let bundleDirectory = Bundle.main.bundleURL.pathExtension == "xctest"
                ? Bundle.main.bundleURL.deletingLastPathComponent()
                : URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for candidate in [bundleDirectory.appendingPathComponent("seedflow"),
                              repoRoot.appendingPathComponent(".build/release/seedflow")]
            where FileManager.default.isExecutableFile(atPath: candidate.path) {
                return candidate
            }
            throw XCTSkip("seedflow binary not built (run `make test`, or set SEEDFLOW_BINARY)")
        }
    }

    /// Runs seedflow with `arguments`, and `environment` added to this process's environment.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try execute(try binary, arguments, environment: environment)
    }

    /// Runs a program (seedflow, or a shell or `runuser` that starts it) in the repository root;
    /// output goes through files so a large stdout can never block on a full pipe while stderr
    /// is being read.
    static func execute(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("seedflow-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.currentDirectoryURL = repoRoot
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return Result(status: process.terminationStatus,
                      stdout: try Data(contentsOf: outURL),
                      stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    static func temporaryFile(named name: String, contents: Data) throws -> String {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("seedflow-cli-\(UUID().uuidString)-\(name)")
        try contents.write(to: url)
        return url.path
    }
}

extension XCTestCase {
    /// The common shape of a failed run: the status, `seedflow: ` on stderr, nothing on stdout.
    func assertFails(_ result: Seedflow.Result, status: Int32, mentioning fragments: [String] = [],
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, status, "stderr: \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stdout.isEmpty, "stdout must be empty, got: \(result.output)", file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("seedflow: "), "stderr: \(result.stderr)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(result.stderr.contains(fragment), "'\(fragment)' in: \(result.stderr)", file: file, line: line)
        }
    }
}
