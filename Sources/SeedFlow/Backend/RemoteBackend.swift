import CKernels
import Foundation
import SeedEngine

/// Servers speaking the OpenAI completions protocol (`/v1/completions`): llama.cpp's
/// llama-server, vLLM, SGLang. As many calls in flight as the servers have slots, each to the
/// server with the fewest outstanding (an input's calls stay on one server while it has room, so
/// its prefix cache sees their shared prompt); `n` samples of one prompt go as one call. A call
/// that meets a fault (refused, reset, 429/503, 5xx, a timeout, a reply that does not parse) is
/// retried with bounded exponential backoff and jitter, on another server where there is one, the
/// failing server is left out for a while, and after its retries the call fails alone.
public final class RemoteBackend: GenerationBackend {
    /// One server and what is known of it.
    final class Server: @unchecked Sendable {
        let base: URL
        /// Its slots (llama.cpp `/props` `total_slots`), when it says.
        var slots: Int?
        /// A llama.cpp server (it answers `/props`): its usage counts the first choice only.
        var isLlamaCpp = false
        var outstanding = 0
        var failures = 0
        /// Left out until then after a fault.
        var downUntil = DispatchTime(uptimeNanoseconds: 0)
        init(base: URL) { self.base = base }
    }

    public let strategy = DecodingStrategy.autoregressive
    public let target: RemoteTarget
    public let modelName: String
    public let identity: String
    public let maxConcurrency: Int
    private let servers: [Server]
    private let apiKey: String?
    private let transports = HTTPTransports()
    private var totals = BackendStatistics()
    /// Per-run random numbers for the backoff's jitter (not the sampling's).
    private var jitter = SystemRandomNumberGenerator()

    /// Connects: checks every server answers, serves the model and agrees on what it is.
    public init(target: RemoteTarget, allowInsecureHTTP: Bool,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.target = target
        if let name = target.apiKeyEnv {
            guard let key = environment[name], !key.isEmpty else { throw RemoteError.missingKey(variable: name) }
            apiKey = key
        } else {
            apiKey = nil
        }
        if apiKey != nil, !allowInsecureHTTP,
           let plain = target.urls.first(where: { $0.scheme?.lowercased() == "http" && !Self.isLoopback($0.host ?? "") }) {
            throw RemoteError.insecureKey(url: Self.display(plain))
        }
        servers = target.urls.map { Server(base: Self.apiBase($0)) }

        // Every server is asked at once, briefly: an unreachable one fails the run in a second.
        let key = apiKey
        let probes = servers.map { [transports] server in Probe.start(server: server, transports: transports, key: key) }
        var identities: [(Server, [Probe.Model])] = []
        for (server, probe) in zip(servers, probes) {
            let models = try probe.models(display: Self.display(server.base), key: key)
            server.slots = probe.slots()
            server.isLlamaCpp = probe.isLlamaCpp
            identities.append((server, models))
        }
        let chosen = try Self.chooseModel(named: target.model, on: identities)
        modelName = chosen.name
        identity = chosen.identity
        let slots = servers.map { $0.slots ?? 4 }.reduce(0, +)
        maxConcurrency = target.maxConcurrency ?? max(1, slots)
    }

    /// The model every server serves under `name` (or the one model they list), and its identity.
    private static func chooseModel(named name: String?, on servers: [(Server, [Probe.Model])]) throws -> (name: String, identity: String) {
        var result: (name: String, identity: String)?
        for (server, models) in servers {
            let here = display(server.base)
            let model: Probe.Model
            if let name {
                guard let m = models.first(where: { $0.id == name }) else {
                    throw RemoteError.unknownModel(name: name, server: here, served: models.map(\.id))
                }
                model = m
            } else {
                guard models.count == 1, let only = models.first else {
                    throw RemoteError.modelNeeded(server: here, served: models.map(\.id))
                }
                model = only
            }
            if let earlier = result, earlier.identity != model.identity || earlier.name != model.id {
                throw RemoteError.serversDiffer(first: earlier.identity, other: model.identity, server: here)
            }
            result = (model.id, model.identity)
        }
        guard let result else { throw RemoteError.modelNeeded(server: "", served: []) }
        return result
    }

