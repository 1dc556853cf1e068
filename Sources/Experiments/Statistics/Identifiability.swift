import Foundation

/// Which of the law's five parameters the runs determine, and how well.
///
/// **Criterion (profile likelihood, Raue et al. 2009, "Structural and practical identifiability
/// analysis ... exploiting the profile likelihood", Bioinformatics 25:1923).** For each parameter
/// θ, fix it at values across a wide scan range and minimise the fit objective H (Σ Huber) over
/// the other four, each time from the neighbouring solution and from the coarse start grid.
/// The statistic n·log(H(θ)/Ĥ) is the likelihood-ratio statistic of a Gaussian working
/// likelihood with its scale profiled out; for the Huber/L1 regime the exact statistic is up to
/// twice as large, so this errs towards wider intervals. The 95% profile interval is where the
/// statistic stays ≤ 3.84 (χ²₁). θ is **identified** when that interval ends inside the scan
/// range on both sides (for E the lower end may be its constraint E ≥ 0), *and* the 95% range
/// of the bootstrap replicates (each refitted from the start grid, never from the full-data
/// optimum) stays inside the scan range too. Otherwise the parameter is reported with no
/// interval, and `why` says which side is open: along a ridge the objective changes by less than
/// the threshold however far θ moves.
///
/// Scan ranges (fixed, wider than Chinchilla's initialisation grid): α, β log-spaced over
/// [0.01, max(10, 4·estimate)]; E over [0, max observed loss]; log A, log B over the estimate
/// ± 25 (a factor of 7·10¹⁰ either way; the grid's a, b span 25).
public enum Identifiability {
    public enum Parameter: String, CaseIterable, Codable, Sendable {
        case alpha, beta, E, A, B

        /// Index into the fit vector (a, b, e, α, β).
        var index: Int {
            switch self { case .A: 0; case .B: 1; case .E: 2; case .alpha: 3; case .beta: 4 }
        }

        func value(of law: ScalingLaw) -> Double {
            switch self { case .alpha: law.alpha; case .beta: law.beta; case .E: law.E; case .A: law.A; case .B: law.B }
        }
    }

    /// The χ²₁ 95% quantile: the profile interval's threshold.
    public static let threshold95 = 3.841458820694124
    /// log E used for E = 0 (exp(−50) ≈ 2·10⁻²², no effect on any loss).
    static let logZero = -50.0

    /// One parameter's profile.
    public struct Profile: Codable, Equatable, Sendable {
        public var parameter: Parameter
        /// Scan values, in the parameter's own units (α, β, E, A, B), ascending.
        public var values: [Double]
        /// The objective minimised over the other parameters at each value.
        public var objective: [Double]
        /// n·log(H/Ĥ) at each value.
        public var statistic: [Double]
        public var scanLower: Double
        public var scanUpper: Double
        /// Where the statistic crosses the threshold below and above the estimate; nil when it
        /// does not within the scan range.
        public var lower: Double?
        public var upper: Double?
        /// Lowest profile objective found (below the full fit's when the fit missed an optimum).
        public var minimum: Double

        enum CodingKeys: String, CodingKey {
            case parameter, values, objective, statistic, lower, upper, minimum
            case scanLower = "scan_lower", scanUpper = "scan_upper"
        }
    }

    /// A parameter as fit.json reports it.
    public struct Report: Codable, Equatable, Sendable {
        public var parameter: Parameter
        public var estimate: Double
        public var identified: Bool
        /// The 95% profile-likelihood interval, [lower, upper]; nil when not identified.
        public var interval: [Double]?
        /// The 95% percentile interval of the bootstrap replicates (refitted from the grid); nil
        /// when not identified.
        public var bootstrapInterval: [Double]?
        public var why: String
        public var profile: Profile

        enum CodingKeys: String, CodingKey {
            case parameter, estimate, identified, interval, why, profile
            case bootstrapInterval = "bootstrap_interval"
        }
    }

    struct Data {
        let logN: [Double], logD: [Double], logL: [Double], delta: Double
        func objective(_ p: [Double]) -> (value: Double, gradient: [Double]) {
            ScalingFit.objective(p, logN: logN, logD: logD, logL: logL, delta: delta)
        }
    }

