import Foundation

/// Best-of-N accuracy against inference compute for several models' runs on the same problems
/// (`llamacl compute-matched`). FLOPs per problem for k samples = the prompt once + k × the mean
/// sample's cost (the KV cache is shared), from each summary's compute totals and model shape;
/// also without the prompt (the samples alone). With the runs' samples, every compute-matched
/// A-vs-B comparison gets a paired bootstrap interval (`MatchedDifference`).
public struct ComputeMatchedReport {
    /// One model at one k.
    public struct Row: Sendable {
        public var label: String, parameters: Int, k: Int, flops: Double
        public var passAtK: Estimate, majority: Estimate?
        /// k × one sample's FLOPs: the cost without the shared prompt.
        public var samplingFlops: Double
    }

    /// Models in the order given (smallest first), and their rows.
    public let labels: [String]
    public let rows: [Row]
    /// Per model: FLOPs of the shared prompt per problem, and of one sample.
    public let costs: [String: (prompt: Double, sample: Double)]
    /// Written beside the tables as provenance.json: the runs' labels, the summaries read and
    /// the models behind them (hashes from the summaries).
    public var provenance: Provenance

    /// Paired compute-matched differences (empty without samples).
    public let differences: [MatchedDifference]

    /// `runs` are (label, summary) pairs, smallest model first. `summaryFiles` are the files
    /// they were read from, when they were; `samples` (by label, all runs or none) enable the
    /// paired differences.
    public init(runs: [(label: String, summary: Summary)], summaryFiles: [InputFile] = [], samples: [String: [Sample]] = [:],
                resamples: Int = 2000, seed: UInt64 = 0) throws {
        var rows: [Row] = [], costs: [String: (prompt: Double, sample: Double)] = [:]
        for (label, s) in runs {
            guard let shape = s.parameters.model.shape, let total = s.compute.flops else {
                throw ExperimentError.invalidTaskParameter(task: "compute-matched", reason: "the run \(label) has no model shape or FLOPs in its summary")
            }
            // Prompt cost per problem from the shape (mean prompt length), the rest is sampling.
            let meanPrompt = Double(s.compute.promptTokens) / Double(s.problems)
            let promptFlops = shape.flops(positions: 0, count: Int(meanPrompt.rounded()))
            let sampleFlops = (total - promptFlops * Double(s.problems)) / Double(s.problems * s.parameters.n)
            costs[label] = (promptFlops, sampleFlops)
            for k in s.parameters.ks {
                guard let p = s.passAtK[String(k)] else { continue }
                rows.append(Row(label: label, parameters: shape.parameters, k: k, flops: promptFlops + Double(k) * sampleFlops,
                                passAtK: p, majority: s.accuracy[SelectionRule.majorityVote.rawValue]?[String(k)], samplingFlops: Double(k) * sampleFlops))
            }
        }
        labels = runs.map(\.label)
        self.rows = rows
        self.costs = costs
        let models = runs.map { InputFile(role: "model", path: $0.summary.parameters.model.path, sha256: $0.summary.parameters.model.sha256) }
        // Each run's seed, by its label.
        provenance = .current(seeds: Dictionary(runs.map { ($0.label, $0.summary.parameters.seed) }, uniquingKeysWith: { first, _ in first }),
                              hyperParameters: ["labels": .list(labels.map { .string($0) }), "bootstrap_resamples": .integer(resamples)],
                              inputs: summaryFiles + models)
        if !samples.isEmpty, runs.allSatisfy({ samples[$0.label] != nil }) {
            let first = runs[0].summary.parameters
            for (label, s) in runs where s.parameters.task != first.task || s.parameters.seed != first.seed {
                throw ExperimentError.invalidTaskParameter(task: "compute-matched",
                    reason: "paired comparisons need the same problems: \(label) ran \(s.parameters.task) with seed \(s.parameters.seed), \(runs[0].label) \(first.task) with seed \(first.seed)")
            }
            var accuracy: [String: PerProblemAccuracy] = [:]
            for (label, s) in runs { accuracy[label] = try PerProblemAccuracy(samples: samples[label]!, parameters: s.parameters, options: s.options) }
            differences = try MatchedDifference.all(labels: labels, accuracy: accuracy, flops: { label, k, basis in
                guard let c = costs[label] else { return nil }
                return basis == .withPrompt ? c.prompt + Double(k) * c.sample : Double(k) * c.sample
            }, resamples: resamples, seed: seed)
        } else {
            differences = []
        }
    }

    /// Reads each run's summary.json from its directory, and its samples.jsonl when every run has one.
    public static func load(runs: [(label: String, directory: URL)], resamples: Int = 2000, seed: UInt64 = 0) throws -> ComputeMatchedReport {
        var samples: [String: [Sample]] = [:]
        for run in runs {
            let path = run.directory.appendingPathComponent(ResultStore.samplesFile).path
            guard FileManager.default.fileExists(atPath: path) else { samples = [:]; break }
            samples[run.label] = try ResultStore.loadSamples(path: path).samples
        }
        return try ComputeMatchedReport(runs: runs.map { ($0.label, try ResultStore.readSummary(in: $0.directory)) },
                                        summaryFiles: runs.map { try InputFile(role: "summary", path: $0.directory.appendingPathComponent(ResultStore.summaryFile).path) },
                                        samples: samples, resamples: resamples, seed: seed)
    }

