import Foundation
import XCTest
@testable import SeedFlow
import SeedEngine
import SeedModel

/// Each kind of problem, with the exact position it is reported at. Line numbers refer to
/// `minimalWorkflow()` (see TestSupport.swift).
final class ValidationTests: XCTestCase {
    private var scratch: Scratch!

    override func setUpWithError() throws {
        scratch = try Scratch(self)
        try scratch.writePrompts()
    }

    /// The minimal workflow with `old` replaced by `new` (each must occur), written to w.yaml.
    private func workflow(_ edits: [(String, String)], base: String = minimalWorkflow()) throws -> String {
        var text = base
        for (old, new) in edits {
            XCTAssertTrue(text.contains(old), "the test workflow has no '\(old)'")
            text = text.replacingOccurrences(of: old, with: new)
        }
        return try scratch.write("w.yaml", text)
    }

    private func only(_ edits: [(String, String)], file: StaticString = #filePath, line: UInt = #line) throws -> Diagnostic {
        let path = try workflow(edits)
        let found = diagnostics(of: path, file: file, line: line)
        XCTAssertEqual(found.count, 1, found.map(\.description).joined(separator: "\n"), file: file, line: line)
        return try XCTUnwrap(found.first, file: file, line: line)
    }

    private var w: String { scratch.directory + "/w.yaml" }

    func testUnknownKeyWithDidYouMean() throws {
        let d = try only([("  breadth: 5", "  bredth: 5")])
        XCTAssertEqual(d.kind, .unknownKey)
        XCTAssertEqual(d.description, "\(w):16:3: unknown key 'bredth' in 'search' — did you mean 'breadth'?")
    }

    func testDraftConfidenceOutOfRangeNamesTheLine() throws {
        let d = try only([("  draft_tokens: 4", "  draft_tokens: 4\n  draft_confidence: 1.5")])
        XCTAssertEqual(d.kind, .outOfRange)
        XCTAssertEqual(d.description, "\(w):12:21: 'draft_confidence' must be from 0 to 1, got 1.5 — use a value in that range")
    }

    /// Scores are summed over samples (and along a path in beam search): 1e308 would sum to
    /// infinity, so validate bounds them and says how to fix it.
    func testHugeScoresAreRefusedWithTheirPlace() throws {
        let d = try only([("sure: 20", "sure: 1e308")])
        XCTAssertEqual(d.kind, .outOfRange)
        XCTAssertEqual(d.description, "\(w):26:33: score 'sure' is 1e308, beyond ±1e9: summed over samples and levels it would overflow"
                       + " — only the scores' ratios matter: scale them down, e.g. { sure: 20, likely: 1, impossible: 0.001 }")
        let negative = try only([("impossible: 0.001", "impossible: -2e9")])
        XCTAssertEqual(negative.mark?.line, 26)
        XCTAssertTrue(negative.description.contains("score 'impossible' is -2e9"), negative.description)
        let range = try only([("score: { last_line: { sure: 20, likely: 1, impossible: 0.001 } }", "score: { number: { min: 0, max: 1e300 } }")])
        XCTAssertTrue(range.description.contains("score 'max' is 1e300"), range.description)
        // The bound itself is allowed.
        XCTAssertNoThrow(try loadWorkflow(path: try workflow([("sure: 20", "sure: 1e9")])))
    }

    func testUnknownTopLevelKey() throws {
        let d = try only([("name: test", "name: test\nouptut: { results: x.jsonl }")])
        XCTAssertEqual(d.description, "\(w):3:1: unknown key 'ouptut' at the top level — did you mean 'output'?")
    }

    func testWrongType() throws {
        let d = try only([("  breadth: 5", "  breadth: five")])
        XCTAssertEqual(d.kind, .wrongType)
        XCTAssertEqual(d.description,
                       "\(w):16:12: 'breadth' must be a positive integer, got \"five\" — write a whole number from 1 to 128")
    }

    func testUnknownChatTemplateName() throws {
        let d = try only([("name: test", "name: test\nchat: { template: alpaca }")])
        XCTAssertEqual(d.kind, .invalidValue)
        XCTAssertTrue(d.description.contains("'template' must be one of auto|llama2|llama3|chatml|qwen|mistral|zephyr"), d.description)
        XCTAssertEqual(d.mark?.line, 3)
    }

