import LlamaCore
import Foundation

/// One finished training run of a scaling sweep: model size N (parameters), training tokens D
/// and the final held-out loss L. `budget` is the nominal compute C ≈ 6·N·D the run was planned
/// for (the IsoFLOP profile it belongs to), if any.
public struct ScalingRun: Codable, Equatable, Sendable {
    public var name: String
    public var parameters: Double
    public var tokens: Double
    public var loss: Double
    public var budget: Double?

    public init(name: String = "", parameters: Double, tokens: Double, loss: Double, budget: Double? = nil) {
        self.name = name; self.parameters = parameters; self.tokens = tokens; self.loss = loss; self.budget = budget
    }

    /// Training compute by the usual approximation C = 6·N·D.
    public var flops: Double { 6 * parameters * tokens }

    /// Reads runs from a CSV file with a header row. Columns are found by name: `parameters`,
    /// `tokens` (or the column named by `tokensColumn`, e.g. `tokens_loss` to count only the
    /// tokens that carry loss) and `held_out_loss` (or `loss`) are required; `name` and `budget`
    /// are optional. Rows with an empty or non-numeric loss are skipped.
    public static func readCSV(_ text: String, tokensColumn: String? = nil) throws -> [ScalingRun] {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard let header = lines.first else { return [] }
        let columns = header.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        func index(_ names: String...) -> Int? { names.lazy.compactMap { columns.firstIndex(of: $0) }.first }
        let dIndex = tokensColumn.map { index($0) } ?? index("tokens", "D")
        guard let nIndex = index("parameters", "N"), let dIndex,
              let lIndex = index("held_out_loss", "loss", "L") else {
            throw ExperimentError.invalidTaskParameter(task: "scaling-fit", reason: "the CSV header needs parameters, \(tokensColumn ?? "tokens") and held_out_loss columns, got: \(header)")
        }
        let nameIndex = index("name"), budgetIndex = index("budget")
        var runs: [ScalingRun] = []
        for line in lines.dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            func cell(_ i: Int?) -> String? { i.flatMap { $0 < cells.count ? cells[$0] : nil } }
            guard let n = cell(nIndex).flatMap(Double.init), let d = cell(dIndex).flatMap(Double.init),
                  let l = cell(lIndex).flatMap(Double.init), n > 0, d > 0, l > 0, l.isFinite else { continue }
            runs.append(ScalingRun(name: cell(nameIndex) ?? "", parameters: n, tokens: d, loss: l,
                                   budget: cell(budgetIndex).flatMap(Double.init)))
        }
        return runs
    }
}

/// L(N, D) = E + A/N^α + B/D^β, stored as Chinchilla's approach 3 fits it: e = log E, a = log A,
/// b = log B, so that log L = LSE(a − α·log N, b − β·log D, e).
public struct ScalingLaw: Codable, Equatable, Sendable {
    public var a: Double
    public var b: Double
    public var e: Double
    public var alpha: Double
    public var beta: Double

    public init(a: Double, b: Double, e: Double, alpha: Double, beta: Double) {
        self.a = a; self.b = b; self.e = e; self.alpha = alpha; self.beta = beta
    }

    /// Builds the law from E, A, B directly.
    public init(E: Double, A: Double, B: Double, alpha: Double, beta: Double) {
        self.init(a: log(A), b: log(B), e: log(E), alpha: alpha, beta: beta)
    }

    public var E: Double { exp(e) }
    public var A: Double { exp(a) }
    public var B: Double { exp(b) }

    public func loss(parameters n: Double, tokens d: Double) -> Double {
        exp(ScalingFit.logSumExp(a - alpha * log(n), b - beta * log(d), e))
    }

    /// Compute-optimal allocation under C = 6·N·D (Chinchilla eq. 4):
    /// N_opt(C) = G·(C/6)^(β/(α+β)), D_opt(C) = (C/6)/N_opt, G = (αA/(βB))^(1/(α+β)).
    public func optimal(compute c: Double) -> (parameters: Double, tokens: Double) {
        let s = alpha + beta
        let g = pow(alpha * A / (beta * B), 1 / s)
        let n = g * pow(c / 6, beta / s)
        return (n, (c / 6) / n)
    }

