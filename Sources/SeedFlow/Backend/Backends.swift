import Foundation
import SeedEngine

/// The registry of backends: which one runs a workflow's calls. A new backend is one more line.
public enum Backends {
    public static func make(workflow: Workflow, options: RunOptions) throws -> any GenerationBackend {
        let strategy = options.strategy ?? workflow.decoding.strategy
        return try LocalBackend(workflow: workflow, strategy: strategy, threads: options.threads)
    }
}
