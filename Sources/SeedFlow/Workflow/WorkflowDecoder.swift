import Foundation
import SeedEngine
import SeedModel

/// Decodes a YAML tree into a `Workflow`, checking everything that can be checked before a run:
/// types, ranges, enum values, files, prompt variables, regexes and the models' vocabularies.
/// It never stops at the first problem; the result is a workflow or every diagnostic found.
struct WorkflowDecoder {
    let file: String
    let context: DecodeContext

    init(file: String) {
        self.file = file
        self.context = DecodeContext(workflowFile: file)
    }

    func decode(_ root: YAMLNode) -> Result<Workflow, WorkflowDiagnostics> {
        let workflow = decodeWorkflow(root)
        if let workflow, context.diagnostics.isEmpty { return .success(workflow) }
        return .failure(WorkflowDiagnostics(context.diagnostics))
    }

    private var top: SourceMark { SourceMark(file: file, line: 1, column: 1) }

    private func decodeWorkflow(_ root: YAMLNode) -> Workflow? {
        guard let map = MappingReader(root, path: "", context: context) else { return nil }
        let version = map.required("version", example: "'version: 1' at the top").flatMap { node -> Int? in
            context.int(node, "version", in: 1...1)
        }
        let fileName = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = map("name").flatMap { context.nonEmptyString($0, "name") } ?? fileName
        let description = map("description").flatMap { context.string($0, "description") }

        let models = map.required("models", example: "'models: { target: { path: model.gguf } }'")
            .flatMap { decodeModels($0) }
        // Read from the tree, not the decoded section: a missing target file must not also make
        // the strategy look draftless.
        let hasDrafts = root["models"]?["drafts"]?.sequence?.isEmpty == false
        let decoding = decodeDecoding(map("decoding"), hasDrafts: hasDrafts)
        let inputs = map.required("inputs", example: "'inputs: { file: inputs.txt }'").flatMap { decodeInputs($0) }
        let common = Self.commonVariables(inputs)
        let search = map.required("search", example: "a 'search:' section with depth, generate and evaluate")
            .flatMap { decodeSearch($0, common: common) }
        let finish = map("finish").flatMap { decodeFinish($0, common: common) }
        let output = decodeOutput(map("output"), name: name)
        let chat = map("chat").flatMap { decodeChat($0) }
        map.finish()

        if let chat, let models, let node = root["chat"]?["template"] { checkChatTemplate(chat.template, target: models.target.path, at: node.mark) }

        guard let version, let models, let decoding, let inputs, let search, let output else { return nil }
        if map.has("finish") && finish == nil { return nil }
        if map.has("chat") && chat == nil { return nil }
        return Workflow(file: file, resolvedFile: context.workflowFile, version: version, name: name, description: description,
                        models: models, decoding: decoding, inputs: inputs, search: search, finish: finish,
                        output: output, chat: chat)
    }

    // MARK: models

