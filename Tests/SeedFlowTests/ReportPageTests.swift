import XCTest
@testable import SeedFlow

/// The report page's data layer and the terminal tree, without a browser (ReportTests in the CLI
/// tests open real pages in Chromium).
final class ReportPageTests: XCTestCase {
    private func record(costs: Bool) -> RunRecord {
        var stats = RunStatistics()
        stats.generatedTokens = 70
        stats.wallSeconds = 2
        func cost(_ t: Int, _ s: Double) -> (Int?, Double?) { costs ? (t, s) : (nil, nil) }
        let rootExpand = cost(30, 0.5), a = cost(10, 0.25), b = cost(10, 0.5), aExpand = cost(20, 0.75)
        let tree = [
            TreeNodeRecord(id: 0, parent: nil, depth: 0, thought: "", state: "4 6", selected: true,
                           expandTokens: rootExpand.0, expandSeconds: rootExpand.1, evaluateTokens: costs ? 0 : nil, evaluateSeconds: costs ? 0 : nil),
            TreeNodeRecord(id: 1, parent: 0, depth: 1, thought: "4 * 6 = 24 (left: 24)", state: "24", samples: ["sure"], value: 20,
                           selected: true, expandTokens: aExpand.0, expandSeconds: aExpand.1, evaluateTokens: a.0, evaluateSeconds: a.1),
            TreeNodeRecord(id: 2, parent: 0, depth: 1, thought: "</script><!-- 6 - 4 = 2", state: "2", samples: ["impossible"],
                           value: 0.001, selected: false, evaluateTokens: b.0, evaluateSeconds: b.1),
        ]
        return RunRecord(index: 3, input: "4 6 \u{2028}", answer: "4 * 6", solved: true, bestPath: ["4 * 6 = 24 (left: 24)"],
                         tree: tree, statistics: stats, strategy: "seed", seed: 42, provenance: nil,
                         finish: costs ? FinishRecord(text: "Answer: 4 * 6 = 24", answer: "4 * 6", check: "4 * 6 = 24", passed: true, tokens: 0, seconds: 0.1) : nil,
                         finishedAt: costs ? 1_000_000 : nil)
    }

    /// The JSON put in the page: no `<`, `>` or `&` that could end the script element, and it
    /// reads back to the same text.
    func testThePageDataCannotEndItsScriptAndReadsBack() throws {
        let page = try HTMLReport.render([ReportRun(path: "a.jsonl", records: [record(costs: true)])])
        let start = try XCTUnwrap(page.range(of: "<script id=\"sf-data\" type=\"application/json\">"))
        let end = try XCTUnwrap(page.range(of: "</script>", range: start.upperBound..<page.endIndex))
        let json = String(page[start.upperBound..<end.lowerBound])
        for bad in ["<", ">", "&", "\u{2028}"] { XCTAssertFalse(json.contains(bad), bad) }
        let data = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let run = try XCTUnwrap((data["runs"] as? [[String: Any]])?.first)
        let input = try XCTUnwrap((run["inputs"] as? [[String: Any]])?.first)
        XCTAssertEqual(input["input"] as? String, "4 6 \u{2028}")
        let nodes = try XCTUnwrap(input["tree"] as? [[String: Any]])
        XCTAssertEqual(nodes[2]["t"] as? String, "</script><!-- 6 - 4 = 2")
        XCTAssertEqual(input["path"] as? [Int], [1])
        // Per level: level 1 is made by the root's expansion and valued by its two children.
        let level = try XCTUnwrap((run["levels"] as? [[String: Any]])?.first)
        XCTAssertEqual(level["depth"] as? Int, 1)
        XCTAssertEqual(level["tokens"] as? Int, 50)
        XCTAssertEqual(level["seconds"] as? Double, 1.0)
        XCTAssertEqual(run["hasCosts"] as? Bool, true)
    }

    /// Lines without the per-node costs: no levels, no costs, and the page still carries every node.
    func testOldLinesHaveNoCosts() throws {
        let page = try HTMLReport.render([ReportRun(path: "old.jsonl", records: [record(costs: false)])])
        XCTAssertTrue(page.contains("\"hasCosts\":false"))
        XCTAssertTrue(page.contains("\"levels\":[]"))
        XCTAssertFalse(page.contains("\"et\":"))
        XCTAssertFalse(page.contains("\"wallSeconds\":"))
    }

