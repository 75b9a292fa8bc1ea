import XCTest
@testable import SeedModel

/// The real `tokenizer.chat_template` of each supported model (Resources/chat-templates, sources in
/// its README) recognized by fingerprint and rendered exactly as Jinja2 renders it with the settings
/// of Hugging Face transformers (`expected.json`, written by `render.py`), BOS left to the tokenizer.
final class ChatTemplateTests: XCTestCase {
    private struct Expected: Decodable {
        struct Template: Decodable { let family: String; let bos_token: String?; let eos_token: String }
        struct Message: Decodable { let role: String; let content: String }
        struct Case: Decodable {
            let template: String, conversation: String, messages: [Message]
            let expected: String?, error: String?, expected_with_strftime_now: String?
        }
        let templates: [String: Template]
        let cases: [Case]
    }

    private func load() throws -> Expected {
        let data = try Data(contentsOf: TestPaths.resource("chat-templates/expected.json"))
        return try JSONDecoder().decode(Expected.self, from: data)
    }

    private func source(_ name: String) throws -> String {
        try String(contentsOf: TestPaths.resource("chat-templates/\(name).jinja"), encoding: .utf8)
    }

    /// What we render where the real template raises: the 2023 Mistral templates refuse a system
    /// message ("Conversation roles must alternate"); we put it before the first user message, as
    /// Mistral's 2024 templates for the same models do.
    private let renderedWhereJinjaRaises: [String: String] = [
        "mistral-7b-instruct-v0.1-2023/system+user": "[INST] Be brief.\n\nWhat is 2+2? [/INST]",
        "mistral-7b-instruct-v0.1-2023/system+multi-turn":
            "[INST] Be brief.\n\nHi [/INST] Hello! How can I help? </s> [INST]   What is 2+2?   [/INST]",
        "mistral-7b-instruct-v0.2-2023/system+user": "[INST] Be brief.\n\nWhat is 2+2? [/INST]",
        "mistral-7b-instruct-v0.2-2023/system+multi-turn":
            "[INST] Be brief.\n\nHi [/INST] Hello! How can I help? </s>[INST]   What is 2+2?   [/INST]",
        // Gemma 2's template refuses a system message; Gemma 3's puts it before the first user
        // message, as we do for both.
        "gemma-2-2b-it/system+user": "<start_of_turn>user\nBe brief.\n\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
        "gemma-2-2b-it/system+multi-turn": "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n"
            + "Hello! How can I help?<end_of_turn>\n<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
    ]

    func testRealTemplatesAreRecognizedAndRenderedAsJinjaRendersThem() throws {
        let expected = try load()
        XCTAssertEqual(expected.cases.count, expected.templates.count * 5)
        for (name, info) in expected.templates {
            let template = try ChatTemplate(jinja: try source(name))
            XCTAssertEqual(template.family.rawValue, info.family, name)
        }
        for c in expected.cases {
            let label = "\(c.template)/\(c.conversation)"
            let info = try XCTUnwrap(expected.templates[c.template])
            let template = try ChatTemplate(jinja: try source(c.template))
            let ours = template.render(messages: c.messages.map { ChatMessage(role: $0.role, content: $0.content) },
                                       addGenerationPrompt: true)
            guard let jinja = c.expected else {
                XCTAssertNotNil(c.error, label)
                XCTAssertEqual(ours, renderedWhereJinjaRaises[label], "\(label): jinja raised \(c.error ?? "")")
                continue
            }
            // Templates that print BOS print it first; we leave it to the tokenizer.
            if let bos = info.bos_token, jinja.hasPrefix(bos) {
                XCTAssertEqual(ours, String(jinja.dropFirst(bos.count)), label)
                XCTAssertFalse(ours.hasPrefix(bos), label)
            } else {
                XCTAssertEqual(ours, jinja, label)
            }
            // Llama 3.2 prints today's date where transformers defines strftime_now; we print the
            // date its template falls back to (as when strftime_now is undefined).
            if let dated = c.expected_with_strftime_now {
                XCTAssertTrue(ours.contains("Today Date: 26 Jul 2024\n"), label)
                XCTAssertEqual(ours.replacingOccurrences(of: "26 Jul 2024", with: "14 Mar 2025"),
                               String(dated.dropFirst(info.bos_token?.count ?? 0)), label)
            }
        }
    }

