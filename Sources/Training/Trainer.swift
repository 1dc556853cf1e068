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
    public var tokens: Int           // seen so far, padding included
    public var learningRate: Double
    public var loss: Double          // this step's batch, before the update
    public var gradNorm: Double      // before clipping
    public var heldOutLoss: Double?
    public var seconds: Double       // since the start of training
    public var tokensPerSecond: Double
    /// Predictions that carried loss so far.
    public var lossTokens = 0
    /// Training FLOPs so far, counted from the work done (`TrainingFLOPs.training`).
    public var flops = 0.0
    /// The standard error of `heldOutLoss` over held-out examples (`HeldOutLoss`).
    public var heldOutStandardError: Double? = nil

    enum CodingKeys: String, CodingKey {
        case step, steps, tokens, loss, seconds, flops
        case learningRate = "lr", gradNorm = "grad_norm", heldOutLoss = "held_out_loss", tokensPerSecond = "tokens_per_second"
        case lossTokens = "loss_tokens", heldOutStandardError = "held_out_loss_se"
    }
}

/// Held-out loss with its sampling error over the held-out examples.
///
/// The loss is the mean over predictions, Σᵢ sᵢ / Σᵢ wᵢ (sᵢ: summed loss of example i, wᵢ: its
/// counted predictions), a ratio estimator; its standard error over examples is
/// √(n/(n−1) · Σᵢ (sᵢ − L·wᵢ)²) / Σᵢ wᵢ (first-order, examples as the independent unit). It
/// says how much the number would move with other held-out problems of the same kind — not how
/// much it moves from one step to the next, which near the end of a run can be larger.
public struct HeldOutLoss: Equatable, Codable, Sendable {
    public var mean: Double
    public var standardError: Double
    public var examples: Int
    public var predictions: Int

    /// From per-example (summed loss, counted predictions) pairs; nil without predictions.
    public init?(examples: [(loss: Double, predictions: Int)]) {
        let used = examples.filter { $0.predictions > 0 }
        let w = Double(used.reduce(0) { $0 + $1.predictions })
        guard w > 0 else { return nil }
        let l = used.reduce(0) { $0 + $1.loss } / w
        let n = Double(used.count)
        let ss = used.reduce(0) { $0 + pow($1.loss - l * Double($1.predictions), 2) }
        mean = l
        standardError = n > 1 ? (n / (n - 1) * ss).squareRoot() / w : .nan
        self.examples = used.count
        predictions = Int(w)
    }

    /// `model`'s loss over `batches` (forward only): the batches' losses weighted by their
    /// predictions, as training computes the loss, and the error from per-example sums of the
    /// same passes' logits. Nil when no batch counts a prediction.
    public static func evaluate(_ model: TinyLlama<Float>, on batches: [TokenBatch]) throws -> HeldOutLoss? {
        var sum = 0.0, weight = 0.0
        var examples: [(loss: Double, predictions: Int)] = []
        for b in batches {
            let w = Double(b.weightedTokens)
            guard w > 0 else { continue }
            sum += try model.loss(b) * w
            weight += w
            examples += perExample(b, logits: model.logits, vocab: model.config.vocabSize)
        }
        guard weight > 0, var result = HeldOutLoss(examples: examples) else { return nil }
        result.mean = sum / weight
        return result
    }

    /// Per-example summed loss and counted predictions of a batch from its logits (rows·length, vocab):
    /// an example is a segment of a row; padding and unweighted positions add nothing.
    public static func perExample(_ batch: TokenBatch, logits: [Float], vocab: Int) -> [(loss: Double, predictions: Int)] {
        var out: [(loss: Double, predictions: Int)] = []
        for r in 0..<batch.rows {
            var current = -1
            for t in 0..<batch.length {
                let i = r * batch.length + t
                let start = Int(batch.segmentStart[i])
                if start != current { current = start; out.append((0, 0)) }
                guard batch.lossWeights[i] > 0 else { continue }
                let row = logits[(i * vocab)..<((i + 1) * vocab)]
                let m = Double(row.max()!)
                let lse = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
                out[out.count - 1].loss += Double(batch.lossWeights[i]) * (lse - Double(logits[i * vocab + Int(batch.targets[i])]))
                out[out.count - 1].predictions += 1
            }
        }
        return out
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
    /// The batches trained on so far, and those evaluated (held-out, forward only).
    public private(set) var work = TrainingWork()
    public private(set) var evaluationWork = TrainingWork()
    /// The latest held-out evaluation.
    public private(set) var lastHeldOut: HeldOutLoss?
    public var flops: TrainingFLOPs { TrainingFLOPs(config: model.config) }

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
    public func heldOutLoss() throws -> Double? { try heldOutEvaluation()?.mean }

    /// Held-out loss over every held-out batch, with its standard error over examples. The mean
    /// is the batches' losses weighted by their predictions (as the loss is computed in
    /// training); the per-example sums for the error come from the same forward passes' logits.
    public func heldOutEvaluation() throws -> HeldOutLoss? {
        let result = try HeldOutLoss.evaluate(model, on: heldOut)
        evaluationWork = evaluationWork + heldOut.filter { $0.weightedTokens > 0 }.reduce(TrainingWork()) { $0 + TrainingWork(batch: $1) }
        lastHeldOut = result
        return result
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
            work = work + TrainingWork(batch: batch)
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
            let held = evaluate ? try heldOutEvaluation() : nil
            evalSeconds += Date().timeIntervalSince(evalStart)
            let seconds = Date().timeIntervalSince(start)
            // Throughput of training alone: held-out evaluation time is left out.
            let record = TrainingRecord(step: done, steps: steps, tokens: done * tokensPerStep, learningRate: lr, loss: loss, gradNorm: norm,
                                        heldOutLoss: held?.mean, seconds: seconds,
                                        tokensPerSecond: Double(done * tokensPerStep) / max(seconds - evalSeconds, 1e-9),
                                        lossTokens: work.lossTokens, flops: flops.training(work), heldOutStandardError: held?.standardError)
            records.append(record)
            try report(record)
        }
    }
}