    private func decodeModels(_ node: YAMLNode) -> ModelsSection? {
        guard let map = MappingReader(node, path: "models", context: context) else { return nil }
        var targetPath: String?
        var targetMark = node.mark
        if let targetNode = map.required("target", example: "'target: { path: model.gguf }'"),
           let target = MappingReader(targetNode, path: "models.target", context: context) {
            if let pathNode = target.required("path", example: "'path: model.gguf'") {
                targetMark = pathNode.mark
                targetPath = context.existingFile(pathNode, "path", what: "target model")
            }
            target.finish()
        }

        var drafts: [DraftReference] = []
        var draftMarks: [SourceMark] = []
        var draftsValid = true
        var lookup: LookupConfiguration?
        if let draftsNode = map("drafts") {
            if let items = draftsNode.sequence {
                for (index, item) in items.enumerated() {
                    guard let draft = MappingReader(item, path: "models.drafts[\(index)]", context: context) else {
                        draftsValid = false
                        continue
                    }
                    if let lookupNode = draft("lookup") {
                        draft.finish()
                        if lookup != nil {
                            context.report(.conflict, lookupNode.mark, "'lookup' is listed twice under models.drafts",
                                           fix: "keep one '- lookup: { min_ngram: 2, max_ngram: 5 }' item")
                            draftsValid = false
                        } else if let decoded = decodeLookup(lookupNode, path: "models.drafts[\(index)].lookup") {
                            lookup = decoded
                        } else {
                            draftsValid = false
                        }
                        continue
                    }
                    let pathNode = draft.required("path", example: "'path: draft.gguf'")
                    let path = pathNode.flatMap { context.existingFile($0, "path", what: "draft model") }
                    let instances = draft("instances").map { context.int($0, "instances", in: 1...256) } ?? 1
                    draft.finish()
                    if let path, let instances, let pathNode {
                        drafts.append(DraftReference(path: path, instances: instances))
                        draftMarks.append(pathNode.mark)
                    } else {
                        draftsValid = false
                    }
                }
            } else {
                context.report(.wrongType, draftsNode.mark, "'drafts' must be a list, got \(draftsNode.shortDescription)",
                               fix: "write '- { path: draft.gguf, instances: 4 }' or '- lookup: { min_ngram: 2, max_ngram: 5 }' items")
                draftsValid = false
            }
        }

        var kvCache = KVCacheSection(memoryBytes: nil, blockTokens: 16)
        var kvValid = true
        if let kvNode = map("kv_cache") {
            if let kv = MappingReader(kvNode, path: "models.kv_cache", context: context) {
                if let m = kv("memory") {
                    kvCache.memoryBytes = context.memory(m, "memory")
                    if let bytes = kvCache.memoryBytes, let physical = Engine.memoryBelow(kvBudget: bytes) {
                        context.report(.invalidValue, m.mark, "'memory' is \(formatBytes(bytes)), more than this machine's \(formatBytes(physical)) of memory",
                                       fix: "give less (it bounds the KV cache, which takes memory only as it fills), or leave it out for a quarter of memory")
                        kvCache.memoryBytes = nil
                    }
                    kvValid = kvValid && kvCache.memoryBytes != nil
                }
                if let b = kv("block_tokens") {
                    if let value = context.int(b, "block_tokens", in: 1...1024) { kvCache.blockTokens = value } else { kvValid = false }
                }
                kv.finish()
            } else {
                kvValid = false
            }
        }
        map.finish()

        if let targetPath { checkVocabularies(target: targetPath, targetMark: targetMark, drafts: drafts, marks: draftMarks) }
        guard let targetPath, draftsValid, kvValid else { return nil }
        return ModelsSection(target: ModelReference(path: targetPath), drafts: drafts, kvCache: kvCache, lookup: lookup)
    }

    /// `lookup: { min_ngram, max_ngram }` of a drafts item (`lookup: {}` takes the defaults).
    private func decodeLookup(_ node: YAMLNode, path: String) -> LookupConfiguration? {
        guard let map = MappingReader(node, path: path, context: context) else { return nil }
        var lookup = LookupConfiguration()
        var valid = true
        let range = LookupConfiguration.ngramRange
        if let n = map("min_ngram") {
            if let value = context.int(n, "min_ngram", in: range) { lookup.minNgram = value } else { valid = false }
        }
        if let n = map("max_ngram") {
            if let value = context.int(n, "max_ngram", in: range) { lookup.maxNgram = value } else { valid = false }
        }
        map.finish()
        if valid && lookup.minNgram > lookup.maxNgram {
            context.report(.conflict, node.mark, "'min_ngram' (\(lookup.minNgram)) is more than 'max_ngram' (\(lookup.maxNgram))",
                           fix: "make min_ngram at most max_ngram (the defaults are 2 and 5)")
            valid = false
        }
        return valid ? lookup : nil
    }

