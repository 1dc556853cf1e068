import Foundation

/// The exchange-rate experiment's results: for each temperature and selection rule, every
/// cell's accuracy curve, what each cell needs to reach each target accuracy, the exchange rate
/// along the iso-accuracy frontier with seed × problem bootstrap intervals, and the cheapest
/// total cost for a range of query volumes. Written as `report.json`, `summary.txt` and plots.
public struct ExchangeRateReport: Codable, Sendable {
    public struct Panel: Codable, Sendable {
        public var temperature: Double
        public var rule: SelectionRule
        /// The verifier's training FLOPs, added to every cell's C_train for this rule (0 otherwise).
        public var addedTrainFLOPs: Double
        public var curves: [ExchangeRateAnalysis.CellCurve]
        public var targets: [Target]
        /// Accuracy by difficulty level at the smallest and largest k.
        public var levels: [ExchangeRateAnalysis.LevelAccuracy]
    }

    public struct Target: Codable, Sendable {
        public var accuracy: Double
        public var requirements: [ExchangeRateAnalysis.Requirement]
        public var rate: ExchangeRateAnalysis.RateInterval
        public var cheapest: [ExchangeRateAnalysis.TotalCost]
    }

    public var ks: [Int]
    public var models: Int
    public var seedsPerCell: [String: Int]
    public var problems: Int
    public var replicates: Int
    public var panels: [Panel]
    public var provenance: Provenance

    public static func make(models: [SampledModel], ks: [Int], temperatures: [Double], rules: [SelectionRule], targets: [Double],
                            queryVolumes: [Double], verifierTrainFLOPs: Double, replicates: Int, seed: UInt64,
                            provenance: Provenance) -> ExchangeRateReport {
        var panels: [Panel] = []
        for t in temperatures {
            for rule in rules where models.allSatisfy({ $0.accuracy[t]?[rule] != nil }) {
                let extra = rule == .verifier ? verifierTrainFLOPs : 0
                let curves = ExchangeRateAnalysis.cellCurves(models, temperature: t, rule: rule, ks: ks).map { c -> ExchangeRateAnalysis.CellCurve in
                    var c = c
                    c.trainFLOPs += extra
                    return c
                }
                let rates = ExchangeRateAnalysis.bootstrapRates(models, temperature: t, rule: rule, ks: ks, targets: targets, trainExtra: extra,
                                                                replicates: replicates, seed: seed)
                let rows = zip(targets, rates).map { target, rate -> Target in
                    let need = ExchangeRateAnalysis.requirements(curves, ks: ks, target: target)
                    return Target(accuracy: target, requirements: need, rate: rate,
                                  cheapest: queryVolumes.compactMap { ExchangeRateAnalysis.cheapest(need, queries: $0) })
                }
                panels.append(Panel(temperature: t, rule: rule, addedTrainFLOPs: extra, curves: curves, targets: rows,
                                    levels: ExchangeRateAnalysis.levelAccuracy(models, temperature: t, rule: rule)))
            }
        }
        return ExchangeRateReport(ks: ks, models: models.count, seedsPerCell: Dictionary(grouping: models, by: \.cell).mapValues(\.count),
                                  problems: models.first?.accuracy.values.first?.values.first?.first?.count ?? 0, replicates: replicates,
                                  panels: panels, provenance: provenance)
    }

