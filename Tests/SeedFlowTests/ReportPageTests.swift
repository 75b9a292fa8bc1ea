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