    /// The objective minimised with coordinate `index` fixed at `value`, from each start (full
    /// 5-vectors; their own value at `index` is ignored). Returns the best point and value.
    static func minimiseFixed(_ data: Data, index: Int, value: Double, starts: [[Double]]) -> ([Double], Double) {
        var best: [Double] = [], bestValue = Double.infinity
        func embed(_ q: [Double]) -> [Double] { var p = q; p.insert(value, at: index); return p }
        for start in starts {
            var q = start; q.remove(at: index)
            let (x, v) = ScalingFit.minimise(from: q) { q in
                let (f, g) = data.objective(embed(q))
                var gq = g; gq.remove(at: index)
                return (f, gq)
            }
            if v < bestValue, x.allSatisfy(\.isFinite) { best = embed(x); bestValue = v }
        }
        return (best, bestValue)
    }

    /// The scan range of a parameter, in its own units.
    static func scanRange(_ parameter: Parameter, estimate: Double, runs: [ScalingRun]) -> (Double, Double) {
        switch parameter {
        case .alpha, .beta: return (0.01, max(10, 4 * (estimate.isFinite ? estimate : 10)))
        case .E: return (0, max(runs.map(\.loss).max() ?? 1, estimate.isFinite ? estimate : 0))
        case .A, .B:
            let l = log(estimate)
            return l.isFinite ? (exp(l - 25), exp(l + 25)) : (exp(-25), exp(25))
        }
    }

    /// Scan value (own units) → fit coordinate.
    static func coordinate(_ parameter: Parameter, _ value: Double) -> Double {
        switch parameter {
        case .alpha, .beta: return value
        case .E: return value > 0 ? max(log(value), logZero) : logZero
        case .A, .B: return log(value)
        }
    }

    /// Scan values: `points` spaced evenly in the fit's own coordinate (log for α, β, A, B; linear
    /// for E) over the range, plus the estimate.
    static func scanValues(_ parameter: Parameter, range: (Double, Double), estimate: Double, points: Int) -> [Double] {
        let m = max(points, 3)
        var values: [Double]
        switch parameter {
        case .E: values = (0..<m).map { range.0 + (range.1 - range.0) * Double($0) / Double(m - 1) }
        default:
            let lo = log(range.0), hi = log(range.1)
            values = (0..<m).map { exp(lo + (hi - lo) * Double($0) / Double(m - 1)) }
        }
        if estimate.isFinite, estimate >= range.0, estimate <= range.1 { values.append(estimate) }
        return Array(Set(values)).sorted()
    }

