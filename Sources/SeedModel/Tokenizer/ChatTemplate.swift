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
            return "the model's chat template is not one seedflow recognizes (\(ChatTemplate.Family.allCases.map(\.rawValue).joined(separator: ", "))); it begins \"\(excerpt)\" — name the family that matches (chat.template: llama3, chatml, …) or write the prompt format in the prompt files"
        case .noTemplate:
            return "the model has no tokenizer.chat_template — name its family instead (chat.template: llama3, chatml, …) or write the prompt format in the prompt files"
        case let .unknownName(name, known):
            return "unknown chat template '\(name)' — use one of \(known.joined(separator: ", "))"
        }
    }

    public var errorDescription: String? { description }
}

/// The chat formats of the common model families, recognized from the Jinja source stored in
/// `tokenizer.chat_template` by a fingerprint (a marker each family's template contains) and
/// rendered by our own code rather than by a Jinja interpreter. The rendering leaves out the
/// BOS token: the tokenizer adds it (`Tokenizer.encode(_:addBOS:)`), and both would double it.
public struct ChatTemplate: Sendable, Equatable {
    public enum Family: String, Sendable, CaseIterable {
        case llama2 = "Llama 2", llama3 = "Llama 3", chatML = "ChatML/Qwen", mistral = "Mistral", zephyr = "Zephyr"
    }

    public let family: Family
    /// A system prompt the template inserts when the conversation has none (Qwen2.5's).
    public let defaultSystem: String?

    public init(family: Family, defaultSystem: String? = nil) {
        self.family = family
        self.defaultSystem = defaultSystem
    }

    /// Recognizes a template's Jinja source.
    public init(jinja source: String) throws {
        let qwenSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
        if source.contains("<|start_header_id|>") {
            self.init(family: .llama3)
        } else if source.contains("<|im_start|>") {
            self.init(family: .chatML, defaultSystem: source.contains(qwenSystem) ? qwenSystem : nil)
        } else if source.contains("<|user|>") && source.contains("<|assistant|>") {
            self.init(family: .zephyr)
        } else if source.contains("[INST]") {
            self.init(family: source.contains("<<SYS>>") ? .llama2 : .mistral)
        } else {
            throw ChatTemplateError.unknownTemplate(excerpt: String(source.prefix(60)))
        }
    }

    /// Short names for choosing a family by hand (a workflow's `chat.template`, `--chat NAME`).
    public static let names: [String: Family] = [
        "llama2": .llama2, "llama3": .llama3, "chatml": .chatML, "qwen": .chatML, "mistral": .mistral, "zephyr": .zephyr,
    ]

    /// A family by its short name, or `auto`: the template stored in the model file.
    public init(named name: String, file: GGUFFile) throws {
        if name == "auto" {
            try self.init(file: file)
        } else if let family = Self.names[name.lowercased()] {
            // ChatML models such as Qwen carry their default system prompt in the stored template.
            let stored = try? ChatTemplate(file: file)
            self.init(family: family, defaultSystem: stored?.family == family ? stored?.defaultSystem : nil)
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
        var out = ""
        switch family {
        case .llama3:
            for m in messages { out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(m.content)<|eot_id|>" }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .chatML:
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .zephyr:
            for m in messages { out += "<|\(m.role)|>\n\(m.content)</s>\n" }
            if addGenerationPrompt { out += "<|assistant|>\n" }
        case .llama2, .mistral:
            // The system prompt has no turn of its own: it goes into the first user turn.
            var system = messages.first?.role == "system" ? messages.removeFirst().content : nil
            for (i, m) in messages.enumerated() {
                if m.role == "assistant" {
                    out += (family == .llama2 ? " \(m.content) </s>" : "\(m.content)</s>")
                    continue
                }
                var text = m.content
                if let s = system {
                    text = family == .llama2 ? "<<SYS>>\n\(s)\n<</SYS>>\n\n\(text)" : "\(s)\n\n\(text)"
                    system = nil
                }
                // Turns after the first start a new sequence (the tokenizer adds only the first BOS).
                out += (i > 0 ? "<s>" : "") + "[INST] \(text) [/INST]"
            }
        }
        return out
    }
}