    /// Opens the target and every draft and compares their vocabularies piece by piece, as the
    /// engine will: a draft that tokenizes differently would propose tokens the target cannot verify.
    private func checkVocabularies(target: String, targetMark: SourceMark, drafts: [DraftReference], marks: [SourceMark]) {
        func tokenizer(_ path: String, _ mark: SourceMark, _ role: String) -> (any Tokenizer)? {
            do {
                // What loading the model would refuse, short of reading its weights: an
                // unsupported architecture or shape, or a vocabulary-only file.
                let file = try context.modelFile(path)
                let tokenizer = try loadTokenizer(from: file)
                _ = try ModelConfig(file: file)
                if file.tensors.isEmpty { throw ModelError.noWeights(path: path) }
                return tokenizer
            } catch {
                // Most model errors carry their own advice after a dash; only the others get one.
                let message = error.localizedDescription
                context.report(.model, mark, "the \(role) model cannot be used: \(message)",
                               fix: message.contains(" — ") ? nil : "point it at a GGUF model file")
                return nil
            }
        }
        let targetTokenizer = tokenizer(target, targetMark, "target")
        for (draft, mark) in zip(drafts, marks) {
            guard let d = tokenizer(draft.path, mark, "draft"), let t = targetTokenizer else { continue }
            if let problem = t.draftMismatch(d) {
                context.report(.model, mark, "the draft's vocabulary differs from the target's: \(problem)",
                               fix: "a draft must use the target's tokenizer; pick a draft from the same model family")
            }
        }
    }

    /// The chat format must be one the target can give: `auto` needs a template stored in it.
    private func checkChatTemplate(_ name: String, target: String, at mark: SourceMark) {
        guard let file = try? context.modelFile(target) else { return }  // reported with the models
        do {
            _ = try ChatTemplate(named: name, file: file)
        } catch {
            // The template errors say what to write instead.
            context.report(.model, mark, "chat template '\(name)' cannot be used with the target: \(error.localizedDescription)")
        }
    }

    // MARK: decoding, inputs, output, chat

    private func decodeDecoding(_ node: YAMLNode?, hasDrafts: Bool) -> DecodingSection? {
        var section = DecodingSection(strategy: hasDrafts ? .auto : .autoregressive, draftTokens: 4, seed: 0)
        guard let node else { return section }
        guard let map = MappingReader(node, path: "decoding", context: context) else { return nil }
        var valid = true
        if let s = map("strategy") {
            if let strategy = context.oneOf(s, "strategy", DecodingStrategy.self) {
                section.strategy = strategy
                if strategy.usesDrafts && !hasDrafts {
                    context.report(.conflict, s.mark, "strategy '\(strategy.rawValue)' needs a draft model, and models.drafts lists none",
                                   fix: "add a draft under models.drafts, or use strategy autoregressive")
                    valid = false
                }
            } else { valid = false }
        }
        if let k = map("draft_tokens") {
            if let value = context.int(k, "draft_tokens", in: 1...32) { section.draftTokens = value } else { valid = false }
        }
        if let c = map("draft_confidence") {
            if let value = context.number(c, "draft_confidence", in: 0...1) { section.draftConfidence = value } else { valid = false }
        }
        if let seed = map("seed") {
            if let value = context.int(seed, "seed", in: 0...Int.max) { section.seed = UInt64(value) } else { valid = false }
        }
        map.finish()
        return valid ? section : nil
    }

    private func decodeInputs(_ node: YAMLNode) -> InputsSection? {
        guard let map = MappingReader(node, path: "inputs", context: context) else { return nil }
        let path = map.required("file", example: "'file: inputs.txt'").flatMap {
            context.existingFile($0, "file", what: "inputs file")
        }
        map.finish()
        guard let path else { return nil }
        let format: InputsSection.Format = path.hasSuffix(".jsonl") ? .jsonl : .lines
        guard let data = FileManager.default.contents(atPath: path),
              let text = UTF8Text.decode(data) else {
            context.report(.inputs, SourceMark(file: path, line: 1, column: 1), "the inputs file cannot be read as UTF-8 text",
                           fix: "save it as UTF-8")
            return nil
        }
        var fields: Set<String>?
        var seen: Set<String> = []
        var count = 0
        var firstLine = 0
        for (number, line) in InputsSection.lines(of: text) {
            count += 1
            if firstLine == 0 { firstLine = number }
            guard format == .jsonl else { continue }
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            guard let object else {
                context.report(.inputs, SourceMark(file: path, line: number, column: 1), "this line is not a JSON object",
                               fix: "write one {\"field\": value} object a line, or use a .txt file for plain lines")
                return nil
            }
            let keys = Set(object.keys)
            let mark = SourceMark(file: path, line: number, column: 1)
            // A field seen before but missing here, or on every line before but this one.
            for gap in seen.subtracting(keys) where context.inputFieldGaps[gap] == nil { context.inputFieldGaps[gap] = mark }
            if let previous = fields {
                for field in keys.subtracting(previous) where context.inputFieldGaps[field] == nil {
                    context.inputFieldGaps[field] = SourceMark(file: path, line: firstLine, column: 1)
                }
            }
            seen.formUnion(keys)
            fields = fields.map { $0.intersection(keys) } ?? keys
        }
        guard count > 0 else {
            context.report(.inputs, SourceMark(file: path, line: 1, column: 1), "the inputs file has no inputs",
                           fix: "write one input a line")
            return nil
        }
        return InputsSection(file: path, format: format, fields: (fields ?? []).sorted())
    }