    /// Exponent of N_opt ∝ C^a; D_opt ∝ C^(1 − a).
    public var parameterExponent: Double { beta / (alpha + beta) }

    /// D_opt / N_opt at compute C.
    public func tokensPerParameter(compute c: Double) -> Double {
        let o = optimal(compute: c)
        return o.tokens / o.parameters
    }
}

/// Chinchilla's approach 3 (Hoffmann et al. 2022, §3.3 and appendix D.2), as replicated by
/// Besiroglu et al. (Epoch AI, 2024): minimise Σ Huber_δ(LSE(a − α log N, b − β log D, e) − log L)
/// over (a, b, e, α, β) with L-BFGS from a grid of initialisations, keep the best, and bootstrap
/// over runs for intervals.
public enum ScalingFit {
    public static let chinchillaDelta = 1e-3

    /// The initialisation grid of Chinchilla's appendix D.2 / Epoch's replication:
    /// α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1}, a, b ∈ {0, 5, …, 25} (4 500 starts).
    public static func chinchillaGrid() -> [ScalingLaw] {
        var grid: [ScalingLaw] = []
        let exps = [0.0, 0.5, 1.0, 1.5, 2.0], es = [-1.0, -0.5, 0.0, 0.5, 1.0], abs_ = [0.0, 5, 10, 15, 20, 25]
        for alpha in exps { for beta in exps { for e in es { for a in abs_ { for b in abs_ {
            grid.append(ScalingLaw(a: a, b: b, e: e, alpha: alpha, beta: beta))
        } } } } }
        return grid
    }

    /// A smaller grid (α, β ∈ {0.25, 1}, e ∈ {−0.5, 0.5}, a, b ∈ {2, 12}: 32 starts) for bootstrap
    /// refits and profiles.
    public static func coarseGrid() -> [ScalingLaw] {
        var grid: [ScalingLaw] = []
        for alpha in [0.25, 1.0] { for beta in [0.25, 1.0] { for e in [-0.5, 0.5] { for a in [2.0, 12] { for b in [2.0, 12] {
            grid.append(ScalingLaw(a: a, b: b, e: e, alpha: alpha, beta: beta))
        } } } } }
        return grid
    }

    public static func huber(_ r: Double, delta: Double) -> Double {
        abs(r) <= delta ? 0.5 * r * r : delta * (abs(r) - 0.5 * delta)
    }

    static func huberDerivative(_ r: Double, delta: Double) -> Double {
        abs(r) <= delta ? r : (r > 0 ? delta : -delta)
    }

    public static func logSumExp(_ x: Double, _ y: Double, _ z: Double) -> Double {
        let m = max(x, max(y, z))
        guard m.isFinite else { return m }
        return m + log(exp(x - m) + exp(y - m) + exp(z - m))
    }

    /// The approach-3 objective Σ Huber_δ(log L̂ − log L) and its gradient in (a, b, e, α, β).
    public static func objective(_ p: [Double], logN: [Double], logD: [Double], logL: [Double], delta: Double) -> (value: Double, gradient: [Double]) {
        var value = 0.0
        var g = [Double](repeating: 0, count: 5)
        for i in logN.indices {
            let u1 = p[0] - p[3] * logN[i], u2 = p[1] - p[4] * logD[i], u3 = p[2]
            let m = max(u1, max(u2, u3))
            let e1 = exp(u1 - m), e2 = exp(u2 - m), e3 = exp(u3 - m), s = e1 + e2 + e3
            let r = m + log(s) - logL[i]
            value += huber(r, delta: delta)
            let h = huberDerivative(r, delta: delta)
            let w1 = e1 / s, w2 = e2 / s, w3 = e3 / s
            g[0] += h * w1
            g[1] += h * w2
            g[2] += h * w3
            g[3] -= h * w1 * logN[i]
            g[4] -= h * w2 * logD[i]
        }
        return (value, g)
    }

