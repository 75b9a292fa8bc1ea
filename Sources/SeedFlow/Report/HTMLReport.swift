import Foundation

/// `seedflow report`: one self-contained HTML page of one run, or of two side by side. The data
/// goes into the page as JSON and the page's own script draws it, so nothing is fetched and
/// the file opens from disk.
public enum HTMLReport {
    public static func render(_ runs: [ReportRun], generatedAt: Date = Date()) throws -> String {
        precondition(!runs.isEmpty && runs.count <= 2, "a report shows one run or two")
        var data = PageData(generated: ISO8601DateFormatter().string(from: generatedAt),
                            runs: runs.map(RunData.init), comparison: nil)
        if runs.count == 2 {
            let c = RunComparison(pathA: runs[0].path, recordsA: runs[0].records, pathB: runs[1].path, recordsB: runs[1].records)
            data.comparison = ComparisonData(rows: c.rows().map { [$0.0, $0.1, $0.2] }, onlyA: c.onlyA, onlyB: c.onlyB,
                                             unmatched: c.unmatched)
        }
        // As results lines are written: an infinity as the largest finite number, a NaN as null,
        // so every number in the page is a number or null.
        let json = String(decoding: try ResultsJSON.encode(data), as: UTF8.self)
        let title = runs.count == 2 ? "seedflow report: \(runs[0].path) vs \(runs[1].path)" : "seedflow report: \(runs[0].path)"
        return """
          <!DOCTYPE html>
          <html lang="en">
          <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
          <title>\(escapeHTML(title))</title>
          <style>\(ReportAssets.css)</style>
          </head>
          <body data-sf-state="loading">
          <noscript>This report draws itself with JavaScript; allow scripts for this file.</noscript>
          <div id="app"></div>
          <pre id="sf-errors" hidden></pre>
          <script id="sf-data" type="application/json">\(scriptSafe(json))</script>
          <script>\(ReportAssets.javascript)</script>
          </body>
          </html>

          """
    }

