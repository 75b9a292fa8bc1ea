import Foundation
import SeedModel

/// Strategies compared on tree-of-thoughts workloads built from the demo prompt formats:
/// `paper`, the SeeD paper's setting (3 thought generations, then 3 evaluations, at a time), and
/// `level`, one whole Game-of-24 tree level (5 proposals, then 3 value samples for each of 40
/// children). Each row is the median of `repetitions` runs.
public struct SpeculativeBenchmarkResult: Sendable, Codable {
    public struct Row: Sendable, Codable {
        public var workload: String
        public var strategy: String
        /// The sources the row drafted from: "models", "lookup", or "models+lookup"; "-" for
        /// rows that do not draft.
        public var pool: String
        /// Draft tokens per round: the fixed k, the mean k `auto` chose, 0 without drafting.
        public var draftTokens: Double
        public var wallSeconds: Double
        public var tokensPerSecond: Double
        /// Accepted / drafted draft tokens; nil for rows that do not draft.
        public var acceptance: Double?
        /// The same per source of the pool (sources that drafted nothing are left out).
        public var acceptanceBySource: [String: Double]
        /// `lookup`'s acceptance per call kind (propose, evaluate), and the share of its
        /// proposals copied from another request of the group rather than the request's own text.
        public var lookupAcceptanceByCall: [String: Double]
        public var lookupSiblingShare: Double?
        public var generatedTokens: Int
        public var targetPasses: Int
        /// The `sequential` row's wall time over this row's, same workload; nil when the
        /// `sequential` strategy was left out of the run.
        public var speedupOverSequential: Double?
        public var draftSeconds: Double
        public var verifySeconds: Double
        /// Every timed run's wall seconds, in the order they ran: how far apart they are shows
        /// how much of a difference between rows the machine's noise could explain.
        public var wallSamples: [Double]

        /// (slowest − fastest) / median wall time of the runs.
        public var spread: Double {
            guard let lo = wallSamples.min(), let hi = wallSamples.max(), wallSeconds > 0 else { return 0 }
            return (hi - lo) / wallSeconds
        }

        enum CodingKeys: String, CodingKey {
            case workload, strategy, pool
            case acceptanceBySource = "acceptance_by_source"
            case lookupAcceptanceByCall = "lookup_acceptance_by_call"
            case lookupSiblingShare = "lookup_sibling_share"
            case draftTokens = "draft_tokens"
            case wallSeconds = "wall_s"
            case tokensPerSecond = "tokens_per_s"
            case acceptance
            case generatedTokens = "generated_tokens"
            case targetPasses = "target_passes"
            case speedupOverSequential = "speedup_over_sequential"
            case draftSeconds = "draft_s"
            case verifySeconds = "verify_s"
            case wallSamples = "wall_samples_s"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(workload, forKey: .workload)
            try c.encode(strategy, forKey: .strategy)
            try c.encode(pool, forKey: .pool)
            try c.encode(acceptanceBySource, forKey: .acceptanceBySource)
            try c.encode(lookupAcceptanceByCall, forKey: .lookupAcceptanceByCall)
            try c.encode(lookupSiblingShare, forKey: .lookupSiblingShare)
            try c.encode(draftTokens, forKey: .draftTokens)
            try c.encode(wallSeconds, forKey: .wallSeconds)
            try c.encode(tokensPerSecond, forKey: .tokensPerSecond)
            try c.encode(acceptance, forKey: .acceptance)  // null, not absent, for rows that do not draft
            try c.encode(generatedTokens, forKey: .generatedTokens)
            try c.encode(targetPasses, forKey: .targetPasses)
            try c.encode(speedupOverSequential, forKey: .speedupOverSequential)
            try c.encode(draftSeconds, forKey: .draftSeconds)
            try c.encode(verifySeconds, forKey: .verifySeconds)
            try c.encode(wallSamples, forKey: .wallSamples)
        }
    }
    public var rows: [Row]
}

public struct SpeculativeBenchmark {
    /// One batch of requests that the workload hands to the engine at once.
    public typealias Stage = [GenerationRequest]

    public struct Workload: Sendable {
        public var name: String
        public var stages: [Stage]
    }