    /// The plain-text summary: accuracy curves, then per panel the rate at every target that
    /// has one, and the total-cost choice at the highlighted targets.
    public func summary(highlight: [Double]) -> String {
        var out = "exchange-rate report: \(models) models, \(seedsPerCell.count) cells, \(problems) problems, k = \(ks.map(String.init).joined(separator: ",")), \(replicates) bootstrap replicates (seeds × problems)\n"
        for p in panels {
            out += "\n== T=\(fmt(p.temperature)) \(p.rule.rawValue)\(p.addedTrainFLOPs > 0 ? " (verifier training \(sci(p.addedTrainFLOPs)) FLOPs added to C_train)" : "") ==\n"
            out += "cell".padding(toLength: 18, withPad: " ", startingAt: 0) + "C_train   " + ks.map { "k=\($0)".padding(toLength: 7, withPad: " ", startingAt: 0) }.joined() + "\n"
            for c in p.curves {
                out += c.cell.padding(toLength: 18, withPad: " ", startingAt: 0) + sci(c.trainFLOPs).padding(toLength: 10, withPad: " ", startingAt: 0)
                    + c.accuracy.map { String(format: "%-7.3f", $0) }.joined() + "\n"
            }
            if !p.levels.isEmpty {
                out += "by level (k=\(ks.first ?? 0) → k=\(ks.last ?? 0)):\n"
                for cell in Set(p.levels.map(\.cell)).sorted() {
                    out += "  " + cell.padding(toLength: 16, withPad: " ", startingAt: 0)
                        + p.levels.filter { $0.cell == cell }.map { "\($0.level) (\($0.problems)): \(String(format: "%.3f → %.3f", $0.fewest, $0.most))" }
                            .joined(separator: "   ") + "\n"
                }
            }
            out += "target  frontier-cells  elasticity [95%]            dC_train/dC_infer [95%]          defined\n"
            for t in p.targets {
                guard let e = t.rate.estimate else {
                    // Say why there is no rate: too few cells reach the target, or they reach it with one sample.
                    let reached = t.requirements.count, uncensored = t.requirements.filter { $0.efficient && !$0.censored }.count
                    if reached > 0 {
                        out += String(format: "%-7.2f no rate: %d cells reach it, %d of them on the frontier with more than one sample\n",
                                      t.accuracy, reached, uncensored)
                    }
                    continue
                }
                let ei = t.rate.elasticityInterval.map { "[\(fmt($0[0])), \(fmt($0[1]))]" } ?? "(too few replicates)"
                let ri = t.rate.rateInterval.map { "[\(sci($0[0])), \(sci($0[1]))]" } ?? "-"
                out += String(format: "%-7.2f %-15d ", t.accuracy, e.cells) + "\(fmt(e.elasticity)) \(ei)".padding(toLength: 28, withPad: " ", startingAt: 0)
                    + "\(sci(e.rate)) \(ri)".padding(toLength: 33, withPad: " ", startingAt: 0) + String(format: "%.0f%%", 100 * t.rate.definedFraction) + "\n"
            }
            for t in p.targets where highlight.contains(where: { abs($0 - t.accuracy) < 1e-9 }) {
                out += "total cost C_train + Q·C_infer at accuracy \(fmt(t.accuracy)):\n"
                for c in t.cheapest {
                    out += "  Q=\(sci(c.queries)): \(c.cell), k=\(fmt(c.k)), total \(sci(c.totalFLOPs)) (training \(String(format: "%.0f%%", 100 * c.trainFLOPs / c.totalFLOPs)))\n"
                }
            }
        }
        return out
    }

    /// Iso-accuracy frontiers: for each highlighted target, every cell that reaches it, at
    /// (inference FLOPs per query, training FLOPs); the efficient cells joined by a line.
    public func contourPlot(temperature: Double, highlight: [Double]) -> XYPlot {
        var series: [XYPlot.Series] = []
        for (ri, rule) in SelectionCurves.rules.enumerated() {
            guard let p = panels.first(where: { $0.temperature == temperature && $0.rule == rule }) else { continue }
            for (ti, target) in highlight.enumerated() {
                guard let t = p.targets.first(where: { abs($0.accuracy - target) < 1e-9 }) else { continue }
                let colour = ri * highlight.count + ti
                let frontier = t.requirements.filter(\.efficient).map { LinePlot.Point(x: $0.inferenceFLOPs, y: $0.trainFLOPs) }
                guard !frontier.isEmpty else { continue }   // no cell reaches the target: nothing to draw
                series.append(XYPlot.Series(name: "\(rule.rawValue), accuracy \(fmt(target))", points: frontier, style: .linePoints, colour: colour))
                let others = t.requirements.filter { !$0.efficient }.map { LinePlot.Point(x: $0.inferenceFLOPs, y: $0.trainFLOPs) }
                if !others.isEmpty { series.append(XYPlot.Series(name: "", points: others, style: .points, colour: colour)) }
            }
        }
        var plot = XYPlot(title: "Iso-accuracy frontiers, T=\(fmt(temperature)) (graded arithmetic)",
                          xLabel: "inference FLOPs per query (k samples)", yLabel: "training FLOPs", series: series, logX: true, logY: true)
        plot.legendRight = true
        return plot
    }

    /// Accuracy against inference FLOPs per query, one line per cell, for one rule.
    public func accuracyPlot(temperature: Double, rule: SelectionRule) -> XYPlot? {
        guard let p = panels.first(where: { $0.temperature == temperature && $0.rule == rule }) else { return nil }
        let series = p.curves.enumerated().map { i, c in
            XYPlot.Series(name: "\(c.cell) (C_train \(sci(c.trainFLOPs)))",
                          points: zip(ks, c.accuracy).map { LinePlot.Point(x: c.cost.flops(k: Double($0)), y: $1) }, colour: i)
        }
        var plot = XYPlot(title: "\(rule.rawValue) accuracy vs inference compute, T=\(fmt(temperature))",
                          xLabel: "inference FLOPs per query", yLabel: "accuracy", series: series, logX: true, logY: false)
        plot.legendRight = false
        return plot
    }

    func fmt(_ v: Double) -> String { String(format: "%.3g", v) }
    func sci(_ v: Double) -> String { v.isFinite ? String(format: "%.2e", v) : "∞" }
}
