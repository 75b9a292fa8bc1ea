import Foundation
import SeedFlow

/// `run`'s progress on stderr: on a terminal one line redrawn in place at every step; elsewhere
/// (a file, a pipe, `nohup`) a plain line every `interval` seconds, so a log shows how far a long
/// run has come without filling up with redraws.
struct ProgressOutput {
    enum Style: Equatable {
        case off
        case terminal
        case plain(interval: Double)
    }

    /// Seconds between two plain lines.
    static let defaultInterval = 10.0

    /// The environment variable that shortens (or lengthens) the plain lines' interval: a testing
    /// aid, in seconds; 0 prints a line at every step.
    static let intervalVariable = "SEEDFLOW_PROGRESS_INTERVAL"

    let style: Style
    /// Whether anything checks the answers: if not, inputs are "finished", never "solved".
    let answersChecked: Bool
    private var lastLine: Double?

    /// `forced`: `--progress` (true) or `--no-progress` (false); nil: shown unless the summary
    /// goes out as JSON. A terminal gets the redrawn line, anything else the plain one.
    init(forced: Bool?, json: Bool, stderrIsTerminal: Bool, answersChecked: Bool,
         environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.answersChecked = answersChecked
        guard forced ?? !json else {
            style = .off
            return
        }
        if stderrIsTerminal {
            style = .terminal
        } else {
            let given = environment[Self.intervalVariable].flatMap(Double.init)
            style = .plain(interval: given.map { $0.isFinite && $0 >= 0 ? $0 : Self.defaultInterval } ?? Self.defaultInterval)
        }
    }

    mutating func update(_ p: RunProgress) {
        switch style {
        case .off:
            return
        case .terminal:
            let acceptance = p.acceptance.map { String(format: " | acceptance %.0f%%", $0 * 100) } ?? ""
            StandardStreams.error(String(format: "\r\u{1B}[K%d/%d inputs done | %d running | depth %d | %.0f tokens/s", p.inputsDone,
                                         p.inputsTotal, p.running, p.deepestLevel, p.tokensPerSecond) + acceptance
                                  + " | " + Self.eta(p))
        case let .plain(interval):
            if let lastLine, p.elapsedSeconds - lastLine < interval { return }
            // The first line comes after one interval, not at the first step.
            if lastLine == nil && p.elapsedSeconds < interval {
                return
            }
            lastLine = p.elapsedSeconds
            StandardStreams.error(Self.plainLine(p, answersChecked: answersChecked) + "\n")
        }
    }

    /// Clears the terminal line before the summary.
    func finish() {
        if style == .terminal { StandardStreams.error("\r\u{1B}[K") }
    }

    static func plainLine(_ p: RunProgress, answersChecked: Bool) -> String {
        let solved = answersChecked ? "\(p.solved) solved" : "nothing checks the answers"
        return "seedflow: progress: \(p.inputsDone)/\(p.inputsTotal) inputs done, \(solved), "
            + String(format: "%.0f tokens/s", p.tokensPerSecond) + ", \(duration(p.elapsedSeconds)) elapsed, \(eta(p))"
    }

    /// "ETA 3m 20s" at the pace so far; "ETA —" until the first input has finished.
    static func eta(_ p: RunProgress) -> String {
        p.etaSeconds.map { "ETA " + duration($0) } ?? "ETA —"
    }

    /// 42s, 3m 05s, 1h 02m.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.isFinite ? max(0, seconds.rounded()) : 0)
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm %02ds", s / 60, s % 60) }
        return String(format: "%dh %02dm", s / 3600, s % 3600 / 60)
    }
}