    private func decodeOutput(_ node: YAMLNode?, name: String) -> OutputSection? {
        // The name as one file name: a "/" or a line break in it must not make folders or a
        // path no shell can type.
        let fileName = String(name.map { $0 == "/" || $0.isNewline || $0 == "\0" ? "_" : $0 })
        let fallback = context.resolvePath("runs/\(fileName.isEmpty ? "results" : fileName).jsonl", from: top)
        guard let node else { return OutputSection(results: fallback) }
        guard let map = MappingReader(node, path: "output", context: context) else { return nil }
        var results: String? = fallback
        if let r = map("results") {
            results = context.nonEmptyString(r, "results").map { context.resolvePath($0, from: r.mark) }
        }
        map.finish()
        return results.map(OutputSection.init(results:))
    }

    private func decodeChat(_ node: YAMLNode) -> ChatSection? {
        guard let map = MappingReader(node, path: "chat", context: context) else { return nil }
        let template = map.required("template", example: "'template: auto'").flatMap { context.oneOf($0, "template", ChatTemplateChoice.self) }?.rawValue
        let system = map("system").flatMap { context.string($0, "system") }
        map.finish()
        return template.map { ChatSection(template: $0, system: system) }
    }

    // MARK: search

    /// A node's own variables: its state, its path's thoughts and its parent's state.
    static let nodeVariables: Set<String> = ["state", "steps", "parent.state"]

    /// Variables every prompt may use: the input, the node's state and path, and JSONL fields.
    static func commonVariables(_ inputs: InputsSection?) -> Set<String> {
        nodeVariables.union(["input"]).union(inputs?.fields ?? [])
    }

    private func decodeSearch(_ node: YAMLNode, common: Set<String>) -> SearchSection? {
        guard let map = MappingReader(node, path: "search", context: context) else { return nil }
        var valid = true
        var algorithm = SearchSection.Algorithm.bfs
        var algorithmMark: SourceMark?
        if let a = map("algorithm") {
            algorithmMark = a.mark
            if let value = context.oneOf(a, "algorithm", SearchSection.Algorithm.self) { algorithm = value } else { valid = false }
        }
        let depth = map.required("depth", example: "'depth: 3'").flatMap { context.int($0, "depth", in: 1...32) }
        var breadth = 5
        if let b = map("breadth") {
            if let value = context.int(b, "breadth", in: 1...128) { breadth = value } else { valid = false }
        }
        var pruneBelow: Double?
        if let p = map("prune_below") {
            pruneBelow = context.number(p, "prune_below")
            valid = valid && pruneBelow != nil
        } else if algorithm == .dfs {
            context.report(.missingKey, algorithmMark ?? node.mark, "algorithm dfs needs 'prune_below' in 'search'",
                           fix: "add 'prune_below: <value>': children valued below it are not explored")
            valid = false
        }
        let generate = map.required("generate", example: "a 'generate:' section with a prompt")
            .flatMap { decodeGenerate($0, common: common) }
        let evaluate = map.required("evaluate", example: "an 'evaluate:' section with a prompt")
            .flatMap { decodeEvaluate($0, common: common) }
        var select = SearchSection.Selection.greedy
        if let s = map("select") {
            if let value = context.oneOf(s, "select", SearchSection.Selection.self) { select = value } else { valid = false }
            if algorithm == .dfs, select == .sample {
                context.report(.conflict, s.mark, "'select: sample' applies to bfs and beam; dfs always tries the best child first",
                               fix: "remove 'select', or use 'algorithm: bfs' or 'beam'")
                valid = false
            }
        }
        var mergeStates = SearchSection.StateMerge.text
        if let m = map("merge_states") {
            if let value = context.oneOf(m, "merge_states", SearchSection.StateMerge.self) { mergeStates = value } else { valid = false }
        }
        var goal: GoalTest?
        if let g = map("goal") {
            if let goalMap = MappingReader(g, path: "search.goal", context: context) {
                goal = goalMap.required("state_equals", example: "'state_equals: \"24\"'")
                    .flatMap { context.string($0, "state_equals") }
                    .map(GoalTest.init(stateEquals:))
                goalMap.finish()
            }
            valid = valid && goal != nil
        }
        map.finish()
        guard valid, let depth, let generate, let evaluate else { return nil }
        return SearchSection(algorithm: algorithm, depth: depth, breadth: breadth, pruneBelow: pruneBelow,
                             generate: generate, evaluate: evaluate, select: select, goal: goal, mergeStates: mergeStates)
    }