    func testQuotedNumberIsAString() throws {
        let d = try only([("  depth: 3", "  depth: '3'")])
        XCTAssertEqual(d.kind, .wrongType)
        XCTAssertEqual(d.mark?.description, "\(w):15:10")
    }

    func testMissingRequiredKey() throws {
        let d = try only([("  depth: 3\n", "")])
        XCTAssertEqual(d.kind, .missingKey)
        XCTAssertEqual(d.description, "\(w):15:3: 'search' is missing the required key 'depth' — add 'depth: 3'")
    }

    func testMissingPromptFile() throws {
        let d = try only([("prompt: value.txt", "prompt: valeu.txt")])
        XCTAssertEqual(d.kind, .missingFile)
        XCTAssertEqual(d.mark?.description, "\(w):24:13")
        XCTAssertEqual(d.message, "prompt file 'valeu.txt' does not exist (looked for \(scratch.directory)/valeu.txt)")
        XCTAssertEqual(d.fix, "check the path; relative paths start at the workflow file's folder")
    }

    func testMissingModelAndInputsFiles() throws {
        let path = try workflow([(FlowTestPaths.target, "nope.gguf"), (FlowTestPaths.inputs, "../missing.txt")])
        let found = diagnostics(of: path)
        XCTAssertEqual(found.map(\.kind), [.missingFile, .missingFile])
        XCTAssertEqual(found.map { $0.mark?.description }, ["\(w):5:11", "\(w):13:9"])
    }

    func testUndefinedTemplateVariablePointsIntoThePromptFile() throws {
        let prompt = try scratch.write("value.txt", "Evaluate: {{stat}}\nfor {{input}} {{candidates}}\n")
        let found = diagnostics(of: try workflow([]))
        XCTAssertEqual(found.map(\.kind), [.undefinedVariable, .undefinedVariable])
        XCTAssertEqual(found[0].description,
                       "\(prompt):1:11: undefined variable {{stat}} in the evaluate prompt — did you mean {{state}}?")
        XCTAssertEqual(found[1].description,
                       "\(prompt):2:15: undefined variable {{candidates}} in the evaluate prompt — {{candidates}} exists only in vote mode; set 'mode: vote' or remove it")
    }

    func testCheckTemplateMayUseExtractGroupsOnly() throws {
        let d = try only([("arithmetic: '{{expr}}'", "arithmetic: '{{exp}}'")])
        XCTAssertEqual(d.kind, .undefinedVariable)
        XCTAssertEqual(d.description, "\(w):31:25: undefined variable {{exp}} in the check 'arithmetic' — did you mean {{expr}}?")
    }

    /// Variables of an inline template written as a block scalar are placed on their own line
    /// and column, below the `|`.
    func testVariablesOfABlockScalarTemplateAreWhereTheyAreWritten() throws {
        let d = try only([("check: { arithmetic: '{{expr}}', equals: 24, uses_numbers_of: '{{input}}' }",
                           "check:\n    equals: 24\n    uses_numbers_of: '{{input}}'\n    arithmetic: |\n      ({{expr}})\n      + {{exp}}")])
        XCTAssertEqual(d.description, "\(w):36:9: undefined variable {{exp}} in the check 'arithmetic' — did you mean {{expr}}?")
    }

    /// Where the text's own place cannot be told for sure (an anchor or tag before it, a folded
    /// block, an explicit indentation), the variable is placed at the value; where it can (a
    /// literal block whose first line is blank), on its own line and column.
    func testVariablesAreNeverCountedFromAPlaceTheTextDoesNotStart() throws {
        let check = "check: { arithmetic: '{{expr}}', equals: 24, uses_numbers_of: '{{input}}' }"
        func place(_ replacement: String) throws -> String? {
            try only([(check, replacement)]).mark.map { "\($0.line):\($0.column)" }
        }
        XCTAssertEqual(try place("check: { arithmetic: !!str '{{exp}}', equals: 24, uses_numbers_of: '{{input}}' }"), "31:24")
        XCTAssertEqual(try place("check: { arithmetic: &e '{{exp}}', equals: 24, uses_numbers_of: '{{input}}' }"), "31:24")
        XCTAssertEqual(try place("check:\n    equals: 24\n    arithmetic: >\n      {{expr}}\n      + {{exp}}"), "33:17")
        XCTAssertEqual(try place("check:\n    equals: 24\n    arithmetic: |2\n        {{expr}}\n        + {{exp}}"), "33:17")
        XCTAssertEqual(try place("check:\n    equals: 24\n    arithmetic: |\n\n      {{expr}}\n      + {{exp}}"), "36:9")
    }

