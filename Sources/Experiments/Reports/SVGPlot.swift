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
        LinePlot(title: "Coverage vs samples (\(summary.parameters.task))", xLabel: "samples k", yLabel: "fraction of problems solved",
                 series: [series("pass@k (unbiased)", summary.passAtK), series("coverage (first k)", summary.coverage)])
    }

    /// Each selection rule's accuracy against k.
    public static func accuracy(_ summary: Summary) -> LinePlot {
        let rules = summary.options.rules.filter { summary.accuracy[$0.rawValue] != nil }
        return LinePlot(title: "Selection accuracy vs samples (\(summary.parameters.task))", xLabel: "samples k", yLabel: "accuracy",
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

/// A general x–y plot for scaling results: log-10 or linear axes with ranges taken from the data,
/// series drawn as lines, dashed lines and/or markers (circles, or large diamonds for highlighted
/// points such as IsoFLOP minima), optional interval bands. Same hand-written SVG as `LinePlot`.
public struct XYPlot {
    public enum Style: String, Sendable { case linePoints, line, dashed, points, highlight }

    public struct Series {
        public var name: String
        public var points: [LinePlot.Point]
        public var style: Style
        /// Palette index; series sharing one (a curve and its fit) share a colour.
        public var colour: Int?
        public init(name: String, points: [LinePlot.Point], style: Style = .linePoints, colour: Int? = nil) {
            self.name = name; self.points = points; self.style = style; self.colour = colour
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var logX: Bool
    public var logY: Bool
    public var width = 680.0
    public var height = 460.0
    /// Legend corner: true puts it top-right, false top-left.
    public var legendRight = true

    public init(title: String, xLabel: String, yLabel: String, series: [Series], logX: Bool = true, logY: Bool = false) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series; self.logX = logX; self.logY = logY
    }

    private let left = 72.0, right = 24.0, top = 44.0, bottom = 56.0

    /// Tick positions for an axis spanning [lo, hi] (in transformed units: log10 or linear).
    static func ticks(lo: Double, hi: Double, log: Bool) -> [Double] {
        if log {
            let span = hi - lo
            var out: [Double] = []
            let multipliers: [Double] = span > 3 ? [1] : span > 1.2 ? [1, 2, 5] : [1, 1.5, 2, 3, 5, 7]
            var decade = floor(lo)
            while decade <= ceil(hi) {
                for m in multipliers {
                    let t = decade + log10(m)
                    if t >= lo - 1e-9 && t <= hi + 1e-9 { out.append(t) }
                }
                decade += 1
            }
            return out
        }
        let raw = (hi - lo) / 6
        guard raw > 0 else { return [lo] }
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var t = ceil(lo / step) * step
        var out: [Double] = []
        while t <= hi + 1e-9 * step { out.append(t); t += step }
        return out
    }

    static func tickLabel(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e4 || a < 1e-3 {
            let exponent = Int(floor(log10(a)))
            let mantissa = v / pow(10, Double(exponent))
            return abs(mantissa - 1) < 1e-9 ? "1e\(exponent)" : String(format: "%ge%d", (mantissa * 100).rounded() / 100, exponent)
        }
        return String(format: "%g", (v * 1e4).rounded() / 1e4)
    }

    public func svg() -> String {
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func tx(_ x: Double) -> Double { logX ? log10(x) : x }
        func ty(_ y: Double) -> Double { logY ? log10(y) : y }
        var xsAll: [Double] = [], ysAll: [Double] = []
        for s in series {
            for p in s.points {
                var ys: [Double] = [p.y]
                if let l = p.lower { ys.append(l) }
                if let u = p.upper { ys.append(u) }
                for y in ys {
                    let ok: Bool = (!logX || p.x > 0) && (!logY || y > 0) && p.x.isFinite && y.isFinite
                    if ok { xsAll.append(tx(p.x)); ysAll.append(ty(y)) }
                }
            }
        }
        var xLo: Double = xsAll.min() ?? 0, xHi: Double = xsAll.max() ?? 1
        var yLo: Double = ysAll.min() ?? 0, yHi: Double = ysAll.max() ?? 1
        if xHi - xLo < 1e-12 { xLo -= 0.5; xHi += 0.5 }
        if yHi - yLo < 1e-12 { yLo -= 0.5; yHi += 0.5 }
        let xPad = (xHi - xLo) * 0.04, yPad = (yHi - yLo) * 0.06
        xLo -= xPad; xHi += xPad; yLo -= yPad; yHi += yPad
        func px(_ x: Double) -> Double { left + (tx(x) - xLo) / (xHi - xLo) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - (ty(y) - yLo) / (yHi - yLo)) * plotHeight }
        let helper = LinePlot(title: "", xLabel: "", yLabel: "", series: [])
        func esc(_ s: String) -> String { helper.escape(s) }

        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(height))" viewBox="0 0 \(f(width)) \(f(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(width / 2))" y="24" text-anchor="middle" font-size="15">\(esc(title))</text>

        """
        for t in Self.ticks(lo: yLo, hi: yHi, log: logY) {
            let y = top + (1 - (t - yLo) / (yHi - yLo)) * plotHeight
            out += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y))\" stroke=\"#e5e5e5\"/>\n"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Self.tickLabel(logY ? pow(10, t) : t))</text>\n"
        }
        for t in Self.ticks(lo: xLo, hi: xHi, log: logX) {
            let x = left + (t - xLo) / (xHi - xLo) * plotWidth
            out += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\" stroke=\"#f0f0f0\"/>\n"
            out += "<text x=\"\(f(x))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(Self.tickLabel(logX ? pow(10, t) : t))</text>\n"
        }
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        out += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 14))\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
        out += "<text x=\"16\" y=\"\(f(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(top + plotHeight / 2)))\">\(esc(yLabel))</text>\n"

        var legendRow = 0
        for (i, s) in series.enumerated() {
            let colour = LinePlot.palette[(s.colour ?? i) % LinePlot.palette.count]
            let points = s.points.filter { (!logX || $0.x > 0) && (!logY || $0.y > 0) && $0.x.isFinite && $0.y.isFinite }.sorted { $0.x < $1.x }
            out += "<g class=\"series\" data-name=\"\(esc(s.name))\">\n"
            let bounded = points.filter { $0.lower != nil && $0.upper != nil && (!logY || ($0.lower! > 0 && $0.upper! > 0)) }
            if bounded.count > 1 && s.style != .points && s.style != .highlight {
                let upper = bounded.map { "\(f(px($0.x))),\(f(py($0.upper!)))" }
                let lower = bounded.reversed().map { "\(f(px($0.x))),\(f(py($0.lower!)))" }
                out += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(colour)\" fill-opacity=\"0.15\" stroke=\"none\"/>\n"
            } else {
                for p in bounded {
                    out += "<line x1=\"\(f(px(p.x)))\" y1=\"\(f(py(p.lower!)))\" x2=\"\(f(px(p.x)))\" y2=\"\(f(py(p.upper!)))\" stroke=\"\(colour)\" stroke-width=\"2\" stroke-opacity=\"0.6\"/>\n"
                }
            }
            let drawsLine = [.linePoints, .line, .dashed].contains(s.style)
            if drawsLine && points.count > 1 {
                let line = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                let dash = s.style == .dashed ? " stroke-dasharray=\"6 4\"" : ""
                out += "<polyline points=\"\(line)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
            }
            if s.style == .linePoints || s.style == .points {
                for p in points { out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3.5\" fill=\"\(colour)\"/>\n" }
            }
            if s.style == .highlight {
                for p in points {
                    let x = px(p.x), y = py(p.y), r = 7.0
                    out += "<polygon points=\"\(f(x)),\(f(y - r)) \(f(x + r)),\(f(y)) \(f(x)),\(f(y + r)) \(f(x - r)),\(f(y))\" fill=\"\(colour)\" stroke=\"black\" stroke-width=\"1\"/>\n"
                }
            }
            if !s.name.isEmpty {
                let ly = top + 16 + Double(legendRow) * 18
                let lx = legendRight ? left + plotWidth - 230 : left + 10
                switch s.style {
                case .points, .highlight:
                    out += "<circle cx=\"\(f(lx + 10))\" cy=\"\(f(ly - 4))\" r=\"4\" fill=\"\(colour)\"/>\n"
                default:
                    let dash = s.style == .dashed ? " stroke-dasharray=\"6 4\"" : ""
                    out += "<line x1=\"\(f(lx))\" y1=\"\(f(ly - 4))\" x2=\"\(f(lx + 20))\" y2=\"\(f(ly - 4))\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
                }
                out += "<text x=\"\(f(lx + 26))\" y=\"\(f(ly))\">\(esc(s.name))</text>\n"
                legendRow += 1
            }
            out += "</g>\n"
        }
        out += "</svg>\n"
        return out
    }

    private func f(_ v: Double) -> String { String(format: "%.2f", v.isFinite ? v : 0) }
}