    public var csv: String {
        func e(_ x: Estimate?) -> String { x.map { String(format: "%.3f,%.3f,%.3f", $0.mean, $0.lower, $0.upper) } ?? ",," }
        var out = "model,parameters,k,inference_flops_per_problem,pass_at_k,pass_lower,pass_upper,majority_vote,majority_lower,majority_upper,inference_flops_samples_only\n"
        for r in rows {
            out += "\(r.label),\(r.parameters),\(r.k),\(String(format: "%.4g", r.flops)),\(e(r.passAtK)),\(e(r.majority)),\(String(format: "%.4g", r.samplingFlops))\n"
        }
        return out
    }

    public var markdown: String {
        func m(_ x: Estimate?) -> String { x.map { String(format: "%.3f [%.3f, %.3f]", $0.mean, $0.lower, $0.upper) } ?? "–" }
        var md = "| model | params | k | inference FLOPs / problem | without the prompt | pass@k [95% CI] | majority vote [95% CI] |\n|---|---:|---:|---:|---:|---|---|\n"
        for r in rows {
            md += "| \(r.label) | \(r.parameters) | \(r.k) | \(String(format: "%.3g", r.flops)) | \(String(format: "%.3g", r.samplingFlops)) | \(m(r.passAtK)) | \(m(r.majority)) |\n"
        }
        md += "\nCompute-matched pairs (the smaller model's largest k that costs no more than the larger model's k):\n\n"
        md += matchedPairs.map { "    " + $0 }.joined(separator: "\n") + "\n"
        if !differences.isEmpty { md += "\n" + differencesMarkdown }
        return md
    }

    /// The paired differences with the prompt counted: model at k minus the other model
    /// interpolated to the same FLOPs.
    public var differencesMarkdown: String {
        var md = "Paired differences at matched inference FLOPs (prompt included): A at k minus B interpolated in log FLOPs between its bracketing ks, "
        md += "per problem; 95% paired bootstrap over problems (\(differences.first?.delta.problems ?? 0) problems). * = interval excludes 0.\n\n"
        md += "| metric | A | k | FLOPs | B (ks) | A | B at same FLOPs | A − B [95% CI] |\n|---|---|---:|---:|---|---:|---:|---|\n"
        for d in differences where d.basis == .withPrompt {
            let ks = d.versusLowK == d.versusHighK ? "\(d.versusLowK)" : "\(d.versusLowK)–\(d.versusHighK)"
            md += String(format: "| %@ | %@ | %d | %.3g | %@ (%@) | %.3f | %.3f | %+.3f [%+.3f, %+.3f]%@ |\n", d.metric.rawValue, d.model, d.k, d.flops,
                         d.versus, ks, d.accuracy, d.versusAccuracy, d.delta.mean, d.delta.lower, d.delta.upper, d.delta.excludesZero ? " *" : "")
        }
        return md
    }

    /// For each larger model's k, the smaller model's largest k that costs no more.
    public var matchedPairs: [String] {
        var lines: [String] = []
        let majority = { (r: Row) in r.majority.map { String(format: "%.3f", $0.mean) } ?? "–" }
        for (i, small) in labels.enumerated() {
            for large in labels[(i + 1)...] {
                for big in rows where big.label == large {
                    guard let cheap = rows.filter({ $0.label == small && $0.flops <= big.flops }).max(by: { $0.k < $1.k }) else { continue }
                    lines.append(String(format: "%@ k=%d (%.3g FLOPs): pass@k %.3f, majority %@  vs  %@ k=%d (%.3g FLOPs): pass@k %.3f, majority %@",
                                        small, cheap.k, cheap.flops, cheap.passAtK.mean, majority(cheap), large, big.k, big.flops, big.passAtK.mean, majority(big)))
                }
            }
        }
        return lines
    }

    public func plot() -> XYPlot {
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
        return plot
    }

    /// Writes table.csv, table.md, accuracy-vs-flops.svg, provenance.json and (with samples)
    /// paired.csv into `directory`.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try provenance.write(into: directory)
        try ResultStore.writeAtomically(Data(csv.utf8), to: directory.appendingPathComponent("table.csv"))
        if !differences.isEmpty {
            let paired = ([MatchedDifference.csvHeader] + differences.map(\.csvRow)).joined(separator: "\n") + "\n"
            try ResultStore.writeAtomically(Data(paired.utf8), to: directory.appendingPathComponent("paired.csv"))
        }
        try ResultStore.writeAtomically(Data(markdown.utf8), to: directory.appendingPathComponent("table.md"))
        try ResultStore.writeAtomically(Data(plot().svg().utf8), to: directory.appendingPathComponent("accuracy-vs-flops.svg"))
    }
}
