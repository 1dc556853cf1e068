import Foundation

/// The scaling-law report of a sweep (`llamacl scaling-fit`): Chinchilla's approach 3 fit of
/// L(N, D) = E + A/N^α + B/D^β, which of its parameters the runs identify (profile likelihood and
/// bootstrap replicates refitted from the start grid; intervals only for those), approach 2
/// (IsoFLOP parabola minima and the power law through them), fit.json and three plots.
public struct ScalingReport {
    public struct Options: Sendable {
        public var resamples: Int
        public var seed: UInt64
        /// Huber δ on log loss.
        public var delta: Double
        /// Compute budgets (FLOPs) to report the optimal allocation at, beside the sweep's own.
        public var extraBudgets: [Double]
        /// Starting points of the full-data fit (Chinchilla's grid of 4 500).
        public var starts: [ScalingLaw]
        /// Starting points of every bootstrap refit and profile point (the coarse grid of 32).
        public var refitStarts: [ScalingLaw]
        /// Scan points per parameter profile.
        public var profilePoints: Int
        public init(resamples: Int = 500, seed: UInt64 = 0, delta: Double = ScalingFit.chinchillaDelta, extraBudgets: [Double] = [],
                    starts: [ScalingLaw] = ScalingFit.chinchillaGrid(), refitStarts: [ScalingLaw] = ScalingFit.coarseGrid(),
                    profilePoints: Int = 41) {
            self.resamples = resamples; self.seed = seed; self.delta = delta; self.extraBudgets = extraBudgets; self.starts = starts
            self.refitStarts = refitStarts; self.profilePoints = profilePoints
        }
    }

    public let runs: [ScalingRun]
    public let options: Options
    public let full: ScalingFit.Result
    /// One law per bootstrap resample.
    public let laws: [ScalingLaw]
    public let boot: ScalingFit.Bootstrap
    /// The sweep's IsoFLOP budgets, and those the report gives the optimal allocation at.
    public let sweepBudgets: [Double]
    public let reportBudgets: [Double]
    public let minima: [ScalingFit.IsoFLOPMinimum]
    public var interior: [ScalingFit.IsoFLOPMinimum] { minima.filter(\.interior) }
    public let approach2: (exponent: Double, coefficient: Double)?
    public let rmsLogResidual: Double
    /// fit.json's provenance block: the bootstrap seed, the fit's settings and (from `load`) the
    /// runs file it read.
    public var provenance: Provenance
    /// Per parameter (α, β, E, A, B): identified or not, and why.
    public let identifiability: [Identifiability.Report]
    /// The full data refitted from the refit grid alone: if its objective is above the full fit's,
    /// the bootstrap refits can miss the optimum too.
    public let refitGridObjective: Double

    public func report(_ p: Identifiability.Parameter) -> Identifiability.Report { identifiability.first { $0.parameter == p }! }

    /// The compute-optimal allocation depends on α, β, A and B: it has intervals only when all four are identified.
    public var allocationIdentified: Bool { [.alpha, .beta, .A, .B].allSatisfy { report($0).identified } }
    var allocationWhy: String {
        let open = [Identifiability.Parameter.alpha, .beta, .A, .B].filter { !report($0).identified }.map(\.rawValue)
        return open.isEmpty ? "α, β, A and B are identified" : "depends on \(open.joined(separator: ", ")), not identified: no interval"
    }

    /// Fits the runs. Five parameters need at least five runs.
    public init(runs: [ScalingRun], options: Options = Options()) throws {
        guard runs.count >= 5 else {
            throw ExperimentError.invalidTaskParameter(task: "scaling-fit", reason: "need at least 5 finished runs to fit 5 parameters, got \(runs.count)")
        }
        self.runs = runs
        self.options = options
        full = ScalingFit.fit(runs, delta: options.delta, starts: options.starts)
        sweepBudgets = Set(runs.compactMap(\.budget)).sorted()
        var budgets = sweepBudgets + options.extraBudgets
        if budgets.isEmpty { budgets = [runs.map(\.flops).max()!] }
        reportBudgets = budgets
        laws = ScalingFit.bootstrapLaws(runs, full: full, resamples: options.resamples, seed: options.seed, delta: options.delta,
                                        starts: options.refitStarts)
        boot = ScalingFit.summarise(laws, full: full, budgets: budgets, seed: options.seed)
        refitGridObjective = ScalingFit.fit(runs, delta: options.delta, starts: options.refitStarts).objective
        identifiability = Identifiability.assess(runs: runs, full: full, laws: laws, delta: options.delta, points: options.profilePoints,
                                                 starts: options.refitStarts)
        minima = sweepBudgets.compactMap { c in ScalingFit.isoFLOPMinimum(runs.filter { $0.budget == c }, budget: c) }
        approach2 = ScalingFit.powerLaw(minima.filter(\.interior).map { ($0.budget, $0.parameters) })
        let law = full.law
        let residuals = runs.map { log(law.loss(parameters: $0.parameters, tokens: $0.tokens)) - log($0.loss) }
        rmsLogResidual = (residuals.reduce(0) { $0 + $1 * $1 } / Double(residuals.count)).squareRoot()
        // The fit runs on one thread, and no model.
        provenance = .current(seeds: ["bootstrap": options.seed], threads: 1, hyperParameters: [
            "resamples": .integer(options.resamples), "huber_delta": .number(options.delta),
            "extra_budgets": .list(options.extraBudgets.map { .number($0) }), "starts": .integer(options.starts.count),
            "refit_starts": .integer(options.refitStarts.count), "profile_points": .integer(options.profilePoints),
            "runs": .integer(runs.count),
        ])
    }

