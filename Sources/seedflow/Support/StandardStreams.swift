#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes straight to the stdout and stderr file descriptors, unbuffered: `generate` streams text
/// as it decodes, and a reader on the other end of a pipe should see it then, not at exit.
enum StandardStreams {
    static func output(_ text: String) {
        writeAll(text, to: STDOUT_FILENO)
    }

    static func error(_ text: String) {
        writeAll(text, to: STDERR_FILENO)
    }

    private static func writeAll(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // A closed pipe or full disk: nothing useful left to do with the text.
                }
                offset += written
            }
        }
    }
}
