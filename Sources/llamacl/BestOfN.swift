import ArgumentParser
import Experiments
import Foundation
import Generation
import GGUF
import LlamaCore
import Tokenizers

/// `llamacl best-of-n`: N samples per problem, decoded together over a shared prompt, graded by
/// the task's exact verifier; pass@k and selection-rule accuracy vs k, with compute totals.
struct BestOfNCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "best-of-n",
        abstract: "Repeated sampling: how accuracy grows with the number of samples per problem.",
        subcommands: [BestOfNRun.self, BestOfNMerge.self, BestOfNSummary.self],
        defaultSubcommand: BestOfNRun.self)
}

struct BestOfNRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Sample N answers per problem and summarise (the default).")

    @OptionGroup var model: ModelOption
    @OptionGroup var backend: BackendOptions
    @Option(help: "arithmetic, countdown, graded-arithmetic, humaneval[=PATH] (default PATH: $LLAMACL_MODELS/HumanEval.jsonl.gz), or a JSONL file of {\"prompt\", \"answer\"} lines.")
    var task: String
    @Option(help: "Regex whose first group extracts the answer (JSONL tasks).") var answerRegex: String?
    @Option(help: "Arithmetic: digits per operand.") var digits: Int = 3
    @Option(help: "Arithmetic: operators to draw from.") var operations: String = "+-*"
    @Option(help: "Countdown: numbers per problem.") var numbers: Int = 4
    @OptionGroup var graded: GradedArithmeticOptions
    @Option(help: "HumanEval: prompt format, evalplus (EvalPlus's instruct prompt with its response prefix) or no-response-prefix.")
    var promptFormat: String = HumanEvalTask.PromptFormat.evalplus.rawValue
    @Option(help: "HumanEval: sandboxed grader processes running beside generation (default: half the CPUs).") var graderWorkers: Int?
    @Option(help: "HumanEval: wall-clock and CPU limit per program, seconds.") var graderTimeout: Double = 10
    @Option(help: "Number of problems.") var problems: Int = 100
    @Option(help: "Samples per problem.") var n: Int = 16
    @Option(help: "Comma-separated k values (default: powers of 2 up to n).") var k: String?
    @Option(help: "Tokens per sample at most (default: 16; humaneval 768).") var maxTokens: Int?
    @Option(help: "Seed for problems and samples.") var seed: UInt64 = 0
    @Option(help: "Samples decoded together (default: min(n, 16)).") var batch: Int?
    @Option(help: "Stop a sample when this text appears (repeatable; default: a newline; humaneval: EvalPlus's stop strings).")
    var stop: [String] = []
    @Option(help: "Temperature.") var temp: Float = 1.0
    @Option(help: "Top-k (0 = off).") var topK: Int = 0
    @Option(help: "Top-p (1 = off).") var topP: Float = 1.0
    @Option(help: "Min-p (0 = off).") var minP: Float = 0
    @Option(help: "Run one slice of the problems, I/K (0-based), for spreading a run over machines.") var shard: String?
    @Option(help: "Samples re-decoded alone after the run to measure that batching changed no token (0: none).") var invarianceChecks: Int = 4
    @Option(help: "Output directory (re-running with the same one resumes).") var out: String
    @Flag(help: "Keep problems the model was trained on (by default a model trained by `llamacl train` on this task is evaluated on held-out problems only).")
    var includeTrainingProblems = false
    @Flag(help: "No progress bar.") var quiet = false

    var settings: SamplerSettings { SamplerSettings(temperature: temp, topK: topK, topP: topP, minP: minP) }

    /// The run's options; stop strings and token budget default to the task's.
    func options(task: (any ExperimentTask)? = nil) throws -> BestOfNOptions {
        let ks: [Int]? = try k.map { try parseList($0, option: "--k", example: "1,2,4") }
        let shardSpec = try shard.map { try ShardSpec(parsing: $0) }
        let stop = self.stop.isEmpty ? (task?.defaultStop ?? ["\n"]) : self.stop
        let maxTokens = self.maxTokens ?? task?.defaultMaxTokens ?? 16
        return BestOfNOptions(problems: problems, n: n, ks: ks, maxTokens: maxTokens, seed: seed, batch: batch, stop: stop, sampler: settings,
                              shard: shardSpec, includeTrainingProblems: includeTrainingProblems, invarianceChecks: invarianceChecks, quiet: quiet)
    }

    func validate() throws {
        if task == "humaneval" || task.hasPrefix("humaneval=") {
            guard HumanEvalTask.PromptFormat(rawValue: promptFormat) != nil else {
                throw ValidationError("unknown --prompt-format '\(promptFormat)' (\(HumanEvalTask.PromptFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard graderTimeout > 0 else { throw ValidationError("--grader-timeout must be positive") }
            if let graderWorkers, graderWorkers < 1 { throw ValidationError("--grader-workers must be at least 1") }
        }
        do { try options().validate() } catch let error as ValidationError { throw error } catch { throw ValidationError("\(error)") }
    }

    func makeTask() throws -> any ExperimentTask {
        switch task {
        case "arithmetic": return ArithmeticTask(digits: digits, operations: operations)
        case "graded-arithmetic": return graded.task
        case "countdown": return CountdownTask(numbers: numbers)
        case "humaneval", _ where task.hasPrefix("humaneval="):
            let path = task == "humaneval" ? HumanEvalTask.defaultPath : String(task.dropFirst("humaneval=".count))
            let seconds = Int(graderTimeout.rounded(.up))
            return try HumanEvalTask(path: path, format: HumanEvalTask.PromptFormat(rawValue: promptFormat) ?? .evalplus,
                                     limits: SandboxLimits(wallSeconds: graderTimeout, cpuSeconds: seconds),
                                     workers: graderWorkers ?? GraderPool.defaultWorkers)
        default:
            guard task.hasSuffix(".jsonl") || FileManager.default.fileExists(atPath: task) else {
                throw ValidationError("unknown --task '\(task)' (arithmetic, countdown, graded-arithmetic, humaneval[=PATH], or a .jsonl file)")
            }
            return try JSONLTask(path: task, answerPattern: answerRegex)
        }
    }

    func run() throws {
        let task = try makeTask()
        let summary = try Experiments.BestOfN.run(
            modelPath: model.model, load: { path, cells in try backend.load(path, minimumCells: cells).1 }, task: task,
            options: try options(task: task), engineVersion: LlamaCL.version,
            threads: backend.backend == .opencl ? nil : backend.threadCount, out: URL(fileURLWithPath: out),
            log: { print($0, to: &standardError) })
        printSummary(summary, out: out)
    }
}

struct BestOfNMerge: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "merge", abstract: "Combine shard directories into one run and summary.")

    @Option(help: "Output directory for the merged run.") var out: String
    @Argument(help: "Shard directories written by best-of-n --shard I/K.") var shards: [String]
    @Flag(help: "Merge an incomplete run (missing shards, problems short of n samples); the summary is marked partial.")
    var allowPartial = false

    func run() throws {
        guard !shards.isEmpty else { throw ValidationError("give the shard directories to merge") }
        let summary = try ResultStore.merge(shardDirectories: shards.map { URL(fileURLWithPath: $0) }, into: URL(fileURLWithPath: out),
                                            allowPartial: allowPartial)
        if let partial = summary.partial { print("PARTIAL run: \(partial.joined(separator: "; "))", to: &standardError) }
        try Plots.write(summary, to: URL(fileURLWithPath: out))
        printSummary(summary, out: out)
    }
}