    /// Fits the runs in the CSV file at `path` (see `ScalingRun.readCSV`; D from `tokensColumn`,
    /// "tokens" by default), recording the file's SHA-256 in the provenance block.
    public static func load(runsFile path: String, tokensColumn: String? = nil, options: Options = Options()) throws -> ScalingReport {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ExperimentError.fileUnreadable(path: path, reason: error.localizedDescription)
        }
        var report = try ScalingReport(runs: try ScalingRun.readCSV(text, tokensColumn: tokensColumn), options: options)
        report.provenance.hyperParameters["tokens_column"] = .string(tokensColumn ?? "tokens")
        report.provenance.inputs.append(try InputFile(role: "runs", path: path))
        return report
    }

    /// Writes fit.json, isoflop.svg, fit.svg and (with IsoFLOP budgets) optimal.svg into `directory`.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var object = Self.finite(fitJSON()) as! [String: Any]
        // Added after `finite`, which would read its booleans as numbers.
        object["provenance"] = try provenance.jsonObject()
        let json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try ResultStore.writeAtomically(json, to: directory.appendingPathComponent("fit.json"))
        var plots = [("isoflop.svg", isoFLOPPlot()), ("fit.svg", fittedVsObservedPlot())]
        if let optimal = optimalPlot() { plots.append(("optimal.svg", optimal)) }
        for (name, plot) in plots { try ResultStore.writeAtomically(Data(plot.svg().utf8), to: directory.appendingPathComponent(name)) }
    }

    /// The report as lines of text for a terminal.
    public var lines: [String] {
        func g(_ i: ScalingFit.Interval) -> String { String(format: "%.3g [%.3g, %.3g]", i.estimate, i.lower, i.upper) }
        func p(_ r: Identifiability.Report) -> String {
            guard r.identified, let i = r.interval else { return String(format: "%@ = %.3g (not identified: %@)", r.parameter.rawValue, r.estimate, r.why) }
            let b = r.bootstrapInterval.map { String(format: ", bootstrap [%.3g, %.3g]", $0[0], $0[1]) } ?? ""
            return String(format: "%@ = %.3g, profile 95%% [%.3g, %.3g]%@", r.parameter.rawValue, r.estimate, i[0], i[1], b)
        }
        var out = ["runs \(runs.count), rms log residual \(String(format: "%.4f", rmsLogResidual)), objective \(String(format: "%.4g", full.objective)) (refit grid alone: \(String(format: "%.4g", refitGridObjective)))"]
        out += identifiability.map(p)
        let law = full.law
        if allocationIdentified {
            out.append("a = beta/(alpha+beta) = \(g(boot.parameterExponent))")
            for c in reportBudgets {
                let key = ScalingFit.budgetKey(c)
                out.append("C = \(key): N_opt \(g(boot.optimalParameters[key]!)), D_opt \(g(boot.optimalTokens[key]!)), D/N \(g(boot.tokensPerParameter[key]!))")
            }
        } else {
            out.append(String(format: "a = beta/(alpha+beta) = %.3g; compute-optimal allocation: %@", law.parameterExponent, allocationWhy))
            for c in reportBudgets {
                let o = law.optimal(compute: c)
                out.append(String(format: "C = %@: N_opt %.3g, D_opt %.3g, D/N %.3g (point estimates only)", ScalingFit.budgetKey(c), o.parameters, o.tokens, o.tokens / o.parameters))
            }
        }
        for m in minima {
            out.append(String(format: "IsoFLOP C = %.3g: parabola minimum N = %.3g (%@), best run N = %.3g loss %.4f", m.budget, m.parameters,
                              m.interior ? "interior" : "extrapolated", m.bestRunParameters, m.bestRunLoss))
        }
        if let p = approach2 { out.append(String(format: "approach 2: N_opt ∝ C^%.3f over %d budgets", p.exponent, interior.count)) }
        return out
    }

    // MARK: - fit.json

    func fitJSON() -> [String: Any] {
        let law = full.law
        func interval(_ i: ScalingFit.Interval) -> [String: Double] {
            ["estimate": i.estimate, "lower": i.lower, "upper": i.upper, "median": i.median]
        }
        // Bootstrap intervals only for what is identified; null otherwise (see "parameters").
        func parameterInterval(_ p: Identifiability.Parameter, _ i: ScalingFit.Interval) -> Any {
            report(p).identified ? interval(i) : NSNull()
        }
        func allocationInterval(_ i: ScalingFit.Interval?) -> Any {
            guard let i else { return NSNull() }
            return allocationIdentified ? interval(i) : ["estimate": i.estimate, "lower": NSNull(), "upper": NSNull(), "why": allocationWhy] as [String: Any]
        }
        var result: [String: Any] = [
            "method": "Chinchilla approach 3: Huber(δ=\(options.delta)) on log loss, L-BFGS from \(full.initialisations) initialisations, best kept; \(options.resamples) bootstrap resamples of the runs (seed \(options.seed)), each refitted from a \(options.refitStarts.count)-start grid alone (not from the full-data optimum); 95% percentile intervals, reported only for identified parameters",
            "identifiability_method": "profile likelihood (Raue et al. 2009): each parameter fixed on \(options.profilePoints) values across a scan range (α, β log-spaced over [0.01, max(10, 4·estimate)]; E over [0, max loss]; log A, log B over estimate ± 25), the others refitted; statistic n·log(H/Ĥ) (Gaussian working likelihood, scale profiled out; conservative for Huber), 95% interval where it is ≤ 3.84. Identified: the interval closes inside the scan range on both sides (E may end at its constraint 0) and the bootstrap replicates' 95% range stays inside it",
            "runs": runs.count,
            "fit": ["E": law.E, "A": law.A, "B": law.B, "alpha": law.alpha, "beta": law.beta,
                    "a": law.a, "b": law.b, "e": law.e, "objective": full.objective, "rms_log_residual": rmsLogResidual,
                    "refit_grid_objective": refitGridObjective],
            "parameters": Dictionary(uniqueKeysWithValues: identifiability.map { r in (r.parameter.rawValue, Self.json(r)) }),
            "intervals": ["alpha": parameterInterval(.alpha, boot.alpha), "beta": parameterInterval(.beta, boot.beta), "E": parameterInterval(.E, boot.E),
                          "A": parameterInterval(.A, boot.A), "B": parameterInterval(.B, boot.B),
                          "parameter_exponent_a": allocationInterval(boot.parameterExponent)],
            "compute_optimal": reportBudgets.map { c -> [String: Any] in
                let key = ScalingFit.budgetKey(c)
                return ["budget": c, "parameters": allocationInterval(boot.optimalParameters[key]), "tokens": allocationInterval(boot.optimalTokens[key]),
                        "tokens_per_parameter": allocationInterval(boot.tokensPerParameter[key])]
            },
            "isoflop_minima": minima.map { m -> [String: Any] in
                ["budget": m.budget, "parameters": m.parameters, "tokens": m.tokens, "loss": m.loss, "interior": m.interior,
                 "best_run_parameters": m.bestRunParameters, "best_run_loss": m.bestRunLoss]
            },
        ]
        if let p = approach2 {
            result["approach2"] = ["parameter_exponent_a": p.exponent, "coefficient": p.coefficient, "budgets_used": interior.count]
        }
        return result
    }

    /// One parameter's entry of fit.json: {estimate, identified, interval or null, why, ...}.
    static func json(_ r: Identifiability.Report) -> [String: Any] {
        let p = r.profile
        let profile: [String: Any] = ["scan_lower": p.scanLower, "scan_upper": p.scanUpper, "lower": p.lower ?? NSNull(), "upper": p.upper ?? NSNull(),
                                      "minimum_objective": p.minimum, "values": p.values, "statistic": p.statistic]
        return ["estimate": r.estimate, "identified": r.identified, "interval": r.interval ?? NSNull(),
                "bootstrap_interval": r.bootstrapInterval ?? NSNull(), "why": r.why, "profile": profile]
    }

    /// JSON has no NaN or infinity: such numbers become null.
    static func finite(_ value: Any) -> Any {
        switch value {
        case let d as Double: return d.isFinite ? d : NSNull()
        case let dict as [String: Any]: return dict.mapValues { finite($0) }
        case let array as [Double]: return array.map { finite($0) }
        case let array as [Any]: return array.map { finite($0) }
        default: return value
        }
    }

    // MARK: - Plots

    static func logGrid(_ lo: Double, _ hi: Double, _ count: Int) -> [Double] {
        (0..<count).map { exp(log(lo) + (log(hi) - log(lo)) * Double($0) / Double(count - 1)) }
    }

    /// Loss against N for each budget, the parabola minima marked, the fitted law dashed.
    func isoFLOPPlot() -> XYPlot {
        let law = full.law
        let nRange = (runs.map(\.parameters).min()!, runs.map(\.parameters).max()!)
        var iso: [XYPlot.Series] = []
        for (i, c) in sweepBudgets.enumerated() {
            let group = runs.filter { $0.budget == c }
            iso.append(.init(name: "C = \(String(format: "%.2g", c)) FLOPs", points: group.map { .init(x: $0.parameters, y: $0.loss) }, style: .linePoints, colour: i))
            iso.append(.init(name: "", points: Self.logGrid(nRange.0, nRange.1, 40).map { .init(x: $0, y: law.loss(parameters: $0, tokens: c / (6 * $0))) }, style: .dashed, colour: i))
        }
        for m in interior { iso.append(.init(name: "", points: [.init(x: m.parameters, y: m.loss)], style: .highlight, colour: sweepBudgets.firstIndex(of: m.budget) ?? 0)) }
        var plot = XYPlot(title: "IsoFLOP profiles (◆ parabola minima, dashed: fitted L(N, C/6N))", xLabel: "parameters N",
                          yLabel: "held-out loss (nats/token)", series: iso)
        plot.legendRight = true
        return plot
    }

    /// Fitted against observed loss, one colour per budget.
    func fittedVsObservedPlot() -> XYPlot {
        let law = full.law
        var scatter: [XYPlot.Series] = []
        let groups = sweepBudgets.isEmpty ? [nil] : sweepBudgets.map { Optional($0) }
        for (i, c) in groups.enumerated() {
            let group = c == nil ? runs : runs.filter { $0.budget == c }
            scatter.append(.init(name: c.map { "C = \(String(format: "%.2g", $0))" } ?? "runs",
                                 points: group.map { .init(x: $0.loss, y: law.loss(parameters: $0.parameters, tokens: $0.tokens)) }, style: .points, colour: i))
        }
        let lo = runs.map(\.loss).min()!, hi = runs.map(\.loss).max()!
        scatter.append(.init(name: "y = x", points: [.init(x: lo, y: lo), .init(x: hi, y: hi)], style: .dashed, colour: 7))
        var plot = XYPlot(title: String(format: "Fitted vs observed: L = %.3f + %.3g/N^%.3f + %.3g/D^%.3f", law.E, law.A, law.alpha, law.B, law.beta),
                          xLabel: "observed held-out loss", yLabel: "fitted L(N, D)", series: scatter, logX: false, logY: false)
        plot.legendRight = false
        return plot
    }

    /// Compute-optimal N against C: approach 3 with its bootstrap band, approach 2, the best runs.
    func optimalPlot() -> XYPlot? {
        guard !sweepBudgets.isEmpty else { return nil }
        let law = full.law
        let cs = Self.logGrid(sweepBudgets.first! / 3, sweepBudgets.last! * 3, 25)
        let band = cs.map { c -> LinePlot.Point in
            let ns = allocationIdentified ? laws.map { $0.optimal(compute: c).parameters }.filter(\.isFinite).sorted() : []
            return .init(x: c, y: law.optimal(compute: c).parameters,
                         lower: ns.isEmpty ? nil : quantile(ns, 0.025), upper: ns.isEmpty ? nil : quantile(ns, 0.975))
        }
        let bandName = allocationIdentified ? "95% band" : "no band: not identified"
        var series: [XYPlot.Series] = [.init(name: String(format: "approach 3: N_opt ∝ C^%.2f (%@)", law.parameterExponent, bandName), points: band, style: .line, colour: 0)]
        series.append(.init(name: "IsoFLOP parabola minima (interior)", points: interior.map { .init(x: $0.budget, y: $0.parameters) }, style: .highlight, colour: 1))
        series.append(.init(name: "best trained run per budget", points: minima.map { .init(x: $0.budget, y: $0.bestRunParameters) }, style: .points, colour: 2))
        if let p = approach2 {
            series.append(.init(name: String(format: "approach 2: N_opt ∝ C^%.2f", p.exponent),
                                points: cs.map { .init(x: $0, y: p.coefficient * pow($0, p.exponent)) }, style: .dashed, colour: 1))
        }
        var plot = XYPlot(title: "Compute-optimal model size", xLabel: "training compute C = 6ND (FLOPs)", yLabel: "parameters N_opt",
                          series: series, logX: true, logY: true)
        plot.legendRight = false
        return plot
    }
}
