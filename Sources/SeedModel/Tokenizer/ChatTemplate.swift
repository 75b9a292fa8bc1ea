import Foundation

/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable {
    public var role: String  // "system", "user" or "assistant"
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

public enum ChatTemplateError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case unknownTemplate(excerpt: String)
    case noTemplate
    case unknownName(String, known: [String])

    public var description: String {
        switch self {
        case let .unknownTemplate(excerpt):
            return "the model's chat template is not one seedflow recognizes (\(ChatTemplate.Family.allCases.map(\.rawValue).joined(separator: ", "))); it begins \"\(excerpt)\" — name the family that matches (llama3, chatml, …: --chat NAME, or chat.template in a workflow) or write the prompt format in the prompt itself"
        case .noTemplate:
            return "the model has no tokenizer.chat_template — name its family instead (llama3, chatml, …: --chat NAME, or chat.template in a workflow) or write the prompt format in the prompt itself"
        case let .unknownName(name, known):
            return "unknown chat template '\(name)' — use one of \(known.joined(separator: ", "))"
        }
    }

    public var errorDescription: String? { description }
}

/// The chat formats of the common model families, recognized from the Jinja source stored in
/// `tokenizer.chat_template` by a fingerprint (a marker each family's template contains) and
/// rendered by our own code rather than by a Jinja interpreter. Checked against the published
/// templates rendered by Jinja2 (Tests/SeedModelTests/Resources/chat-templates).
///
/// The rendering leaves out the BOS token that starts the templates which print one: the tokenizer
/// adds it (`Tokenizer.encode(_:addBOS:)`), and both would double it. Later BOS tokens (Llama 2
/// starts every user turn with one) stay in the text and become BOS through `parseSpecial`.
///
/// Not reproduced, on purpose: tools and tool calls (Llama 3.1+, Qwen2.5, Mistral v0.3); the date
/// Llama 3.2's template computes when it runs (`strftime_now`): we print the date the template falls
/// back to, so a prompt renders the same every day; the role-alternation errors the templates raise
/// (we render what we are given); and the old Mistral templates' refusal of a system message: we put
/// it before the first user message, as Mistral's later templates for the same models do.
public struct ChatTemplate: Sendable, Equatable {
    public enum Family: String, Sendable, CaseIterable {
        case llama2 = "Llama 2", llama3 = "Llama 3", chatML = "ChatML/Qwen", mistral = "Mistral", zephyr = "Zephyr"
        case qwen3 = "Qwen3", gemma = "Gemma", phi3 = "Phi-3"
    }

    /// Mistral's [INST] formats differ in spaces, in trimming and in where the system prompt goes.
    public enum MistralFormat: Sendable, Equatable {
        /// The 2023 templates of Instruct v0.1 (a space after each `</s>`) and v0.2 / Mixtral:
        /// `[INST] user [/INST]reply</s>`. They refuse a system message; we put it before the first
        /// user message.
        case legacy(spaceAfterEOS: Bool)
        /// The 2024 templates of v0.1 / v0.2 / Mixtral: ` [INST] system\n\nuser [/INST] reply</s>`.
        case v1
        /// v0.3 (and Large 2407): `[INST] user[/INST] reply</s>`, the reply trimmed, the system
        /// prompt before the last user message.
        case v3
        /// Nemo: `[INST]user[/INST]reply</s>`, the system prompt before the last user message.
        case v3Tekken
    }

    public let family: Family
    /// A system prompt the template inserts when the conversation has none (Qwen2.5's).
    public let defaultSystem: String?
    /// Llama 3.1+: the system turn is always there and starts with these lines
    /// ("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n").
    public let systemPreamble: String?
    /// Which Mistral format (used by `.mistral` only).
    public let mistralFormat: MistralFormat
    /// Qwen3 only: false renders the generation prompt with an empty thinking block, as the template
    /// does with `enable_thinking=false`, so the model answers without reasoning first.
    public let thinking: Bool

    public init(family: Family, defaultSystem: String? = nil, systemPreamble: String? = nil,
                mistralFormat: MistralFormat = .legacy(spaceAfterEOS: false), thinking: Bool = true) {
        self.family = family
        self.defaultSystem = defaultSystem
        self.systemPreamble = systemPreamble
        self.mistralFormat = mistralFormat
        self.thinking = thinking
    }