    func testUnclosedVariableInPromptFile() throws {
        let prompt = try scratch.write("propose.txt", "Propose steps for: {{state\n")
        let d = try only([])
        XCTAssertEqual(d.kind, .template)
        XCTAssertEqual(d.mark?.description, "\(prompt):1:20")
    }

    func testRegexThatDoesNotCompile() throws {
        let d = try only([("'^Answer: (?<expr>.+) = 24$'", "'^Answer: (?<expr>.+ = 24$'")])
        XCTAssertEqual(d.kind, .invalidRegex)
        XCTAssertEqual(d.mark?.description, "\(w):30:12")
        XCTAssertTrue(d.message.hasPrefix("'extract' is not a valid regular expression: expected ')'"), d.message)
    }

    func testOutOfRange() throws {
        let path = try workflow([("  depth: 3", "  depth: 40"), ("  breadth: 5", "  breadth: 0"), ("samples: 3", "samples: 100")])
        let found = diagnostics(of: path)
        XCTAssertEqual(found.map(\.kind), [.outOfRange, .outOfRange, .outOfRange])
        XCTAssertEqual(found.map(\.description), [
            "\(w):15:10: 'depth' must be from 1 to 32, got 40 — use a value in that range",
            "\(w):16:12: 'breadth' must be from 1 to 128, got 0 — use a value in that range",
            "\(w):25:14: 'samples' must be from 1 to 64, got 100 — use a value in that range",
        ])
    }

    func testEnumValueWithSuggestion() throws {
        let d = try only([("strategy: seed", "strategy: sed")])
        XCTAssertEqual(d.kind, .invalidValue)
        XCTAssertEqual(d.description,
                       "\(w):10:13: 'strategy' must be one of autoregressive|sequential|speculative|seed|auto, got \"sed\" — did you mean 'seed'?")
    }

    func testDraftingStrategiesNeedADraftAndTheOthersDoNot() throws {
        let noDrafts = ("  drafts:\n    - path: \(FlowTestPaths.draftS)\n      instances: 2\n", "")
        for strategy in ["seed", "speculative", "auto"] {
            let d = try only([noDrafts, ("strategy: seed", "strategy: \(strategy)")])
            XCTAssertEqual(d.kind, .conflict, strategy)
            XCTAssertEqual(d.mark?.description, "\(w):7:13", strategy)
        }
        for strategy in ["autoregressive", "sequential"] {
            let report = validateWorkflow(path: try workflow([noDrafts, ("strategy: seed", "strategy: \(strategy)")]))
            XCTAssertTrue(report.isValid, "\(strategy): " + report.diagnostics.map(\.description).joined(separator: "\n"))
        }
    }

    // MARK: lookup drafts

    private let modelDraft = "      instances: 2\n"

    func testALookupItemIsADraftSourceOfItsOwn() throws {
        let lookupOnly = try workflow([("    - path: \(FlowTestPaths.draftS)\n      instances: 2\n", "    - lookup: { min_ngram: 2, max_ngram: 4 }\n")])
        let report = validateWorkflow(path: lookupOnly)
        XCTAssertTrue(report.isValid, report.text)
        let workflow = try loadWorkflow(path: lookupOnly)
        XCTAssertEqual(workflow.models.lookup, LookupConfiguration(minNgram: 2, maxNgram: 4))
        XCTAssertTrue(workflow.models.drafts.isEmpty)
        let mixed = try self.workflow([(modelDraft, modelDraft + "    - lookup: {}\n")])
        XCTAssertEqual(try loadWorkflow(path: mixed).models.lookup, LookupConfiguration())
        XCTAssertEqual(try loadWorkflow(path: mixed).models.drafts.count, 1)
    }