    /// Profiles one parameter around the full fit.
    public static func profile(_ parameter: Parameter, runs: [ScalingRun], full: ScalingFit.Result, delta: Double = ScalingFit.chinchillaDelta,
                               points: Int = 41, starts: [ScalingLaw] = ScalingFit.coarseGrid(), refinements: Int = 12) -> Profile {
        let data = Data(logN: runs.map { log($0.parameters) }, logD: runs.map { log($0.tokens) }, logL: runs.map { log($0.loss) }, delta: delta)
        let law = full.law
        let fullVector = [law.a, law.b, law.e, law.alpha, law.beta]
        let estimate = parameter.value(of: law)
        let range = scanRange(parameter, estimate: estimate, runs: runs)
        let values = scanValues(parameter, range: range, estimate: estimate, points: points)
        let index = parameter.index
        // With one coordinate fixed, grid starts that differ only in it are the same start.
        var seen = Set<[Double]>()
        let gridStarts = starts.map { [$0.a, $0.b, $0.e, $0.alpha, $0.beta] }.filter { p in
            var q = p; q.remove(at: index); return seen.insert(q).inserted
        }

        // Moving an exponent alone moves its whole term by orders of magnitude (at α = 7, one
        // unit of α is a factor 10⁴ at N = 10⁴), so a neighbour's solution is a good start only
        // once its amplitude is moved with it: keep the term's value at a reference size (the
        // smallest, middle and largest N or D) where it was. Same for an amplitude: move the exponent.
        func referenceLogs(_ v: [Double]) -> [Double] {
            let logs = v.map { log($0) }
            let mean: Double = logs.reduce(0, +) / Double(logs.count)
            return [logs.min()!, mean, logs.max()!]
        }
        let sizes = [referenceLogs(runs.map(\.parameters)), referenceLogs(runs.map(\.tokens))]
        func shifted(_ solution: [Double], to value: Double) -> [[Double]] {
            let old = solution[index]
            guard old.isFinite, value.isFinite else { return [solution] }
            var out = [solution.enumerated().map { $0.offset == index ? value : $0.element }]
            switch parameter {
            case .alpha, .beta:
                let amplitude = parameter == .alpha ? 0 : 1
                for logRef in sizes[amplitude] { var p = out[0]; p[amplitude] += (value - old) * logRef; out.append(p) }
            case .A, .B:
                let (exponent, axis) = parameter == .A ? (3, 0) : (4, 1)
                for logRef in sizes[axis] where logRef > 0 { var p = out[0]; p[exponent] += (value - old) / logRef; out.append(p) }
            case .E: break
            }
            return out
        }

        // Walk outwards from the estimate so each point starts from its neighbour's solution.
        let centre = values.firstIndex { $0 >= estimate } ?? values.count - 1
        var objective = [Double](repeating: .infinity, count: values.count)
        var solutions = [[Double]](repeating: fullVector, count: values.count)
        func evaluate(_ i: Int, warm: [Double]) {
            let value = coordinate(parameter, values[i])
            let (x, v) = minimiseFixed(data, index: index, value: value, starts: shifted(warm, to: value) + shifted(fullVector, to: value) + gridStarts)
            objective[i] = v
            if !x.isEmpty { solutions[i] = x }
        }
        evaluate(centre, warm: fullVector)
        for i in stride(from: centre + 1, to: values.count, by: 1) { evaluate(i, warm: solutions[i - 1]) }
        for i in stride(from: centre - 1, through: 0, by: -1) { evaluate(i, warm: solutions[i + 1]) }

        let minimum = min(full.objective, objective.min() ?? .infinity)
        let n = Double(runs.count)
        func statistic(_ h: Double) -> Double {
            guard minimum > 0 else { return h > 0 ? .infinity : 0 }
            return n * log(h / minimum)
        }
        let stats = objective.map(statistic)
        let best = stats.indices.min { stats[$0] < stats[$1] } ?? centre

        // The threshold crossing on each side of the profile's minimum, refined by bisection in the coordinate.
        func crossing(from inside: Int, to outside: Int) -> Double {
            var a = coordinate(parameter, values[inside]), b = coordinate(parameter, values[outside])
            var warmA = solutions[inside], warmB = solutions[outside]
            for _ in 0..<refinements {
                let mid = (a + b) / 2
                let (x, v) = minimiseFixed(data, index: index, value: mid, starts: shifted(warmA, to: mid) + shifted(warmB, to: mid))
                if statistic(v) <= threshold95 { a = mid; if !x.isEmpty { warmA = x } } else { b = mid; if !x.isEmpty { warmB = x } }
            }
            let c = (a + b) / 2
            switch parameter {
            case .alpha, .beta: return c
            case .E: return c <= logZero ? 0 : exp(c)
            case .A, .B: return exp(c)
            }
        }
        var upper: Double?, lower: Double?
        if let out = stats.indices.first(where: { $0 > best && stats[$0] > threshold95 }) { upper = crossing(from: out - 1, to: out) }
        if let out = stats.indices.last(where: { $0 < best && stats[$0] > threshold95 }) { lower = crossing(from: out + 1, to: out) }
        // E's lower end is its constraint E ≥ 0, not an open side.
        if parameter == .E, lower == nil { lower = 0 }
        return Profile(parameter: parameter, values: values, objective: objective, statistic: stats, scanLower: range.0, scanUpper: range.1,
                       lower: lower, upper: upper, minimum: minimum)
    }

