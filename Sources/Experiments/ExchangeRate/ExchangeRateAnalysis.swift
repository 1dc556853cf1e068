import Foundation
import LlamaCore

/// One trained model of the grid, sampled: what it cost to train and, per temperature and
/// selection rule, its accuracy on every problem at every k with the inference cost of k.
public struct SampledModel: Sendable {
    /// The grid cell (size and training tokens); seeds of one cell share it.
    public var cell: String
    public var seed: Int
    /// Training FLOPs counted from the work (`train`'s flops_actual); the verifier's training
    /// is added for the verifier rule.
    public var trainFLOPs: Double
    /// [temperature][rule] → accuracy[k index][problem index], problems in one shared order.
    public var accuracy: [Double: [SelectionRule: [[Double]]]]
    /// [temperature][rule] → FLOPs per query: `perQuery + k · perSample`.
    public var inferenceCost: [Double: [SelectionRule: InferenceCost]]
    /// Each problem's difficulty level (the task's digits per operand), in the problems' order.
    public var levels: [String]
    /// The problems' ids, in that order.
    public var problems: [Int]

    public init(cell: String, seed: Int, trainFLOPs: Double, accuracy: [Double: [SelectionRule: [[Double]]]],
                inferenceCost: [Double: [SelectionRule: InferenceCost]], levels: [String] = [], problems: [Int] = []) {
        self.cell = cell; self.seed = seed; self.trainFLOPs = trainFLOPs; self.accuracy = accuracy; self.inferenceCost = inferenceCost
        self.levels = levels; self.problems = problems
    }
}

/// Inference FLOPs of one query answered with k samples: the prompt once (its KV cells are
/// shared by the samples), then each sample's tokens, and for the verifier rule one verifier
/// call per sample. Means over the problems.
public struct InferenceCost: Codable, Equatable, Sendable {
    public var perQuery: Double
    public var perSample: Double
    public init(perQuery: Double, perSample: Double) { self.perQuery = perQuery; self.perSample = perSample }
    public func flops(k: Double) -> Double { perQuery + k * perSample }
}

/// Iso-accuracy analysis over the (training compute, inference compute per query) plane.
public enum ExchangeRateAnalysis {
    /// A cell of the grid at one temperature and rule: seed-averaged accuracy at every k.
    public struct CellCurve: Codable, Sendable {
        public var cell: String
        public var trainFLOPs: Double
        public var accuracy: [Double]
        public var cost: InferenceCost
    }

    /// The smallest k (real, interpolated linearly in log k between the grid's k values) at
    /// which `accuracy` reaches `target`; nil when it never does. At most ks[0]: a cell already
    /// at the target with one sample is *censored* (it would meet the target with less).
    public static func samplesNeeded(accuracy: [Double], ks: [Int], target: Double) -> (k: Double, censored: Bool)? {
        guard let first = accuracy.firstIndex(where: { $0 >= target }) else { return nil }
        if first == 0 { return (Double(ks[0]), true) }
        let (a0, a1) = (accuracy[first - 1], accuracy[first])
        let (l0, l1) = (log(Double(ks[first - 1])), log(Double(ks[first])))
        let t = a1 > a0 ? (target - a0) / (a1 - a0) : 1
        return (exp(l0 + t * (l1 - l0)), false)
    }

    /// Where one cell meets a target: the samples and the inference FLOPs per query it takes.
    public struct Requirement: Codable, Sendable {
        public var cell: String
        public var trainFLOPs: Double
        public var k: Double
        public var inferenceFLOPs: Double
        public var censored: Bool
        /// No cell trains with less compute and also infers with less (the iso-accuracy frontier).
        public var efficient: Bool
    }

    public static func requirements(_ curves: [CellCurve], ks: [Int], target: Double) -> [Requirement] {
        var out: [Requirement] = curves.compactMap { c in
            guard let need = samplesNeeded(accuracy: c.accuracy, ks: ks, target: target) else { return nil }
            return Requirement(cell: c.cell, trainFLOPs: c.trainFLOPs, k: need.k, inferenceFLOPs: c.cost.flops(k: need.k),
                               censored: need.censored, efficient: false)
        }
        for i in out.indices {
            out[i].efficient = !out.indices.contains { j in
                j != i && out[j].trainFLOPs <= out[i].trainFLOPs && out[j].inferenceFLOPs <= out[i].inferenceFLOPs
                    && (out[j].trainFLOPs < out[i].trainFLOPs || out[j].inferenceFLOPs < out[i].inferenceFLOPs)
            }
        }
        return out.sorted { $0.trainFLOPs < $1.trainFLOPs }
    }