    func testBadLookupSettingsNameTheirPlace() throws {
        let swapped = try only([(modelDraft, modelDraft + "    - lookup: { min_ngram: 5, max_ngram: 3 }\n")])
        XCTAssertEqual(swapped.kind, .conflict)
        XCTAssertEqual(swapped.description, "\(w):9:15: 'min_ngram' (5) is more than 'max_ngram' (3) — make min_ngram at most max_ngram (the defaults are 2 and 5)")
        let long = try only([(modelDraft, modelDraft + "    - lookup: { max_ngram: 40 }\n")])
        XCTAssertEqual(long.kind, .outOfRange)
        XCTAssertEqual(long.mark?.description, "\(w):9:28")
        let twice = try only([(modelDraft, modelDraft + "    - lookup: {}\n    - lookup: {}\n")])
        XCTAssertEqual(twice.kind, .conflict)
        XCTAssertEqual(twice.mark?.description, "\(w):10:15")
        let typo = try only([(modelDraft, modelDraft + "    - lookup: { max_gram: 4 }\n")])
        XCTAssertEqual(typo.kind, .unknownKey)
        XCTAssertTrue(typo.description.contains("did you mean 'max_ngram'"), typo.description)
        let both = try only([(modelDraft, modelDraft + "    - lookup: {}\n      path: x.gguf\n")])
        XCTAssertEqual(both.kind, .unknownKey)
    }