    /// The strategies and k values of the comparison, in table order.
    public static let plan: [(DecodingStrategy, Int)] = [
        (.sequential, 0), (.speculative, 4), (.seed, 2), (.seed, 4), (.seed, 6), (.autoregressive, 0), (.auto, 6),
    ]
    /// Rows repeated for each part of a mixed pool (model drafts only, `lookup` only), after
    /// the whole pool's rows.
    public static let partPlan: [(DecodingStrategy, Int)] = [(.seed, 4), (.seed, 6), (.auto, 6)]

    /// Which sources of the pool a row drafts from.
    enum PoolPart: String {
        case models, lookup, all = "models+lookup"
    }

    public static func workloads(tokenizer: any Tokenizer, puzzles: [[Int]], temperature: Float = 0.7, seed: UInt64 = 42) -> [Workload] {
        let sampling = SamplingParameters(temperature: temperature, seed: seed)
        // Lookup groups as the workflow runner forms them: one tree level of one input.
        func propose(_ state: [Int], tag: String, group: String) -> GenerationRequest {
            GenerationRequest(tag: tag, promptTokens: tokenizer.encode("Propose steps for: \(render(state))\n"),
                              sampling: sampling, maxTokens: 160, group: group)
        }
        func value(_ state: [Int], tag: String, group: String) -> GenerationRequest {
            GenerationRequest(tag: tag, promptTokens: tokenizer.encode("Evaluate: \(render(state))\n"),
                              sampling: sampling, maxTokens: 64, group: group)
        }
        // paper: per puzzle, 3 proposals at a time, then 3 evaluations at a time.
        var paper: [Stage] = []
        for (p, puzzle) in puzzles.prefix(4).enumerated() {
            paper.append((0..<3).map { propose(puzzle, tag: "paper-\(p)-propose-\($0)", group: "paper-\(p)") })
            let child = children(of: puzzle).first ?? puzzle
            paper.append((0..<3).map { value(child, tag: "paper-\(p)-value-\($0)", group: "paper-\(p)") })
        }
        // level: 5 frontier states proposed together, then 40 children × 3 value samples together.
        let frontier = Array(puzzles.prefix(5))
        let proposals = frontier.enumerated().map { propose($1, tag: "level-propose-\($0)", group: "level") }
        var values: [GenerationRequest] = []
        for (p, state) in frontier.enumerated() {
            for (c, child) in children(of: state).prefix(8).enumerated() {
                for s in 0..<3 { values.append(value(child, tag: "level-value-\(p)-\(c)-\(s)", group: "level")) }
            }
        }
        return [Workload(name: "paper", stages: paper), Workload(name: "level", stages: [proposals, values])]
    }

    /// Game-of-24 children of a state: every distinct result of combining two of its numbers
    /// (whole, non-negative results only, as the demo models were trained), in a fixed order.
    public static func children(of state: [Int]) -> [[Int]] {
        var out: [[Int]] = []
        for i in 0..<state.count {
            for j in 0..<state.count where i != j {
                let a = state[i], b = state[j]
                // A sum or product beyond Int is no state (puzzle files bound their numbers; this
                // is the library's own guard).
                var results = [a.addingReportingOverflow(b), a.multipliedReportingOverflow(by: b)]
                    .filter { !$0.overflow }.map(\.partialValue)
                if a >= b { results.append(a - b) }
                if b > 0, a % b == 0 { results.append(a / b) }
                let rest = state.enumerated().filter { $0.offset != i && $0.offset != j }.map(\.element)
                for r in results {
                    let child = (rest + [r]).sorted()
                    if !out.contains(child) { out.append(child) }
                }
            }
        }
        return out
    }

    static func render(_ state: [Int]) -> String { state.map(String.init).joined(separator: " ") }

