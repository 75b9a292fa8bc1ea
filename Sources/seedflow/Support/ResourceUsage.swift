import Foundation

/// Resident memory of this process, from the kernel's own accounting.
enum ResourceUsage {
    /// Peak resident set size ("high water mark", VmHWM in /proc/self/status), in bytes; nil where
    /// /proc is not available (not Linux).
    static func peakResidentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            // "VmHWM:     123456 kB"
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kib = Int(fields[1]) else { return nil }
            return kib * 1024
        }
        return nil
    }

    /// Starts the peak over from the current resident size (Linux: "5" to /proc/self/clear_refs),
    /// so that memory used only to prepare a measurement is not counted in it. Freed heap goes
    /// back to the system first: glibc keeps large freed blocks for reuse (after writing a random
    /// 0.5B model, about 22 MiB), which would otherwise stay resident and count.
    static func resetPeak() {
        // glibc's malloc_trim, looked up at run time: the Glibc module does not declare it, and
        // other C libraries do not have it.
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
            typealias Trim = @convention(c) (Int) -> Int32
            _ = unsafeBitCast(symbol, to: Trim.self)(0)
        }
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}
