import Foundation
import XCTest

final class GenerateTests: XCTestCase {
    private func generate(_ extra: [String]) throws -> Seedflow.Result {
        let result = try Seedflow.run(["generate", "-m", Seedflow.targetModel, "-f", Seedflow.proposePrompt] + extra)
        XCTAssertEqual(result.status, 0, result.stderr)
        return result
    }

    func testGreedyJSON() throws {
        let limit = 48
        let object = try generate(["--temp", "0", "-n", "\(limit)", "--json"]).jsonObject()
        let text = try XCTUnwrap(object["text"] as? String)
        let ids = try XCTUnwrap(object["token_ids"] as? [Int])
        let reason = try XCTUnwrap(object["finish_reason"] as? String)
        XCTAssertFalse(text.isEmpty)
        XCTAssertFalse(ids.isEmpty)
        XCTAssertLessThanOrEqual(ids.count, limit)
        switch reason {
        case "eos":
            XCTAssertEqual(ids.last, 1, "EOS ends the ids and is counted")
            XCTAssertFalse(ids.dropLast().contains(1))
        case "length":
            XCTAssertEqual(ids.count, limit)
            XCTAssertFalse(ids.contains(1))
        default:
            XCTFail("finish_reason \(reason)")
        }
        let timings = try XCTUnwrap(object["timings"] as? [String: Any])
        XCTAssertEqual(timings["prompt_tokens"] as? Int, 10, "BOS + 9 prompt tokens")
        XCTAssertEqual(timings["generated_tokens"] as? Int, ids.count)
        XCTAssertNotNil(timings["prompt_tokens_per_s"])
        XCTAssertNotNil(timings["generation_tokens_per_s"])
    }

    func testStreamedTextEqualsJSONTextAndSpeedsGoToStderr() throws {
        let streamed = try generate(["--temp", "0", "-n", "40"])
        let object = try generate(["--temp", "0", "-n", "40", "--json"]).jsonObject()
        XCTAssertEqual(streamed.output, object["text"] as? String)
        XCTAssertTrue(streamed.stderr.contains("tokens/s"), streamed.stderr)
    }

    func testPromptOptionEqualsPromptFile() throws {
        let fromFile = try generate(["--temp", "0", "-n", "16", "--json"]).jsonObject()
        let inline = try Seedflow.run(["generate", "-m", Seedflow.targetModel, "-p", "Propose steps for: 4 5 6 10\n",
                                       "--temp", "0", "-n", "16", "--json"])
        XCTAssertEqual(try inline.jsonObject()["token_ids"] as? [Int], fromFile["token_ids"] as? [Int])
    }

    func testSameSeedSameText() throws {
        let first = try generate(["--temp", "0.9", "--seed", "42", "-n", "32", "--json"]).jsonObject()
        let second = try generate(["--temp", "0.9", "--seed", "42", "-n", "32", "--json"]).jsonObject()
        XCTAssertEqual(first["token_ids"] as? [Int], second["token_ids"] as? [Int])
    }

    func testStopStringEndsTheTextBeforeIt() throws {
        let object = try generate(["--temp", "0", "-n", "64", "--stop", "\n", "--json"]).jsonObject()
        let text = try XCTUnwrap(object["text"] as? String)
        XCTAssertFalse(text.contains("\n"))
        XCTAssertEqual(object["finish_reason"] as? String, "stop", "the propose answer has several lines")
    }

    /// A prompt that leaves room for 80 tokens before a propose answer the model makes about 100
    /// tokens long: generation must stop at the context limit with `length` and say so on stderr,
    /// whatever -n asks for.
    func testContextLimitStopsWithLength() throws {
        let prompt = String(repeating: "Evaluate: 4 4 10\n", count: 28) + "Propose steps for: 4 5 6 10\n"
        let result = try Seedflow.run(["generate", "-m", Seedflow.targetModel, "-p", prompt,
                                       "--temp", "0", "-n", "300", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try result.jsonObject()
        let ids = try XCTUnwrap(object["token_ids"] as? [Int])
        let timings = try XCTUnwrap(object["timings"] as? [String: Any])
        let promptTokens = try XCTUnwrap(timings["prompt_tokens"] as? Int)
        XCTAssertEqual(object["finish_reason"] as? String, "length")
        // The last sampled token needs no cache slot of its own, so one more than the room left.
        XCTAssertEqual(promptTokens + ids.count, 257)
        XCTAssertTrue(result.stderr.contains("context length (256 tokens)"), result.stderr)
    }

    func testPromptLongerThanContextIsRefused() throws {
        let prompt = String(repeating: "10 - 4 = 6 (left: 5 6 6)\n", count: 100)
        let path = try Seedflow.temporaryFile(named: "too-long.txt", contents: Data(prompt.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try Seedflow.run(["generate", "-m", Seedflow.targetModel, "-f", path, "--json"])
        assertFails(result, status: 4, mentioning: ["context"])
    }
}