    /// Profiles every parameter and judges each with its bootstrap replicates `laws` (refitted
    /// from the start grid).
    public static func assess(runs: [ScalingRun], full: ScalingFit.Result, laws: [ScalingLaw], delta: Double = ScalingFit.chinchillaDelta,
                              points: Int = 41, starts: [ScalingLaw] = ScalingFit.coarseGrid(), confidence: Double = 0.95) -> [Report] {
        Parameter.allCases.map { parameter in
            let profile = profile(parameter, runs: runs, full: full, delta: delta, points: points, starts: starts)
            return judge(parameter, profile: profile, estimate: parameter.value(of: full.law), runs: runs, full: full,
                         replicates: laws.map { parameter.value(of: $0) }, confidence: confidence)
        }
    }

    static func judge(_ parameter: Parameter, profile: Profile, estimate: Double, runs: [ScalingRun], full: ScalingFit.Result,
                      replicates: [Double], confidence: Double) -> Report {
        func g(_ x: Double) -> String { String(format: "%.3g", x) }
        let name = parameter.rawValue
        var reasons: [String] = []
        if profile.minimum < full.objective * (1 - 1e-6) - 1e-12 {
            reasons.append("the profile found a lower objective (\(g(profile.minimum)) < \(g(full.objective))): the full fit missed an optimum")
        }
        let flat = "the objective rises by less than the 95% threshold (n·log(H/Ĥ) ≤ 3.84)"
        switch (profile.lower, profile.upper) {
        case (nil, nil):
            reasons.append("\(flat) over the whole scan range [\(g(profile.scanLower)), \(g(profile.scanUpper))]")
        case (let lo?, nil):
            reasons.append("\(name) ≥ \(g(lo)) at 95%, but \(flat) from there up to the scan bound \(g(profile.scanUpper)): no upper limit")
        case (nil, let hi?):
            reasons.append("\(name) ≤ \(g(hi)) at 95%, but \(flat) from there down to the scan bound \(g(profile.scanLower)): no lower limit")
        default: break
        }
        let boot = percentileInterval(replicates, confidence: confidence)
        if let boot, boot.lower < profile.scanLower * (1 - 1e-9) || boot.upper > profile.scanUpper * (1 + 1e-9) {
            reasons.append("the bootstrap replicates (refitted from the start grid) spread to [\(g(boot.lower)), \(g(boot.upper))], beyond the scan range")
        } else if boot == nil {
            reasons.append("no bootstrap replicate gave a finite value")
        }
        if parameter == .alpha || parameter == .A, reasons.count > 0, let indicator = nTermIndicator(runs: runs, law: full.law) {
            reasons.append(indicator)
        }
        let identified = reasons.isEmpty
        var why = identified
            ? "profile-likelihood interval closed inside the scan range [\(g(profile.scanLower)), \(g(profile.scanUpper))] and bootstrap replicates inside it"
            : reasons.joined(separator: "; ")
        if identified, let boot, (boot.lower > estimate || boot.upper < estimate) {
            why += "; the bootstrap interval does not contain the estimate (a skewed or multimodal bootstrap distribution)"
        }
        return Report(parameter: parameter, estimate: estimate, identified: identified,
                      interval: identified ? [profile.lower ?? profile.scanLower, profile.upper ?? profile.scanUpper] : nil,
                      bootstrapInterval: identified ? boot.map { [$0.lower, $0.upper] } : nil, why: why, profile: profile)
    }

    /// When the fitted N term falls by more than 100× between the two smallest model sizes (so it
    /// adds under 1% of its smallest-model value to every other model), it describes the smallest
    /// model only (an indicator), not a power law across sizes.
    static func nTermIndicator(runs: [ScalingRun], law: ScalingLaw) -> String? {
        let sizes = Set(runs.map(\.parameters)).sorted()
        guard sizes.count >= 2, law.alpha.isFinite else { return nil }
        let ratio = pow(sizes[1] / sizes[0], law.alpha)
        guard ratio > 100 else { return nil }
        return String(format: "the fitted N term A/N^α is %.2g times larger at the smallest model (N = %.3g) than at the next (N = %.3g): it acts as an indicator of the smallest model, not a power law",
                      ratio, sizes[0], sizes[1])
    }
}