    // MARK: the protocol

    public var statistics: BackendStatistics { totals }

    public func problem(with request: TextRequest) -> CallProblem? {
        request.prompt.isEmpty ? .emptyPrompt : nil
    }

    /// Enough inputs that their calls fill every slot twice over: a level's calls vary in number,
    /// and calls waiting here cost nothing.
    public func defaultJobs(callsPerLevel: Int) -> Int {
        max(2, 2 * maxConcurrency)
    }

    public func provenanceModels() throws -> ProvenanceModels {
        .server(Provenance.Server(urls: target.urls.map(Self.display), model: modelName, identity: identity))
    }

    // MARK: running

    /// A call being made: its request, attempts so far, and when it may go (after a backoff).
    private struct Call {
        var request: TextRequest
        var attempts = 0
        var notBefore = DispatchTime(uptimeNanoseconds: 0)
        var lastProblem = ""
        /// The input whose call this is: its calls prefer one server.
        var affinity: Substring { request.tags.first.map { $0.prefix { $0 != "/" } } ?? "" }
    }

    /// What came back from one HTTP exchange.
    private struct Reply {
        var id: Int
        var server: Server
        var seconds: Double
        var outcome: Outcome
    }
    private enum Outcome {
        case done([Choice], usage: (prompt: Int, completion: Int))
        /// A fault worth another try; `retryAfter` from the server's header.
        case retry(String, retryAfter: Double?, serverFault: Bool)
        /// A refusal that another try would not change (400, 401, 404).
        case fatal(String)
    }
    private struct Choice {
        var index: Int
        var text: String
        var finishReason: FinishReason
    }

