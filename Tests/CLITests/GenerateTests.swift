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

    // MARK: through the engine

    /// Speculative sampling is exact: greedy output with a draft is the target's greedy output.
    func testGreedyWithDraftEqualsWithout() throws {
        let plain = try generate(["--temp", "0", "--json"]).jsonObject()
        let drafted = try generate(["--temp", "0", "--json", "--draft", Seedflow.smallDraft]).jsonObject()
        XCTAssertEqual(drafted["token_ids"] as? [Int], plain["token_ids"] as? [Int])
        XCTAssertEqual(drafted["text"] as? String, plain["text"] as? String)
        XCTAssertEqual(drafted["finish_reason"] as? String, plain["finish_reason"] as? String)
        XCTAssertNil(plain["statistics"], "statistics only when the engine ran")

        let timings = try XCTUnwrap(drafted["timings"] as? [String: Any])
        XCTAssertEqual(timings["prompt_tokens"] as? Int, 10)
        XCTAssertEqual(timings["generated_tokens"] as? Int, (plain["token_ids"] as? [Int])?.count)
        XCTAssertTrue(timings["prompt_seconds"] is NSNull, "the engine prefills in its first pass")
        let statistics = try XCTUnwrap(drafted["statistics"] as? [String: Any])
        for key in ["target_passes", "tokens_per_target_pass", "mean_batch_size", "max_batch_size",
                    "draft_s", "verify_s", "bookkeeping_s"] {
            XCTAssertNotNil(statistics[key] as? NSNumber, key)
        }
        XCTAssertEqual(statistics["max_batch_size"] as? Int, 1)
        let drafts = try XCTUnwrap(statistics["drafts"] as? [[String: Any]])
        XCTAssertEqual(drafts.count, 1)
        XCTAssertEqual(drafts[0]["name"] as? String, "seedflow-demo-draft-s.gguf")
        let draftedTokens = try XCTUnwrap(drafts[0]["drafted"] as? Int)
        let acceptedTokens = try XCTUnwrap(drafts[0]["accepted"] as? Int)
        XCTAssertGreaterThan(draftedTokens, 0)
        XCTAssertLessThanOrEqual(acceptedTokens, draftedTokens)
        XCTAssertEqual(try XCTUnwrap(drafts[0]["acceptance"] as? Double),
                       Double(acceptedTokens) / Double(draftedTokens), accuracy: 1e-9)
        XCTAssertNotNil(drafts[0]["mean_accepted_length"] as? Double)
        // Speculation pays off in passes: fewer target passes than generated tokens.
        XCTAssertLessThan(try XCTUnwrap(statistics["target_passes"] as? Int), (plain["token_ids"] as? [Int])?.count ?? 0)
    }

    /// `--draft lookup` alone and beside a model draft: greedy output is the target's, and the
    /// statistics list the lookup source.
    func testGreedyWithLookupEqualsWithout() throws {
        let plain = try generate(["--temp", "0", "--json"]).jsonObject()
        for extra in [["--draft", "lookup"], ["--draft", "lookup:1-3", "--draft", Seedflow.smallDraft]] {
            let drafted = try generate(["--temp", "0", "--json"] + extra).jsonObject()
            XCTAssertEqual(drafted["token_ids"] as? [Int], plain["token_ids"] as? [Int], "\(extra)")
            let statistics = try XCTUnwrap(drafted["statistics"] as? [String: Any])
            let names = try XCTUnwrap(statistics["drafts"] as? [[String: Any]]).map { $0["name"] as? String }
            XCTAssertEqual(names.last, "lookup", "\(extra)")
        }
    }

    func testEveryStrategyWithAPoolIsGreedyExact() throws {
        let plain = try generate(["--temp", "0", "-n", "24", "--json"]).jsonObject()
        for strategy in ["autoregressive", "sequential", "speculative", "seed", "auto"] {
            let object = try generate(["--temp", "0", "-n", "24", "--json", "--strategy", strategy, "--draft-tokens", "3",
                                       "--draft", "\(Seedflow.smallDraft):2", "--draft", Seedflow.mediumDraft]).jsonObject()
            XCTAssertEqual(object["token_ids"] as? [Int], plain["token_ids"] as? [Int], strategy)
            let drafts = try XCTUnwrap((object["statistics"] as? [String: Any])?["drafts"] as? [[String: Any]], strategy)
            XCTAssertEqual(drafts.map { $0["name"] as? String },
                           ["seedflow-demo-draft-s.gguf", "seedflow-demo-draft-m.gguf"], strategy)
        }
    }

    func testEngineTextGoesToStdoutAndStatisticsToStderr() throws {
        let printed = try generate(["--temp", "0", "-n", "32", "--draft", Seedflow.smallDraft])
        let object = try generate(["--temp", "0", "-n", "32", "--draft", Seedflow.smallDraft, "--json"]).jsonObject()
        XCTAssertEqual(printed.output, object["text"] as? String)
        XCTAssertTrue(printed.stderr.contains("engine: seed"), printed.stderr)
        XCTAssertTrue(printed.stderr.contains("seedflow-demo-draft-s.gguf accepted"), printed.stderr)
    }

    func testKVMemoryRunsTheEngineWithoutADraft() throws {
        let plain = try generate(["--temp", "0", "-n", "16", "--json"]).jsonObject()
        let object = try generate(["--temp", "0", "-n", "16", "--json", "--kv-memory", "8MiB"]).jsonObject()
        XCTAssertEqual(object["token_ids"] as? [Int], plain["token_ids"] as? [Int])
        let statistics = try XCTUnwrap(object["statistics"] as? [String: Any])
        XCTAssertEqual((statistics["drafts"] as? [Any])?.count, 0)
        XCTAssertEqual(statistics["target_passes"] as? Int, 16)
    }
}
