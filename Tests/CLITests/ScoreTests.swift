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

    /// The log-probabilities themselves, against the log-softmax of an independent
    /// implementation's logits (`Tests/SeedModelTests/Resources/fixtures-public.json`:
    /// transformers, fp32, on the same weights; BOS + the text's ids). seedflow's logits are
    /// within 2e-3 of those at every position (`ForwardFixtureTests`), and the fixture rounds
    /// them to 4 decimals, so a log-probability (a logit minus a log-sum-exp over logits) is
    /// within 2 × (2e-3 + 5e-5) of the reference: 5e-3 is the tolerance. Scoring the token
    /// against the wrong position's logits, a missing normalisation, another base of logarithm
    /// or a temperature all miss it by far more.
    func testLogprobsAreTheLogSoftmaxOfReferenceLogits() throws {
        struct Sequence: Decodable {
            let text: String
            let ids: [Int]
            let logits: [[Double]]
        }
        struct Model: Decodable { let sequences: [Sequence] }
        struct Fixtures: Decodable { let models: [String: Model] }
        let url = Seedflow.repoRoot.appendingPathComponent("Tests/SeedModelTests/Resources/fixtures-public.json")
        let fixtures = try JSONDecoder().decode(Fixtures.self, from: Data(contentsOf: url))
        let tolerance = 5e-3
        var scored = 0
        for (key, model) in [("target", Seedflow.targetModel), ("draft-s", Seedflow.smallDraft)] {
            for sequence in try XCTUnwrap(fixtures.models[key]).sequences {
                let what = "\(key) \(sequence.text.prefix(24).debugDescription)"
                let result = try Seedflow.run(["score", "-m", model, "--text", sequence.text, "--json"])
                XCTAssertEqual(result.status, 0, "\(what): \(result.stderr)")
                let tokens = try XCTUnwrap(try result.jsonObject()["tokens"] as? [[String: Any]], what)
                // BOS is not scored: token i of the output is the fixture's id i + 1.
                XCTAssertEqual(tokens.compactMap { $0["id"] as? Int }, Array(sequence.ids.dropFirst()), what)
                XCTAssertEqual(tokens.count, sequence.logits.count - 1, what)
                for (i, token) in tokens.enumerated() where i + 1 < sequence.ids.count {
                    let logprob = try XCTUnwrap((token["logprob"] as? NSNumber)?.doubleValue, what)
                    // log p(ids[i + 1] | ids[0...i]) from the logits after position i.
                    let logits = sequence.logits[i]
                    let top = logits.max()!
                    let logSumExp = top + log(logits.reduce(0) { $0 + exp($1 - top) })
                    let expected = logits[sequence.ids[i + 1]] - logSumExp
                    XCTAssertEqual(logprob, expected, accuracy: tolerance, "\(what) token \(i + 1)")
                    scored += 1
                }
            }
        }
        XCTAssertGreaterThan(scored, 100)
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