    public func generate(_ requests: [TextRequest], onCompletion: (TextCompletion) throws -> [TextRequest]) throws {
        totals = BackendStatistics()
        let inbox = Inbox()
        var waiting: [Call] = requests.flatMap(calls)
        var inFlight: [Int: (call: Call, task: any HTTPCall, server: Server, sent: DispatchTime)] = [:]
        var nextID = 0
        var inFlightSamples = 0
        var affinity: [Substring: Server] = [:]
        totals.requests = requests.reduce(0) { $0 + $1.n }

        func cancelAll() {
            for (_, entry) in inFlight { entry.task.cancel() }
            inFlight.removeAll()
        }
        defer { cancelAll() }

        func dispatch() throws {
            let now = DispatchTime.now()
            var index = 0
            while index < waiting.count, inFlightSamples < maxConcurrency {
                var call = waiting[index]
                if call.notBefore > now { index += 1; continue }
                // A call of more samples than slots are free goes in part: the free slots take its
                // first samples now, the rest waits at the head. Holding the whole call back left
                // slots idle (a third of them on game24's three-sample values).
                let free = maxConcurrency - inFlightSamples
                if call.request.n > free {
                    var rest = call
                    rest.request.tags.removeFirst(free)
                    waiting[index] = rest
                    call.request.tags.removeLast(call.request.n - free)
                } else {
                    waiting.remove(at: index)
                }
                let cost = call.request.n
                let server = pick(affinity: affinity[call.affinity], now: now)
                affinity[call.affinity] = server
                let id = nextID
                nextID += 1
                let task = try send(call.request, to: server, id: id, inbox: inbox)
                server.outstanding += 1
                inFlight[id] = (call, task, server, .now())
                inFlightSamples += cost
            }
        }

        func deliver(_ completions: [TextCompletion]) throws {
            for completion in completions {
                let arriving = try onCompletion(completion)
                totals.requests += arriving.reduce(0) { $0 + $1.n }
                waiting += arriving.flatMap(calls)
            }
        }

        /// A call that failed for good ends its input (the runner drops the rest of its step), so
        /// the input's other calls, waiting or in flight, fail at once with that reason instead of
        /// each waiting out its own timeout and retries on a server that does not answer: an
        /// input's time after a stall stays about one call's timeout × attempts plus backoff.
        func failInput(of call: Call, _ why: String) throws {
            let input = call.affinity
            guard !input.isEmpty else { return }
            var dropped = waiting.filter { $0.affinity == input }
            waiting.removeAll { $0.affinity == input }
            for (id, entry) in inFlight where entry.call.affinity == input {
                entry.task.cancel()
                inFlight[id] = nil
                inFlightSamples -= entry.call.request.n
                entry.server.outstanding -= 1
                dropped.append(entry.call)
            }
            let reason = "not sent or cut short: another call of this input failed: \(why)"
            try deliver(dropped.flatMap { $0.request.tags.map { TextCompletion.failed(tag: $0, reason) } })
        }

        try dispatch()
        while !inFlight.isEmpty || !waiting.isEmpty {
            // Woken by a reply, or every tenth of a second to look for Ctrl-C and due retries.
            _ = inbox.signal.wait(timeout: .now() + .milliseconds(100))
            if sf_interrupted() != 0 {
                cancelAll()
                throw GenerationInterrupted()
            }
            // A backstop for a transport whose own timeout does not fire (URLSession's on Linux,
            // for HTTPS): a call past its time is cancelled here and counts as timed out (its
            // late reply, if any, is ignored).
            let late = DispatchTime.now() - (target.timeoutSeconds + 0.5)
            for (id, entry) in inFlight where entry.sent < late {
                entry.task.cancel()
                inbox.put(Reply(id: id, server: entry.server, seconds: target.timeoutSeconds,
                                outcome: .retry("no reply within \(Self.format(target.timeoutSeconds)) s (models.target.timeout)", retryAfter: nil, serverFault: true)))
            }
            for reply in inbox.take() {
                guard let entry = inFlight.removeValue(forKey: reply.id) else { continue }
                var call = entry.call
                inFlightSamples -= call.request.n
                reply.server.outstanding -= 1
                switch reply.outcome {
                case let .done(choices, usage):
                    reply.server.failures = 0
                    try deliver(completions(for: call.request, choices: choices, usage: usage, seconds: reply.seconds,
                                            usageCoversFirstOnly: reply.server.isLlamaCpp))
                case let .retry(problem, retryAfter, serverFault):
                    call.attempts += 1
                    call.lastProblem = problem
                    if serverFault {
                        // Left out for a while, longer after each fault in a row.
                        reply.server.failures += 1
                        let pause = min(30.0, 0.5 * pow(2, Double(reply.server.failures - 1)))
                        reply.server.downUntil = .now() + pause
                        if affinity[call.affinity] === reply.server { affinity[call.affinity] = nil }
                    }
                    if call.attempts > target.retries {
                        totals.failedCalls += 1
                        let why = "\(problem) (\(call.attempts) attempts)"
                        try deliver(call.request.tags.map { TextCompletion.failed(tag: $0, why) })
                        try failInput(of: call, why)
                    } else {
                        totals.retries += 1
                        let backoff = min(8.0, 0.25 * pow(2, Double(call.attempts - 1))) * Double.random(in: 0.5...1, using: &jitter)
                        call.notBefore = .now() + max(backoff, min(retryAfter ?? 0, 60))
                        waiting.insert(call, at: 0)
                    }
                case let .fatal(problem):
                    totals.failedCalls += 1
                    try deliver(call.request.tags.map { TextCompletion.failed(tag: $0, problem) })
                    try failInput(of: call, problem)
                }
            }
            try dispatch()
        }
    }

    /// A request as calls: its samples in one call, or in several where a server has fewer
    /// slots than samples (llama.cpp refuses an `n` above its slots).
    private func calls(_ request: TextRequest) -> [Call] {
        let most = max(1, servers.compactMap(\.slots).min() ?? request.n)
        guard request.n > most else { return [Call(request: request)] }
        return stride(from: 0, to: request.n, by: most).map { start in
            var part = request
            part.tags = Array(request.tags[start..<min(request.n, start + most)])
            return Call(request: part)
        }
    }

