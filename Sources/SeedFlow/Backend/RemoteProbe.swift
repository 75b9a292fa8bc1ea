import Foundation

/// The first look at a server, before a run: the models it serves (`/v1/models`) and, from a
/// llama.cpp server, its slots and model file (`/props`). Both are asked at once and briefly, so
/// that a server that is not there fails the run within a second.
final class Probe: @unchecked Sendable {
    struct Model {
        var id: String
        /// What the server says the model is, for provenance: its id and, where given, its
        /// parameter count, size and vocabulary (llama.cpp `meta`), and the file it loaded.
        var identity: String
    }

    /// Seconds a server has to answer the probe.
    static let timeout = 1.0

    private let done = DispatchGroup()
    private let lock = NSLock()
    private var modelsReply: HTTPOutcome = .timedOut
    private var propsReply: HTTPOutcome = .timedOut

    static func start(server: RemoteBackend.Server, transports: HTTPTransports, key: String?) -> Probe {
        let probe = Probe()
        func get(_ url: URL, _ store: @escaping @Sendable (HTTPOutcome) -> Void) {
            var headers: [(name: String, value: String)] = []
            if let key { headers.append(("Authorization", "Bearer \(key)")) }
            probe.done.enter()
            _ = transports.start(HTTPExchange(url: url, headers: headers, timeout: timeout)) { outcome in
                store(outcome)
                probe.done.leave()
            }
        }
        get(server.base.appendingPathComponent("models")) { o in probe.lock.withLock { probe.modelsReply = o } }
        // llama.cpp answers /props at its root, beside /v1.
        get(server.base.deletingLastPathComponent().appendingPathComponent("props")) { o in probe.lock.withLock { probe.propsReply = o } }
        return probe
    }

    /// The models the server lists; throws what makes it unusable, in words.
    func models(display: String, key: String?) throws -> [Model] {
        _ = done.wait(timeout: .now() + Self.timeout + 1)
        let status: Int, body: Data
        switch lock.withLock({ modelsReply }) {
        case .timedOut, .cancelled:
            throw RemoteError.unreachable(server: display, why: "no answer within \(Self.timeout) s")
        case let .failed(why):
            throw RemoteError.unreachable(server: display, why: RemoteBackend.scrub(why, key))
        case let .response(s, _, d): (status, body) = (s, d)
        }
        if status == 401 || status == 403 {
            throw RemoteError.unauthorized(server: display, status: status, keyGiven: key != nil)
        }
        guard status == 200, let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let list = object["data"] as? [[String: Any]] else {
            throw RemoteError.notOpenAI(server: display, detail: "GET /models answered HTTP \(status) \(RemoteBackend.scrub(RemoteBackend.errorMessage(body), key))")
        }
        let path = props?["model_path"] as? String
        return list.compactMap { entry in
            guard let id = entry["id"] as? String else { return nil }
            var parts = [id]
            if let meta = entry["meta"] as? [String: Any] {
                for field in ["n_params", "size", "n_vocab", "n_ctx_train"] {
                    if let v = meta[field] as? NSNumber { parts.append("\(field)=\(v.int64Value)") }
                }
            }
            if let path, path != id { parts.append("file=\((path as NSString).lastPathComponent)") }
            return Model(id: id, identity: parts.joined(separator: " "))
        }
    }

    /// llama.cpp's `/props`, when the server has it (parsed once, after the probe's wait).
    private lazy var props: [String: Any]? = {
        guard case let .response(200, _, data) = lock.withLock({ propsReply }) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }()

    /// Whether the server answered `/props` as llama.cpp's does.
    var isLlamaCpp: Bool { props?["total_slots"] != nil }

    /// The server's slots (llama.cpp `/props` `total_slots`), or nil.
    func slots() -> Int? {
        (props?["total_slots"] as? NSNumber).map(\.intValue).flatMap { $0 > 0 ? $0 : nil }
    }
}

/// Why a remote target cannot be used, with what to do about it.
public enum RemoteError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case missingKey(variable: String)
    case insecureKey(url: String)
    case unreachable(server: String, why: String)
    case unauthorized(server: String, status: Int, keyGiven: Bool)
    case notOpenAI(server: String, detail: String)
    case unknownModel(name: String, server: String, served: [String])
    case modelNeeded(server: String, served: [String])
    case serversDiffer(first: String, other: String, server: String)
    case draftsWithRemoteTarget(strategy: String)

    public var description: String {
        switch self {
        case let .missingKey(variable):
            return "the environment variable \(variable) (models.target.api_key_env) is not set — export it with the API key"
        case let .insecureKey(url):
            return "\(url) is plain HTTP to a host that is not this machine: the API key would cross the network readable — use https://, or allow it explicitly"
        case let .unreachable(server, why):
            return "cannot reach the server at \(server): \(why) — start it, or fix models.target.url"
        case let .unauthorized(server, status, keyGiven):
            return keyGiven ? "the server at \(server) refused the API key (HTTP \(status)) — check the key in the variable models.target.api_key_env names"
                : "the server at \(server) wants an API key (HTTP \(status)) — set models.target.api_key_env to the name of a variable holding it"
        case let .notOpenAI(server, detail):
            return "the server at \(server) does not answer as an OpenAI-compatible server: \(detail) — check the URL (it should end in /v1)"
        case let .unknownModel(name, server, served):
            return "the server at \(server) does not serve a model named '\(name)'; it serves \(served.map { "'\($0)'" }.joined(separator: ", ")) — set models.target.model to one of them"
        case let .modelNeeded(server, served):
            return served.isEmpty ? "the server at \(server) lists no model — wait until it has loaded one"
                : "the server at \(server) serves several models (\(served.joined(separator: ", "))) — name one in models.target.model"
        case let .serversDiffer(first, other, server):
            return "the servers do not serve the same model: one has '\(first)', \(server) has '\(other)' — give urls that serve one model"
        case let .draftsWithRemoteTarget(strategy):
            return "strategy '\(strategy)' needs local drafts, and the target is remote: exact verification needs the target's whole next-token distribution, which the completions protocol does not return — let the server speculate (llama.cpp: -md DRAFT.gguf; vLLM: --speculative-config) and run autoregressive"
        }
    }

    public var errorDescription: String? { description }
}