    /// The exchange rate at one target: along the iso-accuracy frontier (efficient cells that
    /// need more than one sample), the least-squares slope of log C_infer on log C_train.
    /// `elasticity` = −slope: one decade more training compute replaces that many decades of
    /// inference compute per query. `rate` = dC_train/dC_infer at the frontier's (geometric)
    /// centre: training FLOPs that replace one inference FLOP per query (negative: a trade).
    public struct Rate: Codable, Sendable {
        public var elasticity: Double
        public var rate: Double
        public var cells: Int
    }

    public static func rate(_ requirements: [Requirement]) -> Rate? {
        let frontier = requirements.filter { $0.efficient && !$0.censored }
        guard frontier.count >= 2 else { return nil }
        let xs = frontier.map { log10($0.trainFLOPs) }, ys = frontier.map { log10($0.inferenceFLOPs) }
        let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
        let sxx = xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        guard sxx > 1e-12 else { return nil }
        let slope = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) } / sxx
        guard slope < 0 else { return Rate(elasticity: -slope, rate: .infinity, cells: frontier.count) }
        return Rate(elasticity: -slope, rate: (1 / slope) * pow(10, mx) / pow(10, my), cells: frontier.count)
    }

    /// Cheapest total cost C_train + Q · C_infer at a target, for a query volume Q
    /// (Sardana & Frankle 2023): which cell, how many samples, what it costs.
    public struct TotalCost: Codable, Sendable {
        public var queries: Double
        public var cell: String
        public var k: Double
        public var trainFLOPs: Double
        public var totalFLOPs: Double
    }

    public static func cheapest(_ requirements: [Requirement], queries: Double) -> TotalCost? {
        requirements.map { r in
            TotalCost(queries: queries, cell: r.cell, k: r.k, trainFLOPs: r.trainFLOPs, totalFLOPs: r.trainFLOPs + queries * r.inferenceFLOPs)
        }.min { $0.totalFLOPs < $1.totalFLOPs }
    }

    /// Seed-averaged curves of every cell for one temperature and rule, with each model's seed
    /// weighted by `seedWeights` (resampled seeds) and each problem by `problemWeights`
    /// (resampled problems; nil: all problems once).
    public static func cellCurves(_ models: [SampledModel], temperature: Double, rule: SelectionRule, ks: [Int],
                                  seedPicks: [String: [Int]]? = nil, problemWeights: [Double]? = nil) -> [CellCurve] {
        let byCell = Dictionary(grouping: models, by: \.cell)
        return byCell.keys.sorted().compactMap { cell -> CellCurve? in
            let members = byCell[cell]!.sorted { $0.seed < $1.seed }
            let picks = seedPicks?[cell] ?? Array(members.indices)
            guard !picks.isEmpty else { return nil }
            var accuracy = [Double](repeating: 0, count: ks.count)
            var perQuery = 0.0, perSample = 0.0, train = 0.0
            for m in picks.map({ members[$0] }) {
                guard let table = m.accuracy[temperature]?[rule], let cost = m.inferenceCost[temperature]?[rule] else { return nil }
                for k in ks.indices { accuracy[k] += weightedMean(table[k], weights: problemWeights) }
                perQuery += cost.perQuery; perSample += cost.perSample; train += m.trainFLOPs
            }
            let count = Double(picks.count)
            return CellCurve(cell: cell, trainFLOPs: train / count, accuracy: accuracy.map { $0 / count },
                             cost: InferenceCost(perQuery: perQuery / count, perSample: perSample / count))
        }
    }

    /// Accuracy by difficulty level at the smallest and largest k, seed-averaged: where more
    /// samples help (problems a model half knows) and where they cannot (beyond it).
    public struct LevelAccuracy: Codable, Sendable {
        public var cell: String
        public var level: String
        public var problems: Int
        public var fewest: Double
        public var most: Double
    }

    public static func levelAccuracy(_ models: [SampledModel], temperature: Double, rule: SelectionRule) -> [LevelAccuracy] {
        let byCell = Dictionary(grouping: models, by: \.cell)
        return byCell.keys.sorted().flatMap { cell -> [LevelAccuracy] in
            let members = byCell[cell]!
            guard let levels = members.first?.levels, !levels.isEmpty else { return [] }
            return Set(levels).sorted().compactMap { level -> LevelAccuracy? in
                let index = levels.indices.filter { levels[$0] == level }
                var fewest = 0.0, most = 0.0
                for m in members {
                    guard let table = m.accuracy[temperature]?[rule], let first = table.first, let last = table.last else { return nil }
                    fewest += index.reduce(0) { $0 + first[$1] } / Double(index.count)
                    most += index.reduce(0) { $0 + last[$1] } / Double(index.count)
                }
                return LevelAccuracy(cell: cell, level: level, problems: index.count, fewest: fewest / Double(members.count), most: most / Double(members.count))
            }
        }
    }

    static func weightedMean(_ values: [Double], weights: [Double]?) -> Double {
        guard let weights else { return values.reduce(0, +) / Double(max(1, values.count)) }
        var s = 0.0, w = 0.0
        for (v, x) in zip(values, weights) { s += v * x; w += x }
        return w > 0 ? s / w : 0
    }

    /// Seed × problem bootstrap of the rate at each target: every replicate draws each cell's
    /// seeds with replacement and the problems with replacement (the same problems for every
    /// model, so cells stay paired), and recomputes the curves, the frontier and the rate.
    public struct RateInterval: Codable, Sendable {
        public var target: Double
        public var estimate: Rate?
        /// 2.5% and 97.5% percentiles over the replicates where a rate exists.
        public var elasticityInterval: [Double]?
        public var rateInterval: [Double]?
        /// Replicates in which the frontier had at least two uncensored cells.
        public var definedFraction: Double
    }

    public static func bootstrapRates(_ models: [SampledModel], temperature: Double, rule: SelectionRule, ks: [Int], targets: [Double],
                                      trainExtra: Double = 0, replicates: Int, seed: UInt64) -> [RateInterval] {
        func withExtra(_ curves: [CellCurve]) -> [CellCurve] { curves.map { var c = $0; c.trainFLOPs += trainExtra; return c } }
        let problems = models.first?.accuracy[temperature]?[rule]?.first?.count ?? 0
        let seedsPerCell = Dictionary(grouping: models, by: \.cell).mapValues(\.count)
        var samples = [[Rate]](repeating: [], count: targets.count)
        var rng = SeededRandom(seed: seed, label: "exchange-rate-bootstrap", UInt64(SelectionCurves.rules.firstIndex(of: rule)!), UInt64(temperature * 1000))
        for _ in 0..<replicates {
            var weights = [Double](repeating: 0, count: problems)
            for _ in 0..<problems { weights[rng.nextInt(below: problems)] += 1 }
            var picks: [String: [Int]] = [:]
            for (cell, count) in seedsPerCell.sorted(by: { $0.key < $1.key }) { picks[cell] = (0..<count).map { _ in rng.nextInt(below: count) } }
            let curves = withExtra(cellCurves(models, temperature: temperature, rule: rule, ks: ks, seedPicks: picks, problemWeights: weights))
            for (i, t) in targets.enumerated() {
                if let r = rate(requirements(curves, ks: ks, target: t)) { samples[i].append(r) }
            }
        }
        let full = withExtra(cellCurves(models, temperature: temperature, rule: rule, ks: ks))
        return targets.enumerated().map { i, t in
            let rs = samples[i]
            let finite = rs.filter { $0.rate.isFinite }
            return RateInterval(target: t, estimate: rate(requirements(full, ks: ks, target: t)),
                                elasticityInterval: rs.count >= 20 ? percentiles(rs.map(\.elasticity)) : nil,
                                rateInterval: finite.count >= 20 ? percentiles(finite.map(\.rate)) : nil,
                                definedFraction: replicates > 0 ? Double(rs.count) / Double(replicates) : 0)
        }
    }

    static func percentiles(_ values: [Double]) -> [Double] {
        let s = values.sorted()
        return [quantile(s, 0.025), quantile(s, 0.975)]
    }
}
