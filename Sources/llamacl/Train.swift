import LlamaCore
import ArgumentParser
import Dispatch
import Experiments
import Foundation
import GGUF
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a small LLaMA-architecture model on the CPU and write it as a GGUF checkpoint.",
        discussion: """
        Data: --task arithmetic or countdown (the best-of-N generators and verifiers; the held-out problems \
        are one fixed set per task, the same for every run, and training skips them — see --held-out-set), \
        or a UTF-8 text file (the last 10% is held out). The summary counts the work: tokens_total (padding \
        included), tokens_loss (predictions with loss), flops_actual (forward + backward of every matrix \
        product, output head and attention included) beside flops_6nd (6 · non-embedding N · tokens_total), \
        and the held-out loss's standard error over examples. --count-only prints those counts without training. \
        The vocabulary is character-level, stored as a `llama` tokenizer, so llamacl and \
        llama.cpp load the checkpoint as any other model. Ctrl-C stops early and still writes the checkpoint.
        """)

    @Option(help: "arithmetic, countdown, graded-arithmetic, verify-graded-arithmetic (a verifier's task: is the candidate answer right?), or a text file.")
    var task: String
    @Option(help: "Arithmetic: digits per operand.") var digits: Int = 3
    @Option(help: "Arithmetic: operators to draw from.") var operations: String = "+-*"
    @Option(help: "Countdown: numbers per problem.") var numbers: Int = 4
    @OptionGroup var graded: GradedArithmeticOptions
    @Option(help: "verify-graded-arithmetic: the share of training items that are the questions themselves, answered (a generative verifier).")
    var generationShare: Double = 0

    @Option(help: "Width.") var dim: Int = 128
    @Option(help: "Layers.") var layers: Int = 4
    @Option(help: "Attention heads.") var heads: Int = 4
    @Option(help: "KV heads (default: --heads).") var kvHeads: Int?
    @Option(help: "Feed-forward width (default: 8/3 · width, rounded up to 16).") var ffn: Int?
    @Option(help: "Context length, also the row length of a batch (default: 64 arithmetic, 256 countdown, 128 text).") var context: Int?
    @Flag(help: "Separate output matrix instead of the tied embedding.") var untied = false
    @Option(help: "RoPE base.") var ropeBase: Float = 10000

    @Option(help: "Total training tokens (steps = tokens / (batch · context)).") var tokens: Int = 1_000_000
    @Option(help: "Sequences per batch.") var batch: Int = 16
    @Option(help: "Peak learning rate.") var lr: Double = 3e-3
    @Option(help: "Warmup steps (default: 5% of the steps, at most 200).") var warmup: Int?
    @Option(help: "Final learning rate as a fraction of the peak (cosine decay).") var minLrRatio: Double = 0.1
    @Option(help: "AdamW decoupled weight decay (matrices only).") var weightDecay: Double = 0.1
    @Option(help: "Global gradient-norm clip (0: off).") var clip: Double = 1.0
    @Option(help: "Seed: initial weights, data order, problems.") var seed: UInt64 = 1
    @Option(help: "Std of the initial weights.") var initStd: Double = 0.02
    @Option(help: "Which predictions count: completion (the answer and </s>) or all.") var loss: LossScope = .completion
    @Option(help: "Distinct training problems (default: enough that no problem repeats).") var problems: Int?
    @Option(help: "Held-out problems (tasks).") var heldOut: Int = 500
    @Option(help: "fixed: one held-out set per task (a fixed seed), excluded from training; per-seed: the set of runs made before (from the run's seed, minus training problems), to reproduce them.")
    var heldOutSet: HeldOutSet = .fixed
    @Flag(help: "Count what the run would process (tokens, loss tokens, FLOPs) and print it as JSON, without training or writing anything.")
    var countOnly = false
    @Option(help: "Instead of training: the held-out loss (with its standard error) of this checkpoint on the held-out set these options build (give the run's own task, seed and --held-out-set), as JSON.")
    var evaluate: String?
    @Option(help: "Held-out loss every N steps (0: only at the end).") var evalEvery: Int = 100
    @Option(name: [.short, .customLong("threads")], help: "CPU threads (default: the CPUs this process may use: SLURM_CPUS_PER_TASK or the affinity mask).") var threads: Int?

    @Option(name: [.short, .customLong("out")], help: "Output GGUF path (required unless --count-only).") var outPath: String?
    @Option(help: "Tensor type of the checkpoint: F32, F16 or BF16.") var type: String = "F32"
    @Option(help: "JSON-lines log: one record per --log-every steps and every held-out evaluation.") var log: String?
    @Option(help: "Log a record every N steps.") var logEvery: Int = 10
    @Flag(help: "Print the final summary as one JSON object.") var json = false

    func validate() throws {
        if outPath == nil && !countOnly && evaluate == nil { throw ValidationError("missing --out (the checkpoint path)") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1, got \(t)") }
        if logEvery < 1 { throw ValidationError("--log-every must be at least 1, got \(logEvery)") }
        if let c = context, c < 2 { throw ValidationError("--context must be at least 2, got \(c)") }
        guard let t = TensorType(name: type), Checkpoint.supportedTypes.contains(t) else {
            throw ValidationError("--type must be F32, F16 or BF16, got '\(type)'")
        }
    }

    func run() throws {
        var settings = TrainingSettings()
        settings.tokens = tokens; settings.rows = batch; settings.learningRate = lr; settings.warmupSteps = warmup
        settings.minLearningRateRatio = minLrRatio; settings.optimizer.weightDecay = weightDecay; settings.clipNorm = clip
        settings.seed = seed; settings.initStd = initStd; settings.evalEvery = evalEvery
        settings.threads = threads ?? AvailableCPUs.count
        try settings.validate()   // before the data is built
        // Fail before training, not after, when the checkpoint or log cannot be written.
        if countOnly { return try printCount(settings: settings) }
        if let evaluate { return try printEvaluation(checkpoint: evaluate, threads: settings.threads) }
        guard let out = outPath else { throw ValidationError("give the checkpoint path with --out") }
        let outDirectory = URL(fileURLWithPath: out).deletingLastPathComponent().path
        guard FileManager.default.isWritableFile(atPath: outDirectory) else {
            throw InvalidInput(description: "cannot write \(out): \(outDirectory) is not a writable directory")
        }
        let logFile = try log.map(openLog)
        defer { try? logFile?.close() }

        let data = try loadData()
        let length = data.source.length
        let config = ModelConfig.training(dim: dim, layers: layers, heads: heads, kvHeads: kvHeads, ffnDim: ffn,
                                          vocabSize: data.vocabulary.count, contextLength: length, ropeBase: ropeBase, tiedOutput: !untied)
        var live: LiveLine?
        let stop = StopFlag()
        let signals = stop.watchInterrupt()
        defer { signals.cancel(); signal(SIGINT, SIG_DFL) }
        let outcome = try TrainingRun.run(
            config: config, settings: settings, data: data, lossScope: loss, checkpoint: out, type: TensorType(name: type)!,
            name: "llamacl-\(data.name)-d\(dim)-l\(layers)", engine: "llamacl \(LlamaCL.version)",
            onStart: { trainer in
                live = LiveLine(total: trainer.steps)
                if !json {
                    stderrLine("training \(config.parameterCount) parameters (dim \(dim), \(layers) layers, \(heads)/\(config.kvHeads) heads, ffn \(config.ffnDim), vocab \(config.vocabSize), context \(length)) on \(data.name): \(trainer.steps) steps of \(batch)×\(length) tokens, \(data.trainingItems) training / \(data.heldOutItems) held-out items, \(settings.threads) threads")
                }
            },
            report: { record in
                if let f = logFile, record.step % logEvery == 0 || record.heldOutLoss != nil || record.step == record.steps {
                    try f.write(contentsOf: Data((try jsonLine(logObject(record)) + "\n").utf8))
                }
                live?.update(record)
            },
            shouldStop: { stop.isSet })
        live?.finish()
        let last = outcome.last, heldOutLoss = outcome.heldOutLoss

        let seconds = last?.seconds ?? 0
        var summary: [String: Any] = [
            "out": out, "steps": outcome.records.count, "planned_steps": outcome.plannedSteps, "tokens": last?.tokens ?? 0,
            "loss": last?.loss ?? NSNull(), "held_out_loss": heldOutLoss ?? NSNull(), "seconds": seconds,
            "tokens_per_second": last?.tokensPerSecond ?? 0, "parameters": config.parameterCount, "vocab": config.vocabSize,
            "data": data.name, "stopped_early": outcome.stoppedEarly, "provenance": try outcome.runProvenance.jsonObject(),
        ]
        summary.merge(Self.units(flops: outcome.flops, work: outcome.work, evaluation: outcome.evaluationWork, data: data,
                                 heldOutSet: isGeneratedTask ? heldOutSet : nil)) { $1 }
        if let h = outcome.heldOut {
            summary["held_out_loss_se"] = h.standardError.isFinite ? h.standardError : NSNull()
            summary["held_out_examples"] = h.examples
            summary["held_out_predictions"] = h.predictions
        }
        if json {
            print(try jsonLine(summary))
        } else {
            let lossText = last.map { String(format: "%.4f", $0.loss) } ?? "-"
            let heldText = heldOutLoss.map { String(format: "%.4f", $0) } ?? "-"
            print("trained \(outcome.records.count)/\(outcome.plannedSteps) steps, \(last?.tokens ?? 0) tokens in \(String(format: "%.1f", seconds)) s (\(Int(last?.tokensPerSecond ?? 0)) tokens/s): loss \(lossText), held-out \(heldText) → \(out)")
        }
    }

    /// The summary's accounting: tokens by kind, FLOPs counted and by 6ND, held-out set.
    static func units(flops: TrainingFLOPs, work: TrainingWork, evaluation: TrainingWork, data: TrainingData, heldOutSet: HeldOutSet?) -> [String: Any] {
        var u: [String: Any] = [
            "tokens_total": work.tokens, "tokens_loss": work.lossTokens, "tokens_padding": work.paddingTokens,
            "flops_actual": flops.training(work), "flops_6nd": flops.sixND(work), "flops_eval": flops.forward(evaluation),
            "non_embedding_parameters": flops.nonEmbeddingParameters, "matmul_weights": flops.matmulWeights,
            "attention_pairs": work.attentionPairs, "held_out_items": data.heldOutItems, "training_items": data.trainingItems,
        ]
        if let heldOutSet {
            u["held_out_set"] = heldOutSet.rawValue
            u["training_items_dropped_as_held_out"] = data.droppedTrainingItems
        }
        return u
    }

    /// --count-only: the same data and batches as a real run, counted instead of trained on.
    func printCount(settings: TrainingSettings) throws {
        let data = try loadData()
        let config = ModelConfig.training(dim: dim, layers: layers, heads: heads, kvHeads: kvHeads, ffnDim: ffn,
                                          vocabSize: data.vocabulary.count, contextLength: data.source.length, ropeBase: ropeBase, tiedOutput: !untied)
        try config.validateForTraining()
        let work = TrainingRun.countWork(settings: settings, data: data)
        var counts: [String: Any] = ["steps": settings.steps(rowLength: data.source.length), "parameters": config.parameterCount,
                                     "vocab": config.vocabSize, "data": data.name, "count_only": true]
        counts.merge(Self.units(flops: TrainingFLOPs(config: config), work: work, evaluation: TrainingRun.evaluationWork(data: data), data: data,
                                heldOutSet: isGeneratedTask ? heldOutSet : nil)) { $1 }
        print(try jsonLine(counts))
    }

    /// --evaluate: a checkpoint's held-out loss and its standard error.
    func printEvaluation(checkpoint: String, threads: Int) throws {
        let data = try loadData()
        let gguf = try GGUFFile(path: checkpoint)
        guard let h = try TrainingRun.evaluate(checkpoint: gguf, data: data, threads: threads) else {
            throw InvalidInput(description: "the held-out set counts no predictions")
        }
        let out: [String: Any] = ["checkpoint": checkpoint, "data": data.name, "held_out_loss": h.mean,
                                  "held_out_loss_se": h.standardError.isFinite ? h.standardError : NSNull(), "held_out_examples": h.examples,
                                  "held_out_predictions": h.predictions, "held_out_set": heldOutSet.rawValue, "seed": seed]
        print(try jsonLine(out))
    }

    /// A task whose problems are generated (and so have a held-out set chosen by --held-out-set).
    var isGeneratedTask: Bool { ["arithmetic", "countdown", "graded-arithmetic", "verify-graded-arithmetic"].contains(task) }

    func loadData() throws -> TrainingData {
        func generated(_ t: any ExperimentTask, context defaultContext: Int) throws -> TrainingData {
            try TrainingData.task(t, problems: problems, tokens: tokens, heldOutProblems: heldOut, seed: seed, rows: batch,
                                  length: context ?? defaultContext, scope: loss, heldOutSet: heldOutSet)
        }
        switch task {
        case "arithmetic": return try generated(ArithmeticTask(digits: digits, operations: operations), context: 64)
        case "countdown": return try generated(CountdownTask(numbers: numbers), context: 256)
        case "graded-arithmetic": return try generated(graded.task, context: 64)
        case "verify-graded-arithmetic": return try generated(ArithmeticVerificationTask(base: graded.task, generationShare: generationShare), context: 64)
        default:
            guard FileManager.default.fileExists(atPath: task) else {
                throw ValidationError("--task must be arithmetic, countdown, graded-arithmetic, verify-graded-arithmetic or an existing text file; '\(task)' is none of these")
            }
            return try TrainingData.text(path: task, rows: batch, length: context ?? 128, seed: seed)
        }
    }

    func openLog(_ path: String) throws -> FileHandle {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw InvalidInput(description: "cannot write the log '\(path)'")
        }
        return h
    }

    func logObject(_ r: TrainingRecord) -> [String: Any] {
        var o: [String: Any] = ["step": r.step, "tokens": r.tokens, "lr": r.learningRate, "loss": r.loss, "grad_norm": r.gradNorm,
                                "seconds": r.seconds, "tokens_per_second": r.tokensPerSecond, "loss_tokens": r.lossTokens, "flops": r.flops]
        if let h = r.heldOutLoss { o["held_out_loss"] = h }
        if let se = r.heldOutStandardError, se.isFinite { o["held_out_loss_se"] = se }
        return o
    }
}