    /// L-BFGS (memory 10) with a backtracking Armijo line search; returns the point reached and
    /// its objective value.
    static func minimise(from start: [Double], maxIterations: Int = 500,
                         _ f: ([Double]) -> (value: Double, gradient: [Double])) -> ([Double], Double) {
        func dot(_ x: [Double], _ y: [Double]) -> Double { zip(x, y).reduce(0) { $0 + $1.0 * $1.1 } }
        var x = start
        var (fx, gx) = f(x)
        guard fx.isFinite else { return (x, .infinity) }
        var sHistory: [[Double]] = [], yHistory: [[Double]] = []
        let memory = 10
        for _ in 0..<maxIterations {
            if dot(gx, gx).squareRoot() < 1e-12 { break }
            // Two-loop recursion: d = −H·g.
            var q = gx
            var alphas: [Double] = []
            for (s, y) in zip(sHistory, yHistory).reversed() {
                let rho = 1 / dot(y, s)
                let a = rho * dot(s, q)
                alphas.append(a)
                for j in q.indices { q[j] -= a * y[j] }
            }
            if let s = sHistory.last, let y = yHistory.last {
                let gamma = dot(s, y) / dot(y, y)
                for j in q.indices { q[j] *= gamma }
            }
            for ((s, y), a) in zip(zip(sHistory, yHistory), alphas.reversed()) {
                let rho = 1 / dot(y, s)
                let b = rho * dot(y, q)
                for j in q.indices { q[j] += s[j] * (a - b) }
            }
            var d = q.map { -$0 }
            var slope = dot(gx, d)
            if !(slope < 0) {   // not a descent direction: restart from steepest descent
                sHistory.removeAll(); yHistory.removeAll()
                d = gx.map { -$0 }
                slope = dot(gx, d)
            }
            // Backtracking line search (first step scaled so that it is at most 1 in each coordinate at the start).
            var step = sHistory.isEmpty ? min(1, 1 / max(1e-12, d.map(abs).max() ?? 1)) : 1
            var accepted = false
            var xNew = x, fNew = fx, gNew = gx
            for _ in 0..<60 {
                xNew = zip(x, d).map { $0 + step * $1 }
                (fNew, gNew) = f(xNew)
                if fNew.isFinite && fNew <= fx + 1e-4 * step * slope { accepted = true; break }
                step *= 0.5
            }
            if !accepted { break }
            let s = zip(xNew, x).map { $0 - $1 }, y = zip(gNew, gx).map { $0 - $1 }
            let improvement = fx - fNew
            x = xNew; fx = fNew; gx = gNew
            if dot(s, y) > 1e-18 {
                sHistory.append(s); yHistory.append(y)
                if sHistory.count > memory { sHistory.removeFirst(); yHistory.removeFirst() }
            }
            if improvement <= 1e-15 * max(1, abs(fx)) && improvement >= 0 { break }
        }
        return (x, fx)
    }

    public struct Result: Codable, Equatable, Sendable {
        public var law: ScalingLaw
        /// The objective (Σ Huber) at the optimum.
        public var objective: Double
        public var initialisations: Int
    }

    /// Fits the law to `runs` from every start in `starts`; keeps the lowest objective.
    public static func fit(_ runs: [ScalingRun], delta: Double = chinchillaDelta,
                           starts: [ScalingLaw] = chinchillaGrid()) -> Result {
        let logN = runs.map { log($0.parameters) }, logD = runs.map { log($0.tokens) }, logL = runs.map { log($0.loss) }
        var best: [Double] = [], bestValue = Double.infinity
        for s in starts {
            let (p, v) = minimise(from: [s.a, s.b, s.e, s.alpha, s.beta]) {
                objective($0, logN: logN, logD: logD, logL: logL, delta: delta)
            }
            if v < bestValue && p.allSatisfy(\.isFinite) { best = p; bestValue = v }
        }
        if best.isEmpty { best = [.nan, .nan, .nan, .nan, .nan] }
        return Result(law: ScalingLaw(a: best[0], b: best[1], e: best[2], alpha: best[3], beta: best[4]),
                      objective: bestValue, initialisations: starts.count)
    }

