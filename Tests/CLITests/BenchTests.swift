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

/// `bench batch` and `bench speculative` with the smallest settings that still show every part.
final class BatchAndSpeculativeBenchTests: XCTestCase {
    func testBatchTable() throws {
        let result = try Seedflow.run(["bench", "batch", "-m", Seedflow.targetModel, "--sequences", "1,2",
                                       "--prompt-tokens", "16", "--decode-tokens", "8", "-r", "1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.output.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("        1 ") }, result.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("        2 ") }, result.output)
        XCTAssertTrue(result.output.contains("prompt tokens reused"), result.output)
    }

    func testBatchJSON() throws {
        let result = try Seedflow.run(["bench", "batch", "-m", Seedflow.targetModel, "--sequences", "1,2",
                                       "--prompt-tokens", "16", "--decode-tokens", "8", "-r", "1", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try result.jsonObject()
        let rows = try XCTUnwrap(object["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["sequences"] as? Int }, [1, 2])
        for row in rows {
            XCTAssertGreaterThan(try XCTUnwrap((row["tokens_per_s"] as? NSNumber)?.doubleValue), 0)
            XCTAssertEqual((row["samples"] as? [Any])?.count, 1)
        }
        let total = try XCTUnwrap(object["prefix_tokens_total"] as? Int)
        let reused = try XCTUnwrap(object["prefix_tokens_reused"] as? Int)
        XCTAssertGreaterThan(reused, 0, "the tree level's identical prompts are forked")
        XCTAssertLessThanOrEqual(reused, total)
        XCTAssertEqual(try XCTUnwrap(object["prefix_tokens_from_cache"] as? Int)
                       + (try XCTUnwrap(object["prefix_tokens_from_forks"] as? Int)), reused)
    }

    func testBatchRefusesBadSettings() throws {
        let base = ["bench", "batch", "-m", Seedflow.targetModel]
        assertFails(try Seedflow.run(base + ["--sequences", "1,,4"]), status: 2, mentioning: ["--sequences", "'1,,4'"])
        assertFails(try Seedflow.run(base + ["--sequences", "0"]), status: 2, mentioning: ["--sequences"])
        assertFails(try Seedflow.run(base + ["--prompt-tokens", "200", "--decode-tokens", "100"]), status: 4,
                    mentioning: ["context"])
        assertFails(try Seedflow.run(base + ["--sequences", "2,4,2"]), status: 2, mentioning: ["--sequences", "twice", "2,4,2"])
        assertFails(try Seedflow.run(base + ["-r", "1001"]), status: 2, mentioning: ["--repetitions", "from 1 to 1000"])
    }

    /// The paper workload of one puzzle: 3 proposals, then 3 evaluations, under every strategy.
    func testSpeculativeJSON() throws {
        let puzzles = try Seedflow.temporaryFile(named: "puzzle.txt", contents: Data("4 5 6 10\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: puzzles) }
        let result = try Seedflow.run(["bench", "speculative", "-m", Seedflow.targetModel, "--draft", Seedflow.smallDraft,
                                       "--puzzles", puzzles, "--workload", "paper", "--repetitions", "3", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = try XCTUnwrap(try result.jsonObject()["rows"] as? [[String: Any]])
        XCTAssertEqual((try result.jsonObject()["draft_confidence"] as? NSNumber)?.doubleValue, 0.5, "the default is reported")
        XCTAssertEqual(rows.map { $0["strategy"] as? String },
                       ["sequential", "speculative", "seed", "seed", "seed", "autoregressive", "auto"])
        XCTAssertEqual(rows.map { ($0["draft_tokens"] as? NSNumber)?.doubleValue }.prefix(6), [0, 4, 2, 4, 6, 0])
        for row in rows {
            let strategy = row["strategy"] as? String ?? "?"
            XCTAssertEqual(row["workload"] as? String, "paper")
            XCTAssertGreaterThan(try XCTUnwrap((row["wall_s"] as? NSNumber)?.doubleValue, strategy), 0)
            XCTAssertGreaterThan(try XCTUnwrap((row["tokens_per_s"] as? NSNumber)?.doubleValue, strategy), 0)
            // Every run's time, and the row's is their median.
            let samples = try XCTUnwrap(row["wall_samples_s"] as? [NSNumber], strategy).map(\.doubleValue)
            XCTAssertEqual(samples.count, 3, strategy)
            XCTAssertEqual(samples.sorted()[1], (row["wall_s"] as? NSNumber)?.doubleValue, strategy)
            // A row that drafted nothing has no acceptance: the plain strategies, and an `auto`
            // that chose k = 0 throughout (a mean k of 0).
            if strategy == "sequential" || strategy == "autoregressive" || (row["draft_tokens"] as? NSNumber)?.doubleValue == 0 {
                XCTAssertTrue(row["acceptance"] is NSNull, strategy)
            } else {
                XCTAssertNotNil(row["acceptance"] as? Double, strategy)
            }
        }
        XCTAssertEqual(result.stderr.split(separator: "\n").filter { $0.hasPrefix("paper: round ") }.count, 3,
                       "a progress line per round of interleaved runs: \(result.stderr)")
    }

    /// A mixed pool: the whole pool's rows, then seed k = 4, 6 and auto over the models only and
    /// over lookup only, each with its pool and every source's acceptance.
    func testSpeculativeMixedPoolRows() throws {
        let puzzles = try Seedflow.temporaryFile(named: "puzzle.txt", contents: Data("4 5 6 10\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: puzzles) }
        let base = ["bench", "speculative", "-m", Seedflow.targetModel, "--draft", Seedflow.smallDraft, "--draft", "lookup",
                    "--puzzles", puzzles, "--workload", "paper", "--repetitions", "1", "--strategy", "seed", "--strategy", "auto"]
        let result = try Seedflow.run(base + ["--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = try XCTUnwrap(try result.jsonObject()["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.map { "\($0["strategy"] as? String ?? "?") \($0["pool"] as? String ?? "?")" },
                       ["seed models+lookup", "seed models+lookup", "seed models+lookup", "auto models+lookup",
                        "seed models", "seed models", "auto models", "seed lookup", "seed lookup", "auto lookup"])
        let seedLookup = rows[8]
        let bySource = try XCTUnwrap(seedLookup["acceptance_by_source"] as? [String: Double])
        XCTAssertEqual(Array(bySource.keys), ["lookup"], "a lookup-only row drafts from lookup alone")
        XCTAssertNotNil(seedLookup["lookup_sibling_share"] as? Double)
        XCTAssertFalse(try XCTUnwrap(seedLookup["lookup_acceptance_by_call"] as? [String: Double]).isEmpty)
        let models = try XCTUnwrap(rows[5]["acceptance_by_source"] as? [String: Double])
        XCTAssertEqual(Array(models.keys), ["seedflow-demo-draft-s.gguf"])
        let table = try Seedflow.run(base)
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.output.contains("pool           by source"), table.output)
        XCTAssertTrue(table.output.contains("lookup:2-5"), table.output)
    }

    /// `--strategy` keeps only the named strategies' rows; without `sequential` there is no
    /// baseline, and the speed-up is null rather than made up.
    func testSpeculativeStrategyFilter() throws {
        let puzzles = try Seedflow.temporaryFile(named: "puzzle.txt", contents: Data("4 5 6 10\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: puzzles) }
        let base = ["bench", "speculative", "-m", Seedflow.targetModel, "--draft", Seedflow.smallDraft,
                    "--puzzles", puzzles, "--workload", "paper", "--repetitions", "1"]
        let result = try Seedflow.run(base + ["--strategy", "autoregressive", "--strategy", "seed", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = try XCTUnwrap(try result.jsonObject()["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["strategy"] as? String }, ["seed", "seed", "seed", "autoregressive"])
        XCTAssertTrue(rows.allSatisfy { $0["speedup_over_sequential"] is NSNull }, "\(rows)")
        let table = try Seedflow.run(base + ["--strategy", "sequential", "--strategy", "autoregressive"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.output.contains("×seq  spread\n"), table.output)
        // The last columns: ×seq, then the spread of the runs ("0 %" for a single run).
        let rows2 = table.output.split(separator: "\n").filter { $0.hasPrefix("paper ") }.map { $0.split(separator: " ") }
        XCTAssertEqual(rows2.count, 2, table.output)
        XCTAssertEqual(rows2.first?.suffix(3).joined(separator: " "), "1.00 0 %", "the sequential row is the baseline: \(table.output)")
        XCTAssertFalse(rows2.contains { $0.count < 3 || $0[$0.count - 3] == "-" }, "with sequential run, every row has a speed-up: \(table.output)")
    }

    func testSpeculativeRefusesBadSettings() throws {
        let base = ["bench", "speculative", "-m", Seedflow.targetModel]
        assertFails(try Seedflow.run(base + ["--draft", "lookup:5-2"]), status: 2, mentioning: ["lookup:MIN-MAX", "got 'lookup:5-2'"])
        assertFails(try Seedflow.run(base + ["--draft", "lookup", "--draft", "lookup:2-3"]), status: 2, mentioning: ["given 2 times"])
        assertFails(try Seedflow.run(base), status: 2, mentioning: ["missing --draft", Seedflow.smallDraft])
        assertFails(try Seedflow.run(base + ["--draft", Seedflow.smallDraft, "--strategy", "greedy"]), status: 2,
                    mentioning: ["--strategy", "'greedy'", "autoregressive"])
        assertFails(try Seedflow.run(base + ["--draft", Seedflow.smallDraft, "--workload", "tree"]), status: 2,
                    mentioning: ["--workload", "'tree'"])
        let puzzles = try Seedflow.temporaryFile(named: "puzzles.txt", contents: Data("4 5 6 10\n1 2 three 4\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: puzzles) }
        assertFails(try Seedflow.run(base + ["--draft", Seedflow.smallDraft, "--puzzles", puzzles]), status: 3,
                    mentioning: ["\(puzzles):2:", "'1 2 three 4'"])
        assertFails(try Seedflow.run(base + ["--draft", Seedflow.smallDraft, "--puzzles", "data/none.txt"]), status: 3,
                    mentioning: ["'data/none.txt' not found"])
        // A file written on Windows, with a blank line: the bad line keeps its number.
        let crlf = try Seedflow.temporaryFile(named: "crlf.txt", contents: Data("4 5 6 10\r\n\r\n1 2 x 4\r\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: crlf) }
        assertFails(try Seedflow.run(base + ["--draft", Seedflow.smallDraft, "--puzzles", crlf]), status: 3,
                    mentioning: ["\(crlf):3:", "'1 2 x 4'"])
        // Numbers beyond a puzzle's (whose products would overflow) are refused by line.
        let huge = try Seedflow.temporaryFile(named: "huge.txt", contents: Data("4000000000 4000000000 1 1\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: huge) }
        assertFails(try Seedflow.run(base + ["--draft", Seedflow.smallDraft, "--puzzles", huge]), status: 3,
                    mentioning: ["\(huge):1:", "from 0 to 10000"])
        // Without a draft, the strategies that do not speculate still run.
        let plain = try Seedflow.run(base + ["--strategy", "sequential", "--strategy", "autoregressive", "-r", "1",
                                             "--workload", "paper", "--json"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let rows = try XCTUnwrap(try plain.jsonObject()["rows"] as? [[String: Any]])
        XCTAssertEqual(Set(rows.compactMap { $0["strategy"] as? String }), ["sequential", "autoregressive"])
    }
}

/// `bench model --random`: the bad specifications are refused before anything is written.
final class RandomModelBenchOptionTests: XCTestCase {
    func testUnknownShapeOrTypeIsAUsageError() throws {
        assertFails(try Seedflow.run(["bench", "model", "--random", "2B-Q8_0"]), status: 2, mentioning: ["0.5B or 1.1B"])
        assertFails(try Seedflow.run(["bench", "model", "--random", "0.5B-IQ2_XS"]), status: 2, mentioning: ["TYPE one of BF16, F16, F32, IQ4_NL, IQ4_XS, Q2_K, Q3_K, Q4_0, Q4_1", "Q8_0"])
        assertFails(try Seedflow.run(["bench", "model", "--random", "0.5B"]), status: 2, mentioning: ["SHAPE-TYPE"])
    }

    func testKeepRandomNeedsRandom() throws {
        assertFails(try Seedflow.run(["bench", "model", "-m", Seedflow.targetModel, "--keep-random", "x.gguf"]), status: 2,
                    mentioning: ["--keep-random needs --random"])
    }

    func testModelAndRandomTogetherAreRefused() throws {
        assertFails(try Seedflow.run(["bench", "model", "--random", "0.5B-F16", "-m", Seedflow.targetModel]), status: 2,
                    mentioning: ["either --model or --random"])
    }
}