extension LossScope: ExpressibleByArgument {}
extension HeldOutSet: ExpressibleByArgument {}

/// The live loss line on stderr (only on a terminal): progress, loss, held-out loss, rate.
final class LiveLine {
    let total: Int
    let enabled = stderrIsTerminal
    private var lastDraw = Date.distantPast
    private var heldOut: Double?
    init(total: Int) { self.total = total }

    func update(_ r: TrainingRecord) {
        if let h = r.heldOutLoss { heldOut = h }
        guard enabled, r.step == total || Date().timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = Date()
        var line = ProgressBar.render(done: r.step, total: total, unit: "steps", tokensPerSecond: r.tokensPerSecond, elapsed: r.seconds)
        line += String(format: "  loss %.4f", r.loss)
        if let h = heldOut { line += String(format: "  held-out %.4f", h) }
        line += String(format: "  lr %.2e", r.learningRate)
        FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
    }

    func finish() { if enabled { FileHandle.standardError.write(Data("\n".utf8)) } }
}

func stderrLine(_ s: String) { if stderrIsTerminal { FileHandle.standardError.write(Data((s + "\n").utf8)) } }

/// Set by Ctrl-C: training stops after the current step and the checkpoint is still written.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }

    func watchInterrupt() -> DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [weak self] in
            self?.set()
            FileHandle.standardError.write(Data("\nstopping after this step (Ctrl-C again to abort)\n".utf8))
            signal(SIGINT, SIG_DFL)
        }
        source.resume()
        return source
    }
}
