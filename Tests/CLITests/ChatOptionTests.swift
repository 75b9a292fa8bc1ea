import Foundation
import XCTest

/// `generate --chat`: the prompt becomes the user turn of a chat format.
final class ChatOptionTests: XCTestCase {
    func testNamedTemplateWrapsThePrompt() throws {
        // The demo vocabulary has no chat markers, so they are tokenized as text: more prompt
        // tokens than the bare prompt, and the run still completes.
        let plain = try Seedflow.run(["generate", "-m", Seedflow.targetModel, "-p", "hi", "--temp", "0", "-n", "4", "--json"])
        let chat = try Seedflow.run(["generate", "-m", Seedflow.targetModel, "-p", "hi", "--temp", "0", "-n", "4", "--json",
                                     "--chat", "chatml", "--system", "be brief"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(chat.status, 0, chat.stderr)
        let plainTokens = try XCTUnwrap((plain.jsonObject()["timings"] as? [String: Any])?["prompt_tokens"] as? Int)
        let chatTokens = try XCTUnwrap((chat.jsonObject()["timings"] as? [String: Any])?["prompt_tokens"] as? Int)
        XCTAssertGreaterThan(chatTokens, plainTokens + 10, "system and user turns with their markers")
    }

    func testAutoWithoutAStoredTemplateIsRefused() throws {
        assertFails(try Seedflow.run(["generate", "-m", Seedflow.targetModel, "-p", "hi", "--chat", "auto"]), status: 1,
                    mentioning: ["no tokenizer.chat_template", "chat.template"])
    }

    func testUnknownTemplateNameIsRefused() throws {
        // A bad option value: refused with the command line's status (2), before the model loads.
        assertFails(try Seedflow.run(["generate", "-m", Seedflow.targetModel, "-p", "hi", "--chat", "alpaca"]), status: 2,
                    mentioning: ["unknown chat template 'alpaca'", "llama3"])
    }

    func testSystemWithoutChatIsAUsageError() throws {
        assertFails(try Seedflow.run(["generate", "-m", Seedflow.targetModel, "-p", "hi", "--system", "x"]), status: 2,
                    mentioning: ["--system"])
    }
}
