import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import SeedFlow

/// The plain-HTTP transport against a scripted server on 127.0.0.1: body framings, kept-alive
/// connections, a server that closes them, timeouts, cancellation and a refused connection.
/// (The remote backend's tests run it against a real llama.cpp server.)
final class SocketTransportTests: XCTestCase {
    /// Accepts connections and answers each request with what `reply` says for it (by the
    /// request's number, from 0); nil leaves the request unanswered.
    final class ScriptedServer: @unchecked Sendable {
        let port: Int
        private let listener: Int32
        private let lock = NSLock()
        private(set) var connections = 0
        private(set) var requests: [String] = []
        private let reply: @Sendable (Int) -> (bytes: String, close: Bool)?

        init(reply: @escaping @Sendable (Int) -> (bytes: String, close: Bool)?) throws {
            self.reply = reply
            listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = listener
            let ok = withUnsafeMutablePointer(to: &address) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            guard ok, listen(listener, 16) == 0 else { throw XCTSkip("cannot listen on 127.0.0.1") }
            port = Int(UInt16(bigEndian: address.sin_port))
            Thread { [self] in acceptLoop() }.start()
        }

        func stop() { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }

        var connectionCount: Int { lock.withLock { connections } }
        var requestLines: [String] { lock.withLock { requests } }

        private func acceptLoop() {
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                lock.withLock { connections += 1 }
                Thread { [self] in serve(client) }.start()
            }
        }

