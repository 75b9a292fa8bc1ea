import Foundation
import SeedEngine

/// A decoded, validated workflow file. Every path in it is resolved (relative paths in the file
/// against the workflow file's folder; relative paths given with `--set` against the current
/// directory) and every prompt is parsed. See `docs/workflow-reference.md` for the YAML keys.
public struct Workflow: Sendable {
    /// The workflow file as it was named (for messages) and its resolved absolute path.
    public var file: String
    public var resolvedFile: String
    /// `version`: the language version; only 1 exists.
    public var version: Int
    /// `name`: a short identifier, used in default output names and summaries. Default: the file name.
    public var name: String
    /// `description`: free text.
    public var description: String?
    public var models: ModelsSection
    public var decoding: DecodingSection
    public var inputs: InputsSection
    public var search: SearchSection
    /// `finish`: turns a solved path into the answer. nil: the answer is the best final state itself.
    public var finish: FinishStep?
    public var output: OutputSection
    /// `chat`: wrap prompts in a chat template (for instruction-tuned models). nil: prompts go in raw.
    public var chat: ChatSection?
}

/// `models`
public struct ModelsSection: Sendable {
    /// `models.target.path` (required): the GGUF model whose output counts.
    public var target: ModelReference
    /// `models.drafts[]`: small models that propose tokens for speculative strategies.
    public var drafts: [DraftReference]
    /// `models.kv_cache`
    public var kvCache: KVCacheSection
    /// `models.drafts[]: - lookup: { min_ngram, max_ngram }` (defaults 2 and 5, 1…16): drafts
    /// copied from the text of the call and of the other calls of its tree level, no model.
    public var lookup: LookupConfiguration? = nil
}

public struct ModelReference: Sendable, Equatable {
    /// Absolute path of the GGUF file.
    public var path: String
}

/// `models.drafts[]`: `{ path, instances }`.
public struct DraftReference: Sendable, Equatable {
    public var path: String
    /// `instances` (default 1, 1…256): requests this draft may serve in one round.
    public var instances: Int
}

/// `models.kv_cache`: `{ memory, block_tokens }`.
public struct KVCacheSection: Sendable, Equatable {
    /// `memory`: bytes for the target's KV cache, written `2GiB`, `512MiB`, `64KiB` or a byte count.
    /// nil: the engine's default (a quarter of physical memory).
    public var memoryBytes: Int?
    /// `block_tokens` (default 16, 1…1024): tokens per KV block.
    public var blockTokens: Int
}

/// `decoding`: how the engine runs the model calls. Never changes what a greedy run answers.
public struct DecodingSection: Sendable, Equatable {
    /// `strategy`: autoregressive | sequential | speculative | seed | auto.
    /// Default: `auto` when drafts are listed, else `autoregressive`.
    public var strategy: DecodingStrategy
    /// `draft_tokens` (default 4, 1…32): tokens a draft proposes per round (`auto`: the most).
    public var draftTokens: Int
    /// `draft_confidence` (default 0.5, 0…1): a draft stops proposing for a call, until the next
    /// round, after a token it gave less than this probability; 0 always drafts `draft_tokens`.
    public var draftConfidence: Double = Double(EngineConfiguration.defaultDraftConfidence)
    /// `seed` (default 0): seeds every sampled call; each call's stream also mixes in its tag.
    public var seed: UInt64

    /// The engine configuration these settings and the KV section describe.
    public func engineConfiguration(kvCache: KVCacheSection) -> EngineConfiguration {
        EngineConfiguration(strategy: strategy, draftTokens: draftTokens,
                            kvMemoryBytes: kvCache.memoryBytes, blockTokens: kvCache.blockTokens,
                            draftConfidence: Float(draftConfidence))
    }
}

/// `inputs`: `{ file }`.
public struct InputsSection: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable {
        /// One input a line (blank lines skipped); the line is `{{input}}`.
        case lines
        /// One JSON object a line; each field is `{{field}}`, and `{{input}}` is the `input` field
        /// when there is one, else the whole line.
        case jsonl
    }

    /// `file` (required): absolute path of the inputs file.
    public var file: String
    /// From the extension: `.jsonl` is JSONL, anything else is one input a line.
    public var format: Format
    /// JSONL: the fields every line has (what templates may use). Empty for `lines`.
    public var fields: [String]

    /// The inputs of a file's text: each non-blank line, trimmed, with its 1-based number. Split
    /// on the newline byte: Swift keeps "\r\n" as one character, which a split on "\n" would
    /// never find in a file written on Windows.
    public static func lines(of text: String) -> [(number: Int, text: String)] {
        text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated().compactMap { index, bytes in
            let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return line.isEmpty ? nil : (index + 1, line)
        }
    }
}

/// `search`
public struct SearchSection: Sendable {
    public enum Algorithm: String, Sendable, Equatable, CaseIterable {
        /// Level by level; keep the `breadth` best states of each level by their value.
        case bfs
        /// Depth first: expand the best child first, drop children valued below `prune_below`,
        /// backtrack when a subtree is exhausted.
        case dfs
        /// Level by level like bfs, but rank states by the sum of values along their path.
        case beam
    }

