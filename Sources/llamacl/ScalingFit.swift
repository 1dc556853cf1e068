import ArgumentParser
import Experiments
import Foundation

struct ScalingFitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling-fit",
        abstract: "Fit L(N, D) = E + A/N^α + B/D^β to a sweep's final losses (Chinchilla's approach 3) and plot the IsoFLOP profiles.",
        discussion: """
        Input: a CSV with a header naming the columns parameters, tokens, held_out_loss (required) and \
        name, budget (optional; budget groups runs into IsoFLOP profiles). The fit minimises \
        Σ Huber_δ(LSE(a − α log N, b − β log D, e) − log L) with L-BFGS from Chinchilla's grid of 4 500 \
        initialisations and keeps the best; intervals come from refitting bootstrap resamples of the runs. \
        Writes fit.json, isoflop.svg (loss against N per budget, parabola minima marked, the fitted law dashed), \
        fit.svg (fitted against observed loss) and optimal.svg (compute-optimal N against C).
        """)

    @Option(help: "CSV of finished runs.") var runs: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Bootstrap resamples.") var resamples: Int = 500
    @Option(help: "Bootstrap seed.") var seed: UInt64 = 0
    @Option(help: "Huber δ (on log loss).") var delta: Double = ScalingFit.chinchillaDelta
    @Option(help: "Extra compute budgets (FLOPs, comma-separated) at which to report the optimal allocation.") var budgets: String?

    func run() throws {
        let text = try String(contentsOfFile: runs, encoding: .utf8)
        let all = try ScalingRun.readCSV(text)
        guard all.count >= 5 else { throw ValidationError("need at least 5 finished runs to fit 5 parameters, got \(all.count)") }
        let dir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

        let full = ScalingFit.fit(all, delta: delta)
        let law = full.law
        let sweepBudgets = Set(all.compactMap(\.budget)).sorted()
        var reportBudgets = sweepBudgets
        if let extra = budgets { reportBudgets += extra.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) } }
        if reportBudgets.isEmpty { reportBudgets = [all.map(\.flops).max()!] }
        let laws = ScalingFit.bootstrapLaws(all, full: full, resamples: resamples, seed: seed, delta: delta)
        let boot = ScalingFit.summarise(laws, full: full, budgets: reportBudgets, seed: seed)

        // Approach 2: parabola minima of each IsoFLOP profile, and the power law through them.
        let minima = sweepBudgets.compactMap { c in ScalingFit.isoFLOPMinimum(all.filter { $0.budget == c }, budget: c) }
        let interior = minima.filter(\.interior)
        let approach2 = ScalingFit.powerLaw(interior.map { ($0.budget, $0.parameters) })

        let residuals = all.map { log(law.loss(parameters: $0.parameters, tokens: $0.tokens)) - log($0.loss) }
        let rms = (residuals.reduce(0) { $0 + $1 * $1 } / Double(residuals.count)).squareRoot()

        func interval(_ i: ScalingFit.Interval) -> [String: Double] {
            ["estimate": i.estimate, "lower": i.lower, "upper": i.upper, "median": i.median]
        }
        var result: [String: Any] = [
            "method": "Chinchilla approach 3: Huber(δ=\(delta)) on log loss, L-BFGS from \(full.initialisations) initialisations, best kept; \(resamples) bootstrap resamples of the runs (seed \(seed)), each refitted from the full-data optimum and a 32-start grid; 95% percentile intervals",
            "runs": all.count,
            "fit": ["E": law.E, "A": law.A, "B": law.B, "alpha": law.alpha, "beta": law.beta,
                    "a": law.a, "b": law.b, "e": law.e, "objective": full.objective, "rms_log_residual": rms],
            "intervals": ["alpha": interval(boot.alpha), "beta": interval(boot.beta), "E": interval(boot.E),
                          "A": interval(boot.A), "B": interval(boot.B),
                          "parameter_exponent_a": interval(boot.parameterExponent)],
            "compute_optimal": reportBudgets.map { c -> [String: Any] in
                let key = ScalingFit.budgetKey(c)
                return ["budget": c, "parameters": interval(boot.optimalParameters[key]!), "tokens": interval(boot.optimalTokens[key]!),
                        "tokens_per_parameter": interval(boot.tokensPerParameter[key]!)]
            },
            "isoflop_minima": minima.map { m -> [String: Any] in
                ["budget": m.budget, "parameters": m.parameters, "tokens": m.tokens, "loss": m.loss, "interior": m.interior,
                 "best_run_parameters": m.bestRunParameters, "best_run_loss": m.bestRunLoss]
            },
        ]
        if let p = approach2 {
            result["approach2"] = ["parameter_exponent_a": p.exponent, "coefficient": p.coefficient, "budgets_used": interior.count]
        }
        let json = try JSONSerialization.data(withJSONObject: Self.finite(result), options: [.prettyPrinted, .sortedKeys])
        try (json).write(to: dir.appendingPathComponent("fit.json"), options: .atomic)

        // Plots.
        let nRange = (all.map(\.parameters).min()!, all.map(\.parameters).max()!)
        func logGrid(_ lo: Double, _ hi: Double, _ count: Int) -> [Double] {
            (0..<count).map { exp(log(lo) + (log(hi) - log(lo)) * Double($0) / Double(count - 1)) }
        }
        var iso: [XYPlot.Series] = []
        for (i, c) in sweepBudgets.enumerated() {
            let group = all.filter { $0.budget == c }
            iso.append(.init(name: "C = \(String(format: "%.2g", c)) FLOPs", points: group.map { .init(x: $0.parameters, y: $0.loss) }, style: .linePoints, colour: i))
            iso.append(.init(name: "", points: logGrid(nRange.0, nRange.1, 40).map { .init(x: $0, y: law.loss(parameters: $0, tokens: c / (6 * $0))) }, style: .dashed, colour: i))
        }
        for m in interior { iso.append(.init(name: "", points: [.init(x: m.parameters, y: m.loss)], style: .highlight, colour: sweepBudgets.firstIndex(of: m.budget) ?? 0)) }
        var isoPlot = XYPlot(title: "IsoFLOP profiles (◆ parabola minima, dashed: fitted L(N, C/6N))", xLabel: "parameters N",
                             yLabel: "held-out loss (nats/token)", series: iso)
        isoPlot.legendRight = true
        try (Data(isoPlot.svg().utf8)).write(to: dir.appendingPathComponent("isoflop.svg"), options: .atomic)

        var scatter: [XYPlot.Series] = []
        let groups = sweepBudgets.isEmpty ? [nil] : sweepBudgets.map { Optional($0) }
        for (i, c) in groups.enumerated() {
            let group = c == nil ? all : all.filter { $0.budget == c }
            scatter.append(.init(name: c.map { "C = \(String(format: "%.2g", $0))" } ?? "runs",
                                 points: group.map { .init(x: $0.loss, y: law.loss(parameters: $0.parameters, tokens: $0.tokens)) }, style: .points, colour: i))
        }
        let lo = all.map(\.loss).min()!, hi = all.map(\.loss).max()!
        scatter.append(.init(name: "y = x", points: [.init(x: lo, y: lo), .init(x: hi, y: hi)], style: .dashed, colour: 7))
        var scatterPlot = XYPlot(title: String(format: "Fitted vs observed: L = %.3f + %.3g/N^%.3f + %.3g/D^%.3f", law.E, law.A, law.alpha, law.B, law.beta),
                                 xLabel: "observed held-out loss", yLabel: "fitted L(N, D)", series: scatter, logX: false, logY: false)
        scatterPlot.legendRight = false
        try (Data(scatterPlot.svg().utf8)).write(to: dir.appendingPathComponent("fit.svg"), options: .atomic)

        if !sweepBudgets.isEmpty {
            let cs = logGrid(sweepBudgets.first! / 3, sweepBudgets.last! * 3, 25)
            let band = cs.map { c -> LinePlot.Point in
                let ns = laws.map { $0.optimal(compute: c).parameters }.filter(\.isFinite).sorted()
                return .init(x: c, y: law.optimal(compute: c).parameters,
                             lower: ScalingFitCommand.quantile(ns, 0.025), upper: ScalingFitCommand.quantile(ns, 0.975))
            }
            var series: [XYPlot.Series] = [.init(name: String(format: "approach 3: N_opt ∝ C^%.2f (95%% band)", law.parameterExponent), points: band, style: .line, colour: 0)]
            series.append(.init(name: "IsoFLOP parabola minima (interior)", points: interior.map { .init(x: $0.budget, y: $0.parameters) }, style: .highlight, colour: 1))
            series.append(.init(name: "best trained run per budget", points: minima.map { .init(x: $0.budget, y: $0.bestRunParameters) }, style: .points, colour: 2))
            if let p = approach2 {
                series.append(.init(name: String(format: "approach 2: N_opt ∝ C^%.2f", p.exponent),
                                    points: cs.map { .init(x: $0, y: p.coefficient * pow($0, p.exponent)) }, style: .dashed, colour: 1))
            }
            var opt = XYPlot(title: "Compute-optimal model size", xLabel: "training compute C = 6ND (FLOPs)", yLabel: "parameters N_opt",
                             series: series, logX: true, logY: true)
            opt.legendRight = false
            try (Data(opt.svg().utf8)).write(to: dir.appendingPathComponent("optimal.svg"), options: .atomic)
        }

        func g(_ i: ScalingFit.Interval) -> String { String(format: "%.3g [%.3g, %.3g]", i.estimate, i.lower, i.upper) }
        print("runs \(all.count), rms log residual \(String(format: "%.4f", rms))")
        print("E = \(g(boot.E)), A = \(g(boot.A)), B = \(g(boot.B))")
        print("alpha = \(g(boot.alpha)), beta = \(g(boot.beta)), a = beta/(alpha+beta) = \(g(boot.parameterExponent))")
        for c in reportBudgets {
            let key = ScalingFit.budgetKey(c)
            print("C = \(key): N_opt \(g(boot.optimalParameters[key]!)), D_opt \(g(boot.optimalTokens[key]!)), D/N \(g(boot.tokensPerParameter[key]!))")
        }
        for m in minima {
            print(String(format: "IsoFLOP C = %.3g: parabola minimum N = %.3g (%@), best run N = %.3g loss %.4f", m.budget, m.parameters,
                         m.interior ? "interior" : "extrapolated", m.bestRunParameters, m.bestRunLoss))
        }
        if let p = approach2 { print(String(format: "approach 2: N_opt ∝ C^%.3f over %d budgets", p.exponent, interior.count)) }
        print("wrote \(dir.path)/fit.json, isoflop.svg, fit.svg, optimal.svg")
    }

    /// JSON has no NaN or infinity: such numbers become null.
    static func finite(_ value: Any) -> Any {
        switch value {
        case let d as Double: return d.isFinite ? d : NSNull()
        case let dict as [String: Any]: return dict.mapValues { finite($0) }
        case let array as [Any]: return array.map { finite($0) }
        default: return value
        }
    }

    static func quantile(_ sorted: [Double], _ q: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let pos = q * Double(sorted.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
    }
}

