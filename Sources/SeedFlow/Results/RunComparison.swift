import Foundation

/// Two runs side by side, the way a prompt change is A/B-tested: solved counts, tokens, time per
/// input and acceptance, and the inputs that one run solved and the other did not.
///
/// A results file holds one line per input, and inputs run side by side: their times overlap and
/// their calls share target passes. So the table shows each input's time as a mean (a run's
/// own wall time is in its summary, not its results), and tokens per pass per call — how many
/// tokens a call gained each time it was in a target pass: 1 without drafts, more with them.
public struct RunComparison: Codable, Sendable {
    public struct Summary: Codable, Sendable {
        public var path: String
        public var inputs: Int
        public var solved: Int
        /// Inputs that could not run (their line has an `error`).
        public var failed: Int
        public var generatedTokens: Int
        /// Mean of the inputs' times, each from its first call to its result (failed ones aside).
        public var meanInputSeconds: Double?
        public var acceptance: Double?
        /// The acceptance of `lookup`'s drafts and of the draft models' (nil: none drafted).
        public var lookupAcceptance: Double?
        public var modelAcceptance: Double?
        /// Tokens per target pass per call (`tokens_per_call_pass`): what one call gained each
        /// time it was in a target pass, 1 without drafts. Not `run --json`'s
        /// `tokens_per_target_pass`, which adds up every call batched in the pass.
        public var tokensPerCallPass: Double?
        /// nil when the lines disagree or carry no provenance (see `workflowHashes`).
        public var workflowSHA256: String?
        public var workflowHashes: Int

        enum CodingKeys: String, CodingKey {
            case path, inputs, solved, failed, acceptance
            case lookupAcceptance = "lookup_acceptance", modelAcceptance = "model_acceptance"
            case generatedTokens = "generated_tokens", meanInputSeconds = "mean_input_s"
            case tokensPerCallPass = "tokens_per_call_pass", workflowSHA256 = "workflow_sha256"
            case workflowHashes = "workflow_hashes"
        }

        /// Every key, a missing value as null (as `run --json` writes it), so a reader finds the
        /// same keys whatever the runs held.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            try c.encode(inputs, forKey: .inputs)
            try c.encode(solved, forKey: .solved)
            try c.encode(failed, forKey: .failed)
            try c.encode(generatedTokens, forKey: .generatedTokens)
            try c.encode(meanInputSeconds, forKey: .meanInputSeconds)
            try c.encode(acceptance, forKey: .acceptance)
            try c.encode(lookupAcceptance, forKey: .lookupAcceptance)
            try c.encode(modelAcceptance, forKey: .modelAcceptance)
            try c.encode(tokensPerCallPass, forKey: .tokensPerCallPass)
            try c.encode(workflowSHA256, forKey: .workflowSHA256)
            try c.encode(workflowHashes, forKey: .workflowHashes)
        }