    /// `max_tokens`, `temperature`, `top_k`, `top_p`, `stop`: the same keys in every calling step.
    private func decodeSampling(_ map: MappingReader, maxTokens: Int, temperature: Double) -> StepSampling? {
        var sampling = StepSampling(maxTokens: maxTokens, temperature: temperature, topK: 0, topP: 1, stop: [])
        var valid = true
        if let n = map("max_tokens") {
            if let v = context.int(n, "max_tokens", in: 1...32768) { sampling.maxTokens = v } else { valid = false }
        }
        if let t = map("temperature") {
            if let v = context.number(t, "temperature", in: 0...10) { sampling.temperature = v } else { valid = false }
        }
        if let k = map("top_k") {
            if let v = context.int(k, "top_k", in: 0...1_000_000) { sampling.topK = v } else { valid = false }
        }
        if let p = map("top_p") {
            if let v = context.number(p, "top_p") {
                if v > 0 && v <= 1 { sampling.topP = v } else {
                    context.report(.outOfRange, p.mark, "'top_p' must be above 0 and at most 1, got \(p.scalar?.value ?? "")",
                                   fix: "use 1 to turn it off")
                    valid = false
                }
            } else { valid = false }
        }
        if let s = map("stop") {
            if let v = context.strings(s, "stop") { sampling.stop = v } else { valid = false }
        }
        return valid ? sampling : nil
    }

    /// Reads a prompt file and checks that it uses only the variables this step defines.
    private func prompt(_ node: YAMLNode, step: String, allowed: Set<String>, explain: [String: String] = [:]) -> PromptTemplate? {
        guard let path = context.existingFile(node, "prompt", what: "prompt file") else { return nil }
        let template: PromptTemplate
        do {
            template = try PromptTemplate(contentsOfFile: path)
        } catch {
            context.report(Diagnostic(error))
            return nil
        }
        return checkVariables(template, step: step, allowed: allowed, explain: explain) ? template : nil
    }

    /// Reports each variable that the step does not define. `explain` gives a specific fix for a
    /// name that exists elsewhere (such as {{candidates}} outside vote mode).
    private func checkVariables(_ template: PromptTemplate, step: String, allowed: Set<String>,
                                explain: [String: String] = [:]) -> Bool {
        var ok = true
        for variable in template.variables where !allowed.contains(variable.name) {
            ok = false
            if let line = context.inputFieldGaps[variable.name] {
                context.report(.inputs, line, "this inputs line has no \"\(variable.name)\" field, which the \(step) uses at \(variable.mark)",
                               fix: "give every line the fields the prompts use, or remove this line")
                continue
            }
            let fix = explain[variable.name]
                ?? (Spelling.suggestion(for: variable.name, among: allowed.sorted()).map { "did you mean {{\($0)}}?" }
                    ?? "defined here: " + allowed.sorted().map { "{{\($0)}}" }.joined(separator: ", "))
            context.report(.undefinedVariable, variable.mark, "undefined variable {{\(variable.name)}} in the \(step)", fix: fix)
        }
        return ok
    }

