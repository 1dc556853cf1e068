import ArgumentParser
import Experiments
import Foundation
import Generation
import GGUF
import LlamaCore
import Tokenizers

/// `llamacl best-of-n`: N samples per problem, decoded together over a shared prompt, graded by
/// the task's exact verifier; pass@k and selection-rule accuracy vs k, with compute totals.
struct BestOfN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "best-of-n",
        abstract: "Repeated sampling: how accuracy grows with the number of samples per problem.",
        subcommands: [BestOfNRun.self, BestOfNMerge.self],
        defaultSubcommand: BestOfNRun.self)
}

struct BestOfNRun: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Sample N answers per problem and summarise (the default).")

    @OptionGroup var model: ModelOption
    @OptionGroup var backend: BackendOptions
    @Option(help: "arithmetic, countdown, or a JSONL file of {\"prompt\", \"answer\"} lines.") var task: String
    @Option(help: "Regex whose first group extracts the answer (JSONL tasks).") var answerRegex: String?
    @Option(help: "Arithmetic: digits per operand.") var digits: Int = 3
    @Option(help: "Arithmetic: operators to draw from.") var operations: String = "+-*"
    @Option(help: "Countdown: numbers per problem.") var numbers: Int = 4
    @Option(help: "Number of problems.") var problems: Int = 100
    @Option(help: "Samples per problem.") var n: Int = 16
    @Option(help: "Comma-separated k values (default: powers of 2 up to n).") var k: String?
    @Option(help: "Tokens per sample at most.") var maxTokens: Int = 16
    @Option(help: "Seed for problems and samples.") var seed: UInt64 = 0
    @Option(help: "Samples decoded together (default: min(n, 16)).") var batch: Int?
    @Option(help: "Stop a sample when this text appears (repeatable; default: a newline).") var stop: [String] = ["\n"]
    @Option(help: "Temperature.") var temp: Float = 1.0
    @Option(help: "Top-k (0 = off).") var topK: Int = 0
    @Option(help: "Top-p (1 = off).") var topP: Float = 1.0
    @Option(help: "Min-p (0 = off).") var minP: Float = 0
    @Option(help: "Run one slice of the problems, I/K (0-based), for spreading a run over machines.") var shard: String?
    @Option(help: "Output directory (re-running with the same one resumes).") var out: String
    @Flag(help: "Keep problems the model was trained on (by default a model trained by `llamacl train` on this task is evaluated on held-out problems only).")
    var includeTrainingProblems = false
    @Flag(help: "No progress bar.") var quiet = false

    var settings: SamplerSettings { SamplerSettings(temperature: temp, topK: topK, topP: topP, minP: minP) }

    func ks() throws -> [Int] {
        guard let k else { return RunParameters.defaultKs(n: n) }
        let values = k.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw ValidationError("--k must be comma-separated integers, e.g. 1,2,4") }
        let ks = values.map { $0! }
        if let bad = ks.first(where: { $0 < 1 || $0 > n }) { throw ValidationError("--k \(bad) must be between 1 and n = \(n)") }
        return ks
    }

    func validate() throws {
        guard n >= 1 else { throw ValidationError("--n must be at least 1, got \(n)") }
        guard problems >= 1 else { throw ValidationError("--problems must be at least 1, got \(problems)") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1, got \(maxTokens)") }
        if let b = batch, b < 1 { throw ValidationError("--batch must be at least 1, got \(b)") }
        _ = try ks()
        do { try settings.validate() } catch { throw ValidationError("\(error)") }
        if let shard { _ = try ShardSpec(parsing: shard) }
    }

    func makeTask() throws -> any ExperimentTask {
        switch task {
        case "arithmetic": return ArithmeticTask(digits: digits, operations: operations)
        case "countdown": return CountdownTask(numbers: numbers)
        default:
            guard task.hasSuffix(".jsonl") || FileManager.default.fileExists(atPath: task) else {
                throw ValidationError("unknown --task '\(task)' (arithmetic, countdown, or a .jsonl file)")
            }
            return try JSONLTask(path: task, answerPattern: answerRegex)
        }
    }

    func run() throws {
        let task = try makeTask()
        let shardSpec = try shard.map { try ShardSpec(parsing: $0) }
        let gguf = try GGUFFile(path: model.model)
        let allProblems = try includeTrainingProblems ? task.problems(count: problems, seed: seed) : heldOutProblems(task, trainedModel: gguf)
        let mine = shardSpec?.select(allProblems) ?? allProblems
        let batchSize = batch ?? min(n, 16)

        let tokenizer = try loadTokenizer(from: gguf)
        let prompts = try mine.map { try tokenizer.encode($0.prompt, addSpecial: true, parseSpecial: false) }
        let longest = prompts.map(\.count).max() ?? 0
        let cells = ParallelSampler.cellsNeeded(promptTokens: longest, batch: min(batchSize, n), maxTokens: maxTokens)
        let (_, lm) = try backend.load(model.model, minimumCells: cells)
        let c = lm.config
        let shape = ModelShape(parameters: gguf.tensors.reduce(0) { $0 + $1.elementCount }, layers: c.layers, attentionWidth: c.qDim)

        let parameters = RunParameters(
            task: task.name, problems: problems, n: n, ks: try ks(), maxTokens: maxTokens, seed: seed,
            sampler: ["temperature": Double(temp), "top_k": Double(topK), "top_p": Double(topP), "min_p": Double(minP),
                      "batch_invariant": 1],
            model: ModelIdentity(path: model.model, sha256: try SHA256.hash(fileAt: model.model), shape: shape),
            engineVersion: LlamaCL.version, backend: lm.backendName, device: lm.deviceName, shard: shardSpec)
        try parameters.validate()
        let store = try ResultStore(directory: URL(fileURLWithPath: out), parameters: parameters)
        if store.truncatedBytes > 0 { print("resumed: dropped \(store.truncatedBytes) bytes of a sample cut short", to: &standardError) }

        let todo = store.remaining(problems: mine.map(\.id), n: n)
        let total = mine.count * n
        let progress = ProgressPrinter(total: total, unit: "samples", quiet: quiet)
        var done = total - todo.reduce(0) { $0 + $1.samples.count }
        var generated = 0
        let start = Date()
        let sampler = ParallelSampler(model: lm, tokenizer: tokenizer, settings: settings)
        let byId = Dictionary(uniqueKeysWithValues: zip(mine.map(\.id), zip(mine, prompts)))
        for (problemId, indices) in todo where !indices.isEmpty {
            let (problem, prompt) = byId[problemId]!
            var last = Date()
            _ = try sampler.sample(prompt: prompt, indices: indices, batch: batchSize, seed: seed, problem: problemId,
                                   stop: StopRules(maxTokens: maxTokens, stopStrings: stop)) { output in
                let graded = task.grade(output.text, problem: problem)
                let now = Date()
                try store.append(Sample(problem: problemId, index: output.index, tokens: output.tokens, text: output.text,
                                        answer: graded.answer, correct: graded.correct, logprob: output.totalLogprob,
                                        promptTokens: prompt.count, seconds: now.timeIntervalSince(last)))
                last = now
                done += 1
                generated += output.tokens.count
                progress.update(done: done, tokensPerSecond: Double(generated) / max(1e-9, now.timeIntervalSince(start)))
            }
        }
        progress.finish()
        let summary = try store.writeSummary()
        try Plots.write(summary, to: URL(fileURLWithPath: out))
        printSummary(summary, out: out)
    }
}

