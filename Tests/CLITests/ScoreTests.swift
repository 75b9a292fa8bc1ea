import Foundation
import XCTest

final class ScoreTests: XCTestCase {
    func testJSONLogprobsAndPerplexity() throws {
        let result = try Seedflow.run(["score", "-m", Seedflow.targetModel, "-f", Seedflow.proposePrompt, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try result.jsonObject()
        let tokens = try XCTUnwrap(object["tokens"] as? [[String: Any]])
        // BOS is added (the model asks for it) and not scored: every text token is.
        XCTAssertEqual(tokens.compactMap { $0["id"] as? Int }, TokenizeTests.proposeIDs)
        XCTAssertEqual(tokens.compactMap { $0["piece"] as? String }.count, tokens.count)
        let logprobs = try tokens.map { try XCTUnwrap(($0["logprob"] as? NSNumber)?.doubleValue) }
        for logprob in logprobs {
            XCTAssertTrue(logprob.isFinite && logprob <= 1e-6, "logprob \(logprob)")
        }
        let perplexity = try XCTUnwrap((object["perplexity"] as? NSNumber)?.doubleValue)
        XCTAssertTrue(perplexity.isFinite && perplexity >= 1)
        let expected = exp(-logprobs.reduce(0, +) / Double(logprobs.count))
        XCTAssertEqual(perplexity, expected, accuracy: expected * 1e-5)
    }

    func testTextTable() throws {
        let result = try Seedflow.run(["score", "-m", Seedflow.targetModel, "--text", "Evaluate: 4 4 10\nsure\n"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.output.contains("logprob"))
        XCTAssertTrue(result.output.contains("perplexity"))
    }

    func testNothingToScore() throws {
        let result = try Seedflow.run(["score", "-m", Seedflow.targetModel, "--text", ""])
        assertFails(result, status: 4, mentioning: ["at least two"])
    }
}