    private func decodeGenerate(_ node: YAMLNode, common: Set<String>) -> GenerateStep? {
        guard let map = MappingReader(node, path: "search.generate", context: context) else { return nil }
        var valid = true
        let template = map.required("prompt", example: "'prompt: prompts/propose.txt'")
            .flatMap { prompt($0, step: "generate prompt", allowed: common) }
        var mode = GenerateStep.Mode.propose
        if let m = map("mode") {
            if let v = context.oneOf(m, "mode", GenerateStep.Mode.self) { mode = v } else { valid = false }
        }
        var n = 5
        if let nNode = map("n") {
            if let v = context.int(nNode, "n", in: 1...64) { n = v } else { valid = false }
            if mode != .sample {
                context.report(.conflict, nNode.mark, "'n' applies to mode sample only; propose mode makes one call per state",
                               fix: "remove 'n', or set 'mode: sample'")
                valid = false
            }
        }
        let sampling = decodeSampling(map, maxTokens: 128, temperature: 0.7)
        var parse: ThoughtParser?
        if let p = map("parse") {
            parse = decodeParse(p, common: common)
            valid = valid && parse != nil
        }
        map.finish()
        guard valid, let template, let sampling else { return nil }
        return GenerateStep(prompt: template, mode: mode, n: n, sampling: sampling, parse: parse)
    }

    private func decodeParse(_ node: YAMLNode, common: Set<String>) -> ThoughtParser? {
        guard let map = MappingReader(node, path: "search.generate.parse", context: context) else { return nil }
        let pattern = map.required("pattern", example: "'pattern: '^(?<step>.+)$''").flatMap { context.regex($0, "pattern") }
        var state: PromptTemplate?
        let stateNode = map("state")
        if let stateNode { state = context.template(stateNode, "state") }
        map.finish()
        guard let pattern else { return nil }
        if stateNode != nil && state == nil { return nil }
        let stateTemplate = state ?? (try? PromptTemplate(text: "{{thought}}", origin: node.mark))
        guard let stateTemplate else { return nil }
        let allowed = Set(pattern.groupNames).union(["thought", "input", "parent.state"])
            .union(common.subtracting(["state", "steps"]))
        guard checkVariables(stateTemplate, step: "parse state (the pattern's named groups: \(pattern.groupNames.joined(separator: ", ")))",
                             allowed: allowed) else { return nil }
        return ThoughtParser(pattern: pattern, state: stateTemplate)
    }

    private func decodeEvaluate(_ node: YAMLNode, common: Set<String>) -> EvaluateStep? {
        guard let map = MappingReader(node, path: "search.evaluate", context: context) else { return nil }
        var valid = true
        // The mode decides which variables the prompt may use, so read it first.
        var mode = EvaluateStep.Mode.value
        if let m = map("mode") {
            if let v = context.oneOf(m, "mode", EvaluateStep.Mode.self) { mode = v } else { valid = false }
        }
        // A vote shows every candidate at once, children of several parents: no one node's
        // state, path or parent belongs in it.
        let allowed = mode == .vote ? common.union(["candidates"]).subtracting(Self.nodeVariables) : common
        let explain = mode == .vote
            ? Dictionary(uniqueKeysWithValues: Self.nodeVariables.map {
                ($0, "a vote prompt shows every candidate at once, so there is no single {{\($0)}}: use {{candidates}} and {{input}}")
            })
            : ["candidates": "{{candidates}} exists only in vote mode; set 'mode: vote' or remove it"]
        let template = map.required("prompt", example: "'prompt: prompts/value.txt'")
            .flatMap { prompt($0, step: "evaluate prompt", allowed: allowed, explain: explain) }
        var samples = 1
        if let s = map("samples") {
            if let v = context.int(s, "samples", in: 1...64) { samples = v } else { valid = false }
        }
        let sampling = decodeSampling(map, maxTokens: 64, temperature: 0.7)
        var score: ScoreRule? = mode == .vote
            ? (try? CompiledRegex(pattern: "best choice is (?<choice>[0-9]+)")).map(ScoreRule.choice)
            : .number(min: 0, max: 10)
        if let s = map("score") {
            score = decodeScore(s, mode: mode)
        }
        map.finish()
        guard valid, let template, let sampling, let score else { return nil }
        return EvaluateStep(prompt: template, mode: mode, samples: samples, sampling: sampling, score: score)
    }