    /// Recognizes a template's Jinja source.
    public init(jinja source: String) throws {
        if source.contains("<|start_header_id|>") {
            var preamble: String?
            if let knowledge = Self.literal(in: source, after: "Cutting Knowledge Date: ", upTo: "\\n"),
               let date = Self.literal(in: source, after: "set date_string = \"", upTo: "\"") {
                preamble = "Cutting Knowledge Date: \(knowledge)\nToday Date: \(date)\n\n"
            }
            self.init(family: .llama3, systemPreamble: preamble)
        } else if source.contains("<|im_start|>") && source.contains("</think>") {
            // Qwen3: ChatML whose assistant turns lose their reasoning (the text up to </think>).
            self.init(family: .qwen3)
        } else if source.contains("<|im_start|>") {
            // The system turn the template writes when the conversation has none, e.g. Qwen2.5's
            // {{- '<|im_start|>system\nYou are Qwen, …<|im_end|>\n' }} (SmolLM2's has a real newline).
            let system = Self.literal(in: source, after: "'<|im_start|>system\\n", upTo: "<|im_end|>") { !$0.contains("'") }
                ?? Self.literal(in: source, after: "'<|im_start|>system\n", upTo: "<|im_end|>") { !$0.contains("'") }
            self.init(family: .chatML, defaultSystem: system.map(Self.unescaped))
        } else if source.contains("<start_of_turn>") {
            self.init(family: .gemma)
        } else if source.contains("<|user|>") && source.contains("<|end|>") {
            self.init(family: .phi3)
        } else if source.contains("<|user|>") && source.contains("<|assistant|>") {
            self.init(family: .zephyr)
        } else if source.contains("[INST]") && source.contains("<<SYS>>") {
            self.init(family: .llama2)
        } else if let format = Self.mistralFormat(of: source) {
            self.init(family: .mistral, mistralFormat: format)
        } else {
            throw ChatTemplateError.unknownTemplate(excerpt: String(source.prefix(60)))
        }
    }

    /// The Mistral format whose markers the source has; nil for other [INST] dialects (v7's
    /// [SYSTEM_PROMPT], …), which are refused rather than rendered wrong.
    private static func mistralFormat(of source: String) -> MistralFormat? {
        let systemLast = source.contains("loop.last and system_message is defined")
        if systemLast && source.contains("\"[INST] \" + message[\"content\"] + \"[/INST]\"") { return .v3 }
        if systemLast && source.contains("\"[INST]\" + message[\"content\"] + \"[/INST]\"") { return .v3Tekken }
        if source.contains("' [INST] ' + message['content'] + ' [/INST]'") { return .v1 }
        if source.contains("'[INST] ' + message['content'] + ' [/INST]'") && !source.contains("system") {
            return .legacy(spaceAfterEOS: source.contains("eos_token + ' '"))
        }
        return nil
    }

    /// The first text between `marker` and the next `end` in the source that `accept` accepts.
    private static func literal(in source: String, after marker: String, upTo end: String,
                                where accept: (String) -> Bool = { _ in true }) -> String? {
        var from = source.startIndex
        while let start = source.range(of: marker, range: from..<source.endIndex)?.upperBound,
              let stop = source.range(of: end, range: start..<source.endIndex)?.lowerBound {
            let text = String(source[start..<stop])
            if accept(text) { return text }
            from = start
        }
        return nil
    }

