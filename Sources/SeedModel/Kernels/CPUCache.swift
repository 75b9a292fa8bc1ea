import Foundation

/// The machine's caches, as far as the kernels' choices need them.
public enum CPUCache {
    /// Size of the largest cache level of the first CPU, from sysfs (Linux); 32 MiB, a common
    /// server L3, where sysfs does not say. `sysconf(_SC_LEVEL3_CACHE_SIZE)` is not used: in
    /// this project's VM it reported 320 MiB for a 32 MiB L3.
    public static let lastLevelBytes: Int = {
        var best = (level: 0, bytes: 0)
        for index in 0..<8 {
            let directory = "/sys/devices/system/cpu/cpu0/cache/index\(index)/"
            guard let level = read(directory + "level").flatMap({ Int($0) }),
                  let size = read(directory + "size").flatMap(parseSize), level > best.level else { continue }
            best = (level, size)
        }
        return best.bytes > 0 ? best.bytes : 32 << 20
    }()

    private static func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// sysfs sizes: "32768K", "1024K", "32M", or plain bytes.
    static func parseSize(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        if let unit = text.last, let scale = units[unit] { return Int(text.dropLast()).map { $0 * scale } }
        return Int(text)
    }
}