    /// A percentile interval over bootstrap replicates (the point estimate is the full-data fit).
    public struct Interval: Codable, Equatable, Sendable {
        public var estimate: Double
        public var lower: Double
        public var upper: Double
        public var median: Double
    }

    public struct Bootstrap: Codable, Equatable, Sendable {
        public var resamples: Int
        public var confidence: Double
        public var seed: UInt64
        public var alpha: Interval
        public var beta: Interval
        public var E: Interval
        public var A: Interval
        public var B: Interval
        /// β/(α+β): N_opt ∝ C^a.
        public var parameterExponent: Interval
        /// Per compute budget (keyed by the budget written as %g): D_opt/N_opt, N_opt and D_opt.
        public var tokensPerParameter: [String: Interval]
        public var optimalParameters: [String: Interval]
        public var optimalTokens: [String: Interval]
    }

    static func interval(_ estimate: Double, _ values: [Double], confidence: Double) -> Interval {
        let v = values.filter(\.isFinite).sorted()
        let tail = (1 - confidence) / 2
        return Interval(estimate: estimate, lower: quantile(v, tail), upper: quantile(v, 1 - tail), median: quantile(v, 0.5))
    }

    public static func budgetKey(_ c: Double) -> String { String(format: "%.3g", c) }

    /// Resamples the runs with replacement `resamples` times and refits each replicate from
    /// `starts`; percentile intervals. Whether a parameter is identified at all is
    /// `Identifiability`'s question: these intervals mean something only for those that are.
    public static func bootstrap(_ runs: [ScalingRun], full: Result, budgets: [Double], resamples: Int = 500,
                                 confidence: Double = 0.95, seed: UInt64 = 0, delta: Double = chinchillaDelta,
                                 starts: [ScalingLaw] = coarseGrid()) -> Bootstrap {
        let laws = bootstrapLaws(runs, full: full, resamples: resamples, seed: seed, delta: delta, starts: starts)
        return summarise(laws, full: full, budgets: budgets, confidence: confidence, seed: seed)
    }

    /// The refitted laws of `resamples` bootstrap replicates (runs drawn with replacement).
    ///
    /// Each replicate restarts from the grid `starts` alone. Starting replicates from the
    /// full-data optimum (as this code did before) keeps every replicate on whatever ridge that
    /// optimum sits on, so a parameter the data do not determine gets a narrow, meaningless
    /// interval; `fromFullOptimum` keeps that behaviour only to reproduce old results.
    public static func bootstrapLaws(_ runs: [ScalingRun], full: Result, resamples: Int = 500, seed: UInt64 = 0,
                                     delta: Double = chinchillaDelta, starts: [ScalingLaw] = coarseGrid(),
                                     fromFullOptimum: Bool = false) -> [ScalingLaw] {
        var rng = SeededRandom(seed: seed, label: "scaling-bootstrap")
        var laws: [ScalingLaw] = []
        for _ in 0..<resamples {
            let sample = (0..<runs.count).map { _ in runs[rng.nextInt(below: runs.count)] }
            laws.append(fit(sample, delta: delta, starts: (fromFullOptimum ? [full.law] : []) + starts).law)
        }
        return laws
    }

    /// Percentile intervals over bootstrap laws.
    public static func summarise(_ laws: [ScalingLaw], full: Result, budgets: [Double], confidence: Double = 0.95, seed: UInt64 = 0) -> Bootstrap {
        let resamples = laws.count
        let law = full.law
        func make(_ key: (ScalingLaw) -> Double) -> Interval { interval(key(law), laws.map(key), confidence: confidence) }
        var tpp: [String: Interval] = [:], nOpt: [String: Interval] = [:], dOpt: [String: Interval] = [:]
        for c in budgets {
            tpp[budgetKey(c)] = make { $0.tokensPerParameter(compute: c) }
            nOpt[budgetKey(c)] = make { $0.optimal(compute: c).parameters }
            dOpt[budgetKey(c)] = make { $0.optimal(compute: c).tokens }
        }
        return Bootstrap(resamples: resamples, confidence: confidence, seed: seed,
                         alpha: make(\.alpha), beta: make(\.beta), E: make(\.E), A: make(\.A), B: make(\.B),
                         parameterExponent: make(\.parameterExponent),
                         tokensPerParameter: tpp, optimalParameters: nOpt, optimalTokens: dOpt)
    }