    public enum Selection: String, Sendable, Equatable, CaseIterable {
        /// The highest-valued states.
        case greedy
        /// States drawn without replacement with probability proportional to value.
        case sample
    }

    /// When two children of one level are the same state (the second is dropped, and a value is
    /// asked once per prompt).
    public enum StateMerge: String, Sendable, Equatable, CaseIterable {
        /// The same text, trimmed.
        case text
        /// The same decimal numbers in any order ("3 8 1" is "1 3 8": Game of 24's numbers left);
        /// a state that is not all numbers merges by text.
        case numbers
    }

    /// `algorithm` (default bfs).
    public var algorithm: Algorithm
    /// `depth` (required, 1…32): thought steps from the input to a final state.
    public var depth: Int
    /// `breadth` (default 5, 1…128): states kept per level (bfs, beam); children tried per state (dfs).
    public var breadth: Int
    /// `prune_below`: drop states valued below this (required for dfs, optional otherwise).
    public var pruneBelow: Double?
    /// `generate` (required)
    public var generate: GenerateStep
    /// `evaluate` (required)
    public var evaluate: EvaluateStep
    /// `select` (default greedy)
    public var select: Selection
    /// `goal`: when a state is final. nil: every state at `depth` is final.
    public var goal: GoalTest?
    /// `merge_states` (default text)
    public var mergeStates: StateMerge = .text
}

/// Sampling settings shared by every model-calling step.
public struct StepSampling: Sendable, Equatable {
    /// `max_tokens` (1…32768): tokens to generate at most.
    public var maxTokens: Int
    /// `temperature` (0…10): 0 is greedy.
    public var temperature: Double
    /// `top_k` (default 0 = off).
    public var topK: Int
    /// `top_p` (default 1 = off, 0 < p ≤ 1).
    public var topP: Double
    /// `stop`: a string or list of strings that end the completion (cut before them).
    public var stop: [String]

    /// The engine's parameters for one call; `seed` should differ per call (mix in the call's tag).
    public func parameters(seed: UInt64) -> SamplingParameters {
        SamplingParameters(temperature: Float(temperature), topK: topK, topP: Float(topP), seed: seed)
    }
}

/// `search.generate`: how a state's children (thoughts) are produced.
public struct GenerateStep: Sendable {
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// One call lists many thoughts, one a line.
        case propose
        /// `n` calls, one thought each (the whole completion).
        case sample
    }

    /// `prompt` (required): template file; variables {{input}}, {{state}}, {{steps}},
    /// {{parent.state}} and JSONL fields.
    public var prompt: PromptTemplate
    /// `mode` (default propose).
    public var mode: Mode
    /// `n` (sample mode; default 5, 1…64): samples per state.
    public var n: Int
    /// `max_tokens` default 128, `temperature` default 0.7.
    public var sampling: StepSampling
    /// `parse`: how a thought becomes a state. nil: each thought is its own state (`{{thought}}`).
    public var parse: ThoughtParser?
}

/// `search.generate.parse`: `{ pattern, state }`.
public struct ThoughtParser: Sendable {
    /// `pattern` (required): a regular expression matched against each thought (a proposed line,
    /// or a whole sample, whitespace-trimmed). Thoughts that do not match are dropped.
    public var pattern: CompiledRegex
    /// `state` (default `{{thought}}`): the new state; variables are the pattern's named groups,
    /// {{thought}}, {{input}}, {{parent.state}} and JSONL fields.
    public var state: PromptTemplate
}

/// `search.evaluate`: how states are valued.
public struct EvaluateStep: Sendable {
    public enum Mode: String, Sendable, Equatable, CaseIterable {
        /// Each state is scored `samples` times; its value is the sum of the scores.
        case value
        /// One prompt shows all candidates ({{candidates}}), `samples` times; a state's value is
        /// the number of votes it got.
        case vote
    }

    /// `prompt` (required): variables as for generate, plus {{candidates}} in vote mode
    /// (numbered lines `1: state`).
    public var prompt: PromptTemplate
    /// `mode` (default value).
    public var mode: Mode
    /// `samples` (default 1, 1…64).
    public var samples: Int
    /// `max_tokens` default 64, `temperature` default 0.7.
    public var sampling: StepSampling
    /// `score`: how one completion becomes a number.
    public var score: ScoreRule
}

/// `search.evaluate.score`: exactly one of its forms.
public enum ScoreRule: Sendable {
    /// `last_line: { word: value, … }`: the completion's last non-empty line, trimmed and
    /// lowercased, looked up among the words (in order, first match); unknown lines score 0.
    case lastLine([(word: String, value: Double)])
    /// `number: { min, max }` (defaults 0 and 10): the last number in the completion, clamped to
    /// the range; no number scores `min`. The default for value mode.
    case number(min: Double, max: Double)
    /// `choice: pattern` (vote mode; default `best choice is (?<choice>[0-9]+)`): the pattern's
    /// `choice` group is the 1-based candidate number voted for.
    case choice(CompiledRegex)
}

