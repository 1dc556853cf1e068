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
        initialisations and keeps the best. Each parameter is then profiled (fixed across a wide range, the \
        others refitted): one whose 95% profile interval does not close inside that range, or whose bootstrap \
        replicates (refitted from a start grid, not from the optimum) leave it, is reported as not identified, \
        with no interval. Identified parameters get the profile interval and the bootstrap percentile interval. \
        Writes fit.json, isoflop.svg (loss against N per budget, parabola minima marked, the fitted law dashed), \
        fit.svg (fitted against observed loss) and optimal.svg (compute-optimal N against C).
        """)

    @Option(help: "CSV of finished runs.") var runs: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Bootstrap resamples.") var resamples: Int = 500
    @Option(help: "Bootstrap seed.") var seed: UInt64 = 0
    @Option(help: "Huber δ (on log loss).") var delta: Double = ScalingFit.chinchillaDelta
    @Option(help: "Extra compute budgets (FLOPs, comma-separated) at which to report the optimal allocation.") var budgets: String?
    @Option(help: "The CSV column to read D from (e.g. tokens_loss: only the tokens that carry loss).") var tokensColumn: String = "tokens"
    @Option(help: "Scan points per parameter profile.") var profilePoints: Int = 41

    func validate() throws {
        if resamples < 1 { throw ValidationError("--resamples must be at least 1") }
        if profilePoints < 3 { throw ValidationError("--profile-points must be at least 3") }
    }

    func run() throws {
        let extra: [Double] = try budgets.map { try parseList($0, option: "--budgets", example: "1e13,1e14") } ?? []
        let report = try ScalingReport.load(runsFile: runs, tokensColumn: tokensColumn,
                                            options: .init(resamples: resamples, seed: seed, delta: delta, extraBudgets: extra, profilePoints: profilePoints))
        try report.write(to: URL(fileURLWithPath: out))
        report.lines.forEach { print($0) }
        print("wrote \(out)/fit.json, isoflop.svg, fit.svg\(report.sweepBudgets.isEmpty ? "" : ", optimal.svg")")
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
        from the summary's compute totals and model shape; also without the prompt (samples only). When every DIR \
        has its samples.jsonl, each model's accuracy at k is compared with every other model's accuracy interpolated \
        (per problem, linearly in log FLOPs) to the same FLOPs, with a paired bootstrap interval over problems. \
        Writes table.csv, table.md, paired.csv and accuracy-vs-flops.svg.
        """)

    @Option(name: .customLong("run"), help: "LABEL=DIR of a best-of-n run (repeatable, smallest model first).") var runs: [String]
    @Option(help: "Output directory.") var out: String
    @Option(help: "Bootstrap resamples of the paired differences.") var resamples: Int = 2000
    @Option(help: "Bootstrap seed.") var seed: UInt64 = 0

    func run() throws {
        guard resamples >= 1 else { throw ValidationError("--resamples must be at least 1") }
        let specs = try runs.map { spec -> (label: String, directory: URL) in
            guard let eq = spec.firstIndex(of: "=") else { throw ValidationError("--run wants LABEL=DIR, got \(spec)") }
            return (String(spec[..<eq]), URL(fileURLWithPath: String(spec[spec.index(after: eq)...])))
        }
        let report = try ComputeMatchedReport.load(runs: specs, resamples: resamples, seed: seed)
        try report.write(to: URL(fileURLWithPath: out))
        print(report.markdown, terminator: "")
        for label in report.labels {
            let c = report.costs[label]!
            print(String(format: "%@: prompt %.3g FLOPs/problem, %.3g FLOPs/sample", label, c.prompt, c.sample))
        }
    }
}