    /// Rendering without BOS and letting the tokenizer add it gives exactly the tokens of the Jinja
    /// rendering (BOS text included) read with special tokens: one BOS, not two. Zephyr's template
    /// prints no BOS; the tokenizer adds one (as the model card's pipeline does, though
    /// transformers' `apply_chat_template(tokenize=True)` would not).
    func testBOSComesOnceFromTheTokenizer() throws {
        let expected = try load()
        let t = try loadTokenizer(from: GGUFFile(path: TestPaths.resource("vocab/ggml-vocab-llama-spm.gguf").path))
        XCTAssertTrue(t.addsBOS)
        var checked = 0
        for c in expected.cases where expected.templates[c.template]?.bos_token == "<s>" {
            guard let jinja = c.expected else { continue }
            let template = try ChatTemplate(jinja: try source(c.template))
            let ours = t.encode(template.render(messages: c.messages.map { ChatMessage(role: $0.role, content: $0.content) },
                                                addGenerationPrompt: true),
                                addBOS: t.addsBOS, parseSpecial: true)
            XCTAssertEqual(ours.first, t.bosTokenID, c.template)
            if jinja.hasPrefix("<s>") {
                XCTAssertEqual(ours, t.encode(jinja, addBOS: false, parseSpecial: true), "\(c.template)/\(c.conversation)")
            } else {
                XCTAssertEqual(ours.filter { $0 == t.bosTokenID }.count, 1, c.template)
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 20)
    }

    func testDetailsReadFromTheTemplates() throws {
        XCTAssertEqual(try ChatTemplate(jinja: source("qwen2.5-7b-instruct")).defaultSystem,
                       "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
        XCTAssertNil(try ChatTemplate(jinja: "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'}}").defaultSystem)
        XCTAssertEqual(try ChatTemplate(jinja: source("llama-3.1-8b-instruct")).systemPreamble,
                       "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n")
        XCTAssertNil(try ChatTemplate(jinja: source("meta-llama-3-8b-instruct")).systemPreamble)
        let formats: [(String, ChatTemplate.MistralFormat)] = [
            ("mistral-7b-instruct-v0.1-2023", .legacy(spaceAfterEOS: true)), ("mistral-7b-instruct-v0.2-2023", .legacy(spaceAfterEOS: false)),
            ("mistral-7b-instruct-v0.2", .v1), ("mistral-7b-instruct-v0.3", .v3), ("mistral-nemo-instruct-2407", .v3Tekken),
        ]
        for (name, format) in formats { XCTAssertEqual(try ChatTemplate(jinja: source(name)).mistralFormat, format, name) }
    }

    func testNewFamiliesDetails() throws {
        XCTAssertEqual(try ChatTemplate(jinja: source("smollm2-135m-instruct")).defaultSystem,
                       "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        let qwen3 = ChatTemplate(family: .qwen3, thinking: false)
        XCTAssertEqual(qwen3.render(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true),
                       "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
                       "enable_thinking=false")
        // SmolLM2's file carries its template: --chat auto finds ChatML with SmolLM's system prompt.
        let smol = try ChatTemplate(named: "auto", file: GGUFFile(path: RealModels.path(RealModels.smolLM2)))
        XCTAssertEqual(smol.family, .chatML)
        XCTAssertEqual(smol.defaultSystem, "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        // Gemma 3 270M's file has none: the family is named.
        let gemmaFile = try GGUFFile(path: RealModels.path(RealModels.gemma3))
        XCTAssertThrowsError(try ChatTemplate(named: "auto", file: gemmaFile))
        XCTAssertEqual(try ChatTemplate(named: "gemma", file: gemmaFile).family, .gemma)
    }

    func testUnknownTemplateIsRefusedWithTheKnownFamilies() {
        for source in ["{{ '<|START_OF_TURN_TOKEN|>' + role }}",
                       "{{ bos_token }}{% for m in messages %}{{ '### ' + m['role'] + ': ' + m['content'] }}{% endfor %}",
                       // Mistral's v7 format ([SYSTEM_PROMPT]) is an [INST] dialect we do not render.
                       "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + '[/INST]' }}{% elif message['role'] == 'system' %}{{ '[SYSTEM_PROMPT] ' + message['content'] + '[/SYSTEM_PROMPT]' }}{% endif %}{% endfor %}"] {
            XCTAssertThrowsError(try ChatTemplate(jinja: source)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("not one seedflow recognizes") && text.contains("Llama 3") && text.contains("chat.template")
                                  && text.contains(String(source.prefix(20))), text)
            }
        }
    }
}
