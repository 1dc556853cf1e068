import LlamaCore
import Foundation

/// Everything about a run except the model's shape and the data.
public struct TrainingSettings: Equatable, Codable, Sendable {
    /// Total training tokens: steps × rows × row length (padding included — it costs the same).
    public var tokens: Int = 1_000_000
    /// Sequences (rows) per batch.
    public var rows: Int = 16
    public var learningRate: Double = 3e-3
    /// Warmup steps; nil: 5% of the steps, at least 1 and at most 200.
    public var warmupSteps: Int?
    /// The cosine ends at this fraction of the peak rate.
    public var minLearningRateRatio: Double = 0.1
    public var optimizer = AdamW<Float>.Settings()
    /// Global gradient-norm clip; 0 turns it off.
    public var clipNorm: Double = 1.0
    public var seed: UInt64 = 1
    public var initStd: Double = 0.02
    /// Held-out loss every this many steps (and always after the last); 0: only after the last.
    public var evalEvery: Int = 100
    public var threads: Int = AvailableCPUs.count

    public init() {}

    public func steps(rowLength: Int) -> Int { max(1, tokens / max(1, rows * rowLength)) }

    public func schedule(rowLength: Int) -> LearningRateSchedule {
        let steps = steps(rowLength: rowLength)
        return LearningRateSchedule(peak: learningRate, warmup: warmupSteps ?? min(200, max(1, steps / 20)), total: steps,
                                    minRatio: minLearningRateRatio)
    }

    public func validate() throws {
        func bad(_ s: String) -> TrainingError { .invalidHyperparameter(s) }
        guard tokens > 0 else { throw bad("--tokens must be positive, got \(tokens)") }
        guard rows > 0, rows <= 4096 else { throw bad("--batch must be in 1...4096, got \(rows)") }
        guard learningRate.isFinite, learningRate > 0, learningRate < 10 else { throw bad("--lr must be in (0, 10), got \(learningRate)") }
        if let w = warmupSteps, w < 0 { throw bad("--warmup must not be negative, got \(w)") }
        guard (0...1).contains(minLearningRateRatio) else { throw bad("minimum learning-rate ratio must be in [0, 1], got \(minLearningRateRatio)") }
        let o = optimizer
        guard (0..<1).contains(o.beta1), (0..<1).contains(o.beta2), o.epsilon > 0 else { throw bad("AdamW needs 0 ≤ β < 1 and ε > 0") }
        guard o.weightDecay.isFinite, o.weightDecay >= 0, o.weightDecay * learningRate < 1 else {
            throw bad("--weight-decay must be ≥ 0 with lr·decay < 1, got \(o.weightDecay)")
        }
        guard clipNorm.isFinite, clipNorm >= 0 else { throw bad("--clip must be ≥ 0, got \(clipNorm)") }
        guard initStd.isFinite, initStd > 0 else { throw bad("initialisation std must be positive, got \(initStd)") }
        guard evalEvery >= 0 else { throw bad("--eval-every must be ≥ 0, got \(evalEvery)") }
        guard threads > 0 else { throw bad("--threads must be positive, got \(threads)") }
    }
}

/// One line of the training log.
public struct TrainingRecord: Equatable, Codable, Sendable {
    public var step: Int             // 1-based, after the update
    public var steps: Int
    public var tokens: Int           // seen so far
    public var learningRate: Double
    public var loss: Double          // this step's batch, before the update
    public var gradNorm: Double      // before clipping
    public var heldOutLoss: Double?
    public var seconds: Double       // since the start of training
    public var tokensPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case step, steps, tokens, loss, seconds
        case learningRate = "lr", gradNorm = "grad_norm", heldOutLoss = "held_out_loss", tokensPerSecond = "tokens_per_second"
    }
}

/// Runs the optimisation loop: batch → forward → backward → clip → AdamW at the scheduled rate,
/// with held-out loss at intervals. Deterministic for a given seed and thread count.
public final class Trainer {
    public let model: TinyLlama<Float>
    public let settings: TrainingSettings
    public let schedule: LearningRateSchedule
    public let optimizer: AdamW<Float>
    let source: BatchSource
    let heldOut: [TokenBatch]
    public private(set) var records: [TrainingRecord] = []

    public init(config: ModelConfig, settings: TrainingSettings, source: BatchSource, heldOut: [TokenBatch]) throws {
        try settings.validate()
        guard source.length <= config.contextLength else {
            throw TrainingError.invalidHyperparameter("rows of \(source.length) tokens exceed the model's context of \(config.contextLength)")
        }
        model = try TinyLlama<Float>(config: config, threads: settings.threads)
        model.params.initialize(seed: settings.seed, std: settings.initStd)
        self.settings = settings
        self.source = source
        self.heldOut = heldOut
        schedule = settings.schedule(rowLength: source.length)
        optimizer = AdamW(config: config, settings: settings.optimizer)
    }

    public var steps: Int { schedule.total }

    /// Mean loss over the held-out batches, weighted by how many predictions each counts.
    public func heldOutLoss() throws -> Double? {
        var sum = 0.0, weight = 0.0
        for b in heldOut {
            let w = Double(b.weightedTokens)
            guard w > 0 else { continue }
            sum += try model.loss(b) * w
            weight += w
        }
        return weight > 0 ? sum / weight : nil
    }

    /// Trains for `steps` steps, calling `report` after each (with the held-out loss on
    /// evaluation steps). `shouldStop` lets a caller end early (Ctrl-C); the model keeps its
    /// weights from the last finished step.
    public func run(report: (TrainingRecord) throws -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws {
        let start = Date()
        var evalSeconds = 0.0
        let tokensPerStep = source.rows * source.length
        for step in 0..<steps {
            if shouldStop() { break }
            let batch = source.nextBatch()
            let loss = try model.forward(batch)
            guard loss.isFinite else { throw TrainingError.diverged(step: step + 1, loss: loss) }
            try model.backward()
            let norm = clipGradients(model.grads, maxNorm: settings.clipNorm)
            guard norm.isFinite else { throw TrainingError.diverged(step: step + 1, loss: loss) }
            let lr = schedule.rate(at: step)
            optimizer.update(model.params, grads: model.grads, lr: lr, threads: settings.threads)
            let done = step + 1
            let evaluate = done == steps || (settings.evalEvery > 0 && done % settings.evalEvery == 0)
            let evalStart = Date()
            let held = evaluate ? try heldOutLoss() : nil
            evalSeconds += Date().timeIntervalSince(evalStart)
            let seconds = Date().timeIntervalSince(start)
            // Throughput of training alone: held-out evaluation time is left out.
            let record = TrainingRecord(step: done, steps: steps, tokens: done * tokensPerStep, learningRate: lr, loss: loss, gradNorm: norm,
                                        heldOutLoss: held, seconds: seconds,
                                        tokensPerSecond: Double(done * tokensPerStep) / max(seconds - evalSeconds, 1e-9))
            records.append(record)
            try report(record)
        }
    }
}
