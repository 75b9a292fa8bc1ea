import Foundation

/// Where a result came from: content hashes of the workflow and every prompt file it used, the
/// model files (hashed, or size and modification time when hashing would be slow), and the git
/// commit of the workflow's repository with a dirty flag. Two runs with equal provenance ran the
/// same thing.
public struct Provenance: Codable, Sendable, Equatable {
    public struct ModelFile: Codable, Sendable, Equatable {
        public var path: String
        public var sha256: String?
        public var bytes: Int
        /// Seconds since 1970; recorded when the file is too large to hash quickly.
        public var modified: Double?
    }
    public struct Git: Codable, Sendable, Equatable {
        public var commit: String
        public var dirty: Bool
    }

    public var workflowSHA256: String
    /// Prompt file name → SHA-256 of its bytes; the file's path where two prompt files share a name.
    public var prompts: [String: String]
    public var models: [ModelFile]
    public var git: Git?
    /// The `--set` overrides the run applied to the workflow file (nil in lines written before
    /// they were recorded: unknown).
    public var overrides: [String]?
    /// The workflow's name and its file as the command line gave it (nil in older lines); for
    /// people reading a report, not compared.
    public var workflowName: String?
    public var workflowFile: String?

    enum CodingKeys: String, CodingKey {
        case workflowSHA256 = "workflow_sha256", prompts, models, git, overrides
        case workflowName = "workflow_name", workflowFile = "workflow_file"
    }

    /// What makes two runs differ in their results, in words, or nil when they ran the same
    /// workflow, prompts, models and overrides (the code's version aside). Models are compared by
    /// content (or size and time when unhashed), not path, so a moved checkout still matches.
    public func difference(from other: Provenance) -> String? {
        if workflowSHA256 != other.workflowSHA256 { return "the workflow file has changed since" }
        // The KV budget bounds memory, not what is computed: a run that failed for want of it
        // may go on with a larger one.
        // What the overrides leave each key at: the last one given for a key wins, and unrelated
        // keys apply in any order (so they are sorted). Where one key lies inside another
        // (`search.generate` and `search.generate.temperature`) the order decides, so it is kept.
        func relevant(_ o: [String]) -> [String] {
            let items = o.filter { !$0.hasPrefix("models.kv_cache") }
            let keys = items.map { String($0.prefix { $0 != "=" }) }
            let nested = keys.contains { outer in
                keys.contains { $0 != outer && ($0.hasPrefix(outer + ".") || $0.hasPrefix(outer + "[")) }
            }
            if nested { return items }
            var last: [String: String] = [:]
            for (key, item) in zip(keys, items) { last[key] = item }
            return last.keys.sorted().compactMap { last[$0] }
        }
        if let mine = overrides, let theirs = other.overrides, relevant(mine) != relevant(theirs) {
            func list(_ o: [String]) -> String { o.isEmpty ? "none" : o.map { "--set \($0)" }.joined(separator: " ") }
            return "its overrides were \(list(relevant(mine))), this run's are \(list(relevant(theirs)))"
        }
        if let name = Set(prompts.keys).union(other.prompts.keys).sorted().first(where: { prompts[$0] != other.prompts[$0] }) {
            return "the prompt file \(name) has changed since"
        }
        func identity(_ m: ModelFile) -> String { m.sha256 ?? "\(m.bytes)/\(m.modified ?? 0)" }
        if models.map(identity) != other.models.map(identity) { return "the model files have changed since" }
        return nil
    }

    /// Files up to this size are hashed; larger model files are identified by size and mtime.
    public static let hashLimit = 64 << 20

    public init(workflowFile: String, promptFiles: [String: String], modelFiles: [String]) throws {
        workflowSHA256 = SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: workflowFile)))
        var prompts: [String: String] = [:]
        for (name, path) in promptFiles {
            prompts[name] = SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        self.prompts = prompts
        models = try modelFiles.map { path in
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
            if size <= Self.hashLimit {
                return ModelFile(path: path, sha256: SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: path))), bytes: size)
            }
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970
            return ModelFile(path: path, sha256: nil, bytes: size, modified: modified)
        }
        git = Self.gitState(of: URL(fileURLWithPath: workflowFile).deletingLastPathComponent().path)
    }

    /// The commit and dirty flag of the repository holding `directory`, or nil outside one.
    static func gitState(of directory: String) -> Git? {
        guard let commit = run(["git", "-C", directory, "rev-parse", "HEAD"]) else { return nil }
        let status = run(["git", "-C", directory, "status", "--porcelain", "--untracked-files=no"]) ?? ""
        return Git(commit: commit, dirty: !status.isEmpty)
    }

    private static func run(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