        private func serve(_ fd: Int32) {
            defer { close(fd) }
            var buffer: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                // One request: head, then Content-Length bytes of body.
                var headEnd: Int?
                while headEnd == nil {
                    if let r = buffer.firstRange(of: [13, 10, 13, 10]) { headEnd = r.upperBound; break }
                    let n = recv(fd, &chunk, chunk.count, 0)
                    if n <= 0 { return }
                    buffer += chunk[0..<n]
                }
                let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                while buffer.count < headEnd! + length {
                    let n = recv(fd, &chunk, chunk.count, 0)
                    if n <= 0 { return }
                    buffer += chunk[0..<n]
                }
                buffer.removeFirst(headEnd! + length)
                let number: Int = lock.withLock {
                    requests.append(head.components(separatedBy: "\r\n").first ?? "")
                    return requests.count - 1
                }
                guard let answer = reply(number) else {
                    // Unanswered: hold the connection until the client goes.
                    while recv(fd, &chunk, chunk.count, 0) > 0 {}
                    return
                }
                let bytes = Array(answer.bytes.utf8)
                _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if answer.close { return }
            }
        }
    }

    private func exchange(_ port: Int, path: String = "/v1/completions", body: String = "{}", timeout: Double = 5) -> HTTPExchange {
        HTTPExchange(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, method: "POST",
                     headers: [("Content-Type", "application/json")], body: Data(body.utf8), timeout: timeout)
    }

    /// Runs one exchange to its end.
    private func run(_ transport: SocketTransport, _ exchange: HTTPExchange, cancelAfter: Double? = nil) -> HTTPOutcome {
        let done = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var outcome: HTTPOutcome = .failed("no outcome") }
        let box = Box()
        let call = transport.start(exchange) { box.outcome = $0; done.signal() }
        if let cancelAfter {
            usleep(UInt32(cancelAfter * 1e6))
            call.cancel()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "the exchange ends")
        return box.outcome
    }

    private func body(_ outcome: HTTPOutcome, file: StaticString = #filePath, line: UInt = #line) -> (Int, [String: String], String)? {
        guard case let .response(status, headers, data) = outcome else {
            XCTFail("no response: \(outcome)", file: file, line: line)
            return nil
        }
        return (status, headers, String(decoding: data, as: UTF8.self))
    }

    func testContentLengthChunkedAndReadToCloseBodies() throws {
        let server = try ScriptedServer { n in
            switch n {
            case 0: return ("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Seen: a\r\n\r\nhello world", false)
            case 1: return ("HTTP/1.1 503 Busy\r\nRetry-After: 2\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n", false)
            default: return ("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", true)
            }
        }
        defer { server.stop() }
        let transport = SocketTransport()
        let a = body(run(transport, exchange(server.port)))
        XCTAssertEqual(a?.0, 200)
        XCTAssertEqual(a?.1["x-seen"], "a", "header names are lower-cased")
        XCTAssertEqual(a?.2, "hello world")
        let b = body(run(transport, exchange(server.port)))
        XCTAssertEqual(b?.0, 503)
        XCTAssertEqual(b?.1["retry-after"], "2")
        XCTAssertEqual(b?.2, "hello world", "chunks joined, extensions and trailer skipped")
        let c = body(run(transport, exchange(server.port)))
        XCTAssertEqual(c?.2, "until the end")
        XCTAssertEqual(server.connectionCount, 1, "kept alive: three exchanges on one connection")
        XCTAssertEqual(server.requestLines.first, "POST /v1/completions HTTP/1.1")
        // The last reply closed its connection: the next exchange opens a new one.
        _ = body(run(transport, exchange(server.port)))
        XCTAssertEqual(server.connectionCount, 2)
    }

    func testAConnectionTheServerClosedIsNotReused() throws {
        // Every reply says keep-alive but the server closes the connection after it.
        let server = try ScriptedServer { _ in ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true) }
        defer { server.stop() }
        let transport = SocketTransport()
        for _ in 0..<5 {
            XCTAssertEqual(body(run(transport, exchange(server.port)))?.2, "ok")
            usleep(20_000)
        }
        XCTAssertEqual(server.connectionCount, 5)
    }

    func testAServerThatDoesNotAnswerTimesOut() throws {
        let server = try ScriptedServer { _ in nil }
        defer { server.stop() }
        let start = Date()
        let outcome = run(SocketTransport(), exchange(server.port, timeout: 0.5))
        guard case .timedOut = outcome else { return XCTFail("\(outcome)") }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
    }

    func testCancelEndsAnExchangeAtOnce() throws {
        let server = try ScriptedServer { _ in nil }
        defer { server.stop() }
        let start = Date()
        let outcome = run(SocketTransport(), exchange(server.port, timeout: 30), cancelAfter: 0.2)
        guard case .cancelled = outcome else { return XCTFail("\(outcome)") }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
    }

    func testMalformedFramingIsRefusedWithTheReason() throws {
        let server = try ScriptedServer { n in
            n == 0 ? ("HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n{}", true)
                   : ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", true)
        }
        defer { server.stop() }
        let transport = SocketTransport()
        guard case let .failed(length) = run(transport, exchange(server.port)) else { return XCTFail("a bad Content-Length fails") }
        XCTAssertTrue(length.contains("Content-Length 'lots'"), length)
        guard case let .failed(chunk) = run(transport, exchange(server.port)) else { return XCTFail("a bad chunk size fails") }
        XCTAssertTrue(chunk.contains("chunk size 'zz'"), chunk)
    }

    func testARefusedConnectionAndABrokenReplySayWhy() throws {
        let server = try ScriptedServer { n in
            n == 0 ? ("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", true) : ("SMTP ready\r\n\r\n", true)
        }
        let transport = SocketTransport()
        guard case let .failed(cut) = run(transport, exchange(server.port)) else { return XCTFail("a cut body fails") }
        XCTAssertTrue(cut.contains("5 of its 50 bytes"), cut)
        guard case let .failed(notHTTP) = run(transport, exchange(server.port)) else { return XCTFail("a reply that is not HTTP fails") }
        XCTAssertTrue(notHTTP.contains("not HTTP"), notHTTP)
        let port = server.port
        server.stop()
        guard case let .failed(refused) = run(transport, exchange(port)) else { return XCTFail("nothing listens") }
        XCTAssertTrue(refused.lowercased().contains("refused"), refused)
    }
}
