import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain HTTP/1.1 over the system's sockets: one thread per exchange, blocked in `poll` until
/// its reply is whole, and kept-alive connections reused per host. Costs a handful of system
/// calls per exchange.
final class SocketTransport: HTTPTransport, @unchecked Sendable {
    /// Idle kept-alive connections by "host:port".
    private var idle: [String: [Int32]] = [:]
    private let lock = NSLock()
    /// Largest reply taken (a completion is kilobytes; this bounds a misbehaving server).
    static let maxReply = 64 << 20

    deinit {
        for fds in idle.values { for fd in fds { close(fd) } }
    }

    final class Call: HTTPCall, @unchecked Sendable {
        private let lock = NSLock()
        private var fd: Int32 = -1
        private(set) var cancelled = false

        func cancel() {
            lock.lock()
            cancelled = true
            // Wakes the exchange's poll; it sees `cancelled` and ends.
            if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
            lock.unlock()
        }

        /// Records the connection in use; false when cancelled already.
        func use(_ socket: Int32) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            if cancelled { return false }
            fd = socket
            return true
        }

        func release() {
            lock.lock()
            fd = -1
            lock.unlock()
        }
    }

    func start(_ exchange: HTTPExchange, completion: @escaping @Sendable (HTTPOutcome) -> Void) -> any HTTPCall {
        let call = Call()
        let thread = Thread { [self] in completion(self.run(exchange, call: call)) }
        thread.stackSize = 256 << 10
        thread.start()
        return call
    }

    // MARK: one exchange

    private struct Failure: Error {
        var outcome: HTTPOutcome
        /// Nothing of a reply came back on a reused connection: the server may have closed it
        /// while idle, so the request goes again on a new one.
        var staleConnection = false
    }

    private func run(_ exchange: HTTPExchange, call: Call) -> HTTPOutcome {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, exchange.timeout) * 1e9)
        guard let host = exchange.url.host, !host.isEmpty else { return .failed("the URL has no host") }
        let port = exchange.url.port ?? 80
        let key = "\(host):\(port)"
        let request = Self.requestBytes(exchange, host: host, port: port)
        for attempt in 0..<2 {
            var reused = false
            let fd: Int32
            if attempt == 0, let kept = takeIdle(key) {
                fd = kept
                reused = true
            } else {
                do { fd = try Self.connect(host: host, port: port, deadline: deadline, call: call) } catch let failure as Failure {
                    return call.cancelled ? .cancelled : failure.outcome
                } catch { return .failed("\(error)") }
            }
            guard call.use(fd) else { close(fd); return .cancelled }
            do {
                let (status, headers, body, keepAlive) = try Self.exchange(fd, request: request, deadline: deadline, call: call, reused: reused)
                call.release()
                if keepAlive { putIdle(key, fd) } else { close(fd) }
                return .response(status: status, headers: headers, body: body)
            } catch let failure as Failure {
                call.release()
                close(fd)
                if call.cancelled { return .cancelled }
                if failure.staleConnection && reused { continue }
                return failure.outcome
            } catch {
                call.release()
                close(fd)
                return .failed("\(error)")
            }
        }
        return .failed("the connection closed before a reply")
    }

    private func takeIdle(_ key: String) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        while let fd = idle[key]?.popLast() {
            // A kept connection the server has closed reads as ready (end of file): drop it.
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, 0) == 0 { return fd }
            close(fd)
        }
        return nil
    }

    private func putIdle(_ key: String, _ fd: Int32) {
        lock.lock()
        idle[key, default: []].append(fd)
        lock.unlock()
    }

    private static func requestBytes(_ exchange: HTTPExchange, host: String, port: Int) -> [UInt8] {
        let hostField = host.contains(":") ? "[\(host)]" : host
        var path = exchange.url.path.isEmpty ? "/" : exchange.url.path
        if let query = exchange.url.query { path += "?" + query }
        var head = "\(exchange.method) \(path) HTTP/1.1\r\nHost: \(hostField):\(port)\r\nConnection: keep-alive\r\n"
        for header in exchange.headers { head += "\(header.name): \(header.value)\r\n" }
        if !exchange.body.isEmpty || exchange.method == "POST" { head += "Content-Length: \(exchange.body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + Array(exchange.body)
    }

    /// Milliseconds left to the deadline, for poll; throws a timeout when none are.
    private static func remaining(_ deadline: UInt64) throws -> Int32 {
        let now = DispatchTime.now().uptimeNanoseconds
        guard now < deadline else { throw Failure(outcome: .timedOut) }
        return Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
    }

    private static func errnoText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// A connected, non-blocking socket to the first address of `host` that accepts.
    private static func connect(host: String, port: Int, deadline: UInt64, call: Call) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw Failure(outcome: .failed("cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let a = entry {
            entry = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd < 0 { lastError = errnoText(errno); continue }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            #if canImport(Glibc)
            let connected = Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen)
            #else
            let connected = Darwin.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen)
            #endif
            if connected == 0 { return fd }
            guard errno == EINPROGRESS else { lastError = errnoText(errno); close(fd); continue }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready: Int32
            do { ready = poll(&p, 1, try remaining(deadline)) } catch { close(fd); throw error }
            if ready == 0 { close(fd); throw Failure(outcome: .timedOut) }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == 0 { return fd }
            lastError = errnoText(error)
            close(fd)
        }
        throw Failure(outcome: .failed(lastError))
    }

    /// Sends the request and reads the whole reply: status, headers, body, and whether the
    /// connection may be used again.
    private static func exchange(_ fd: Int32, request: [UInt8], deadline: UInt64, call: Call, reused: Bool)
        throws -> (Int, [String: String], Data, Bool) {
        var sent = 0
        while sent < request.count {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, request.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&p, 1, try remaining(deadline)) == 0 { throw Failure(outcome: .timedOut) }
                if call.cancelled { throw Failure(outcome: .cancelled) }
                continue
            }
            if n < 0 && errno == EINTR { continue }
            throw Failure(outcome: .failed(errnoText(errno)), staleConnection: true)
        }

        var reader = Reader(fd: fd, deadline: deadline, call: call)
        // Status line and header fields.
        let head: [UInt8]
        do { head = try reader.readHead() } catch var failure as Failure {
            failure.staleConnection = reader.total == 0
            throw failure
        }
        guard let text = String(bytes: head, encoding: .isoLatin1) else { throw Failure(outcome: .failed("the reply's header is not text")) }
        var lines = text.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw Failure(outcome: .failed("the reply is not HTTP/1.x"))
        }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = headers[name].map { $0 + ", " + value } ?? value
        }
        let version10 = statusLine[0] == "HTTP/1.0"
        let connection = headers["connection"]?.lowercased() ?? ""
        var keepAlive = version10 ? connection.contains("keep-alive") : !connection.contains("close")

        let body: [UInt8]
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try reader.readChunked()
        } else if let lengthText = headers["content-length"] {
            guard let length = Int(lengthText.trimmingCharacters(in: .whitespaces)), length >= 0, length <= maxReply else {
                throw Failure(outcome: .failed("the reply's Content-Length '\(lengthText)' is not usable"))
            }
            body = try reader.read(count: length)
        } else if status == 204 || status == 304 || (100..<200).contains(status) {
            body = []
        } else {
            body = try reader.readToEnd()
            keepAlive = false
        }
        if reader.hasLeftover { keepAlive = false }
        return (status, headers, Data(body), keepAlive)
    }

    /// Buffered reads from a non-blocking socket, each waiting in poll until the deadline.
    private struct Reader {
        let fd: Int32
        let deadline: UInt64
        let call: Call
        var buffer: [UInt8] = []
        /// Where each recv lands before it joins `buffer` (one allocation per exchange).
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        var start = 0
        /// Bytes received so far.
        var total = 0
        var closed = false

        init(fd: Int32, deadline: UInt64, call: Call) {
            self.fd = fd
            self.deadline = deadline
            self.call = call
            buffer.reserveCapacity(16 << 10)
        }

        var hasLeftover: Bool { start < buffer.count }

        /// Reads more bytes into the buffer; false at end of file.
        mutating func fill() throws -> Bool {
            if closed { return false }
            if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if call.cancelled { throw Failure(outcome: .cancelled) }
                if n > 0 {
                    buffer.append(contentsOf: chunk[0..<n])
                    total += n
                    if buffer.count - start > SocketTransport.maxReply { throw Failure(outcome: .failed("the reply is larger than \(SocketTransport.maxReply >> 20) MiB")) }
                    return true
                }
                if n == 0 { closed = true; return false }
                if errno == EINTR { continue }
                guard errno == EAGAIN || errno == EWOULDBLOCK else {
                    throw Failure(outcome: .failed(SocketTransport.errnoText(errno)))
                }
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, try SocketTransport.remaining(deadline)) == 0 { throw Failure(outcome: .timedOut) }
            }
        }

        private func find(_ pattern: [UInt8], from: Int) -> Int? {
            guard buffer.count - from >= pattern.count else { return nil }
            var i = from
            while i <= buffer.count - pattern.count {
                if buffer[i] == pattern[0] && buffer[i..<(i + pattern.count)].elementsEqual(pattern) { return i }
                i += 1
            }
            return nil
        }

        /// The bytes up to the blank line that ends the header fields (the blank line consumed).
        mutating func readHead() throws -> [UInt8] {
            var searched = start
            while true {
                if let end = find([13, 10, 13, 10], from: max(start, searched - 3)) {
                    let head = Array(buffer[start..<end])
                    start = end + 4
                    return head
                }
                searched = buffer.count
                if buffer.count - start > 64 << 10 { throw Failure(outcome: .failed("the reply's header is larger than 64 KiB")) }
                guard try fill() else {
                    throw Failure(outcome: .failed(total == 0 ? "the server closed the connection without a reply" : "the reply ends inside its header"))
                }
            }
        }

        mutating func read(count: Int) throws -> [UInt8] {
            while buffer.count - start < count {
                guard try fill() else { throw Failure(outcome: .failed("the reply ends after \(buffer.count - start) of its \(count) bytes")) }
            }
            let out = Array(buffer[start..<(start + count)])
            start += count
            return out
        }

        mutating func readLine() throws -> [UInt8] {
            while true {
                if let end = find([13, 10], from: start) {
                    let line = Array(buffer[start..<end])
                    start = end + 2
                    return line
                }
                guard try fill() else { throw Failure(outcome: .failed("the reply ends inside a chunk header")) }
            }
        }

        mutating func readChunked() throws -> [UInt8] {
            var body: [UInt8] = []
            while true {
                let line = try readLine()
                let sizeText = String(decoding: line.prefix { $0 != UInt8(ascii: ";") }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                guard let size = Int(sizeText, radix: 16), size >= 0 else { throw Failure(outcome: .failed("a chunk size '\(sizeText)' is not hexadecimal")) }
                if size == 0 {
                    // Trailer fields, up to a blank line.
                    while try !readLine().isEmpty {}
                    return body
                }
                guard body.count + size <= SocketTransport.maxReply else { throw Failure(outcome: .failed("the reply is larger than \(SocketTransport.maxReply >> 20) MiB")) }
                body += try read(count: size)
                guard try readLine().isEmpty else { throw Failure(outcome: .failed("a chunk does not end where its size says")) }
            }
        }

        mutating func readToEnd() throws -> [UInt8] {
            while try fill() {}
            let out = Array(buffer[start...])
            start = buffer.count
            return out
        }
    }
}
