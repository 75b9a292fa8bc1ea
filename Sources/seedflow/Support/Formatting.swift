import Foundation

/// Human-readable numbers for the text outputs.
enum Formatting {
    /// 6561024 → "6.56 M".
    static func count(_ n: Int) -> String {
        switch n {
        case ..<1_000: "\(n)"
        case ..<1_000_000: String(format: "%.2f K", Double(n) / 1e3)
        case ..<1_000_000_000: String(format: "%.2f M", Double(n) / 1e6)
        default: String(format: "%.2f B", Double(n) / 1e9)
        }
    }

    static func rate(_ tokens: Int, seconds: Double) -> Double {
        seconds > 0 ? Double(tokens) / seconds : .infinity
    }

    static func rateText(_ rate: Double) -> String {
        rate.isFinite ? String(format: "%.1f", rate) : "-"
    }

    /// A vocabulary piece shown inside quotes, with invisible characters made visible.
    static func quoted(_ piece: String) -> String {
        var out = "'"
        for scalar in piece.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "'": out += "\\'"
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                out += String(format: "\\x%02x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "'"
    }
}
