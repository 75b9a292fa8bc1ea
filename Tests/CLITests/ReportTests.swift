import Foundation
import XCTest

/// `seedflow report` and `seedflow show` on a real run of the demo models, the page opened in
/// headless Chromium (installed by `make test`): after its script has run, the DOM must hold every
/// node of the opened trees, the filter and sort must pick the right rows, and no script error
/// may have happened. The page says so itself: it sets `data-sf-state="ready"` on <body> when it
/// has drawn everything, and writes any error into `#sf-errors` (state "error").
final class ReportTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("seedflow-report-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory!
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    }

    // MARK: one real run, shared by the tests

    private struct RealRun {
        var path: String
        var lines: [[String: Any]]
        var runOutput: String
    }

    nonisolated(unsafe) private static var shared: RealRun?
    private static let sharedDirectory = FileManager.default.temporaryDirectory
        .appendingPathComponent("seedflow-report-run-\(ProcessInfo.processInfo.processIdentifier)").path

    /// Game of 24 on four puzzles with a narrow search (two states kept, two value samples), so
    /// trees have kept and pruned states and the run stays short.
    private func realRun() throws -> RealRun {
        if let run = Self.shared { return run }
        try FileManager.default.createDirectory(atPath: Self.sharedDirectory, withIntermediateDirectories: true)
        let path = Self.sharedDirectory + "/run.jsonl"
        try? FileManager.default.removeItem(atPath: path)
        let result = try Seedflow.run(["run", "workflows/game24.yaml", "--limit", "4", "--results", path, "--show-tree",
                                       "--set", "search.breadth=2", "--set", "search.evaluate.samples=2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let run = RealRun(path: path, lines: try Self.lines(path), runOutput: result.output)
        XCTAssertEqual(run.lines.count, 4)
        Self.shared = run
        return run
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: sharedDirectory)
        super.tearDown()
    }

    private static func lines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    private func writeLines(_ lines: [[String: Any]], _ name: String) throws -> String {
        let path = directory + "/" + name
        let text = try lines.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
            .joined(separator: "\n") + "\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: the browser

    private var chromium: String {
        get throws {
            let environment = ProcessInfo.processInfo.environment
            if let path = environment["SEEDFLOW_CHROMIUM"] { return path }
            for folder in (environment["PATH"] ?? "/usr/bin").split(separator: ":") {
                let path = "\(folder)/chromium"
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
            XCTFail("chromium not found: `make test` installs it (make chromium), or set SEEDFLOW_CHROMIUM")
            throw XCTSkip("no chromium")
        }
    }

    /// Chromium in headless mode, as root needs it (no sandbox), with a profile of its own.
    private func browser(_ arguments: [String]) throws -> (result: Seedflow.Result, seconds: Double) {
        let profile = directory + "/profile-\(UUID().uuidString)"
        let start = Date()
        let result = try Seedflow.execute(URL(fileURLWithPath: try chromium),
                                          ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                                           "--user-data-dir=\(profile)", "--enable-logging=stderr", "--v=0"] + arguments)
        return (result, Date().timeIntervalSince(start))
    }

    /// The DOM of `page` after its scripts ran, with the fragment given (the page's state).
    private func dom(_ page: String, _ fragment: String = "", file: StaticString = #filePath, line: UInt = #line) throws -> (dom: String, seconds: Double) {
        let url = URL(fileURLWithPath: page).absoluteString + (fragment.isEmpty ? "" : "#" + fragment)
        let (result, seconds) = try browser(["--window-size=1400,1000", "--virtual-time-budget=5000", "--dump-dom", url])
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        let text = result.output
        XCTAssertTrue(text.contains("data-sf-state=\"ready\""), "the page did not finish drawing: \(Self.errors(text)) \(Self.tail(result.stderr))", file: file, line: line)
        XCTAssertTrue(text.contains("<pre id=\"sf-errors\" hidden=\"\"></pre>"), "script errors: \(Self.errors(text))", file: file, line: line)
        // Chromium logs an uncaught exception as a console message on stderr.
        XCTAssertFalse(result.stderr.contains("Uncaught"), Self.tail(result.stderr), file: file, line: line)
        return (text, seconds)
    }

    private static func errors(_ dom: String) -> String {
        guard let start = dom.range(of: "<pre id=\"sf-errors\"") else { return "(no error box)" }
        return String(dom[start.lowerBound...].prefix(600))
    }

    private static func tail(_ text: String) -> String { String(text.suffix(1500)) }

    /// The values of `attribute` in the DOM, in document order, from elements whose opening tag
    /// starts with `prefix` (e.g. `<tr class="row`).
    private static func values(of attribute: String, in dom: String, tagsStartingWith prefix: String) -> [String] {
        var out: [String] = []
        var rest = dom[...]
        while let start = rest.range(of: prefix) {
            let tagEnd = rest[start.lowerBound...].firstIndex(of: ">") ?? rest.endIndex
            let tag = rest[start.lowerBound..<tagEnd]
            if let a = tag.range(of: " \(attribute)=\"") {
                let valueStart = a.upperBound
                if let q = tag[valueStart...].firstIndex(of: "\"") { out.append(String(tag[valueStart..<q])) }
            }
            rest = rest[tagEnd...]
        }
        return out
    }

    /// The part of the DOM drawn for one input's tree (in run `run`: "" for a one-run report).
    private static func treeBox(_ dom: String, input: Int, run: String = "") -> Substring? {
        guard let start = dom.range(of: "<div class=\"treebox\" data-input=\"\(input)\" data-run=\"\(run)\"") else { return nil }
        let rest = dom[start.upperBound...]
        // To the next tree, or to the end of the drawn page (the script's own text follows it).
        let end = [rest.range(of: "<div class=\"treebox")?.lowerBound, rest.range(of: "<pre id=\"sf-errors\"")?.lowerBound]
            .compactMap { $0 }.min() ?? rest.endIndex
        return rest[..<end]
    }

    private func status(_ line: [String: Any]) -> String {
        line["error"] != nil ? "failed" : (line["solved"] as? Bool == true ? "solved" : "unsolved")
    }

    private func report(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try Seedflow.run(["report"] + arguments)
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        XCTAssertTrue(result.output.hasPrefix("wrote "), result.output, file: file, line: line)
        return result.output
    }

    // MARK: tests

    func testTheReportOfARealRunHoldsEveryNodeAndItsFilterWorks() throws {
        let run = try realRun()
        let page = directory + "/run.html"
        _ = try report([run.path, "-o", page])
        let html = try String(contentsOfFile: page, encoding: .utf8)
        // The one address in the page is the SVG namespace, which names elements and is never fetched.
        let addresses = html.replacingOccurrences(of: "\"http://www.w3.org/2000/svg\"", with: "\"\"")
        for scheme in ["http://", "https://", "//cdn", "src=\"//"] { XCTAssertFalse(addresses.contains(scheme), "nothing is fetched: \(scheme)") }
        XCTAssertTrue(html.contains("default-src 'none'"), "the page's policy forbids fetching")
        XCTAssertFalse(html.contains("<link"), "no external style sheet")

        // Every input opened at once: every node of every tree is in the DOM, with the path and the finish check.
        let all = run.lines.map { ($0["index"] as? Int) ?? -1 }
        let (opened, _) = try dom(page, "open=" + all.map(String.init).joined(separator: ","))
        for line in run.lines {
            let index = try XCTUnwrap(line["index"] as? Int)
            let tree = try XCTUnwrap(line["tree"] as? [[String: Any]])
            // Every call's tokens are on a node or on the finish record.
            let onNodes = tree.reduce(0) { $0 + ($1["expand_tokens"] as? Int ?? -1_000_000) + ($1["evaluate_tokens"] as? Int ?? -1_000_000) }
            let finishTokens = (line["finish"] as? [String: Any])?["tokens"] as? Int ?? 0
            XCTAssertEqual(onNodes + finishTokens, (line["statistics"] as? [String: Any])?["generated_tokens"] as? Int, "input \(index)")
            let box = try XCTUnwrap(Self.treeBox(opened, input: index), "tree of input \(index) drawn")
            let drawn = Self.values(of: "data-node", in: String(box), tagsStartingWith: "<li class=\"node")
            XCTAssertEqual(drawn.sorted(), tree.compactMap { ($0["id"] as? Int).map(String.init) }.sorted(), "nodes of input \(index)")
            let expectedKept = tree.filter { ($0["selected"] as? Bool) == true && ($0["depth"] as? Int ?? 0) > 0 }.count
            XCTAssertGreaterThanOrEqual(box.components(separatedBy: ">kept<").count - 1, expectedKept)
            if (line["solved"] as? Bool) == true {
                XCTAssertTrue(box.contains("answer path"), "the chosen state is marked")
                let finish = try XCTUnwrap(line["finish"] as? [String: Any], "a solved line has its finish call")
                XCTAssertTrue(box.contains(">passed<"))
                let check = try XCTUnwrap(finish["check"] as? String)
                XCTAssertTrue(box.contains(Self.escaped(check)), "the check \(check) is shown")
            }
        }

        // The filter, driven through the fragment the page honours, shows exactly the inputs of that
        // kind. The real run's lines made one of each kind at least (a real run of the demo
        // models need not fail, nor leave a puzzle unsolved), so no filter compares empty lists.
        var mixed = run.lines
        mixed[0]["solved"] = false
        mixed[0]["error"] = "the prompt has 9000 tokens but the target's context holds 8192"
        mixed[1]["solved"] = false
        mixed[1]["answer"] = nil
        mixed[1]["note"] = "no state reached the goal in 3 steps"
        if !mixed.contains(where: { status($0) == "solved" }) { mixed[2]["solved"] = true }
        let mixedPath = try writeLines(mixed, "mixed.jsonl")
        _ = try report([mixedPath])
        for filter in ["solved", "unsolved", "failed"] {
            let (filtered, _) = try dom(directory + "/mixed.html", "filter=" + filter)
            let rows = Self.values(of: "data-index", in: filtered, tagsStartingWith: "<tr class=\"row")
            let expected = mixed.filter { status($0) == filter }.compactMap { $0["index"] as? Int }.sorted().map(String.init)
            XCTAssertFalse(expected.isEmpty, "filter=\(filter) has inputs to show")
            XCTAssertEqual(rows, expected, "filter=\(filter)")
            XCTAssertEqual(Set(Self.values(of: "data-status", in: filtered, tagsStartingWith: "<tr class=\"row")), [filter])
        }
        // Text search: one puzzle's numbers pick that puzzle.
        let target = run.lines[2]
        let (searched, _) = try dom(page, "q=" + (target["input"] as? String ?? "").replacingOccurrences(of: " ", with: "%20"))
        XCTAssertEqual(Self.values(of: "data-index", in: searched, tagsStartingWith: "<tr class=\"row"), ["\(target["index"] as? Int ?? -1)"])
        // Sort by tokens: most first.
        let (sorted, _) = try dom(page, "sort=tokens")
        let byTokens = run.lines.sorted {
            let a = ($0["statistics"] as? [String: Any])?["generated_tokens"] as? Int ?? 0
            let b = ($1["statistics"] as? [String: Any])?["generated_tokens"] as? Int ?? 0
            return a != b ? a > b : ($0["index"] as? Int ?? 0) < ($1["index"] as? Int ?? 0)
        }.map { "\($0["index"] as? Int ?? -1)" }
        XCTAssertEqual(Self.values(of: "data-index", in: sorted, tagsStartingWith: "<tr class=\"row"), byTokens)
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Lines written before the per-node costs, the finish record and the times were recorded
    /// render, with those cells empty and the chart replaced by a note.
    func testAnOldResultsFileRenders() throws {
        let run = try realRun()
        let old = run.lines.map { line -> [String: Any] in
            var line = line
            line["finish"] = nil
            line["finished_at"] = nil
            if var provenance = line["provenance"] as? [String: Any] {
                for key in ["workflow_name", "workflow_file", "server"] { provenance[key] = nil }
                line["provenance"] = provenance
            }
            if var statistics = line["statistics"] as? [String: Any] {
                for key in statistics.keys where key.hasPrefix("lookup_") { statistics[key] = nil }
                line["statistics"] = statistics
            }
            line["tree"] = (line["tree"] as? [[String: Any]] ?? []).map { node in
                var node = node
                for key in ["expand_tokens", "expand_s", "evaluate_tokens", "evaluate_s"] { node[key] = nil }
                return node
            }
            return line
        }
        let path = try writeLines(old, "old.jsonl")
        let oldText = try String(contentsOfFile: path, encoding: .utf8)
        for key in ["expand_tokens", "lookup_", "\"server\"", "workflow_name", "workflow_file", "finished_at", "\"finish\""] {
            XCTAssertFalse(oldText.contains(key), key)
        }
        _ = try report([path])
        let page = directory + "/old.html"
        let (text, _) = try dom(page, "open=" + run.lines.map { "\($0["index"] as? Int ?? -1)" }.joined(separator: ","))
        XCTAssertTrue(text.contains("written before seedflow recorded each node"), "the chart says why it is missing")
        for line in old {
            let index = line["index"] as? Int ?? -1
            let box = try XCTUnwrap(Self.treeBox(text, input: index))
            XCTAssertEqual(Self.values(of: "data-node", in: String(box), tagsStartingWith: "<li class=\"node").count,
                           (line["tree"] as? [Any])?.count)
            XCTAssertFalse(box.contains("<span class=\"cost\">evaluate") || box.contains("<span class=\"cost\">expand"), "no cost cells without costs")
            XCTAssertTrue(box.contains("value "), "values are shown")
        }
        // show reads it too.
        let shown = try Seedflow.run(["show", path, "--input", "0"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertTrue(shown.output.hasPrefix("search tree of "))
    }

    /// Two runs: the comparison table of `compare`, the inputs only one solved, both trees side by side.
    func testTwoRunsAreComparedWithBothTrees() throws {
        let run = try realRun()
        // B: the same run with one solved input marked unsolved, and one input gone.
        let flip = try XCTUnwrap(run.lines.firstIndex { ($0["solved"] as? Bool) == true }, "the demo run solves at least one of four puzzles")
        var b = run.lines
        b[flip]["solved"] = false
        b[flip]["answer"] = nil
        b.removeLast(flip == b.count - 1 ? 0 : 1)
        let pathB = try writeLines(b, "b.jsonl")
        let page = directory + "/ab.html"
        _ = try report([run.path, pathB, "-o", page])
        let index = run.lines[flip]["index"] as? Int ?? -1
        let (text, _) = try dom(page, "open=\(index)")
        let compare = try Seedflow.run(["compare", run.path, pathB])
        XCTAssertEqual(compare.status, 0, compare.stderr)
        for row in ["inputs", "solved", "generated tokens", "acceptance", "tokens per target pass per call"] {
            XCTAssertTrue(compare.output.contains(row) && text.contains(">\(Self.escaped(row))<"), "row \(row)")
        }
        XCTAssertTrue(text.contains("Solved by A only (1)"), "the flipped input is A's alone")
        XCTAssertTrue(text.contains("class=\"mono only-A\">\(run.lines[flip]["input"] as? String ?? "?")<"))
        XCTAssertNotNil(Self.treeBox(text, input: index, run: "A"))
        XCTAssertNotNil(Self.treeBox(text, input: index, run: "B"))
    }

    /// A results file of 100 inputs (the real lines repeated under new numbers, with failed and
    /// unsolved ones among them) gives a page under 5 MB that draws in under 2 s. The test run is
    /// narrow (two states kept), so each tree is made three times as large — wider than the
    /// shipped game24 workflow's trees (about 45 nodes) — by copying its states under the root.
    func testAHundredInputReportIsSmallAndOpensFast() throws {
        let run = try realRun()
        var lines: [[String: Any]] = []
        for i in 0..<100 {
            var line = run.lines[i % run.lines.count]
            let tree = line["tree"] as? [[String: Any]] ?? []
            var wide = tree
            for copy in 1...2 {
                let offset = copy * tree.count
                for node in tree where (node["depth"] as? Int ?? 0) > 0 {
                    var node = node
                    node["id"] = (node["id"] as? Int ?? 0) + offset
                    let parent = node["parent"] as? Int ?? 0
                    node["parent"] = parent == 0 ? 0 : parent + offset
                    node["selected"] = false
                    wide.append(node)
                }
            }
            line["tree"] = wide
            line["index"] = i
            line["input"] = "\(line["input"] as? String ?? "") #\(i)"
            if i % 10 == 3 { line["solved"] = false; line["answer"] = nil; line["note"] = "no state reached the goal in 3 steps" }
            if i % 25 == 7 { line["error"] = "the prompt has 9000 tokens but the target's context holds 8192"; line["solved"] = false }
            lines.append(line)
        }
        let path = try writeLines(lines, "hundred.jsonl")
        _ = try report([path])
        let page = directory + "/hundred.html"
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: page)[.size] as? NSNumber).intValue
        XCTAssertGreaterThan(try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\"thought\"").count, 100 * 45)
        XCTAssertLessThan(size, 5_000_000, "a 100-input report weighs \(size) bytes")
        let (text, seconds) = try dom(page, "open=50")
        let drawMs = Int(Self.values(of: "data-sf-ms", in: text, tagsStartingWith: "<body").first ?? "") ?? Int.max
        XCTAssertLessThan(drawMs, 2000, "the page's script took \(drawMs) ms")
        // The whole browser start included; generous, a functional bound rather than a benchmark.
        XCTAssertLessThan(seconds, 30, "chromium took \(seconds) s")
        XCTAssertEqual(Self.values(of: "data-index", in: text, tagsStartingWith: "<tr class=\"row").count, 100)
        let box = try XCTUnwrap(Self.treeBox(text, input: 50))
        XCTAssertEqual(Self.values(of: "data-node", in: String(box), tagsStartingWith: "<li class=\"node").count,
                       (lines[50]["tree"] as? [Any])?.count)
        let (failed, _) = try dom(page, "filter=failed")
        XCTAssertEqual(Self.values(of: "data-index", in: failed, tagsStartingWith: "<tr class=\"row"), ["7", "32", "57", "82"])
    }

    /// A screenshot of a report is not blank: its PNG is far larger than one of an empty page
    /// of the same size (a blank page compresses to almost nothing).
    func testAScreenshotOfTheReportIsNotBlank() throws {
        let run = try realRun()
        let page = directory + "/shot.html"
        _ = try report([run.path, "-o", page])
        let solved = run.lines.first { ($0["solved"] as? Bool) == true } ?? run.lines[0]
        func shot(_ url: String, _ name: String) throws -> Data {
            let png = directory + "/" + name
            let (result, _) = try browser(["--window-size=1400,1000", "--hide-scrollbars", "--virtual-time-budget=5000",
                                           "--screenshot=\(png)", url])
            XCTAssertEqual(result.status, 0, Self.tail(result.stderr))
            return try Data(contentsOf: URL(fileURLWithPath: png))
        }
        let blankPage = directory + "/blank.html"
        try "<!DOCTYPE html><html><body></body></html>".write(toFile: blankPage, atomically: true, encoding: .utf8)
        let blank = try shot(URL(fileURLWithPath: blankPage).absoluteString, "blank.png")
        let report = try shot(URL(fileURLWithPath: page).absoluteString + "#open=\(solved["index"] as? Int ?? 0)", "report.png")
        XCTAssertEqual(Array(report.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        XCTAssertGreaterThan(report.count, 8 * blank.count, "report \(report.count) bytes, blank page \(blank.count) bytes")
        if let keep = ProcessInfo.processInfo.environment["SEEDFLOW_REPORT_SCREENSHOT"] {
            try report.write(to: URL(fileURLWithPath: keep))
        }
    }

    /// `show` prints trees in the format of `run --show-tree`, which is the same code.
    func testShowPrintsTheTreesRunShowTreePrints() throws {
        let run = try realRun()
        // run --show-tree shows the solved input with the lowest number.
        let solvedLines = run.lines.filter { ($0["solved"] as? Bool) == true }
        guard let solved = solvedLines.min(by: { ($0["index"] as? Int ?? 0) < ($1["index"] as? Int ?? 0) }) else {
            return XCTFail("the demo run solves at least one of four puzzles")
        }
        let shown = try Seedflow.run(["show", run.path, "--input", "\(solved["index"] as? Int ?? -1)"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertTrue(run.runOutput.hasSuffix("\n\n" + shown.output), "run --show-tree:\n\(run.runOutput)\nshow:\n\(shown.output)")
        XCTAssertTrue(shown.output.contains("→ "), shown.output)
        XCTAssertTrue(shown.output.contains("answer: \(solved["answer"] as? String ?? "?") — solved"))

        let everything = try Seedflow.run(["show", run.path])
        XCTAssertEqual(everything.output.components(separatedBy: "search tree of ").count - 1, run.lines.count)
        let unsolved = try Seedflow.run(["show", run.path, "--unsolved"])
        XCTAssertEqual(unsolved.status, 0)
        let unsolvedCount = run.lines.filter { status($0) == "unsolved" }.count
        if unsolvedCount == 0 {
            XCTAssertTrue(unsolved.output.hasPrefix("no unsolved input in "), unsolved.output)
        } else {
            XCTAssertEqual(unsolved.output.components(separatedBy: "search tree of ").count - 1, unsolvedCount)
        }
        let failed = try Seedflow.run(["show", run.path, "--failed"])
        XCTAssertTrue(failed.output.hasPrefix("no failed input in "), failed.output)
    }

    func testBadInputsGetClearErrors() throws {
        let run = try realRun()
        let missing = directory + "/none.jsonl"
        assertFails(try Seedflow.run(["report", missing]), status: 3, mentioning: ["none.jsonl", "not found"])
        assertFails(try Seedflow.run(["show", missing]), status: 3, mentioning: ["not found"])
        let text = directory + "/notes.txt"
        try "just some notes\nsecond line\n".write(toFile: text, atomically: true, encoding: .utf8)
        assertFails(try Seedflow.run(["report", text]), status: 3, mentioning: ["notes.txt:1", "not a seedflow result line"])
        let empty = directory + "/empty.jsonl"
        try Data().write(to: URL(fileURLWithPath: empty))
        assertFails(try Seedflow.run(["report", empty]), status: 3, mentioning: ["empty.jsonl:1", "no result line"])
        assertFails(try Seedflow.run(["report", directory!]), status: 3, mentioning: ["is a directory"])
        // A page is never written over a results file, nor over a file that is not a page.
        assertFails(try Seedflow.run(["report", run.path, "-o", run.path]), status: 2, mentioning: ["over the results file"])
        assertFails(try Seedflow.run(["report", run.path, "-o", text]), status: 1, mentioning: ["not an HTML page"])
        // A page in a folder that does not exist: the folder is named, and how to make it.
        let nowhere = directory + "/no/such/folder"
        assertFails(try Seedflow.run(["report", run.path, "-o", nowhere + "/x.html"]), status: 1,
                    mentioning: ["the folder \(nowhere) does not exist", "mkdir -p \(nowhere)"])
        assertFails(try Seedflow.run(["report", run.path, "-o", text + "/x.html"]), status: 1, mentioning: ["notes.txt is a file, not a folder"])
        XCTAssertEqual(try String(contentsOfFile: text, encoding: .utf8), "just some notes\nsecond line\n")
        // An existing page is replaced.
        let page = directory + "/again.html"
        _ = try report([run.path, "-o", page])
        _ = try report([run.path, "-o", page])
        // A cut-short last line: the others are shown, and stderr says which line was left out.
        let whole = try String(contentsOfFile: run.path, encoding: .utf8)
        let cut = directory + "/cut.jsonl"
        try String(whole.dropLast(40)).write(toFile: cut, atomically: true, encoding: .utf8)
        let cutReport = try Seedflow.run(["report", cut])
        XCTAssertEqual(cutReport.status, 0, cutReport.stderr)
        XCTAssertTrue(cutReport.stderr.contains("cut.jsonl:4: the last line was cut short"), cutReport.stderr)
        XCTAssertTrue(cutReport.output.contains("3 inputs"), cutReport.output)
        let (cutDom, _) = try dom(directory + "/cut.html")
        XCTAssertTrue(cutDom.contains("Line 4 of this file was cut short"))
        // show: an input that is not in the file, a bad number, contradicting choices.
        assertFails(try Seedflow.run(["show", run.path, "--input", "37"]), status: 2, mentioning: ["input 37 is not in", "inputs 0–3"])
        assertFails(try Seedflow.run(["show", run.path, "--input", "x"]), status: 2, mentioning: ["--input"])
        assertFails(try Seedflow.run(["show", run.path, "--input", "1", "--failed"]), status: 2, mentioning: ["one or the other"])
        // Help teaches both commands.
        for command in ["report", "show"] {
            let help = try Seedflow.run([command, "--help"])
            XCTAssertEqual(help.status, 0)
            XCTAssertTrue(help.output.contains("EXAMPLES"), help.output)
        }
    }

    /// The run's figure and the page's card carry the names `run` and `compare` print.
    func testThePageNamesItsFiguresAsRunAndCompareDo() throws {
        let run = try realRun()
        XCTAssertTrue(run.runOutput.contains("tokens per target pass (all calls batched)"), run.runOutput)
        let page = directory + "/names.html"
        _ = try report([run.path, "-o", page])
        let (text, _) = try dom(page)
        XCTAssertTrue(text.contains("<div class=\"k\">tokens per target pass per call</div>"))
        XCTAssertFalse(text.contains("tokens / pass / call"))
    }

    /// Numbers near a double's limit (a hand edit, or sums of them) draw as numbers; the page's
    /// script must not stop on them.
    func testHugeNumbersRender() throws {
        let run = try realRun()
        let huge = run.lines.map { line -> [String: Any] in
            var line = line
            if var statistics = line["statistics"] as? [String: Any] {
                statistics["wall_s"] = 1e308
                line["statistics"] = statistics
            }
            line["tree"] = (line["tree"] as? [[String: Any]] ?? []).map { node in
                var node = node
                if node["expand_s"] != nil { node["expand_s"] = 1e308 }
                return node
            }
            return line
        }
        let path = try writeLines(huge, "huge.jsonl")
        XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).contains("e+308"))
        _ = try report([path])
        let (text, _) = try dom(directory + "/huge.html", "open=" + run.lines.map { "\($0["index"] as? Int ?? -1)" }.joined(separator: ","))
        XCTAssertEqual(Self.values(of: "data-index", in: text, tagsStartingWith: "<tr class=\"row").count, run.lines.count)
        XCTAssertTrue(text.contains("Tokens and time per tree level"), "the chart is drawn")
    }

    /// A tree that is not one (a node that is its own parent) is refused by `show` and `report`
    /// with the file and line, instead of recursing without end.
    func testACyclicTreeIsRefused() throws {
        let run = try realRun()
        var lines = run.lines
        var tree = lines[1]["tree"] as? [[String: Any]] ?? []
        tree[0]["parent"] = 0
        lines[1]["tree"] = tree
        let path = try writeLines(lines, "cycle.jsonl")
        for command in ["show", "report"] {
            assertFails(try Seedflow.run([command, path]), status: 3,
                        mentioning: ["cycle.jsonl:2:", "first node (id 0) names parent 0", "Repair or remove that line"])
        }
        var looped = run.lines
        var tree2 = looped[0]["tree"] as? [[String: Any]] ?? []
        XCTAssertGreaterThan(tree2.count, 2)
        tree2[1]["parent"] = tree2[2]["id"]
        tree2[2]["parent"] = tree2[1]["id"]
        looped[0]["tree"] = tree2
        let loopPath = try writeLines(looped, "loop.jsonl")
        assertFails(try Seedflow.run(["show", loopPath]), status: 3, mentioning: ["loop.jsonl:1:", "not an earlier node"])
    }

    /// When nothing checks the answers, the page and `show` say "finished", never "solved" or "passed".
    func testAnswersNobodyCheckedShowAsFinished() throws {
        let run = try realRun()
        let free = run.lines.map { line -> [String: Any] in
            var line = line
            line["answers_checked"] = false
            if var finish = line["finish"] as? [String: Any] {
                finish["check"] = nil
                line["finish"] = finish
            }
            return line
        }
        let path = try writeLines(free, "free.jsonl")
        _ = try report([path])
        let (text, _) = try dom(directory + "/free.html", "open=" + run.lines.map { "\($0["index"] as? Int ?? -1)" }.joined(separator: ","))
        let drawn = text[..<(text.range(of: "<pre id=\"sf-errors\"")?.lowerBound ?? text.endIndex)]
        XCTAssertTrue(drawn.contains("<div class=\"k\">finished</div>"), "the card says finished")
        XCTAssertTrue(drawn.contains(">finished<"))
        XCTAssertTrue(drawn.contains("none (nothing checks the answers)"))
        for word in [">solved<", ">passed<", "<div class=\"k\">solved</div>", "solved "] {
            XCTAssertFalse(drawn.contains(word), word)
        }
        let shown = try Seedflow.run(["show", path])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertTrue(shown.output.contains("— finished (nothing checks the answers)"), shown.output)
        XCTAssertFalse(shown.output.contains("— solved"), shown.output)
    }

    /// Text from the run can hold `</script>` and HTML: it must arrive as text, not as markup.
    func testTextThatLooksLikeMarkupStaysText() throws {
        let run = try realRun()
        var line = run.lines[0]
        line["input"] = "</script><script>window.parent.pwned=1</script><b>1 2 3 4</b>"
        line["note"] = "<!-- not a comment --> & \u{2028} done"
        var tree = line["tree"] as? [[String: Any]] ?? []
        if tree.count > 1 { tree[1]["thought"] = "</SCRIPT ><img src=x onerror=alert(1)>" }
        line["tree"] = tree
        let path = try writeLines([line], "markup.jsonl")
        _ = try report([path])
        let (text, _) = try dom(directory + "/markup.html", "open=\(line["index"] as? Int ?? 0)")
        XCTAssertTrue(text.contains("&lt;/script&gt;&lt;script&gt;window.parent.pwned=1&lt;/script&gt;"), "the input is shown as text")
        XCTAssertFalse(text.contains("<img src=\"x\""), "no element made from a thought")
        if tree.count > 1 { XCTAssertTrue(text.contains("&lt;/SCRIPT &gt;&lt;img src=x onerror=alert(1)&gt;")) }
    }
}
