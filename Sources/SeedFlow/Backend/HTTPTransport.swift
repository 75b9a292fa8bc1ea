import Foundation

/// One HTTP exchange as the remote backend asks for it.
struct HTTPExchange: Sendable {
    var url: URL
    var method = "GET"
    /// Header fields besides Host, Content-Length and Connection, which the transport sets.
    var headers: [(name: String, value: String)] = []
    var body = Data()
    /// Seconds the whole exchange may take, connecting included.
    var timeout: Double
}

/// What an exchange came to: a response (any status), or why there was none.
enum HTTPOutcome: Sendable {
    /// `headers` with lower-cased names.
    case response(status: Int, headers: [String: String], body: Data)
    case timedOut
    case cancelled
    /// Refused, reset, unresolvable, malformed: the reason in words.
    case failed(String)
}

/// An exchange under way; `cancel` ends it with `.cancelled` (unless it has ended already).
protocol HTTPCall: AnyObject, Sendable {
    func cancel()
}

/// How requests reach a server. The backend's plain-HTTP calls go over its own sockets
/// (`SocketTransport`): URLSession on Linux spends several milliseconds of CPU per call in its
/// dispatch machinery, which on a machine shared with the server slows the server. HTTPS goes
/// through URLSession (`URLSessionTransport`), which verifies certificates.
protocol HTTPTransport: Sendable {
    /// Starts the exchange; `completion` runs once, on another thread.
    func start(_ exchange: HTTPExchange, completion: @escaping @Sendable (HTTPOutcome) -> Void) -> any HTTPCall
}

/// The transport for `url`: own sockets for http://, URLSession for the rest.
struct HTTPTransports: Sendable {
    let plain = SocketTransport()
    let secure = URLSessionTransport()

    func transport(for url: URL) -> any HTTPTransport {
        url.scheme?.lowercased() == "http" ? plain : secure
    }

    func start(_ exchange: HTTPExchange, completion: @escaping @Sendable (HTTPOutcome) -> Void) -> any HTTPCall {
        transport(for: exchange.url).start(exchange, completion: completion)
    }
}
