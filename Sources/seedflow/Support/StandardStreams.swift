#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes straight to the stdout and stderr file descriptors, unbuffered: `generate` streams text
/// as it decodes, and a reader on the other end of a pipe should see it then, not at exit.
enum StandardStreams {
    /// Output that cannot be written (a full disk, an I/O error) ends the command with status 1
    /// and says so: a command that exits 0 must have written what it printed. A reader that has
    /// gone away (a closed pipe: `seedflow generate … | head`) is not an error worth a message.
    static func output(_ text: String) {
        let failure = writeAll(text, to: STDOUT_FILENO)
        guard failure != 0, failure != EPIPE else { return }
        error("seedflow: cannot write to standard output: \(String(cString: strerror(failure)))\n")
        exit(1)
    }

    static func error(_ text: String) {
        _ = writeAll(text, to: STDERR_FILENO)  // Where would a failure to report a failure go?
    }

    /// Writes every byte, retrying after signals and waiting out a full non-blocking descriptor;
    /// returns 0, or the errno of a failed write.
    private static func writeAll(_ text: String, to descriptor: Int32) -> Int32 {
        var text = text
        return text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN || errno == EWOULDBLOCK {
                        // A non-blocking descriptor (set so by whoever gave it to us) that is
                        // full: wait until it takes more.
                        var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                        _ = poll(&ready, 1, -1)
                        continue
                    }
                    return errno
                }
                offset += written
            }
            return 0
        }
    }
}
