import Foundation

/// A minimal SVG line plot: several series over a log-2 x axis (k = 1, 2, 4, ...) and a y axis
/// fixed to [0, 1] (accuracies and coverage), with optional interval bands, axis labels, a legend
/// and a title. Hand-written SVG keeps the module free of dependencies and the files diffable.
public struct LinePlot {
    public struct Point {
        public var x: Double
        public var y: Double
        public var lower: Double?
        public var upper: Double?
        public init(x: Double, y: Double, lower: Double? = nil, upper: Double? = nil) {
            self.x = x; self.y = y; self.lower = lower; self.upper = upper
        }
    }

    public struct Series {
        public var name: String
        public var points: [Point]
        public init(name: String, points: [Point]) { self.name = name; self.points = points }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var width = 640.0
    public var height = 420.0

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    /// Colour-blind-safe palette (Okabe & Ito 2008).
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

    // Plot area margins: room for tick labels, axis labels and the title.
    private let left = 64.0, right = 24.0, top = 44.0, bottom = 56.0

    public func svg() -> String {
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        // Only positive x can go on a log axis.
        let xs = Set(series.flatMap { $0.points.map(\.x) }.filter { $0 > 0 }).sorted()
        var lo = log2(xs.first ?? 1), hi = log2(xs.last ?? 2)
        if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }   // a single k: centre it
        func px(_ x: Double) -> Double { left + (log2(x) - lo) / (hi - lo) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - min(max(y, 0), 1)) * plotHeight }

        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(width / 2))" y="24" text-anchor="middle" font-size="15">\(escape(title))</text>

        """
        // Grid and y ticks every 0.1.
        for i in 0...10 {
            let y = py(Double(i) / 10)
            out += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#e5e5e5\"/>\n"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(String(format: "%.1f", Double(i) / 10))</text>\n"
        }
        // x ticks at the k values actually present.
        for x in xs {
            let xp = px(x)
            out += "<line x1=\"\(f(xp))\" y1=\"\(f(top))\" x2=\"\(f(xp))\" y2=\"\(f(top + plotHeight))\" stroke=\"#f0f0f0\"/>\n"
            out += "<text x=\"\(f(xp))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(label(x))</text>\n"
        }
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        out += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 14))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        out += "<text x=\"16\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(top + plotHeight / 2)))\">\(escape(yLabel))</text>\n"

        for (i, s) in series.enumerated() {
            let colour = Self.palette[i % Self.palette.count]
            let points = s.points.filter { $0.x > 0 }.sorted { $0.x < $1.x }
            out += "<g class=\"series\" data-name=\"\(escape(s.name))\">\n"
            // Interval: a translucent band through the bounds, or an error bar for a single point.
            let bounded = points.filter { $0.lower != nil && $0.upper != nil }
            if bounded.count > 1 {
                let upper = bounded.map { "\(f(px($0.x))),\(f(py($0.upper!)))" }
                let lower = bounded.reversed().map { "\(f(px($0.x))),\(f(py($0.lower!)))" }
                out += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(colour)\" fill-opacity=\"0.15\" stroke=\"none\"/>\n"
            } else if let p = bounded.first {
                out += "<line x1=\"\(f(px(p.x)))\" y1=\"\(f(py(p.lower!)))\" x2=\"\(f(px(p.x)))\" y2=\"\(f(py(p.upper!)))\" stroke=\"\(colour)\" stroke-width=\"2\" stroke-opacity=\"0.5\"/>\n"
            }
            if points.count > 1 {
                let line = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                out += "<polyline points=\"\(line)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            }
            for p in points {
                out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(colour)\"/>\n"
            }
            // Legend entry, top-left inside the plot area.
            let ly = top + 16 + Double(i) * 18
            out += "<line x1=\"\(f(left + 10))\" y1=\"\(f(ly - 4))\" x2=\"\(f(left + 30))\" y2=\"\(f(ly - 4))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
            out += "<text x=\"\(f(left + 36))\" y=\"\(f(ly))\">\(escape(s.name))</text>\n"
            out += "</g>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// Coordinates with two decimals and a "." whatever the locale.
    private func f(_ v: Double) -> String { String(format: "%.2f", v.isFinite ? v : 0) }

    private func label(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(format: "%g", x)
    }

    func escape(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 forbids most control characters even when escaped.
                if let v = ch.unicodeScalars.first?.value, v < 0x20, ch != "\t", ch != "\n" { out += " " } else { out.append(ch) }
            }
        }
        return out
    }
}

/// The standard plots of a run.
public enum Plots {
    /// pass@k (with its interval) and first-k coverage against k.
    public static func coverage(_ summary: Summary) -> LinePlot {
        LinePlot(title: "Coverage vs samples (\(summary.provenance.task))", xLabel: "samples k", yLabel: "fraction of problems solved",
                 series: [series("pass@k (unbiased)", summary.passAtK), series("coverage (first k)", summary.coverage)])
    }

    /// Each selection rule's accuracy against k.
    public static func accuracy(_ summary: Summary) -> LinePlot {
        let rules = summary.options.rules.filter { summary.accuracy[$0.rawValue] != nil }
        return LinePlot(title: "Selection accuracy vs samples (\(summary.provenance.task))", xLabel: "samples k", yLabel: "accuracy",
                        series: rules.map { series($0.rawValue, summary.accuracy[$0.rawValue] ?? [:]) })
    }

    /// Writes coverage.svg and accuracy.svg into `directory`.
    public static func write(_ summary: Summary, to directory: URL) throws {
        for (name, plot) in [("coverage.svg", coverage(summary)), ("accuracy.svg", accuracy(summary))] {
            try ResultStore.writeAtomically(Data(plot.svg().utf8), to: directory.appendingPathComponent(name))
        }
    }

    static func series(_ name: String, _ byK: [String: Estimate]) -> LinePlot.Series {
        let points = byK.compactMap { key, e in Double(key).map { LinePlot.Point(x: $0, y: e.mean, lower: e.lower, upper: e.upper) } }
        return LinePlot.Series(name: name, points: points.sorted { $0.x < $1.x })
    }
}
