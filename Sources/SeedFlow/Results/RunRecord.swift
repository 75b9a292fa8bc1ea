import Foundation

/// One line of a results file: everything known about one input's search.
public struct RunRecord: Codable, Sendable, Equatable {
    /// Position of the input in the inputs file (0-based) and the input itself.
    public var index: Int
    public var input: String
    public var answer: String?
    /// Whether the finish step's check passed (false when the search found nothing).
    public var solved: Bool
    /// The thoughts from the root to the chosen leaf.
    public var bestPath: [String]
    public var tree: [TreeNodeRecord]
    public var statistics: RunStatistics
    public var strategy: String
    public var seed: UInt64
    public var provenance: Provenance?
    /// Why the search ended without an answer, when it did (e.g. "no state reached the goal").
    public var note: String?
    /// Why the input could not be searched to the end (e.g. a prompt longer than the model's
    /// context), when that happened; the run went on with the other inputs.
    public var error: String?
    /// The finish step's call and check, when the search reached it (nil in lines written before
    /// it was recorded, and when the search ended without a final state).
    public var finish: FinishRecord?
    /// When the input's result was made, in seconds since 1970 (nil in older lines): with
    /// `statistics.wall_s` it places the input on the run's timeline.
    public var finishedAt: Double?
    /// false when nothing checked the answer (the workflow has no goal and no finish check), so
    /// `solved` only means the search finished with an answer; nil (not written) when the answer
    /// was checked, which older lines, written before this was recorded, also read as.
    public var answersChecked: Bool?

    enum CodingKeys: String, CodingKey {
        case index, input, answer, solved
        case bestPath = "best_path"
        case tree, statistics, strategy, seed, provenance, note, error, finish
        case finishedAt = "finished_at"
        case answersChecked = "answers_checked"
    }

    /// Whether `solved` means a checked answer (true unless the line says nothing checked it).
    public var checksAnswers: Bool { answersChecked != false }

    public init(index: Int, input: String, answer: String?, solved: Bool, bestPath: [String], tree: [TreeNodeRecord],
                statistics: RunStatistics, strategy: String, seed: UInt64, provenance: Provenance?, note: String? = nil,
                error: String? = nil, finish: FinishRecord? = nil, finishedAt: Double? = nil, answersChecked: Bool? = nil) {
        self.index = index
        self.input = input
        self.answer = answer
        self.solved = solved
        self.bestPath = bestPath
        self.tree = tree
        self.statistics = statistics
        self.strategy = strategy
        self.seed = seed
        self.provenance = provenance
        self.note = note
        self.error = error
        self.finish = finish
        self.finishedAt = finishedAt
        self.answersChecked = answersChecked
    }
}

/// The finish step as it ran: the completion's text, the answer taken from it, and the check
/// with its values filled in (e.g. `(4 + 8) * (6 - 4) = 24, using exactly 4 4 6 8`).
public struct FinishRecord: Codable, Sendable, Equatable {
    public var text: String
    public var answer: String?
    /// The check as evaluated, nil when the workflow has none.
    public var check: String?
    public var passed: Bool
    public var tokens: Int
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case text, answer, check, passed, tokens
        case seconds = "s"
    }

    public init(text: String, answer: String?, check: String?, passed: Bool, tokens: Int, seconds: Double) {
        self.text = text
        self.answer = answer
        self.check = check
        self.passed = passed
        self.tokens = tokens
        self.seconds = seconds
    }
}

/// A node of the search tree as recorded: the thought that led to it, its state, every value
/// sample and the value they sum to.
public struct TreeNodeRecord: Codable, Sendable, Equatable {
    public var id: Int
    public var parent: Int?
    public var depth: Int
    public var thought: String
    public var state: String
    public var samples: [String]
    public var value: Double?
    /// Kept by the selection step (survived to the next level).
    public var selected: Bool
    /// Cost of the generate calls that expanded this node (proposed its children): generated
    /// tokens, and seconds of the longest of them (they run side by side). nil in older lines.
    public var expandTokens: Int?
    public var expandSeconds: Double?
    /// Cost of the evaluate calls that valued this node: its value samples, or in vote mode the
    /// ballots of its level, which are recorded on the level's first candidate. 0 for a value
    /// reused from an earlier identical question; nil in older lines.
    public var evaluateTokens: Int?
    public var evaluateSeconds: Double?

    enum CodingKeys: String, CodingKey {
        case id, parent, depth, thought, state, samples, value, selected
        case expandTokens = "expand_tokens", expandSeconds = "expand_s"
        case evaluateTokens = "evaluate_tokens", evaluateSeconds = "evaluate_s"
    }

    public init(id: Int, parent: Int?, depth: Int, thought: String, state: String, samples: [String] = [],
                value: Double? = nil, selected: Bool = false, expandTokens: Int? = nil, expandSeconds: Double? = nil,
                evaluateTokens: Int? = nil, evaluateSeconds: Double? = nil) {
        self.id = id
        self.parent = parent
        self.depth = depth
        self.thought = thought
        self.state = state
        self.samples = samples
        self.value = value
        self.selected = selected
        self.expandTokens = expandTokens
        self.expandSeconds = expandSeconds
        self.evaluateTokens = evaluateTokens
        self.evaluateSeconds = evaluateSeconds
    }
}

public struct RunStatistics: Codable, Sendable, Equatable {
    public var generatedTokens = 0
    public var promptTokens = 0
    public var modelCalls = 0
    public var targetPasses = 0
    public var draftedTokens = 0
    public var acceptedTokens = 0
    /// The part of the drafted and accepted tokens that `lookup` proposed, its proposals, and
    /// those copied from another call of the group (absent in files written before lookup: 0).
    public var lookupDraftedTokens = 0
    public var lookupAcceptedTokens = 0
    public var lookupProposals = 0
    public var lookupSiblingProposals = 0
    public var wallSeconds = 0.0

    public init() {}

    public var acceptance: Double? { draftedTokens == 0 ? nil : Double(acceptedTokens) / Double(draftedTokens) }

    enum CodingKeys: String, CodingKey {
        case generatedTokens = "generated_tokens", promptTokens = "prompt_tokens", modelCalls = "model_calls"
        case targetPasses = "target_passes", draftedTokens = "drafted_tokens", acceptedTokens = "accepted_tokens"
        case lookupDraftedTokens = "lookup_drafted_tokens", lookupAcceptedTokens = "lookup_accepted_tokens"
        case lookupProposals = "lookup_proposals", lookupSiblingProposals = "lookup_sibling_proposals"
        case wallSeconds = "wall_s"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        generatedTokens = try c.decode(Int.self, forKey: .generatedTokens)
        promptTokens = try c.decode(Int.self, forKey: .promptTokens)
        modelCalls = try c.decode(Int.self, forKey: .modelCalls)
        targetPasses = try c.decode(Int.self, forKey: .targetPasses)
        draftedTokens = try c.decode(Int.self, forKey: .draftedTokens)
        acceptedTokens = try c.decode(Int.self, forKey: .acceptedTokens)
        lookupDraftedTokens = try c.decodeIfPresent(Int.self, forKey: .lookupDraftedTokens) ?? 0
        lookupAcceptedTokens = try c.decodeIfPresent(Int.self, forKey: .lookupAcceptedTokens) ?? 0
        lookupProposals = try c.decodeIfPresent(Int.self, forKey: .lookupProposals) ?? 0
        lookupSiblingProposals = try c.decodeIfPresent(Int.self, forKey: .lookupSiblingProposals) ?? 0
        wallSeconds = try c.decode(Double.self, forKey: .wallSeconds)
    }
}
