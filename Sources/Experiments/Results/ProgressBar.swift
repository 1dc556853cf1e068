import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress display for long runs:
///
///     [#####.....] 12/64 samples 3.2 tok/s ETA 1m05s
///
/// `render` is a pure function (tested); `ProgressPrinter` redraws it on stderr, and only when
/// stderr is a terminal, so piped output and `--json` stay clean.
public enum ProgressBar {
    public static func render(done: Int, total: Int, unit: String = "samples", tokensPerSecond: Double? = nil,
                              elapsed: Double, width: Int = 10) -> String {
        let fraction = total > 0 ? min(max(Double(done) / Double(total), 0), 1) : 0
        let filled = Int((fraction * Double(width)).rounded(.down))
        var line = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: max(0, width - filled)) + "] "
        line += "\(done)/\(total) \(unit)"
        if let rate = tokensPerSecond, rate.isFinite { line += String(format: " %.1f tok/s", rate) }
        // Remaining time at the average pace so far; unknown until something is done.
        if done > 0, done < total, elapsed > 0 {
            line += " ETA " + duration(elapsed * Double(total - done) / Double(done))
        } else if done >= total, total > 0 {
            line += " done in " + duration(elapsed)
        }
        return line
    }

    /// "45s", "1m05s", "2h03m".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}

/// Redraws a progress bar on stderr (carriage return, no newline until `finish`).
public final class ProgressPrinter {
    public let total: Int
    public let unit: String
    /// False when stderr is not a terminal or the caller asked for quiet output.
    public let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast

    public init(total: Int, unit: String = "samples", quiet: Bool = false) {
        self.total = total
        self.unit = unit
        enabled = !quiet && isatty(STDERR_FILENO) != 0
    }

    /// Redraws at most ten times a second, and always at the end.
    public func update(done: Int, tokensPerSecond: Double? = nil) {
        guard enabled else { return }
        let now = Date()
        guard done >= total || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let line = ProgressBar.render(done: done, total: total, unit: unit, tokensPerSecond: tokensPerSecond,
                                      elapsed: now.timeIntervalSince(start))
        FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
    }

    /// Ends the line so later output starts on a fresh one.
    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