    private func decodeScore(_ node: YAMLNode, mode: EvaluateStep.Mode) -> ScoreRule? {
        guard let map = MappingReader(node, path: "search.evaluate.score", context: context) else { return nil }
        let forms = ["last_line", "number", "choice"]
        let given = forms.compactMap { key in map(key).map { (key, $0) } }
        map.finish()
        guard given.count == 1, let (form, value) = given.first else {
            context.report(given.isEmpty ? .missingKey : .conflict, node.mark,
                           given.isEmpty ? "'score' needs one of last_line, number, choice"
                                         : "'score' takes one of last_line, number, choice, not several",
                           fix: mode == .vote ? "use 'choice' in vote mode" : "use 'last_line' or 'number' in value mode")
            return nil
        }
        if (mode == .vote) != (form == "choice") {
            context.report(.conflict, value.mark, "score '\(form)' does not fit evaluate mode \(mode.rawValue)",
                           fix: mode == .vote ? "vote mode counts votes: use 'choice: <pattern with (?<choice>[0-9]+)>'"
                                              : "value mode scores each sample: use 'last_line' or 'number'")
            return nil
        }
        switch form {
        case "last_line":
            guard let entries = value.mapping, !entries.isEmpty else {
                let got = value.mapping != nil ? "an empty mapping" : value.shortDescription
                context.report(.wrongType, value.mark, "'last_line' must map words to scores, got \(got)",
                               fix: "write e.g. { sure: 20, likely: 1, impossible: 0.001 }")
                return nil
            }
            let words = entries.compactMap { entry in
                scoreValue(entry.value, entry.key).map { (word: entry.key.lowercased(), value: $0) }
            }
            return words.count == entries.count ? .lastLine(words) : nil
        case "number":
            guard let range = MappingReader(value, path: "search.evaluate.score.number", context: context) else { return nil }
            let low = range("min").map { scoreValue($0, "min") } ?? 0
            let high = range("max").map { scoreValue($0, "max") } ?? 10
            range.finish()
            guard let low, let high else { return nil }
            guard low < high else {
                context.report(.outOfRange, value.mark, "'number' needs min below max, got \(low) and \(high)",
                               fix: "e.g. { min: 0, max: 10 }")
                return nil
            }
            return .number(min: low, max: high)
        default:
            guard let regex = context.regex(value, "choice") else { return nil }
            guard regex.groupNames.contains("choice") else {
                context.report(.invalidRegex, value.mark, "the 'choice' pattern has no group named 'choice'",
                               fix: "capture the candidate number as (?<choice>[0-9]+)")
                return nil
            }
            return .choice(regex)
        }
    }

    /// The largest score a workflow may give: a node's value sums up to 64 samples, and beam
    /// search sums the values along a path, so a score near the largest double (`1e308`) would
    /// add up to infinity. Within this bound every sum stays an ordinary number.
    static let maxScore = 1e9

    /// A score of `last_line` or a bound of `number`, within ±`maxScore`.
    private func scoreValue(_ node: YAMLNode, _ key: String) -> Double? {
        guard let value = context.number(node, key) else { return nil }
        guard abs(value) <= Self.maxScore else {
            context.report(.outOfRange, node.mark,
                           "score '\(key)' is \(node.scalar?.value ?? String(value)), beyond ±1e9: summed over samples and levels it would overflow",
                           fix: "only the scores' ratios matter: scale them down, e.g. { sure: 20, likely: 1, impossible: 0.001 }")
            return nil
        }
        return value
    }

    // MARK: finish

