import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// HTTP through Foundation's URLSession: HTTPS with certificate verification.
final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    private let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 4096
        configuration.urlCache = nil
        configuration.httpShouldSetCookies = false
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration)
    }

    deinit { session.invalidateAndCancel() }

    private final class Task: HTTPCall, @unchecked Sendable {
        var task: URLSessionDataTask?
        func cancel() { task?.cancel() }
    }

    func start(_ exchange: HTTPExchange, completion: @escaping @Sendable (HTTPOutcome) -> Void) -> any HTTPCall {
        var request = URLRequest(url: exchange.url)
        request.httpMethod = exchange.method
        for header in exchange.headers { request.setValue(header.value, forHTTPHeaderField: header.name) }
        if !exchange.body.isEmpty { request.httpBody = exchange.body }
        request.timeoutInterval = exchange.timeout
        let call = Task()
        let task = session.dataTask(with: request) { data, response, error in
            if let error {
                switch (error as? URLError)?.code {
                case .timedOut?: completion(.timedOut)
                case .cancelled?: completion(.cancelled)
                default: completion(.failed(error.localizedDescription))
                }
                return
            }
            guard let http = response as? HTTPURLResponse else {
                completion(.failed("the reply is not HTTP"))
                return
            }
            var headers: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String { headers[name.lowercased()] = "\(value)" }
            }
            completion(.response(status: http.statusCode, headers: headers, body: data ?? Data()))
        }
        call.task = task
        task.resume()
        return call
    }
}
