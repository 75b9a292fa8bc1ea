import Foundation
import XCTest

/// Only that the benchmark runs and reports what it promises; its numbers are not judged here.
final class BenchTests: XCTestCase {
    func testShortBenchmarkJSON() throws {
        let result = try Seedflow.run(["bench", "model", "-m", Seedflow.targetModel, "--prompt-tokens", "16",
                                       "--decode-tokens", "8", "--repetitions", "1", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try result.jsonObject()
        for key in ["prefill_tokens_per_s", "decode_tokens_per_s"] {
            let value = try XCTUnwrap((object[key] as? NSNumber)?.doubleValue, key)
            XCTAssertGreaterThan(value, 0, key)
        }
        XCTAssertGreaterThan(try XCTUnwrap(object["peak_rss_bytes"] as? Int), 1 << 20)
        XCTAssertEqual((object["prefill_samples"] as? [Any])?.count, 1)
        XCTAssertEqual((object["decode_samples"] as? [Any])?.count, 1)
    }

    func testBenchmarkLongerThanContextIsRefused() throws {
        let result = try Seedflow.run(["bench", "model", "-m", Seedflow.targetModel, "--prompt-tokens", "300",
                                       "--json"])
        assertFails(result, status: 4, mentioning: ["context"])
    }
}
