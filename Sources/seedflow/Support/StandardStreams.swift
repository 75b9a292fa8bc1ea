#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SeedModel

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

    /// Returns 0, or the errno of a failed write.
    private static func writeAll(_ text: String, to descriptor: Int32) -> Int32 {
        var text = text
        return text.withUTF8 { FileWriting.writeAll(descriptor, UnsafeRawBufferPointer($0)) }
    }
}
