import XCTest
@testable import SeedModel

/// Each family recognized from (an excerpt of) its published template and rendered as its
/// reference implementation renders it, BOS left to the tokenizer.
final class ChatTemplateTests: XCTestCase {
    private let conversation = [
        ChatMessage(role: "system", content: "Be brief."),
        ChatMessage(role: "user", content: "Hi"),
        ChatMessage(role: "assistant", content: "Hello."),
        ChatMessage(role: "user", content: "2+2?"),
    ]

    func testFamiliesAreRecognizedAndRendered() throws {
        let cases: [(String, ChatTemplate.Family, String)] = [
            ("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}", .llama3,
             "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n"),
            ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' }}", .chatML,
             "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
                + "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n"),
            ("{{ '<|user|>\\n' + message['content'] + eos_token }}{{ '<|assistant|>' }}", .zephyr,
             "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello.</s>\n<|user|>\n2+2?</s>\n<|assistant|>\n"),
            ("{{ bos_token + '[INST] ' + content + ' [/INST]' }}", .mistral,
             "[INST] Be brief.\n\nHi [/INST]Hello.</s><s>[INST] 2+2? [/INST]"),
            ("{% set content = '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' %}{{ '[INST] ' }}", .llama2,
             "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] 2+2? [/INST]"),
        ]
        for (source, family, rendered) in cases {
            let template = try ChatTemplate(jinja: source)
            XCTAssertEqual(template.family, family)
            XCTAssertEqual(template.render(messages: conversation, addGenerationPrompt: true), rendered, "\(family)")
        }
    }

    func testQwenDefaultSystemPrompt() throws {
        let template = try ChatTemplate(jinja: "<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
        XCTAssertEqual(template.render(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: false),
                       "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
    }

    func testUnknownTemplateIsRefusedWithTheKnownFamilies() {
        XCTAssertThrowsError(try ChatTemplate(jinja: "{{ '<start_of_turn>' + role }}")) { error in
            XCTAssertTrue("\(error)".contains("Llama 3") && "\(error)".contains("<start_of_turn>"), "\(error)")
        }
    }
}