    /// An extract group named like an inputs field (other than `answer`, the reference) would
    /// leave the check unable to tell the model's text from the input's.
    func testAnExtractGroupMayNotShareAFieldsName() throws {
        let inputs = try scratch.write("q.jsonl", #"{"input": "4 6", "expr": "4 * 6", "answer": "24"}"# + "\n")
        let d = try XCTUnwrap(diagnostics(of: try workflow([(FlowTestPaths.inputs, inputs)])).first)
        XCTAssertEqual(d.kind, .conflict)
        XCTAssertEqual(d.description, "\(w):30:12: the extract group 'expr' has the name of the inputs' field 'expr', so the check could not tell them apart — rename the group, e.g. (?<expr_given>…)")
        let answer = try workflow([(FlowTestPaths.inputs, inputs), ("(?<expr>.+)", "(?<answer>.+)"), ("'{{expr}}'", "'{{answer}}'")])
        XCTAssertTrue(validateWorkflow(path: answer).isValid, validateWorkflow(path: answer).text)
    }

    /// A value used through an alias is reported where it is used: two uses, two lines.
    func testAValueReachedThroughAnAliasIsReportedAtTheAlias() throws {
        let path = try workflow([("    temperature: 0.7\n", "    temperature: &t 20\n"),
                                 ("    samples: 3\n", "    samples: 3\n    temperature: *t\n")])
        let found = diagnostics(of: path)
        XCTAssertEqual(found.map { $0.mark?.line }, [19, 26], found.map(\.description).joined(separator: "\n"))
        XCTAssertEqual(Set(found.map(\.message)), ["'temperature' must be from 0 to 10, got 20"])
    }

    /// YAML merge keys are not supported: say so, rather than suggest a key two edits away.
    func testAMergeKeyIsNamedAsOne() throws {
        let d = try only([("  breadth: 5", "  breadth: 5\n  <<: { depth: 2 }")])
        XCTAssertEqual(d.description, "\(w):17:3: merge keys ('<<: *anchor') are not supported in 'search' — write the keys out, or give the whole value as an alias ('key: *anchor')")
        XCTAssertNil(Spelling.suggestion(for: "<<", among: ["n", "depth"]), "no suggestion two edits from a two-letter word")
        XCTAssertEqual(Spelling.suggestion(for: "nn", among: ["n", "depth"]), "n")
    }

    /// A key written twice is one problem among the others, not the end of the report.
    func testDuplicateKeysAreReportedWithEveryOtherProblem() throws {
        let path = try workflow([("name: test", "name: test\nname: again"), ("  breadth: 5", "  breadth: 5\n  breadth: 6")])
        let found = diagnostics(of: path, overrides: ["search.depth=99"])
        XCTAssertEqual(found.map(\.description), [
            "\(w):3:1: duplicate key 'name' (first at \(w):2:1) — keep one of them",
            "\(w):18:3: duplicate key 'breadth' (first at \(w):17:3) — keep one of them",
            "--set search.depth=99: 'depth' must be from 1 to 32, got 99 — use a value in that range",
        ])
        // The first of the repeated keys stands.
        let (root, duplicates) = try YAMLLoader.loadKeepingFirstKeys(path: path)
        XCTAssertEqual(root?["search"]?["breadth"]?.scalar?.value, "5")
        XCTAssertEqual(duplicates.count, 2)
    }

    func testAnUnknownMergeRuleIsNamedWithTheRules() throws {
        let d = try only([("  breadth: 5", "  breadth: 5\n  merge_states: number")])
        XCTAssertEqual(d.description, "\(w):17:17: 'merge_states' must be one of text|numbers, got \"number\" — did you mean 'numbers'?")
    }

    func testDfsRefusesSampledSelection() throws {
        let d = try only([("  depth: 3", "  algorithm: dfs\n  prune_below: 0\n  depth: 3"), ("  breadth: 5", "  breadth: 5\n  select: sample")])
        XCTAssertEqual(d.kind, .conflict)
        XCTAssertEqual(d.description, "\(w):19:11: 'select: sample' applies to bfs and beam; dfs always tries the best child first — remove 'select', or use 'algorithm: bfs' or 'beam'")
    }

    /// A vote prompt shows all candidates at once: a single node's state, path or parent is not
    /// defined there.
    func testAVotePromptHasNoSingleState() throws {
        let prompt = try scratch.write("value.txt", "Vote among:\n{{candidates}}\nfor {{state}} after {{steps}}\n")
        let path = try workflow([("    samples: 3\n    score: { last_line: { sure: 20, likely: 1, impossible: 0.001 } }", "    mode: vote\n    samples: 3")])
        let found = diagnostics(of: path)
        XCTAssertEqual(found.map(\.kind), [.undefinedVariable, .undefinedVariable])
        XCTAssertEqual(found.first?.description,
                       "\(prompt):3:5: undefined variable {{state}} in the evaluate prompt — a vote prompt shows every candidate at once, so there is no single {{state}}: use {{candidates}} and {{input}}")
    }

    func testDfsNeedsAPruneThreshold() throws {
        let d = try only([("  depth: 3", "  algorithm: dfs\n  depth: 3")])
        XCTAssertEqual(d.kind, .missingKey)
        XCTAssertEqual(d.mark?.description, "\(w):15:14")
    }

    func testDraftWithADifferentVocabulary() throws {
        // Same size, one piece changed: the engine would verify the draft's tokens as different text.
        let target = try GGUFFile(path: FlowTestPaths.target)
        var writer = GGUFWriter()
        for key in target.metadataKeys where key.hasPrefix("tokenizer.") || key == "general.architecture" {
            guard var value = target.value(key) else { continue }
            if key == "tokenizer.ggml.tokens", var tokens = try target.stringArray(key) {
                tokens[400] = "zz"  // a merged token: every byte keeps its own
                value = .array(.string, tokens.map(GGUFValue.string))
            }
            writer.set(key, value)
        }
        let vocabulary = scratch.directory + "/other-vocab-only.gguf"
        try writer.write(to: vocabulary)
        var model = SeedModel.RandomModel(embeddingLength: 64, blockCount: 1, headCount: 2, headCountKV: 2, feedForwardLength: 128)
        model.tokenizerSource = try GGUFFile(path: vocabulary)
        let draft = scratch.directory + "/other-vocab.gguf"
        try model.write(to: draft)
        let d = try only([(FlowTestPaths.draftS, draft)])
        XCTAssertEqual(d.kind, .model)
        XCTAssertEqual(d.mark?.description, "\(w):7:13")
        let expected = try loadTokenizer(from: target).piece(400)
        XCTAssertEqual(d.message, "the draft's vocabulary differs from the target's: token 400 is 'zz' in the draft but '\(expected)' in the target")
    }

    func testDraftThatIsNotAModel() throws {
        let notModel = try scratch.write("notes.gguf", "hello")
        let d = try only([(FlowTestPaths.draftS, notModel)])
        XCTAssertEqual(d.kind, .model)
        XCTAssertEqual(d.mark?.description, "\(w):7:13")
    }

    /// What loading would refuse is reported by validate too: a vocabulary-only file, an
    /// architecture seedflow cannot run, and `chat: auto` on a model without a stored template.
    func testModelsTheRunWouldRefuse() throws {
        let target = try GGUFFile(path: FlowTestPaths.target)
        var writer = GGUFWriter()
        for key in target.metadataKeys where key.hasPrefix("tokenizer.") || key == "general.architecture" {
            if let value = target.value(key) { writer.set(key, value) }
        }
        let vocabularyOnly = scratch.directory + "/vocab-only.gguf"
        try writer.write(to: vocabularyOnly)
        let noWeights = try only([(FlowTestPaths.draftS, vocabularyOnly)])
        XCTAssertEqual(noWeights.kind, .model)
        XCTAssertEqual(noWeights.mark?.description, "\(w):7:13")
        XCTAssertTrue(noWeights.message.contains("the draft model cannot be used"), noWeights.message)

        var model = SeedModel.RandomModel(embeddingLength: 64, blockCount: 1, headCount: 2, headCountKV: 2, feedForwardLength: 128)
        model.architecture = "gptneox"
        model.tokenizerSource = target
        let otherArchitecture = scratch.directory + "/gptneox.gguf"
        try model.write(to: otherArchitecture)
        let unsupported = try only([(FlowTestPaths.draftS, otherArchitecture)])
        XCTAssertTrue(unsupported.message.contains("architecture 'gptneox' is not supported"), unsupported.message)

        let chat = try only([("name: test", "name: test\nchat: { template: auto }")])
        XCTAssertEqual(chat.kind, .model)
        XCTAssertEqual(chat.mark?.line, 3)
        XCTAssertTrue(chat.message.contains("no tokenizer.chat_template"), chat.message)
    }

    /// Messages that name what is wrong in the user's terms: a file that is a list, a quoted
    /// version, an empty score table, a stop list given as a mapping, an empty stop string.
    func testShapeMessagesSpeakTheUsersTerms() throws {
        let list = try scratch.write("list.yaml", "- a\n")
        XCTAssertEqual(diagnostics(of: list).map(\.description),
                       ["\(list):1:1: a workflow must be a mapping of keys to values, got a list — start the file with 'version: 1', then 'name:', 'models:', 'inputs:', 'search:' at the left margin"])
        XCTAssertEqual(try only([("version: 1", "version: \"1\"")]).fix, "write 1, without quotes")
        let version = try only([("version: 1", "version: 2")])
        XCTAssertEqual(version.message, "'version' must be 1, got 2")
        XCTAssertEqual(try only([("{ sure: 20, likely: 1, impossible: 0.001 }", "{}")]).message,
                       "'last_line' must map words to scores, got an empty mapping")
        let mapping = try only([("temperature: 0.7", "temperature: 0.7\n    stop: { 0: x }")])
        XCTAssertEqual(mapping.message, "'stop' must be a text or a list of texts, got a mapping")
        let empty = try only([("temperature: 0.7", "temperature: 0.7\n    stop: ['END', '']")])
        XCTAssertEqual(empty.message, "'stop' must not be empty")
    }

    func testEveryProblemIsReportedAtOnce() throws {
        let path = try workflow([
            ("version: 1", "version: 2"),
            ("draft_tokens: 4", "draft_tokens: many"),
            ("  breadth: 5", "  bredth: 5"),
            ("temperature: 0.7", "temperature: 20"),
            ("prompt: answer.txt", "prompt: nothing.txt"),
        ])
        let report = validateWorkflow(path: path)
        XCTAssertEqual(report.diagnostics.map(\.kind), [.outOfRange, .wrongType, .outOfRange, .unknownKey, .missingFile])
        XCTAssertEqual(report.diagnostics.map { $0.mark?.line }, [1, 11, 19, 16, 29])
        XCTAssertTrue(report.text.hasSuffix("\n5 problems found"), report.text)
        let error = WorkflowDiagnostics(report.diagnostics)
        XCTAssertEqual(error.localizedDescription.split(separator: "\n").count, 5)
    }

    func testYAMLSyntaxErrorIsADiagnostic() throws {
        let path = try scratch.write("bad.yaml", "version: 1\nsearch: { depth: 3\n")
        let found = diagnostics(of: path)
        XCTAssertEqual(found.map(\.kind), [.yaml])
        XCTAssertTrue(found[0].description.hasPrefix("\(path):3:1: "), found[0].description)
    }

    func testWrongSectionShapes() throws {
        let path = try workflow([("  goal: { state_equals: \"24\" }", "  goal: 24"),
                                 ("score: { last_line: { sure: 20, likely: 1, impossible: 0.001 } }", "score: { choice: 'x' }")])
        let found = diagnostics(of: path)
        XCTAssertEqual(found.map(\.kind), [.conflict, .wrongType])
        XCTAssertEqual(found.map { $0.mark?.description }, ["\(w):26:22", "\(w):27:9"])
    }

    func testJSONLInputFieldsBecomeVariables() throws {
        let inputs = try scratch.write("q.jsonl", "{\"question\": \"2+2?\", \"answer\": \"4\"}\n{\"question\": \"1+1?\", \"answer\": \"2\"}\n")
        try scratch.write("propose.txt", "Q: {{question}}\nSo far: {{state}}\n")
        try scratch.write("answer.txt", "Q: {{question}} {{answr}}\n")
        let found = diagnostics(of: try workflow([(FlowTestPaths.inputs, inputs)]))
        XCTAssertEqual(found.map(\.kind), [.undefinedVariable])
        XCTAssertTrue(found[0].description.hasSuffix("did you mean {{answer}}?"), found[0].description)
        let bad = try scratch.write("bad.jsonl", "{\"question\": \"x\"}\nnot json\n")
        let problems = diagnostics(of: try workflow([(FlowTestPaths.inputs, bad)]))
        XCTAssertTrue(problems.contains { $0.kind == .inputs && $0.mark?.description == "\(bad):2:1" }, "\(problems)")

        // A field a prompt uses that one line lacks is reported at that line, not at the prompt;
        // a file written on Windows reads the same.
        let gap = try scratch.write("gap.jsonl", "{\"question\": \"2+2?\", \"answer\": \"4\"}\r\n{\"answer\": \"2\"}\r\n")
        try scratch.write("answer.txt", "Q: {{question}} {{answer}}\n")
        let missing = diagnostics(of: try workflow([(FlowTestPaths.inputs, gap)]))
        XCTAssertEqual(missing.map(\.kind), [.inputs, .inputs], "\(missing)")
        XCTAssertEqual(missing.first?.mark?.description, "\(gap):2:1")
        XCTAssertTrue(missing.first?.message.hasPrefix("this inputs line has no \"question\" field, which the generate prompt uses at ") ?? false,
                      "\(missing)")
    }

    func testDefaultsWhereTheFileIsSilent() throws {
        let workflow = try loadWorkflow(path: try workflow([("  breadth: 5\n", ""), ("    temperature: 0.7\n", "")]))
        XCTAssertEqual(workflow.search.breadth, 5)
        XCTAssertEqual(workflow.search.algorithm, .bfs)
        XCTAssertEqual(workflow.search.select, .greedy)
        XCTAssertEqual(workflow.search.generate.mode, .propose)
        XCTAssertEqual(workflow.search.generate.sampling.temperature, 0.7)
        XCTAssertEqual(workflow.search.generate.sampling.maxTokens, 128)
        XCTAssertEqual(workflow.search.evaluate.mode, .value)
        XCTAssertEqual(workflow.finish?.sampling.temperature, 0)
        XCTAssertEqual(workflow.models.kvCache, KVCacheSection(memoryBytes: nil, blockTokens: 16))
        XCTAssertEqual(workflow.decoding.seed, 0)
        XCTAssertEqual(workflow.decoding.draftConfidence, 0.5)
        XCTAssertEqual(workflow.decoding.engineConfiguration(kvCache: workflow.models.kvCache).draftConfidence, 0.5)
        XCTAssertEqual(workflow.output.results, scratch.directory + "/runs/test.jsonl")
        XCTAssertEqual(workflow.inputs.format, .lines)
    }

    /// The default results file is named after the workflow, as one file name: a "/" or a line
    /// break in the name must not make folders or a path no shell can type.
    func testTheDefaultResultsFileIsOneFileName() throws {
        let workflow = try loadWorkflow(path: try workflow([("name: test", "name: \"a/b\\r\\nc\"")]))
        XCTAssertEqual(workflow.output.results, scratch.directory + "/runs/a_b_c.jsonl")
        // A carriage return in a Mermaid label would end its line, as a line feed would.
        XCTAssertEqual(Plan.mermaidEscape("a\r\nb\rc\nd \"e\""), "a b c d #quot;e#quot;")
        // Mermaid's named codes, readable in the source; text that looks like a code stays as written.
        XCTAssertEqual(Plan.mermaidEscape("(?<x>.+) & #lt; &amp;"), "(?#lt;x#gt;.+) #amp; #35;lt; #amp;amp;")
    }
}
