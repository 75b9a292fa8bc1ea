import Foundation

/// Where the engine tests find the repository's demo models: relative to this file, so the tests
/// run from any working directory.
enum EngineTestPaths {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func model(_ name: String) -> String {
        repoRoot.appendingPathComponent("models/\(name)").path
    }

    static let target = model("seedflow-demo-target.gguf")
    static let draftS = model("seedflow-demo-draft-s.gguf")
}