    /// JSON that cannot end its script element or open a comment inside it: every `<`, `>` and
    /// `&` (only ever inside JSON strings) becomes its \u escape, which JSON.parse reads back.
    /// U+2028 and U+2029 are escaped too, for older parsers.
    static func scriptSafe(_ json: String) -> String {
        var out = ""
        out.reserveCapacity(json.utf8.count)
        for scalar in json.unicodeScalars {
            switch scalar {
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func escapeHTML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

// MARK: the page's data (short keys: a 100-input report must stay small)

private struct PageData: Encodable {
    var version = 1
    var generated: String
    var runs: [RunData]
    var comparison: ComparisonData?
}

private struct ComparisonData: Encodable {
    var rows: [[String]]
    var onlyA: [String]
    var onlyB: [String]
    var unmatched: Int
}

private struct LevelData: Encodable {
    var depth: Int
    var tokens = 0
    /// Summed over inputs: each input's longest expand call plus its longest evaluate call.
    var seconds = 0.0
    var inputs = 0
    var nodes = 0
}

private struct RunData: Encodable {
    var path: String
    var cutLine: Int?
    var provenance: Provenance?
    /// Distinct workflow hashes among the lines (more than one: a file of mixed runs).
    var workflowHashes: Int
    var strategies: [String]
    var seeds: [UInt64]
    var summary: RunComparison.Summary
    var promptTokens: Int
    var modelCalls: Int
    var draftedTokens: Int
    var acceptedTokens: Int
    var targetPasses: Int
    /// From the first input's start to the last one's result, when the lines carry `finished_at`.
    var wallSeconds: Double?
    var inputSeconds: Double
    /// Whether any node carries its calls' cost (lines written before that have none).
    var hasCosts: Bool
    /// false when no line's answer was checked: "solved" then only means "finished".
    var answersChecked: Bool
    var levels: [LevelData]
    var inputs: [InputData]

    init(_ run: ReportRun) {
        let records = run.records
        path = run.path
        cutLine = run.cutLine
        provenance = records.lazy.compactMap(\.provenance).first
        workflowHashes = Set(records.compactMap { $0.provenance?.workflowSHA256 }).count
        strategies = Array(Set(records.map(\.strategy))).sorted()
        seeds = Array(Set(records.map(\.seed))).sorted()
        summary = RunComparison.Summary(path: run.path, records: records)
        promptTokens = records.reduce(0) { $0 + $1.statistics.promptTokens }
        modelCalls = records.reduce(0) { $0 + $1.statistics.modelCalls }
        draftedTokens = records.reduce(0) { $0 + $1.statistics.draftedTokens }
        acceptedTokens = records.reduce(0) { $0 + $1.statistics.acceptedTokens }
        targetPasses = records.reduce(0) { $0 + $1.statistics.targetPasses }
        inputSeconds = records.reduce(0) { $0 + $1.statistics.wallSeconds }
        let timed = records.compactMap { r in r.finishedAt.map { ($0 - r.statistics.wallSeconds, $0) } }
        if timed.count == records.count, let start = timed.map(\.0).min(), let end = timed.map(\.1).max() {
            wallSeconds = end - start
        }
        answersChecked = records.contains(where: \.checksAnswers)
        hasCosts = records.contains { $0.tree.contains { $0.expandTokens != nil || $0.evaluateTokens != nil } }
        var levels: [Int: LevelData] = [:]
        for record in records {
            var byDepth: [Int: (tokens: Int, expand: Double, evaluate: Double, nodes: Int)] = [:]
            for node in record.tree {
                // A level's cost: the calls that proposed its states (on their parents) and the
                // calls that valued them.
                if let t = node.expandTokens, t > 0 || (node.expandSeconds ?? 0) > 0 {
                    var l = byDepth[node.depth + 1] ?? (0, 0, 0, 0)
                    l.tokens += t
                    l.expand = max(l.expand, node.expandSeconds ?? 0)
                    byDepth[node.depth + 1] = l
                }
                guard node.depth > 0 else { continue }
                var l = byDepth[node.depth] ?? (0, 0, 0, 0)
                l.tokens += node.evaluateTokens ?? 0
                l.evaluate = max(l.evaluate, node.evaluateSeconds ?? 0)
                l.nodes += 1
                byDepth[node.depth] = l
            }
            for (depth, l) in byDepth {
                var level = levels[depth] ?? LevelData(depth: depth)
                level.tokens += l.tokens
                level.seconds += l.expand + l.evaluate
                level.inputs += 1
                level.nodes += l.nodes
                levels[depth] = level
            }
        }
        // Without costs (older lines) there is nothing to chart.
        self.levels = hasCosts ? levels.keys.sorted().compactMap { levels[$0] } : []
        inputs = records.map(InputData.init)
    }
}

private struct InputData: Encodable {
    var index: Int
    var input: String
    var answer: String?
    var solved: Bool
    /// false (nil: not written) when nothing checked the answer.
    var checked: Bool?
    var note: String?
    var error: String?
    var tokens: Int
    var seconds: Double
    var calls: Int
    var passes: Int
    var drafted: Int
    var accepted: Int
    /// Node ids of the path to the chosen state, root excluded.
    var path: [Int]
    var finish: FinishRecord?
    var tree: [NodeData]

    init(_ r: RunRecord) {
        index = r.index
        input = r.input
        answer = r.answer
        solved = r.solved
        checked = r.checksAnswers ? nil : false
        note = r.note
        error = r.error
        tokens = r.statistics.generatedTokens
        seconds = r.statistics.wallSeconds
        calls = r.statistics.modelCalls
        passes = r.statistics.targetPasses
        drafted = r.statistics.draftedTokens
        accepted = r.statistics.acceptedTokens
        path = TreeText.pathIDs(r)
        finish = r.finish
        tree = r.tree.map(NodeData.init)
    }
}

private struct NodeData: Encodable {
    var i: Int
    var p: Int?
    var d: Int
    /// Thought, and the state it led to when that differs.
    var t: String
    var s: String?
    var v: Double?
    var k: Int
    var x: [String]?
    var et: Int?
    var es: Double?
    var vt: Int?
    var vs: Double?

    init(_ n: TreeNodeRecord) {
        i = n.id
        p = n.parent
        d = n.depth
        t = n.thought
        s = n.state == n.thought ? nil : n.state
        v = n.value
        k = n.selected ? 1 : 0
        x = n.samples.isEmpty ? nil : n.samples
        et = n.expandTokens
        es = n.expandSeconds.map { ($0 * 1000).rounded() / 1000 }
        vt = n.evaluateTokens
        vs = n.evaluateSeconds.map { ($0 * 1000).rounded() / 1000 }
    }
}
