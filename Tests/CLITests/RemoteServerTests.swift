import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A llama.cpp server on 127.0.0.1 on a free port, owned by a test: stopped when the test ends
/// (`stop()` in tearDown, `deinit`, and at exit for anything left), failures included.
final class LlamaServer {
    let process = Process()
    let port: Int
    let logURL: URL
    var url: String { "http://127.0.0.1:\(port)/v1" }

    /// `make llama-server` builds it into .llama/; SEEDFLOW_LLAMA_SERVER names another.
    static var binary: String {
        get throws {
            if let path = ProcessInfo.processInfo.environment["SEEDFLOW_LLAMA_SERVER"], !path.isEmpty {
                guard FileManager.default.isExecutableFile(atPath: path) else {
                    throw XCTSkip("SEEDFLOW_LLAMA_SERVER=\(path) is not executable")
                }
                return path
            }
            let built = Seedflow.repoRoot.appendingPathComponent(".llama/build/bin/llama-server").path
            guard FileManager.default.isExecutableFile(atPath: built) else {
                throw XCTSkip("llama-server not built (run `make llama-server`, or set SEEDFLOW_LLAMA_SERVER)")
            }
            return built
        }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var running: Set<Int32> = []
    nonisolated(unsafe) private static var guardInstalled = false

    /// Starts a server and waits until it answers /health; `port` reuses one (a restart).
    init(model: String = Seedflow.targetModel, slots: Int, port: Int? = nil, extra: [String] = []) throws {
        self.port = try port ?? Self.freePort()
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("seedflow-llama-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = URL(fileURLWithPath: try Self.binary)
        process.arguments = ["-m", model, "--host", "127.0.0.1", "--port", "\(self.port)", "-np", "\(slots)",
                             "-c", "\(256 * slots)", "-t", "1", "--no-webui"] + extra
        process.currentDirectoryURL = Seedflow.repoRoot
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        Self.lock.withLock {
            if !Self.guardInstalled {
                Self.guardInstalled = true
                atexit { LlamaServer.killAll() }
            }
        }
        try process.run()
        _ = Self.lock.withLock { Self.running.insert(process.processIdentifier) }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if !process.isRunning { break }
            if Self.get("http://127.0.0.1:\(self.port)/health")?.status == 200 { return }
            usleep(100_000)
        }
        let text = self.logText
        stop()
        XCTFail("llama-server did not come up on port \(self.port); its log ends:\n\(text.suffix(2000))")
        throw XCTSkip("llama-server did not start")
    }

    deinit { stop() }

    var logText: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Stops the server (SIGTERM, then SIGKILL) if it still runs; a stopped one is resumed first.
    func stop() {
        guard process.isRunning else { return forget() }
        let pid = process.processIdentifier
        kill(pid, SIGCONT)
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
        forget()
    }

    /// Kills it at once (a crash, as far as the client can tell).
    func crash() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        forget()
    }

    func pause() { kill(process.processIdentifier, SIGSTOP) }

    private func forget() { _ = Self.lock.withLock { Self.running.remove(process.processIdentifier) } }

    private static func killAll() {
        for pid in running { kill(pid, SIGCONT); kill(pid, SIGKILL) }
    }

    /// A port no one listens on now: bound to port 0, read back, released.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw XCTSkip("no socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw XCTSkip("cannot bind a port on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A GET with curl-free Foundation, briefly; nil when nothing answers.
    static func get(_ url: String, headers: [String: String] = [:]) -> (status: Int, body: Data)? {
        guard let u = URL(string: url) else { return nil }
        var request = URLRequest(url: u)
        request.timeoutInterval = 2
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let done = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var value: (Int, Data)? }
        let box = Box()
        URLSession.shared.dataTask(with: request) { data, response, _ in
            if let http = response as? HTTPURLResponse { box.value = (http.statusCode, data ?? Data()) }
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 3)
        return box.value.map { (status: $0.0, body: $0.1) }
    }
}

/// The remote backend against a real llama.cpp server running the demo target.
final class RemoteServerTests: XCTestCase {
    private var servers: [LlamaServer] = []
    private var files: [String] = []

    override func tearDown() {
        for server in servers { server.stop() }
        servers.removeAll()
        for file in files { try? FileManager.default.removeItem(atPath: file) }
        super.tearDown()
    }