    /// Numbers JSON cannot hold (a run's infinity, a NaN) reach the page as results lines write
    /// them: the largest finite number and null, never as strings the script would do sums on.
    func testNonFiniteNumbersAreNumbersInThePage() throws {
        var r = record(costs: true)
        r.statistics.wallSeconds = .infinity
        r.tree[1].expandSeconds = .nan
        r.tree[2].value = -.infinity
        let page = try HTMLReport.render([ReportRun(path: "huge.jsonl", records: [r])])
        let start = try XCTUnwrap(page.range(of: "<script id=\"sf-data\" type=\"application/json\">"))
        let end = try XCTUnwrap(page.range(of: "</script>", range: start.upperBound..<page.endIndex))
        let json = String(page[start.upperBound..<end.lowerBound])
        for word in ["Infinity", "NaN"] { XCTAssertFalse(json.contains(word), word) }
        let data = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let run = try XCTUnwrap((data["runs"] as? [[String: Any]])?.first)
        XCTAssertEqual(run["inputSeconds"] as? Double, .greatestFiniteMagnitude)
        let nodes = try XCTUnwrap((run["inputs"] as? [[String: Any]])?.first?["tree"] as? [[String: Any]])
        XCTAssertTrue(nodes[1]["es"] is NSNull, "a NaN is null")
        XCTAssertEqual(nodes[2]["v"] as? Double, -.greatestFiniteMagnitude)
    }

    /// A workflow without a goal or a check: the line says so, and "solved" becomes "finished"
    /// in the terminal tree and in the page's data; lines without the key mean checked.
    func testAnswersNobodyCheckedAreFinishedNotSolved() throws {
        var r = record(costs: true)
        r.finish?.check = nil
        r.answersChecked = false
        let line = String(decoding: try ResultsJSON.encode(r), as: UTF8.self)
        XCTAssertTrue(line.contains("\"answers_checked\":false"), line)
        XCTAssertFalse(String(decoding: try ResultsJSON.encode(record(costs: true)), as: UTF8.self).contains("answers_checked"),
                       "written only when nothing checked the answers")
        XCTAssertTrue(try JSONDecoder().decode(RunRecord.self, from: Data(line.utf8)).answersChecked == false)
        let text = TreeText.render(r)
        XCTAssertTrue(text.hasSuffix("answer: 4 * 6 — finished (nothing checks the answers)\n"), text)
        XCTAssertFalse(text.contains("solved"), text)
        let page = try HTMLReport.render([ReportRun(path: "free.jsonl", records: [r])])
        XCTAssertTrue(page.contains("\"answersChecked\":false"))
        XCTAssertTrue(page.contains("\"checked\":false"))
        let checked = try HTMLReport.render([ReportRun(path: "a.jsonl", records: [record(costs: true)])])
        XCTAssertTrue(checked.contains("\"answersChecked\":true"))
        XCTAssertFalse(checked.contains("\"checked\":false"))
    }

    /// A tree that is not one (a hand edit) is refused when a file is read for showing, naming its
    /// line, rather than sending `show` into endless recursion.
    func testMalformedTreesAreRefusedWithTheirLine() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("seedflow-trees-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = record(costs: true)
        func refused(_ change: (inout RunRecord) -> Void, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
            var bad = good
            bad.index = 4
            change(&bad)
            let path = folder.appendingPathComponent("t.jsonl").path
            let text = [good, bad].map { String(decoding: try! ResultsJSON.encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try ResultsFile.readForShowing(path: path), file: file, line: line) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains("t.jsonl:2:"), message, file: file, line: line)
                for word in words { XCTAssertTrue(message.contains(word), "\(word) in \(message)", file: file, line: line) }
            }
        }
        try refused({ $0.tree[0].parent = 0 }, mentioning: ["first node (id 0) names parent 0"])
        try refused({ $0.tree[1].parent = 1 }, mentioning: ["node 1 names parent 1", "not an earlier node"])
        try refused({ $0.tree[1].parent = 2 }, mentioning: ["node 1 names parent 2", "not an earlier node"])
        try refused({ $0.tree[2].id = 1 }, mentioning: ["node id 1 twice"])
        try refused({ $0.tree[2].parent = nil }, mentioning: ["node 2 of the tree has no parent"])
        // A whole tree, and an empty one (an input that could not run), read.
        var empty = good
        empty.tree = []
        let path = folder.appendingPathComponent("ok.jsonl").path
        try ([good, empty].map { String(decoding: try ResultsJSON.encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ResultsFile.readForShowing(path: path).records.count, 2)
    }

    func testTheTerminalTree() {
        XCTAssertEqual(TreeText.render(record(costs: true)), """
            search tree of '4 6 \u{2028}' (input 3; kept states; → marks the path taken):
            4 6 \u{2028}
              → 4 * 6 = 24 (left: 24)   [value 20]
            check: 4 * 6 = 24 — passed
            answer: 4 * 6 — solved

            """)
        XCTAssertFalse(TreeText.render(record(costs: false)).contains("check:"), "no check line without a finish record")
    }
}