extension BestOfNRun {
    /// The first `problems` problems of the seed whose prompts the model was not trained on.
    /// `llamacl train` records its data, seed and problem count; the task generators are
    /// deterministic (problem i depends only on seed and i), so the training set can be rebuilt.
    func heldOutProblems(_ task: any ExperimentTask, trainedModel gguf: GGUFFile) throws -> [Problem] {
        guard (try? gguf.string("training.data")) == task.name, let items = try? gguf.int("training.items"),
              let trainingSeed = (try? gguf.int("training.seed")).flatMap({ $0 }) else {
            return try task.problems(count: problems, seed: seed)
        }
        let trained = Set(try task.problems(count: items, seed: UInt64(trainingSeed)).map(\.prompt))
        var count = problems
        while true {
            let candidates = try task.problems(count: count, seed: seed)
            let held = candidates.filter { !trained.contains($0.prompt) }
            if held.count >= problems {
                let kept = Array(held.prefix(problems))
                print("held out: \(kept.count) problems the model never saw in training (\(candidates.count - held.count) of the first \(candidates.count) were training problems)", to: &standardError)
                return kept
            }
            guard count < problems * 64 else { throw InvalidInput(description: "too few problems outside the model's training set for --problems \(problems)") }
            count *= 2
        }
    }
}

struct BestOfNMerge: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "merge", abstract: "Combine shard directories into one run and summary.")

    @Option(help: "Output directory for the merged run.") var out: String
    @Argument(help: "Shard directories written by best-of-n --shard I/K.") var shards: [String]

    func run() throws {
        guard !shards.isEmpty else { throw ValidationError("give the shard directories to merge") }
        let summary = try ResultStore.merge(shardDirectories: shards.map { URL(fileURLWithPath: $0) }, into: URL(fileURLWithPath: out))
        try Plots.write(summary, to: URL(fileURLWithPath: out))
        printSummary(summary, out: out)
    }
}

/// The terminal table: pass@k and each rule's accuracy at each k.
func printSummary(_ s: Summary, out: String) {
    let ks = s.provenance.ks
    func cell(_ e: Estimate?) -> String {
        let text = e.map { String(format: "%.3f", $0.mean) } ?? "-"
        return String(repeating: " ", count: max(0, 7 - text.count)) + text
    }
    print("\(s.problems) problems × \(s.provenance.n) samples — results in \(out)")
    print("k".padding(toLength: 16, withPad: " ", startingAt: 0) + ks.map { String(format: "%7d", $0) }.joined())
    print("pass@k".padding(toLength: 16, withPad: " ", startingAt: 0) + ks.map { cell(s.passAtK[String($0)]) }.joined())
    for rule in s.options.rules where rule != .oracle {
        let row = s.accuracy[rule.rawValue] ?? [:]
        print(rule.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0) + ks.map { cell(row[String($0)]) }.joined())
    }
    let cost = s.compute
    print(String(format: "compute: %d prompt + %d generated tokens, %.3g FLOPs, %.1f s, %.1f tokens/s",
                 cost.promptTokens, cost.generatedTokens, cost.flops ?? 0, cost.seconds, cost.tokensPerSecond))
}