struct BestOfNSummary: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Recompute a finished run's summary from its samples (pass@k, selection rules, the coverage fit).",
        discussion: """
        Reads DIR/run.json and DIR/samples.jsonl and writes the summary with this build's statistics, \
        including the coverage fit: Brown et al.'s exp(a·k^b) beside the i.i.d. prediction 1 − (1 − p)^k, \
        both bootstrapped over problems. Writes DIR/summary.json unless --out names another file.
        """)

    @Argument(help: "A best-of-n run directory.") var directory: String
    @Option(help: "Where to write the summary (default: DIR/summary.json).") var out: String?

    func run() throws {
        let dir = URL(fileURLWithPath: directory)
        let summary = try ResultStore.recomputeSummary(in: dir)
        let target = out.map { URL(fileURLWithPath: $0) } ?? dir.appendingPathComponent(ResultStore.summaryFile)
        try ResultStore.writeAtomically(try summary.jsonData(), to: target)
        printSummary(summary, out: target.path)
    }
}

/// The terminal table: pass@k and each rule's accuracy at each k.
func printSummary(_ s: Summary, out: String) {
    let ks = s.parameters.ks
    func cell(_ e: Estimate?) -> String {
        let text = e.map { String(format: "%.3f", $0.mean) } ?? "-"
        return String(repeating: " ", count: max(0, 7 - text.count)) + text
    }
    print("\(s.problems) problems × \(s.parameters.n) samples — results in \(out)")
    print("k".padding(toLength: 16, withPad: " ", startingAt: 0) + ks.map { String(format: "%7d", $0) }.joined())
    print("pass@k".padding(toLength: 16, withPad: " ", startingAt: 0) + ks.map { cell(s.passAtK[String($0)]) }.joined())
    for rule in s.options.rules where rule != .oracle {
        let row = s.accuracy[rule.rawValue] ?? [:]
        print(rule.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0) + ks.map { cell(row[String($0)]) }.joined())
    }
    if let fit = s.coverageFit {
        func range(_ r: [Double]?) -> String { r.map { String(format: " [%.3g, %.3g]", $0[0], $0[1]) } ?? "" }
        print(String(format: "coverage fit exp(a·k^b): a = %.4g%@, b = %.4g%@, max |fit − pass@k| %.4f", fit.a, range(fit.aInterval), fit.b,
                     range(fit.bInterval), fit.brownMaxDeviation))
        print(String(format: "i.i.d. 1 − (1 − p)^k with p = %.4f: max |iid − pass@k| %.4f", fit.p, fit.iidMaxDeviation))
        for point in fit.points where point.k > 1 {
            let gap = point.iidGap.map { String(format: "%+.4f [%+.4f, %+.4f]", $0.mean, $0.lower, $0.upper) } ?? "-"
            print(String(format: "  k = %d: pass@k %.4f, Brown %.4f, i.i.d. %.4f, i.i.d. − pass@k %@", point.k, point.observed, point.brown, point.iid, gap))
        }
    }
    let cost = s.compute
    print(String(format: "compute: %d prompt + %d generated tokens, %.3g FLOPs, %.1f s, %.1f tokens/s",
                 cost.promptTokens, cost.generatedTokens, cost.flops ?? 0, cost.seconds, cost.tokensPerSecond))
    if let check = s.batchInvariance, check.checked > 0 {
        print("batch invariance: \(check.identical) of \(check.checked) samples re-decoded alone gave their batched tokens")
    }
}