    private func server(slots: Int, port: Int? = nil, extra: [String] = []) throws -> LlamaServer {
        let s = try LlamaServer(slots: slots, port: port, extra: extra)
        servers.append(s)
        return s
    }

    private func resultsPath() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("seedflow-remote-\(UUID().uuidString).jsonl").path
        files.append(path)
        return path
    }

    /// The last record of each input in a results file.
    private func records(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let all = try text.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        var last: [Int: [String: Any]] = [:]
        for r in all { if let i = r["index"] as? Int { last[i] = r } }
        return last.keys.sorted().compactMap { last[$0] }
    }

    private static let greedyChain = ["--set", "search.breadth=1", "--set", "search.generate.temperature=0",
                                      "--set", "search.evaluate.temperature=0", "--set", "search.evaluate.samples=1"]

    /// Breadth 1 at temperature 0: every call greedy, so the remote run must answer as the local
    /// one (a near-tie between two tokens may go either way in another program's arithmetic).
    func testTheGreedyChainAnswersAsTheLocalEngine() throws {
        let server = try server(slots: 1)
        let local = resultsPath(), remote = resultsPath()
        let l = try Seedflow.run(["run", "workflows/game24.yaml", "--limit", "8", "--results", local, "--strategy", "autoregressive"] + Self.greedyChain)
        XCTAssertEqual(l.status, 0, l.stderr)
        let r = try Seedflow.run(["run", "workflows/game24.yaml", "--limit", "8", "--results", remote,
                                  "--set", "models.target.url=\(server.url)"] + Self.greedyChain)
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try records(local), b = try records(remote)
        XCTAssertEqual(a.count, 8)
        XCTAssertEqual(b.count, 8)
        let same = zip(a, b).filter { ($0["answer"] as? String) == ($1["answer"] as? String) && ($0["best_path"] as? [String]) == ($1["best_path"] as? [String]) }.count
        XCTAssertGreaterThanOrEqual(same, 7, "greedy answers and paths: \(a.map { $0["answer"] ?? "-" }) vs \(b.map { $0["answer"] ?? "-" })")
        let provenance = try XCTUnwrap(b.first?["provenance"] as? [String: Any])
        let recorded = try XCTUnwrap(provenance["server"] as? [String: Any])
        XCTAssertEqual(recorded["model"] as? String, Seedflow.targetModel)
        XCTAssertTrue((recorded["identity"] as? String)?.contains("n_params=") == true, "\(recorded)")
    }

    /// A sampled game24 run on 20 puzzles solves about as many remotely as locally. The same
    /// puzzles are solved or not by both, so the runs are compared pair by pair (McNemar's exact
    /// test): the test fails only when the split of the puzzles one run alone solved is less
    /// likely than 1 in 1000 under "both solve equally often". It also checks that the evaluation
    /// samples went as one request with n (child tasks in the server's log) and that llama.cpp's
    /// own extra samplers were off.
    func testASampledRunSolvesAboutAsManyAsLocally() throws {
        let server = try server(slots: 4, extra: ["--metrics"])
        let local = resultsPath(), remote = resultsPath()
        let l = try Seedflow.run(["run", "workflows/game24.yaml", "--limit", "20", "--results", local])
        XCTAssertEqual(l.status, 0, l.stderr)
        let r = try Seedflow.run(["run", "workflows/game24.yaml", "--limit", "20", "--results", remote,
                                  "--set", "models.target.url=\(server.url)", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try records(local).map { $0["solved"] as? Bool == true }
        let b = try records(remote).map { $0["solved"] as? Bool == true }
        XCTAssertEqual(a.count, 20)
        XCTAssertEqual(b.count, 20)
        let onlyLocal = zip(a, b).filter { $0 && !$1 }.count, onlyRemote = zip(a, b).filter { !$0 && $1 }.count
        let p = Self.mcNemar(onlyLocal, onlyRemote)
        XCTAssertGreaterThan(p, 0.001, "solved locally \(a.filter { $0 }.count)/20, remotely \(b.filter { $0 }.count)/20 (only local \(onlyLocal), only remote \(onlyRemote))")
        XCTAssertGreaterThan(b.filter { $0 }.count, 0, "the remote run solves some puzzles")

        // llama.cpp's usage counts the first choice of an `n` request only; the summary's count,
        // with the others estimated, must be the server's own count to within a few per cent.
        let summary = try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        let counted = try XCTUnwrap(summary["generated_tokens"] as? Int)
        let metrics = String(decoding: try XCTUnwrap(LlamaServer.get("http://127.0.0.1:\(server.port)/metrics")).body, as: UTF8.self)
        let predicted = try XCTUnwrap(metrics.split(separator: "\n").first { $0.hasPrefix("llamacpp:tokens_predicted_total ") }
            .flatMap { Double($0.split(separator: " ")[1]) })
        XCTAssertEqual(Double(counted), predicted, accuracy: predicted * 0.05, "generated tokens: the summary's against the server's")

        let log = server.logText
        XCTAssertTrue(log.contains("is_child = 1"), "samples of one prompt go as one request with n")
        let slots = try XCTUnwrap(LlamaServer.get("http://127.0.0.1:\(server.port)/slots"))
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: slots.body) as? [[String: Any]])
        let params = try XCTUnwrap(list.compactMap { $0["params"] as? [String: Any] }.first { ($0["temperature"] as? Double ?? 0) > 0 })
        XCTAssertEqual(params["min_p"] as? Double, 0)
        XCTAssertEqual(params["repeat_penalty"] as? Double, 1)
        XCTAssertEqual(params["dry_multiplier"] as? Double, 0)
        XCTAssertEqual(params["xtc_probability"] as? Double, 0)
        XCTAssertEqual(params["samplers"] as? [String], ["temperature", "top_k", "top_p"])
    }

    /// Two-sided exact McNemar p-value: b and c discordant pairs, b ~ Binomial(b + c, 1/2).
    static func mcNemar(_ b: Int, _ c: Int) -> Double {
        let n = b + c
        guard n > 0 else { return 1 }
        var tail = 0.0
        for k in 0...min(b, c) { tail += exp(lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1)) - Double(n) * log(2)) }
        return min(1, 2 * tail)
    }

    /// The server killed mid-run: the calls in flight fail with the reason in their inputs'
    /// lines, the run ends without a crash; after a restart --resume runs every failed or missing
    /// input, and each input ends with exactly one good result.
    func testAServerKilledMidRunFailsCallsAndResumeCompletesEveryInput() throws {
        let first = try server(slots: 4)
        let results = resultsPath()
        let args = ["run", "workflows/game24.yaml", "--limit", "8", "--results", results, "--set", "models.target.url=\(first.url)",
                    "--set", "models.target.retries=2"]
        let run = Process()
        run.executableURL = try Seedflow.binary
        run.arguments = args
        run.currentDirectoryURL = Seedflow.repoRoot
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try run.run()
        // Killed once some inputs are done, others not.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, ((try? String(contentsOfFile: results, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 2 { usleep(50_000) }
        first.crash()
        run.waitUntilExit()
        XCTAssertEqual(run.terminationReason, .exit, "no crash")
        XCTAssertEqual(run.terminationStatus, 4, "failed inputs make the run fail")
        let after = try records(results)
        let failed = after.filter { $0["error"] != nil }
        XCTAssertFalse(failed.isEmpty, "some inputs lost their calls")
        for record in failed {
            XCTAssertTrue((record["error"] as? String)?.contains("cannot reach the server") == true, "\(record["error"] ?? "")")
        }

        let second = try server(slots: 4, port: first.port)
        let again = try Seedflow.run(args.map { $0 == "models.target.url=\(first.url)" ? "models.target.url=\(second.url)" : $0 } + ["--resume"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let final = try records(results)
        XCTAssertEqual(final.map { $0["index"] as? Int }, Array(0..<8).map(Optional.some))
        XCTAssertTrue(final.allSatisfy { $0["error"] == nil }, "every input done")
        // Exactly once: every good line of the file is a different input.
        let lines = try String(contentsOfFile: results, encoding: .utf8).split(separator: "\n")
        let good = lines.filter { !$0.contains("\"error\"") }.count
        XCTAssertEqual(good, 8, "each input has one good result line")
    }

    /// Ctrl-C cancels the calls in flight at once (not when they would have finished) and keeps
    /// every finished result; the server stays usable.
    func testInterruptCancelsCallsInFlightAndKeepsFinishedResults() throws {
        let server = try server(slots: 2)
        let results = resultsPath()
        let run = Process()
        run.executableURL = try Seedflow.binary
        run.arguments = ["run", "workflows/game24.yaml", "--limit", "8", "--results", results, "--set", "models.target.url=\(server.url)"]
        run.currentDirectoryURL = Seedflow.repoRoot
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try run.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, run.isRunning, (try? String(contentsOfFile: results, encoding: .utf8))?.contains("\n") != true { usleep(50_000) }
        XCTAssertTrue(run.isRunning, "the run ended before it could be interrupted")
        // Stalled, the server would never finish the calls in flight: only cancelling ends the run.
        server.pause()
        let interrupted = Date()
        run.interrupt()
        run.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(interrupted), 3, "Ctrl-C does not wait for the calls in flight")
        XCTAssertEqual(run.terminationStatus, 130)
        let text = try String(contentsOfFile: results, encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\n"))
        let kept = try records(results)
        XCTAssertGreaterThanOrEqual(kept.count, 1)
        XCTAssertLessThan(kept.count, 8)
        XCTAssertTrue(kept.allSatisfy { $0["error"] == nil }, "finished results are whole results")
    }

    /// A stopped server (SIGSTOP) answers nothing: its calls run into models.target.timeout.
    func testAStalledServerRunsIntoTheTimeout() throws {
        let server = try server(slots: 2)
        server.pause()
        let results = resultsPath()
        let started = Date()
        let r = try Seedflow.run(["run", "workflows/game24.yaml", "--limit", "1", "--results", results,
                                  "--set", "models.target.url=\(server.url)"])
        // The probe already finds no answer within a second.
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("no answer within"), r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }

    /// A stall after the start, with a step's calls in flight and more waiting: the call times
    /// out, is retried, and its input fails with the reason; the input's other calls fail with it
    /// rather than each waiting out its own timeout on the stalled server, so the run ends within
    /// about timeout × attempts per input.
    func testACallThatStallsTimesOutAndFailsItsInput() throws {
        let server = try server(slots: 2)
        let results = resultsPath()
        let inputs = 2, timeout = 1.0, retries = 1
        let run = Process()
        run.executableURL = try Seedflow.binary
        run.arguments = ["run", "workflows/game24.yaml", "--limit", "\(inputs)", "--results", results, "--set", "models.target.url=\(server.url)",
                         "--set", "models.target.timeout=\(Int(timeout))", "--set", "models.target.retries=\(retries)"]
        run.currentDirectoryURL = Seedflow.repoRoot
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try run.run()
        // Paused once the server has taken a third call: past the probe (a fixed sleep is not, on
        // a loaded machine) and past an input's propose call, so that an evaluation step's calls
        // are in flight and queued (the case where waiting calls used to run into the timeout one
        // after another, far beyond one call's bound).
        let launched = Date().addingTimeInterval(120)
        while Date() < launched, run.isRunning, server.logText.components(separatedBy: "launch_slot_").count - 1 < 3 { usleep(20_000) }
        XCTAssertTrue(run.isRunning, "the run ended before the server could be stalled")
        server.pause()
        let paused = Date()
        // Per input: its attempts, each cut at the timeout (+0.5 s watchdog, +0.1 s poll), and
        // the backoff before each retry (at most 0.25 s for the first); the inputs may go one
        // after another on the 2 slots. Twice that plus 5 s leaves room for a loaded machine.
        let bound = Double(inputs) * (Double(retries + 1) * (timeout + 0.6) + Double(retries) * 0.25)
        let deadline = paused.addingTimeInterval(2 * bound + 5)
        while run.isRunning && Date() < deadline { usleep(100_000) }
        XCTAssertFalse(run.isRunning, "the run ends on its own within \(2 * bound + 5) s of the stall")
        if run.isRunning { run.terminate() }
        run.waitUntilExit()
        XCTAssertEqual(run.terminationReason, .exit)
        XCTAssertEqual(run.terminationStatus, 4, "failed inputs make the run fail")
        let after = try records(results)
        XCTAssertEqual(after.count, inputs)
        XCTAssertTrue(after.contains { ($0["error"] as? String)?.contains("no reply within 1 s") == true }, "\(after.map { $0["error"] ?? "-" })")
    }

    /// Two servers share a run; one killed mid-run loses nothing: its calls go to the other.
    func testTwoServersShareARunAndLosingOneLosesNothing() throws {
        let a = try server(slots: 2), b = try server(slots: 2)
        let results = resultsPath()
        let run = Process()
        run.executableURL = try Seedflow.binary
        run.arguments = ["run", "workflows/game24.yaml", "--limit", "6", "--results", results,
                         "--set", "models.target.urls=[\(a.url), \(b.url)]"]
        run.currentDirectoryURL = Seedflow.repoRoot
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try run.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, ((try? String(contentsOfFile: results, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 1 { usleep(50_000) }
        XCTAssertTrue(a.logText.contains("launch_slot_"), "the first server had calls")
        XCTAssertTrue(b.logText.contains("launch_slot_"), "the second server had calls")
        a.crash()
        run.waitUntilExit()
        XCTAssertEqual(run.terminationStatus, 0, "nothing lost")
        let final = try records(results)
        XCTAssertEqual(final.count, 6)
        XCTAssertTrue(final.allSatisfy { $0["error"] == nil })
    }

    /// A model name the server does not serve, a key the server refuses, and none at all: clear
    /// errors before any call, the key itself never printed.
    func testAWrongModelNameAndARefusedKeyGiveClearErrors() throws {
        let open = try server(slots: 1)
        let wrong = try Seedflow.run(["run", "workflows/game24.yaml", "--limit", "1", "--results", resultsPath(),
                                      "--set", "models.target.url=\(open.url)", "--set", "models.target.model=qwen3-8b"])
        assertFails(wrong, status: 1, mentioning: ["does not serve a model named 'qwen3-8b'", Seedflow.targetModel, "models.target.model"])

        let locked = try server(slots: 1, extra: ["--api-key", "right-key-123"])
        let none = try Seedflow.run(["run", "workflows/game24.yaml", "--limit", "1", "--results", resultsPath(),
                                     "--set", "models.target.url=\(locked.url)"])
        assertFails(none, status: 1, mentioning: ["wants an API key", "api_key_env"])
        let script = "SEEDFLOW_TEST_KEY=wrong-key-456 exec \"$0\" \"$@\""
        let refused = try Seedflow.execute(URL(fileURLWithPath: "/bin/sh"),
                                           ["-c", script, try Seedflow.binary.path, "run", "workflows/game24.yaml", "--limit", "1",
                                            "--results", resultsPath(), "--set", "models.target.url=\(locked.url)",
                                            "--set", "models.target.api_key_env=SEEDFLOW_TEST_KEY"])
        assertFails(refused, status: 1, mentioning: ["refused the API key", "HTTP 401"])
        XCTAssertFalse(refused.stderr.contains("wrong-key-456"), "the key is never printed")
        let accepted = try Seedflow.execute(URL(fileURLWithPath: "/bin/sh"),
                                            ["-c", "SEEDFLOW_TEST_KEY=right-key-123 exec \"$0\" \"$@\"", try Seedflow.binary.path, "run",
                                             "workflows/game24.yaml", "--limit", "1", "--results", { let p = resultsPath(); return p }(),
                                             "--set", "models.target.url=\(locked.url)", "--set", "models.target.api_key_env=SEEDFLOW_TEST_KEY", "--json"])
        XCTAssertEqual(accepted.status, 0, accepted.stderr)
        XCTAssertFalse(accepted.output.contains("right-key-123") || accepted.stderr.contains("right-key-123"))
    }

    /// A key is not sent over plain HTTP to another host unless asked; an unreachable URL fails at once.
    func testPlainHTTPKeysAndUnreachableServersAreRefusedAtOnce() throws {
        let port = try LlamaServer.freePort()
        let started = Date()
        let down = try Seedflow.run(["run", "workflows/game24.yaml", "--limit", "1", "--results", resultsPath(),
                                     "--set", "models.target.url=http://127.0.0.1:\(port)/v1"])
        assertFails(down, status: 1, mentioning: ["cannot reach the server at http://127.0.0.1:\(port)/v1"])
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5)
        let insecure = try Seedflow.execute(URL(fileURLWithPath: "/bin/sh"),
                                            ["-c", "SEEDFLOW_TEST_KEY=k exec \"$0\" \"$@\"", try Seedflow.binary.path, "run",
                                             "workflows/game24.yaml", "--limit", "1", "--results", resultsPath(),
                                             "--set", "models.target.url=http://192.0.2.1:8080/v1", "--set", "models.target.api_key_env=SEEDFLOW_TEST_KEY"])
        assertFails(insecure, status: 1, mentioning: ["plain HTTP", "--allow-insecure-http"])
    }
}