    /// Runs the rows of `plan` whose strategy is in `strategies` (all by default) on each workload,
    /// the drafting rows with `draftConfidence` (see `EngineConfiguration`).
    /// The repetitions are interleaved — one run of every row, then the next round — so a slow
    /// minute of the machine lands on all rows alike and the ratios within a table stay fair.
    public static func run(target: any LanguageModel, drafts: [DraftModel], lookup: LookupConfiguration? = nil,
                           workloads: [Workload], repetitions: Int = 5,
                           strategies: Set<DecodingStrategy> = Set(DecodingStrategy.allCases),
                           draftConfidence: Float = EngineConfiguration.defaultDraftConfidence,
                           progress: (String) -> Void = { _ in }) throws -> SpeculativeBenchmarkResult {
        var rows: [SpeculativeBenchmarkResult.Row] = []
        let whole: PoolPart = drafts.isEmpty ? .lookup : lookup == nil ? .models : .all
        var selected = plan.filter { strategies.contains($0.0) }.map { ($0.0, $0.1, whole) }
        if whole == .all {
            for part in [PoolPart.models, .lookup] {
                selected += partPlan.filter { strategies.contains($0.0) }.map { ($0.0, $0.1, part) }
            }
        }
        typealias Run = (wall: Double, statistics: EngineStatistics, completions: [Completion])
        var runNumber = 0
        for workload in workloads {
            func runOnce(_ engine: Engine) throws -> Run {
                // Each run its own lookup groups: an engine keeps a group's text for later calls
                // of the group, and a repetition must not draft from the one before.
                runNumber += 1
                let stages = workload.stages.map { stage in
                    stage.map { request in
                        var r = request
                        r.group = r.group.map { "\($0)#\(runNumber)" }
                        return r
                    }
                }
                var total = EngineStatistics()
                var completions: [Completion] = []
                let start = DispatchTime.now()
                for stage in stages {
                    completions += try engine.generate(stage)
                    total.merge(engine.statistics)
                }
                return (elapsedSeconds(since: start), total, completions)
            }
            // One untimed run of each engine first: it faults the weights and caches in for the
            // strategy's access pattern and lets `auto` calibrate its pass costs, a one-time cost
            // that would otherwise land in one strategy's timings only.
            let engines = try selected.map { strategy, k, part in
                let engine = try Engine(target: target, drafts: strategy.usesDrafts && part != .lookup ? drafts : [],
                                        lookup: strategy.usesDrafts && part != .models ? lookup : nil,
                                        configuration: EngineConfiguration(strategy: strategy, draftTokens: k,
                                                                           draftConfidence: draftConfidence))
                _ = try runOnce(engine)
                return engine
            }
            var runs = Array(repeating: [Run](), count: engines.count)
            for round in 0..<max(1, repetitions) {
                for (i, engine) in engines.enumerated() { runs[i].append(try runOnce(engine)) }
                progress("\(workload.name): round \(round + 1) of \(max(1, repetitions)) done")
            }
            var sequentialWall: Double?
            for (i, (strategy, k, part)) in selected.enumerated() {
                // The statistics of the median run.
                let median = runs[i].sorted { $0.wall < $1.wall }[runs[i].count / 2]
                let stats = median.statistics
                let wall = median.wall
                if strategy == .sequential { sequentialWall = wall }
                let drafting = strategy.usesDrafts
                let bySource = Dictionary(stats.drafts.filter { $0.draftedTokens > 0 }.map { ($0.name, $0.acceptanceRate) },
                                          uniquingKeysWith: { a, _ in a })
                var byCall: [String: (drafted: Int, accepted: Int)] = [:]
                var proposals = 0, fromSiblings = 0
                for c in median.completions where c.statistics.lookupDraftedTokens > 0 {
                    let call = c.tag.contains("propose") ? "propose" : c.tag.contains("value") ? "evaluate" : "other"
                    byCall[call, default: (0, 0)].drafted += c.statistics.lookupDraftedTokens
                    byCall[call, default: (0, 0)].accepted += c.statistics.lookupAcceptedTokens
                    proposals += c.statistics.lookupProposals
                    fromSiblings += c.statistics.lookupSiblingProposals
                }
                rows.append(.init(workload: workload.name, strategy: strategy.rawValue, pool: drafting ? part.rawValue : "-",
                                  draftTokens: strategy == .auto ? stats.meanDraftTokens : Double(k),
                                  wallSeconds: wall, tokensPerSecond: Double(stats.generatedTokens) / wall,
                                  // An `auto` row that chose never to draft has no acceptance.
                                  acceptance: drafting && stats.draftedTokens > 0 ? stats.acceptanceRate : nil,
                                  acceptanceBySource: bySource,
                                  lookupAcceptanceByCall: byCall.mapValues { Double($0.accepted) / Double($0.drafted) },
                                  lookupSiblingShare: proposals > 0 ? Double(fromSiblings) / Double(proposals) : nil,
                                  generatedTokens: stats.generatedTokens, targetPasses: stats.targetPasses,
                                  speedupOverSequential: sequentialWall.map { $0 / wall },
                                  draftSeconds: stats.draftSeconds, verifySeconds: stats.verifySeconds,
                                  wallSamples: runs[i].map(\.wall)))
            }
        }
        return SpeculativeBenchmarkResult(rows: rows)
    }
}