    /// A Jinja string literal's text with its escapes read.
    private static func unescaped(_ text: String) -> String {
        var out = "", escaped = false
        for c in text {
            if escaped {
                out.append(c == "n" ? "\n" : c == "t" ? "\t" : c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// Short names for choosing a family by hand (a workflow's `chat.template`, `--chat NAME`).
    public static let names: [String: Family] = [
        "llama2": .llama2, "llama3": .llama3, "chatml": .chatML, "qwen": .chatML, "mistral": .mistral, "zephyr": .zephyr,
        "qwen3": .qwen3, "gemma": .gemma, "phi3": .phi3, "smollm": .chatML,
    ]

    /// A family by its short name, or `auto`: the template stored in the model file.
    public init(named name: String, file: GGUFFile) throws {
        if name == "auto" {
            try self.init(file: file)
        } else if let family = Self.names[name.lowercased()] {
            // The stored template of the same family knows its details (Qwen's default system
            // prompt, Llama 3.1's preamble, Mistral's format); another family gets its plain form.
            if let stored = try? ChatTemplate(file: file), stored.family == family {
                self = stored
            } else {
                self.init(family: family)
            }
        } else {
            throw ChatTemplateError.unknownName(name, known: ["auto"] + Self.names.keys.sorted())
        }
    }

    /// The template of a model file.
    public init(file: GGUFFile) throws {
        guard let source = try file.string("tokenizer.chat_template") else { throw ChatTemplateError.noTemplate }
        try self.init(jinja: source)
    }

    public func render(messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var messages = messages
        if let defaultSystem, messages.first?.role != "system" {
            messages.insert(ChatMessage(role: "system", content: defaultSystem), at: 0)
        }
        // Jinja's `trim` and Python's `strip()`, which Llama 2, Llama 3 and Mistral v0.3 apply.
        func trimmed(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }
        var out = ""
        switch family {
        case .llama3:
            if systemPreamble != nil, messages.first?.role != "system" {
                messages.insert(ChatMessage(role: "system", content: ""), at: 0)
            }
            for (i, m) in messages.enumerated() {
                let preamble = i == 0 && m.role == "system" ? systemPreamble ?? "" : ""
                out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(preamble)\(trimmed(m.content))<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .chatML:
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .qwen3:
            // Earlier assistant turns keep only what follows their reasoning.
            for m in messages {
                var content = m.content
                if m.role == "assistant", let end = content.range(of: "</think>", options: .backwards) {
                    content = String(content[end.upperBound...].drop { $0 == "\n" })
                }
                out += "<|im_start|>\(m.role)\n\(content)<|im_end|>\n"
            }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" + (thinking ? "" : "<think>\n\n</think>\n\n") }
        case .gemma:
            // The system prompt has no turn of its own: Gemma 3 puts it before the first user
            // message (Gemma 2's template refuses one). Assistant turns are the model's.
            let system = messages.first?.role == "system" ? messages.removeFirst().content : nil
            for (i, m) in messages.enumerated() {
                let prefix = i == 0 ? system.map { "\($0)\n\n" } ?? "" : ""
                out += "<start_of_turn>\(m.role == "assistant" ? "model" : m.role)\n\(prefix)\(trimmed(m.content))<end_of_turn>\n"
            }
            if addGenerationPrompt { out += "<start_of_turn>model\n" }
        case .phi3:
            for m in messages where !(m.role == "system" && m.content.isEmpty) {
                out += "<|\(m.role)|>\n\(m.content)<|end|>\n"
            }
            if addGenerationPrompt { out += "<|assistant|>\n" }
        case .zephyr:
            for m in messages { out += "<|\(m.role)|>\n\(m.content)</s>\n" }
            if addGenerationPrompt { out += "<|assistant|>\n" }
        case .llama2:
            // The system prompt has no turn of its own: it goes into the first user turn. Every user
            // turn starts with BOS; the tokenizer adds the first one.
            var system = messages.first?.role == "system" ? messages.removeFirst().content : nil
            for (i, m) in messages.enumerated() {
                if m.role == "assistant" {
                    out += " \(trimmed(m.content)) </s>"
                    continue
                }
                var text = m.content
                if let s = system {
                    text = "<<SYS>>\n\(s)\n<</SYS>>\n\n\(text)"
                    system = nil
                }
                out += (i > 0 ? "<s>" : "") + "[INST] \(trimmed(text)) [/INST]"
            }
        case .mistral:
            out = renderMistral(messages, trimmed)
        }
        return out
    }

    private func renderMistral(_ messages: [ChatMessage], _ trimmed: (String) -> String) -> String {
        var messages = messages
        let system = messages.first?.role == "system" ? messages.removeFirst().content : nil
        let systemTurn = mistralFormat == .v3 || mistralFormat == .v3Tekken
            ? messages.lastIndex { $0.role == "user" } : messages.firstIndex { $0.role == "user" }
        var out = ""
        for (i, m) in messages.enumerated() {
            let text = i == systemTurn ? system.map { "\($0)\n\n\(m.content)" } ?? m.content : m.content
            switch (mistralFormat, m.role == "assistant") {
            case let (.legacy(space), true): out += "\(m.content)</s>" + (space ? " " : "")
            case (.legacy, false): out += "[INST] \(text) [/INST]"
            case (.v1, true): out += " \(m.content)</s>"
            case (.v1, false): out += " [INST] \(text) [/INST]"
            case (.v3, true): out += " \(trimmed(m.content))</s>"
            case (.v3, false): out += "[INST] \(text)[/INST]"
            case (.v3Tekken, true): out += "\(m.content)</s>"
            case (.v3Tekken, false): out += "[INST]\(text)[/INST]"
            }
        }
        return out
    }
}
