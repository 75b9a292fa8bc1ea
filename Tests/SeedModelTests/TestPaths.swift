import Foundation

/// Where the tests find the project's files: the repository (models/, data/) and the bundled
/// resources (fixtures, vocabularies).
enum TestPaths {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func model(_ name: String) -> String {
        repoRoot.appendingPathComponent("models/\(name)").path
    }

    static let target = model("seedflow-demo-target.gguf")
    static let draftM = model("seedflow-demo-draft-m.gguf")
    static let draftS = model("seedflow-demo-draft-s.gguf")

    static func resource(_ relative: String) -> URL {
        Bundle.module.bundleURL.appendingPathComponent("Resources/\(relative)")
    }

    /// The 51 MB benchmark target is not committed: it is used when `SEEDFLOW_BENCH_MODEL`
    /// names it or the shared folder beside the checkout has it.
    static var benchTarget: String? {
        if let env = ProcessInfo.processInfo.environment["SEEDFLOW_BENCH_MODEL"],
           FileManager.default.fileExists(atPath: env) { return env }
        let shared = repoRoot.deletingLastPathComponent()
            .appendingPathComponent("shared/models/bench/seedflow-demo-target-l.gguf").path
        return FileManager.default.fileExists(atPath: shared) ? shared : nil
    }

    /// A fresh temporary directory for files a test writes.
    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("seedflow-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