        init(path: String, records: [RunRecord]) {
            self.path = path
            inputs = records.count
            solved = records.filter(\.solved).count
            let ran = records.filter { $0.error == nil }
            failed = records.count - ran.count
            generatedTokens = records.reduce(0) { $0 + $1.statistics.generatedTokens }
            meanInputSeconds = ran.isEmpty ? nil : ran.reduce(0) { $0 + $1.statistics.wallSeconds } / Double(ran.count)
            let drafted = records.reduce(0) { $0 + $1.statistics.draftedTokens }
            let accepted = records.reduce(0) { $0 + $1.statistics.acceptedTokens }
            acceptance = drafted == 0 ? nil : Double(accepted) / Double(drafted)
            let lookupDrafted = records.reduce(0) { $0 + $1.statistics.lookupDraftedTokens }
            let lookupAccepted = records.reduce(0) { $0 + $1.statistics.lookupAcceptedTokens }
            lookupAcceptance = lookupDrafted == 0 ? nil : Double(lookupAccepted) / Double(lookupDrafted)
            modelAcceptance = drafted - lookupDrafted == 0 ? nil : Double(accepted - lookupAccepted) / Double(drafted - lookupDrafted)
            let passes = records.reduce(0) { $0 + $1.statistics.targetPasses }
            tokensPerCallPass = passes == 0 ? nil : Double(generatedTokens) / Double(passes)
            let hashes = Set(records.compactMap { $0.provenance?.workflowSHA256 })
            workflowHashes = hashes.count
            workflowSHA256 = hashes.count == 1 ? hashes.first : nil
        }
    }

    public var a: Summary
    public var b: Summary
    /// Inputs solved by A but not by B, and the other way round (inputs both ran).
    public var onlyA: [String]
    public var onlyB: [String]
    /// Inputs present in one file only.
    public var unmatched: Int

    enum CodingKeys: String, CodingKey {
        case a, b, unmatched
        case onlyA = "only_a", onlyB = "only_b"
    }

    public init(pathA: String, pathB: String) throws {
        self.init(pathA: pathA, recordsA: try ResultsFile.read(path: pathA),
                  pathB: pathB, recordsB: try ResultsFile.read(path: pathB))
    }

    /// Two runs already read (every line of each file, in file order).
    public init(pathA: String, recordsA allA: [RunRecord], pathB: String, recordsB allB: [RunRecord]) {
        // A failed input run again has two lines; the second is its result.
        let recordsA = ResultsFile.latest(allA)
        let recordsB = ResultsFile.latest(allB)
        a = Summary(path: pathA, records: recordsA)
        b = Summary(path: pathB, records: recordsB)
        // Only inputs both runs ran are compared: one that could not run in B (an `error` line)
        // is a failure of B's setup, not an input B's search got wrong.
        func solved(_ records: [RunRecord]) -> [String: Bool] {
            Dictionary(records.filter { $0.error == nil }.map { ($0.input, $0.solved) }, uniquingKeysWith: { $0 || $1 })
        }
        let solvedA = solved(recordsA), solvedB = solved(recordsB)
        let common = Set(solvedA.keys).intersection(solvedB.keys)
        onlyA = common.filter { solvedA[$0] == true && solvedB[$0] == false }.sorted()
        onlyB = common.filter { solvedB[$0] == true && solvedA[$0] == false }.sorted()
        let inputsA = Set(recordsA.map(\.input)), inputsB = Set(recordsB.map(\.input))
        unmatched = inputsA.symmetricDifference(inputsB).count
    }

    /// The table's rows: what, A's figure, B's figure.
    public func rows() -> [(String, String, String)] {
        func pct(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0 * 100) } ?? "—" }
        func num(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? "—" }
        func hash(_ s: Summary) -> String { s.workflowHashes > 1 ? "mixed" : s.workflowSHA256.map { String($0.prefix(12)) } ?? "—" }
        let lookupRows: [(String, String, String)] = a.lookupAcceptance == nil && b.lookupAcceptance == nil ? [] : [
            ("  of draft models", pct(a.modelAcceptance), pct(b.modelAcceptance)),
            ("  of lookup", pct(a.lookupAcceptance), pct(b.lookupAcceptance)),
        ]
        return [
            ("inputs", "\(a.inputs)", "\(b.inputs)"),
            ("solved", "\(a.solved)", "\(b.solved)"),
            ("failed (could not run)", "\(a.failed)", "\(b.failed)"),
            ("generated tokens", "\(a.generatedTokens)", "\(b.generatedTokens)"),
            ("time per input (s)", num(a.meanInputSeconds), num(b.meanInputSeconds)),
            ("acceptance", pct(a.acceptance), pct(b.acceptance)),
        ] + lookupRows + [
            // Not `run`'s "tokens per target pass (all calls batched)", which counts every call of a pass.
            ("tokens per target pass per call", num(a.tokensPerCallPass), num(b.tokensPerCallPass)),
            ("workflow sha256", hash(a), hash(b)),
        ]
    }

    /// A readable table.
    public func render() -> String {
        let rows = rows()
        let w0 = max(20, rows.map(\.0.count).max() ?? 0)
        let w1 = max(12, a.path.count, rows.map(\.1.count).max() ?? 0)
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        var out = "\(pad("", w0))  \(pad("A: " + a.path, w1))  B: \(b.path)\n"
        for (name, x, y) in rows { out += "\(pad(name, w0))  \(pad(x, w1))  \(y)\n" }
        out += "\nsolved by A only (\(onlyA.count)): \(onlyA.isEmpty ? "none" : onlyA.joined(separator: "; "))\n"
        out += "solved by B only (\(onlyB.count)): \(onlyB.isEmpty ? "none" : onlyB.joined(separator: "; "))\n"
        if unmatched > 0 { out += "inputs in only one of the files: \(unmatched)\n" }
        out += "(inputs run side by side: time per input is a mean, and a run's wall time is in its own summary)\n"
        return out
    }
}
