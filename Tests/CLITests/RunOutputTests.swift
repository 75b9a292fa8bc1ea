import Foundation
import XCTest

/// What `run` tells a user beyond its results: progress when stderr is not a terminal, notes on
/// `--resume`, a run with nothing left to do, a workflow whose answers nothing checks; and
/// `compare --json` on a hand-edited file.
final class RunOutputTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("seedflow-out-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory!
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    }

    /// A progress line at every step: the interval the tests may shorten.
    private let everyStep = ["SEEDFLOW_PROGRESS_INTERVAL": "0"]

    /// game24 on its first puzzle as a cheap greedy chain (breadth 1, one value sample).
    private func runGame24(_ results: String, _ extra: [String] = [], workflow: String = "workflows/game24.yaml",
                           environment: [String: String] = [:]) throws -> Seedflow.Result {
        try Seedflow.run(["run", workflow, "--limit", "1", "--results", results,
                          "--set", "search.breadth=1", "--set", "search.evaluate.samples=1"] + extra, environment: environment)
    }

    private func progressLines(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("seedflow: progress: ") }
    }

    func testProgressLinesWhenStderrIsAFile() throws {
        // stderr is a file here: plain lines, no terminal codes.
        let plain = try runGame24(directory + "/plain.jsonl", environment: everyStep)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let lines = progressLines(plain.stderr)
        XCTAssertGreaterThan(lines.count, 1, plain.stderr)
        XCTAssertFalse(plain.stderr.contains("\u{1B}["), "no terminal codes in a file")
        XCTAssertFalse(plain.stderr.contains("\r"), "no carriage returns in a file")
        // Before the only input is done there is no pace to go by; after it, nothing is left.
        let first = try XCTUnwrap(lines.first)
        XCTAssertTrue(first.hasPrefix("seedflow: progress: 0/1 inputs done, 0 solved, "), first)
        XCTAssertTrue(first.hasSuffix(" elapsed, ETA —"), first)
        XCTAssertNotNil(first.range(of: #", [0-9]+ tokens/s, [0-9]+s elapsed, "#, options: .regularExpression), first)
        let last = try XCTUnwrap(lines.last)
        XCTAssertNotNil(last.range(of: #"^seedflow: progress: 1/1 inputs done, [01] solved, [0-9]+ tokens/s, [0-9]+s elapsed, ETA 0s$"#,
                                   options: .regularExpression), last)
        // Every line is one of these: progress, nothing else on stderr.
        XCTAssertEqual(lines.count, plain.stderr.split(separator: "\n").count, plain.stderr)

        // The first line comes after one interval: an hour is longer than this run.
        let quiet = try runGame24(directory + "/quiet.jsonl", environment: ["SEEDFLOW_PROGRESS_INTERVAL": "3600"])
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertTrue(progressLines(quiet.stderr).isEmpty, quiet.stderr)
    }

    /// On a terminal (a pseudo-terminal from util-linux `script`) the line is redrawn in place and
    /// ends in an ETA.
    func testTheTerminalLineHasAnETA() throws {
        let script = URL(fileURLWithPath: "/usr/bin/script")
        guard FileManager.default.isExecutableFile(atPath: script.path) else {
            throw XCTSkip("needs /usr/bin/script (util-linux) for a terminal")
        }
        let command = [try Seedflow.binary.path, "run", "workflows/game24.yaml", "--limit", "1", "--results", directory + "/tty.jsonl",
                       "--set", "search.breadth=1", "--set", "search.evaluate.samples=1", "--json", "--progress"]
            .map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let result = try Seedflow.execute(script, ["-qec", command, "/dev/null"])
        XCTAssertEqual(result.status, 0, result.output)
        let redraws = result.output.components(separatedBy: "\r\u{1B}[K").dropFirst()
        XCTAssertGreaterThan(redraws.count, 2, result.output)
        XCTAssertTrue(redraws.first?.hasPrefix("0/1 inputs done | 1 running | depth ") ?? false, result.output)
        XCTAssertTrue(redraws.first?.hasSuffix(" | ETA —") ?? false, result.output)
        XCTAssertTrue(redraws.contains { $0.hasPrefix("1/1 inputs done | 0 running") && $0.hasSuffix(" | ETA 0s") }, result.output)
        XCTAssertFalse(result.output.contains("seedflow: progress:"), "no plain lines on a terminal")
    }

    func testProgressAndNoProgressForceEither() throws {
        // --json keeps stderr quiet unless --progress asks for progress.
        let json = try runGame24(directory + "/json.jsonl", ["--json"], environment: everyStep)
        XCTAssertEqual(json.status, 0, json.stderr)
        XCTAssertEqual(json.stderr, "")
        let forced = try runGame24(directory + "/forced.jsonl", ["--json", "--progress"], environment: everyStep)
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertGreaterThan(progressLines(forced.stderr).count, 1, forced.stderr)
        XCTAssertEqual(try forced.jsonObject()["inputs"] as? Int, 1, "stdout keeps its one JSON line")
        let off = try runGame24(directory + "/off.jsonl", ["--no-progress"], environment: everyStep)
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertEqual(off.stderr, "")
        assertFails(try runGame24(directory + "/both.jsonl", ["--progress", "--no-progress"]), status: 2,
                    mentioning: ["--progress and --no-progress contradict each other"])

        let help = try Seedflow.run(["run", "--help"])
        for fragment in ["--progress", "--no-progress", "ETA", "every 10 s"] {
            XCTAssertTrue(help.output.contains(fragment), "'\(fragment)' in:\n\(help.output)")
        }
    }

    /// `--resume` of a file that is not there says so and starts a new run; resumed again, with
    /// every input done, the summary says that nothing was left to run instead of timings of nothing.
    func testResumingAMissingFileAndResumingWithNothingLeft() throws {
        let results = directory + "/resumed.jsonl"
        let first = try runGame24(results, ["--resume"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("seedflow: note: \(results) does not exist, so there is nothing to resume: starting a new run"),
                      first.stderr)
        XCTAssertEqual(try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n").count, 1)

        let again = try runGame24(results, ["--resume"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stderr, "", "the file exists now: no note")
        XCTAssertTrue(again.output.contains("nothing was left to run: every input already has its result in the results file"),
                      again.output)
        for stale in ["wall time", "tokens/s", "tokens per target pass", "solved"] {
            XCTAssertFalse(again.output.contains(stale), "'\(stale)' in:\n\(again.output)")
        }
        // The summary table names the figure so that it cannot be taken for compare's per-call one.
        let other = directory + "/other.jsonl"
        let run = try runGame24(other)
        XCTAssertTrue(run.output.contains("tokens per target pass (all calls batched)"), run.output)
        let compared = try Seedflow.run(["compare", results, other])
        XCTAssertEqual(compared.status, 0, compared.stderr)
        XCTAssertTrue(compared.output.contains("tokens per target pass per call"), compared.output)
        XCTAssertFalse(compared.output.contains("tokens / pass / call"), compared.output)
    }

    /// A workflow with no goal and no check: validate and run warn, and the run's inputs are
    /// "finished", not "solved".
    func testAWorkflowThatChecksNothingIsSaidToFinishNotSolve() throws {
        var text = try String(contentsOfFile: Seedflow.repoRoot.appendingPathComponent("workflows/game24.yaml").path, encoding: .utf8)
        let relative = Seedflow.repoRoot.appendingPathComponent("workflows").path + "/../"
        text = text.replacingOccurrences(of: "../", with: relative)
        for line in ["  goal: { state_equals: \"24\" }\n",
                     ",\n    check: { arithmetic: '{{expr}}', equals: 24, uses_numbers_of: '{{input}}' }"] {
            XCTAssertTrue(text.contains(line), "game24.yaml has '\(line)'")
            text = text.replacingOccurrences(of: line, with: "")
        }
        let path = directory + "/unchecked.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let warning = "seedflow: warning: \(path): nothing checks the answers (no search.goal and no finish.check)"

        let validated = try Seedflow.run(["validate", path])
        XCTAssertEqual(validated.status, 0, validated.stderr)
        XCTAssertTrue(validated.output.contains(": ok — "), validated.output)
        XCTAssertTrue(validated.stderr.hasPrefix(warning), validated.stderr)

        let run = try runGame24(directory + "/unchecked.jsonl", workflow: path, environment: everyStep)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.hasPrefix(warning), run.stderr)
        // Progress does not speak of solved inputs either.
        let lines = progressLines(run.stderr)
        XCTAssertFalse(lines.isEmpty, run.stderr)
        XCTAssertTrue(lines.allSatisfy { $0.contains(" inputs done, nothing checks the answers, ") && !$0.contains("solved") },
                      run.stderr)
        XCTAssertNotNil(run.output.range(of: #"(?m)^finished +[01] \([0-9.]+%\) — nothing checks the answers$"#, options: .regularExpression),
                        run.output)
        XCTAssertNil(run.output.range(of: #"(?m)^solved "#, options: .regularExpression), run.output)
        let json = try runGame24(directory + "/unchecked-json.jsonl", ["--json"], workflow: path)
        XCTAssertEqual(try json.jsonObject()["answers_checked"] as? Bool, false)
        // Each result line says so, and `show` says "finished" rather than "solved".
        let resultLines = try String(contentsOfFile: directory + "/unchecked.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertFalse(resultLines.isEmpty)
        XCTAssertTrue(resultLines.allSatisfy { $0.contains("\"answers_checked\":false") }, resultLines.joined(separator: "\n"))
        let shown = try Seedflow.run(["show", directory + "/unchecked.jsonl"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        XCTAssertFalse(shown.output.contains("— solved"), shown.output)
        XCTAssertEqual(shown.output.components(separatedBy: " — finished (nothing checks the answers)\n").count
                       + shown.output.components(separatedBy: " — not finished\n").count - 2, resultLines.count, shown.output)

        // The shipped game24 checks its answers: no warning.
        let checked = try Seedflow.run(["validate", "workflows/game24.yaml"])
        XCTAssertEqual(checked.stderr, "")
    }

    /// Times summed past the largest double (two hand-edited `wall_s` of 1e308) make an infinite
    /// mean: `compare --json` writes the largest finite number instead of failing; `1e999` reads
    /// as the largest double.
    func testCompareJSONSurvivesAnInfiniteMean() throws {
        let results = directory + "/a.jsonl"
        XCTAssertEqual(try runGame24(results, ["--limit", "2"]).status, 0)
        let edited = try String(contentsOfFile: results, encoding: .utf8)
            .replacingOccurrences(of: #""wall_s":[0-9.e+-]+"#, with: #""wall_s":1e308"#, options: .regularExpression)
        XCTAssertEqual(edited.components(separatedBy: #""wall_s":1e308"#).count, 3, "both lines edited")
        let b = directory + "/b.jsonl"
        try edited.write(toFile: b, atomically: true, encoding: .utf8)

        let json = try Seedflow.run(["compare", results, b, "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let side = try XCTUnwrap(try json.jsonObject()["b"] as? [String: Any])
        XCTAssertEqual(side["mean_input_s"] as? Double, Double.greatestFiniteMagnitude)
        let text = try Seedflow.run(["compare", results, b])
        XCTAssertEqual(text.status, 0, text.stderr)

        // A number beyond a double's range, as only a hand edit writes it, reads as the largest one.
        try edited.replacingOccurrences(of: "1e308", with: "1e999").write(toFile: b, atomically: true, encoding: .utf8)
        let beyond = try Seedflow.run(["compare", results, b, "--json"])
        XCTAssertEqual(beyond.status, 0, beyond.stderr)
        let beyondSide = try XCTUnwrap(try beyond.jsonObject()["b"] as? [String: Any])
        XCTAssertEqual(beyondSide["mean_input_s"] as? Double, Double.greatestFiniteMagnitude)
    }
}