/// `search.goal`: `{ state_equals }`.
public struct GoalTest: Sendable, Equatable {
    /// A state is a goal when its text, trimmed, equals this.
    public var stateEquals: String
}

/// `finish`: turns a final path into the answer.
public struct FinishStep: Sendable {
    /// `prompt` (required): variables {{input}}, {{state}}, {{steps}}, {{parent.state}}, JSONL fields.
    public var prompt: PromptTemplate
    /// `max_tokens` default 64, `temperature` default 0 (greedy).
    public var sampling: StepSampling
    /// `extract`: a regex applied to the completion, line by line, first match wins (multi-line
    /// mode, `^`/`$` match at line ends). Its named groups become check variables; {{answer}} is
    /// the first named group, or the whole match when it has none. nil: {{answer}} is the trimmed
    /// completion.
    public var extract: CompiledRegex?
    /// `check`: decides `solved`. nil: solved whenever an answer was extracted.
    public var check: AnswerCheck?
}

/// `finish.check`: one of three forms. Templates may use {{answer}}, {{input}}, the extract's
/// named groups and JSONL fields.
public enum AnswerCheck: Sendable {
    /// `{ arithmetic: expr, equals: number, uses_numbers_of: text }`: the expression (+ - * / and
    /// parentheses over whole numbers) evaluates exactly to `equals`; with `uses_numbers_of`, it uses
    /// exactly the numbers found in that text, each once.
    case arithmetic(expression: PromptTemplate, equals: Double, usesNumbersOf: PromptTemplate?)
    /// `{ number_equals: text }`: the answer and the text parse to the same number (commas, `$`
    /// and trailing `.0` ignored), as GSM8K answers are compared.
    case numberEquals(PromptTemplate)
    /// `{ string_equals: text }`: equal after trimming whitespace.
    case stringEquals(PromptTemplate)
}

/// `output`: `{ results }`.
public struct OutputSection: Sendable, Equatable {
    /// `results` (default `runs/<name>.jsonl` next to the workflow file): where result lines go.
    public var results: String
}

/// The values `chat.template` takes: `auto` (the template stored in the target file) or a family.
public enum ChatTemplateChoice: String, Sendable, CaseIterable {
    case auto, llama2, llama3, chatml, qwen, mistral, zephyr
}

/// `chat`: `{ template, system }`.
public struct ChatSection: Sendable, Equatable {
    /// `template` (required): a chat template name known to the model layer, or `auto` for the
    /// template stored in the target GGUF file.
    public var template: String
    /// `system`: an optional system message.
    public var system: String?
}

/// A regular expression with its source text. NSRegularExpression is immutable once built and
/// documented as safe to use from several threads, which is what makes sharing it sound.
public struct CompiledRegex: @unchecked Sendable {
    public let pattern: String
    public let regex: NSRegularExpression
    /// Named groups in order of appearance.
    public let groupNames: [String]

    init(pattern: String) throws {
        self.pattern = pattern
        self.regex = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines])
        self.groupNames = Self.namedGroups(in: pattern)
    }

    /// Each named group's text in `match`; a group that took no part in it (an optional one) is
    /// empty text, so that a template using it renders instead of failing the input.
    func namedValues(of match: NSTextCheckingResult, in text: String) -> [(name: String, value: String)] {
        groupNames.map { name in
            let r = match.range(withName: name)
            guard r.location != NSNotFound, let range = Range(r, in: text) else { return (name, "") }
            return (name, String(text[range]))
        }
    }

    /// `(?<name>` groups, skipping escapes, character classes and lookbehinds `(?<=` `(?<!`.
    static func namedGroups(in pattern: String) -> [String] {
        var names: [String] = []
        let chars = Array(pattern)
        var i = 0, inClass = false
        while i < chars.count {
            let c = chars[i]
            if c == "\\" { i += 2; continue }
            if inClass { if c == "]" { inClass = false }; i += 1; continue }
            if c == "[" { inClass = true; i += 1; continue }
            if c == "(", i + 3 < chars.count, chars[i + 1] == "?", chars[i + 2] == "<",
               chars[i + 3] != "=", chars[i + 3] != "!" {
                var j = i + 3, name = ""
                while j < chars.count, chars[j] != ">" { name.append(chars[j]); j += 1 }
                names.append(name)
                i = j
            }
            i += 1
        }
        return names
    }
}

extension Workflow {
    /// Whether anything decides that an answer is right: a goal test on the states or a check of
    /// the finish step's answer. Without either, every input that reaches an answer counts as
    /// solved, so runs report such inputs as finished instead.
    public var checksAnswers: Bool { search.goal != nil || finish?.check != nil }

    /// What is allowed but probably not meant, one line each (`validate` and `run` print them
    /// as warnings; they never stop a run).
    public var warnings: [String] {
        guard !checksAnswers else { return [] }
        return ["\(file): nothing checks the answers (no search.goal and no finish.check), so every input that reaches an answer "
                + "counts as finished, not solved — add finish.check (or search.goal) to have the answers checked"]
    }
}