    private func decodeFinish(_ node: YAMLNode, common: Set<String>) -> FinishStep? {
        guard let map = MappingReader(node, path: "finish", context: context) else { return nil }
        var valid = true
        let template = map.required("prompt", example: "'prompt: prompts/answer.txt'")
            .flatMap { prompt($0, step: "finish prompt", allowed: common) }
        let sampling = decodeSampling(map, maxTokens: 64, temperature: 0)
        var extract: CompiledRegex?
        if let e = map("extract") {
            extract = context.regex(e, "extract")
            valid = valid && extract != nil
            // A group named like the input or one of its fields would leave the check unable to
            // tell the model's text from the input's. `answer` is the documented exception: the
            // field is the reference, the group the answer.
            let inputNames = common.subtracting(Self.nodeVariables.union(["answer"]))
            for name in extract?.groupNames ?? [] where inputNames.contains(name) {
                context.report(.conflict, e.mark,
                               "the extract group '\(name)' has the name of \(name == "input" ? "{{input}}" : "the inputs' field '\(name)'"), so the check could not tell them apart",
                               fix: "rename the group, e.g. (?<\(name)_given>…)")
                valid = false
            }
        }
        var check: AnswerCheck?
        if let c = map("check") {
            // With a broken extract its groups are unknown: checking names against them would
            // only repeat the regex error as undefined variables.
            let allowed = map.has("extract") && extract == nil ? nil
                : Set(["answer", "input"]).union(extract?.groupNames ?? [])
                    .union(common.subtracting(Self.nodeVariables))
            check = decodeCheck(c, allowed: allowed)
            valid = valid && check != nil
        }
        map.finish()
        guard valid, let template, let sampling else { return nil }
        return FinishStep(prompt: template, sampling: sampling, extract: extract, check: check)
    }

    /// `allowed`: the variables check templates may use; nil when they cannot be known.
    private func decodeCheck(_ node: YAMLNode, allowed: Set<String>?) -> AnswerCheck? {
        guard let map = MappingReader(node, path: "finish.check", context: context) else { return nil }
        let arithmetic = map("arithmetic"), equals = map("equals"), uses = map("uses_numbers_of")
        let numberEquals = map("number_equals"), stringEquals = map("string_equals")
        map.finish()
        func templateChecked(_ node: YAMLNode, _ key: String) -> PromptTemplate? {
            guard let t = context.template(node, key) else { return nil }
            guard let allowed else { return t }
            return checkVariables(t, step: "check '\(key)'", allowed: allowed) ? t : nil
        }
        let forms = [arithmetic, numberEquals, stringEquals].compactMap { $0 }
        guard forms.count == 1 else {
            context.report(forms.isEmpty ? .missingKey : .conflict, node.mark,
                           forms.isEmpty ? "'check' needs one of arithmetic, number_equals, string_equals"
                                         : "'check' takes one of arithmetic, number_equals, string_equals, not several",
                           fix: "e.g. { number_equals: '{{answer}}' }")
            return nil
        }
        if let arithmetic {
            guard let equals else {
                context.report(.missingKey, node.mark, "'check' with 'arithmetic' is missing the required key 'equals'",
                               fix: "add the value the expression must reach, e.g. 'equals: 24'")
                return nil
            }
            let expression = templateChecked(arithmetic, "arithmetic")
            let target = context.number(equals, "equals")
            let numbers = uses.map { templateChecked($0, "uses_numbers_of") }
            guard let expression, let target else { return nil }
            if let numbers, numbers == nil { return nil }
            return .arithmetic(expression: expression, equals: target, usesNumbersOf: numbers ?? nil)
        }
        for (key, extra) in [("equals", equals), ("uses_numbers_of", uses)] {
            if let extra {
                context.report(.conflict, extra.mark, "'\(key)' belongs to an 'arithmetic' check",
                               fix: "remove it, or check with 'arithmetic'")
                return nil
            }
        }
        if let numberEquals { return templateChecked(numberEquals, "number_equals").map(AnswerCheck.numberEquals) }
        return stringEquals.flatMap { templateChecked($0, "string_equals") }.map(AnswerCheck.stringEquals)
    }
}