/// Accuracy against inference compute for several models' best-of-N runs on the same problems.
struct ComputeMatchedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compute-matched",
        abstract: "Tabulate and plot best-of-N accuracy (pass@k, majority vote) against inference FLOPs for several models.",
        discussion: """
        Each --run is LABEL=DIR where DIR holds a `best-of-n` summary.json (all runs on the same problems). \
        FLOPs per problem for k samples = the prompt once + k × the mean sample's cost (KV cache shared), \
        from the summary's compute totals and model shape. Writes table.csv, table.md and accuracy-vs-flops.svg.
        """)

    @Option(name: .customLong("run"), help: "LABEL=DIR of a best-of-n run (repeatable, smallest model first).") var runs: [String]
    @Option(help: "Output directory.") var out: String

    struct Row {
        var label: String, parameters: Int, k: Int, flops: Double
        var passAtK: Estimate, majority: Estimate?
    }

    func run() throws {
        var rows: [Row] = []
        var labels: [String] = []
        var perSample: [String: (prompt: Double, sample: Double)] = [:]
        for spec in runs {
            guard let eq = spec.firstIndex(of: "=") else { throw ValidationError("--run wants LABEL=DIR, got \(spec)") }
            let label = String(spec[..<eq]), dir = String(spec[spec.index(after: eq)...])
            let data = try Data(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent("summary.json"))
            let s = try JSONDecoder().decode(Summary.self, from: data)
            guard let shape = s.provenance.model.shape, let total = s.compute.flops else {
                throw ValidationError("\(dir)/summary.json has no model shape or FLOPs")
            }
            // Prompt cost per problem from the shape (mean prompt length), the rest is sampling.
            let meanPrompt = Double(s.compute.promptTokens) / Double(s.problems)
            let promptFlops = shape.flops(positions: 0, count: Int(meanPrompt.rounded()))
            let sampleFlops = (total - promptFlops * Double(s.problems)) / Double(s.problems * s.provenance.n)
            perSample[label] = (promptFlops, sampleFlops)
            labels.append(label)
            for k in s.provenance.ks {
                guard let p = s.passAtK[String(k)] else { continue }
                rows.append(Row(label: label, parameters: shape.parameters, k: k, flops: promptFlops + Double(k) * sampleFlops,
                                passAtK: p, majority: s.accuracy[SelectionRule.majorityVote.rawValue]?[String(k)]))
            }
        }
        let dir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func e(_ x: Estimate?) -> String { x.map { String(format: "%.3f,%.3f,%.3f", $0.mean, $0.lower, $0.upper) } ?? ",," }
        var csv = "model,parameters,k,inference_flops_per_problem,pass_at_k,pass_lower,pass_upper,majority_vote,majority_lower,majority_upper\n"
        var md = "| model | params | k | inference FLOPs / problem | pass@k [95% CI] | majority vote [95% CI] |\n|---|---:|---:|---:|---|---|\n"
        for r in rows {
            csv += "\(r.label),\(r.parameters),\(r.k),\(String(format: "%.4g", r.flops)),\(e(r.passAtK)),\(e(r.majority))\n"
            func m(_ x: Estimate?) -> String { x.map { String(format: "%.3f [%.3f, %.3f]", $0.mean, $0.lower, $0.upper) } ?? "–" }
            md += "| \(r.label) | \(r.parameters) | \(r.k) | \(String(format: "%.3g", r.flops)) | \(m(r.passAtK)) | \(m(r.majority)) |\n"
        }
        // Compute-matched comparisons: for each larger model's k, the smaller model's largest k costing no more.
        var lines: [String] = []
        for (i, small) in labels.enumerated() {
            for large in labels[(i + 1)...] {
                for big in rows where big.label == large {
                    guard let cheap = rows.filter({ $0.label == small && $0.flops <= big.flops }).max(by: { $0.k < $1.k }) else { continue }
                    let mv = { (r: Row) in r.majority.map { String(format: "%.3f", $0.mean) } ?? "–" }
                    lines.append(String(format: "%@ k=%d (%.3g FLOPs): pass@k %.3f, majority %@  vs  %@ k=%d (%.3g FLOPs): pass@k %.3f, majority %@",
                                        small, cheap.k, cheap.flops, cheap.passAtK.mean, mv(cheap), large, big.k, big.flops, big.passAtK.mean, mv(big)))
                }
            }
        }
        md += "\nCompute-matched pairs (the smaller model's largest k that costs no more than the larger model's k):\n\n"
        md += lines.map { "    " + $0 }.joined(separator: "\n") + "\n"
        try Data(csv.utf8).write(to: dir.appendingPathComponent("table.csv"), options: .atomic)
        try Data(md.utf8).write(to: dir.appendingPathComponent("table.md"), options: .atomic)

        var series: [XYPlot.Series] = []
        for (i, label) in labels.enumerated() {
            let mine = rows.filter { $0.label == label }
            series.append(.init(name: "\(label) pass@k", points: mine.map { .init(x: $0.flops, y: $0.passAtK.mean, lower: $0.passAtK.lower, upper: $0.passAtK.upper) },
                                style: .linePoints, colour: i))
            series.append(.init(name: "\(label) majority vote", points: mine.compactMap { r in r.majority.map { .init(x: r.flops, y: $0.mean) } },
                                style: .dashed, colour: i))
        }
        var plot = XYPlot(title: "Best-of-N accuracy vs inference compute (k = 1, 2, 4, 8, 16 samples)", xLabel: "inference FLOPs per problem",
                          yLabel: "accuracy on held-out problems", series: series, logX: true, logY: false)
        plot.legendRight = false
        try Data(plot.svg().utf8).write(to: dir.appendingPathComponent("accuracy-vs-flops.svg"), options: .atomic)
        print(md, terminator: "")
        for (label, c) in perSample { print(String(format: "%@: prompt %.3g FLOPs/problem, %.3g FLOPs/sample", label, c.prompt, c.sample)) }
    }
}