    /// Chinchilla's approach 2 on one IsoFLOP profile: a parabola in log N through the best run
    /// and its two neighbours; its vertex is the loss-minimising model size at that budget. Nil with fewer than three
    /// sizes or when the parabola opens downwards (no interior minimum).
    public struct IsoFLOPMinimum: Codable, Equatable, Sendable {
        public var budget: Double
        public var parameters: Double
        public var tokens: Double
        public var loss: Double
        /// True when the vertex lies inside the sizes tried (an interpolated minimum).
        public var interior: Bool
        /// The best run actually trained at this budget.
        public var bestRunParameters: Double
        public var bestRunLoss: Double
    }

    public static func isoFLOPMinimum(_ runs: [ScalingRun], budget: Double) -> IsoFLOPMinimum? {
        let sorted = runs.sorted { $0.parameters < $1.parameters }
        guard let bestRun = sorted.min(by: { $0.loss < $1.loss }) else { return nil }
        guard Set(sorted.map(\.parameters)).count >= 3 else { return nil }
        // The parabola goes through the best run and its neighbours in N (three runs; the three at
        // the edge when the best is the smallest or largest): a profile with a sharp dip (a run
        // that learned the task while its neighbours did not) is not a parabola globally.
        let bestIndex = sorted.firstIndex(of: bestRun)!
        let lo = min(max(bestIndex - 1, 0), sorted.count - 3)
        let local = Array(sorted[lo..<(lo + 3)])
        // Least squares: loss = c0 + c1·x + c2·x², x = log10 N.
        let xs = local.map { log10($0.parameters) }, ys = local.map(\.loss)
        var m = [[Double]](repeating: [Double](repeating: 0, count: 4), count: 3)
        for (x, y) in zip(xs, ys) {
            let p = [1, x, x * x]
            for r in 0..<3 { for c in 0..<3 { m[r][c] += p[r] * p[c] }; m[r][3] += p[r] * y }
        }
        guard let c = solve3(m), c[2] > 0 else { return nil }
        let x = -c[1] / (2 * c[2])
        let n = pow(10, x)
        return IsoFLOPMinimum(budget: budget, parameters: n, tokens: budget / (6 * n), loss: c[0] + c[1] * x + c[2] * x * x,
                              interior: x >= xs.first! && x <= xs.last!,
                              bestRunParameters: bestRun.parameters, bestRunLoss: bestRun.loss)
    }

    /// Gaussian elimination with partial pivoting on a 3×4 augmented matrix.
    static func solve3(_ input: [[Double]]) -> [Double]? {
        var m = input
        for col in 0..<3 {
            guard let pivot = (col..<3).max(by: { abs(m[$0][col]) < abs(m[$1][col]) }), abs(m[pivot][col]) > 1e-12 else { return nil }
            m.swapAt(col, pivot)
            for r in 0..<3 where r != col {
                let f = m[r][col] / m[col][col]
                for c in col..<4 { m[r][c] -= f * m[col][c] }
            }
        }
        return (0..<3).map { m[$0][3] / m[$0][$0] }
    }

    /// Least-squares line through (log C, log N): N_opt ∝ C^slope.
    public static func powerLaw(_ points: [(x: Double, y: Double)]) -> (exponent: Double, coefficient: Double)? {
        guard points.count >= 2 else { return nil }
        let xs = points.map { log($0.x) }, ys = points.map { log($0.y) }
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        let sxx = xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        guard sxx > 0 else { return nil }
        let sxy = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let slope = sxy / sxx
        return (slope, exp(my - slope * mx))
    }
}