    /// The server for a call: the input's own while it is up and has a free slot, else the one
    /// with the fewest calls outstanding among those up, else (all left out) the first back.
    private func pick(affinity: Server?, now: DispatchTime) -> Server {
        let up = servers.filter { $0.downUntil <= now }
        if let a = affinity, a.downUntil <= now, a.outstanding < (a.slots ?? max(1, maxConcurrency / servers.count)) { return a }
        if let best = up.min(by: { $0.outstanding < $1.outstanding }) { return best }
        return servers.min(by: { $0.downUntil < $1.downUntil }) ?? servers[0]
    }

    /// The request's samples from a reply's choices, in tag order. llama.cpp's usage counts the
    /// reply's first choice only (October 2026): there the others' counts are estimated, `max_tokens`
    /// for a choice cut at the limit and otherwise from its length at the first choice's bytes per token.
    private func completions(for request: TextRequest, choices: [Choice], usage: (prompt: Int, completion: Int), seconds: Double,
                             usageCoversFirstOnly: Bool) -> [TextCompletion] {
        guard choices.count == request.n, Set(choices.map(\.index)) == Set(0..<request.n) else {
            return request.tags.map { .failed(tag: $0, "the server sent \(choices.count) choices for \(request.n) samples") }
        }
        var counts: [Int]
        if usageCoversFirstOnly && request.n > 1, let first = choices.first {
            let bytesPerToken = first.text.utf8.count > 0 && usage.completion > 0
                ? Double(first.text.utf8.count) / Double(usage.completion) : 4
            counts = choices.map { choice in
                if choice.index == first.index { return usage.completion }
                if choice.finishReason == .length { return request.maxTokens }
                return max(1, Int((Double(choice.text.utf8.count) / bytesPerToken).rounded()))
            }
        } else {
            // Usage covers all samples: shared out, the remainder to the first ones.
            counts = choices.indices.map { i in usage.completion / request.n + (i < usage.completion % request.n ? 1 : 0) }
        }
        let order = choices.indices.sorted { choices[$0].index < choices[$1].index }
        counts = order.map { counts[$0] }
        let sorted = order.map { choices[$0] }
        totals.generatedTokens += counts.reduce(0, +)
        totals.promptTokens += usage.prompt
        return zip(request.tags, sorted).enumerated().map { i, pair in
            var s = CompletionStatistics()
            s.generatedTokens = counts[i]
            s.promptTokens = i == 0 ? usage.prompt : 0
            s.seconds = seconds
            return TextCompletion(tag: pair.0, text: pair.1.text, finishReason: pair.1.finishReason, statistics: s)
        }
    }

    /// The JSON body of a call. llama.cpp's extra samplers are switched off (only temperature,
    /// top-k and top-p, in the local engine's order) so that the workflow's sampling means the same.
    func body(_ request: TextRequest) throws -> Data {
        let p = request.sampling
        var object: [String: Any] = [
            "model": modelName,
            "prompt": request.prompt,
            "max_tokens": request.maxTokens,
            "temperature": Double(p.temperature),
            // 0 and below switch top-k off in llama.cpp; vLLM and SGLang read -1 so.
            "top_k": p.topK > 0 ? p.topK : -1,
            "top_p": Double(p.topP),
            "min_p": 0,
            "seed": Int(truncatingIfNeeded: Self.seed(p.seed, tag: request.tags.first ?? "") & 0x7fff_ffff),
            "samplers": ["temperature", "top_k", "top_p"],
            "repeat_penalty": 1,
            "repetition_penalty": 1,
            "presence_penalty": 0,
            "frequency_penalty": 0,
            "dry_multiplier": 0,
            "xtc_probability": 0,
            "typical_p": 1,
            "cache_prompt": true,
            "stream": false,
        ]
        if !request.stopStrings.isEmpty { object["stop"] = request.stopStrings }
        if request.n > 1 { object["n"] = request.n }
        return try JSONSerialization.data(withJSONObject: object)
    }

    /// A call's seed: the workflow's seed mixed with its tag (FNV-1a), so calls differ and a
    /// rerun repeats them.
    static func seed(_ seed: UInt64, tag: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in tag.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return h
    }

