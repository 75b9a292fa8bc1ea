import Foundation
import SeedEngine

/// The registry of backends: which one runs a workflow's calls. A new backend is one more line.
public enum Backends {
    public static func make(workflow: Workflow, options: RunOptions) throws -> any GenerationBackend {
        if let remote = workflow.models.target.remote {
            // The file's strategy describes the local engine; one asked for on the command line
            // that needs drafts cannot be had from a server.
            if let asked = options.strategy, asked.usesDrafts { throw RemoteError.draftsWithRemoteTarget(strategy: asked.rawValue) }
            return try RemoteBackend(target: remote, seed: workflow.decoding.seed, allowInsecureHTTP: options.allowInsecureHTTP)
        }
        let strategy = options.strategy ?? workflow.decoding.strategy
        return try LocalBackend(workflow: workflow, strategy: strategy, threads: options.threads)
    }
}