    private func send(_ request: TextRequest, to server: Server, id: Int, inbox: Inbox) throws -> any HTTPCall {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let apiKey { headers.append(("Authorization", "Bearer \(apiKey)")) }
        let exchange = HTTPExchange(url: server.base.appendingPathComponent("completions"), method: "POST", headers: headers,
                                    body: try body(request), timeout: target.timeoutSeconds)
        let start = DispatchTime.now()
        let key = apiKey
        let timeout = target.timeoutSeconds
        return transports.start(exchange) { result in
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            inbox.put(Reply(id: id, server: server, seconds: seconds, outcome: Self.outcome(result, timeout: timeout, key: key)))
        }
    }

    /// What an HTTP exchange amounts to.
    private static func outcome(_ result: HTTPOutcome, timeout: Double, key: String?) -> Outcome {
        let status: Int, headers: [String: String], data: Data
        switch result {
        case .timedOut: return .retry("no reply within \(format(timeout)) s (models.target.timeout)", retryAfter: nil, serverFault: true)
        case .cancelled: return .fatal("cancelled")
        case let .failed(why): return .retry(scrub("cannot reach the server: \(why)", key), retryAfter: nil, serverFault: true)
        case let .response(s, h, d): (status, headers, data) = (s, h, d)
        }
        let message = scrub(errorMessage(data), key)
        switch status {
        case 200..<300:
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let rawChoices = object["choices"] as? [[String: Any]] else {
                return .retry("the server's reply is not a completions JSON object (\(data.count) bytes)", retryAfter: nil, serverFault: true)
            }
            var choices: [Choice] = []
            for (i, c) in rawChoices.enumerated() {
                guard let text = c["text"] as? String else {
                    return .retry("a choice in the server's reply has no text", retryAfter: nil, serverFault: true)
                }
                let reason: FinishReason = (c["finish_reason"] as? String) == "length" ? .length : .stop
                choices.append(Choice(index: (c["index"] as? Int) ?? i, text: text, finishReason: reason))
            }
            let usage = object["usage"] as? [String: Any]
            return .done(choices, usage: ((usage?["prompt_tokens"] as? Int) ?? 0, (usage?["completion_tokens"] as? Int) ?? 0))
        case 408, 429, 503:
            let after = headers["retry-after"].flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            return .retry("HTTP \(status) \(message)", retryAfter: after, serverFault: status != 429)
        case 500...:
            return .retry("HTTP \(status) \(message)", retryAfter: nil, serverFault: true)
        case 401, 403:
            return .fatal("HTTP \(status): the server refused the API key \(message)")
        default:
            return .fatal("HTTP \(status) \(message)")
        }
    }

    /// The server's own error text, short.
    static func errorMessage(_ data: Data) -> String {
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        let text = ((object?["error"] as? [String: Any])?["message"] as? String)
            ?? (object?["error"] as? String) ?? (object?["message"] as? String)
            ?? String(decoding: data.prefix(200), as: UTF8.self)
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? "" : "(\(trimmed.prefix(300)))"
    }

    /// A message with the API key cut out, should a server or a library echo it.
    static func scrub(_ text: String, _ key: String?) -> String {
        guard let key, !key.isEmpty else { return text }
        return text.replacingOccurrences(of: key, with: "[API key]")
    }

    // MARK: URLs

    /// The API base: the URL as given when it ends in /v1 (or deeper), else with /v1 added.
    static func apiBase(_ url: URL) -> URL {
        let path = url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path
        if path.split(separator: "/").contains("v1") { return url }
        return url.appendingPathComponent("v1")
    }

    /// A URL for messages and provenance: without user, password or query.
    static func display(_ url: URL) -> String {
        guard var parts = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return url.absoluteString }
        parts.user = nil
        parts.password = nil
        parts.query = nil
        return parts.string ?? url.absoluteString
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    /// Replies handed from URLSession's threads to the thread running `generate`.
    private final class Inbox: @unchecked Sendable {
        let signal = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var replies: [Reply] = []
        func put(_ reply: Reply) {
            lock.lock()
            replies.append(reply)
            lock.unlock()
            signal.signal()
        }
        func take() -> [Reply] {
            lock.lock()
            defer { lock.unlock() }
            let out = replies
            replies.removeAll()
            return out
        }
    }
}
