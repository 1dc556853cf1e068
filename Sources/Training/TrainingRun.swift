import Experiments
import Foundation
import GGUF
import LlamaCore

/// One training run as a library call: train the model on the data, then write the checkpoint
/// with its typed provenance (`training.*`), so that best-of-N can later keep the training
/// problems out of its evaluation, and with the full provenance block (`training.provenance`),
/// so that a checkpoint alone says which source, settings and data made it.
public enum TrainingRun {
    public struct Outcome {
        public let config: ModelConfig
        public let records: [TrainingRecord]
        public let plannedSteps: Int
        public let heldOutLoss: Double?
        /// The final held-out loss with its standard error over examples.
        public let heldOut: HeldOutLoss?
        public let provenance: TrainingProvenance
        /// The provenance block written into the checkpoint (and into `train --json`).
        public let runProvenance: Provenance
        /// What training and held-out evaluation processed, and the FLOPs counter for this model.
        public let work: TrainingWork
        public let evaluationWork: TrainingWork
        public var flops: TrainingFLOPs { TrainingFLOPs(config: config) }
        public var last: TrainingRecord? { records.last }
        public var stoppedEarly: Bool { records.count < plannedSteps }
    }

    /// `onStart` sees the trainer before the first step (its planned steps, for progress);
    /// `report` every step's record; `shouldStop` is polled between steps (Ctrl-C), and a run
    /// stopped early still writes its checkpoint.
    public static func run(config: ModelConfig, settings: TrainingSettings, data: TrainingData, lossScope: LossScope,
                           checkpoint path: String, type: TensorType, name: String, engine: String,
                           onStart: (Trainer) -> Void = { _ in }, report: (TrainingRecord) throws -> Void = { _ in },
                           shouldStop: () -> Bool = { false }) throws -> Outcome {
        try settings.validate()
        let trainer = try Trainer(config: config, settings: settings, source: data.source, heldOut: data.heldOut)
        // Before training: a data file that cannot be hashed fails the run now, not after hours.
        let run = try provenance(config: config, settings: settings, schedule: trainer.schedule, data: data, lossScope: lossScope, type: type)
        onStart(trainer)
        try trainer.run(report: report, shouldStop: shouldStop)
        let last = trainer.records.last
        let heldOut = last?.heldOutLoss != nil ? trainer.lastHeldOut : try trainer.heldOutEvaluation()
        let heldOutLoss = heldOut?.mean
        // With data and seed, `items` lets best-of-n rebuild the training problems and keep them out of its evaluation.
        let provenance = TrainingProvenance(data: data.name, steps: trainer.records.count, tokens: last?.tokens ?? 0, seed: settings.seed,
                                            items: data.trainingItems, batch: settings.rows, learningRate: settings.learningRate,
                                            lossScope: lossScope.rawValue, engine: engine, finalLoss: last?.loss, heldOutLoss: heldOutLoss,
                                            provenance: try run.jsonString())
        try Checkpoint.write(params: trainer.model.params, vocabulary: data.vocabulary, type: type, name: name,
                             training: provenance.metadata, to: path)
        return Outcome(config: config, records: trainer.records, plannedSteps: trainer.steps, heldOutLoss: heldOutLoss, heldOut: heldOut,
                       provenance: provenance, runProvenance: run, work: trainer.work, evaluationWork: trainer.evaluationWork)
    }

    /// The run's provenance block: the seed, the threads, the model's shape and every training
    /// setting (the warmup as the schedule resolved it), and the SHA-256 of each data file.
    static func provenance(config c: ModelConfig, settings s: TrainingSettings, schedule: LearningRateSchedule, data: TrainingData,
                           lossScope: LossScope, type: TensorType) throws -> Provenance {
        let hyperParameters: [String: ParameterValue] = [
            "data": .string(data.name), "training_items": .integer(data.trainingItems), "held_out_items": .integer(data.heldOutItems),
            "architecture": .string(c.architecture.rawValue), "dim": .integer(c.dim), "layers": .integer(c.layers),
            "heads": .integer(c.heads), "kv_heads": .integer(c.kvHeads), "ffn": .integer(c.ffnDim), "vocab": .integer(c.vocabSize),
            "context": .integer(c.contextLength), "rope_base": .number(Double(c.ropeBase)), "tied_output": .bool(c.tiedOutput),
            "tokens": .integer(s.tokens), "batch": .integer(s.rows), "steps": .integer(schedule.total),
            "learning_rate": .number(s.learningRate), "warmup_steps": .integer(schedule.warmup),
            "min_learning_rate_ratio": .number(s.minLearningRateRatio), "weight_decay": .number(s.optimizer.weightDecay),
            "beta1": .number(s.optimizer.beta1), "beta2": .number(s.optimizer.beta2), "epsilon": .number(s.optimizer.epsilon),
            "clip_norm": .number(s.clipNorm), "init_std": .number(s.initStd), "eval_every": .integer(s.evalEvery),
            "loss_scope": .string(lossScope.rawValue), "checkpoint_type": .string(type.description),
            "dropped_training_items": .integer(data.droppedTrainingItems),
        ]
        return .current(seeds: ["training": s.seed], threads: s.threads, backend: "cpu", device: "CPU (training)",
                        hyperParameters: hyperParameters, inputs: try data.files.map { try InputFile(role: "data", path: $0) })
    }

    /// What a run with these settings would process, without training: the same batches, drawn
    /// from `data`'s source (which this consumes), counted. For planning a sweep in real FLOPs,
    /// and for counting the work of runs made before training recorded it.
    public static func countWork(settings: TrainingSettings, data: TrainingData) -> TrainingWork {
        var work = TrainingWork()
        for _ in 0..<settings.steps(rowLength: data.source.length) { work = work + TrainingWork(batch: data.source.nextBatch()) }
        return work
    }

    /// A checkpoint's loss on `data`'s held-out set, with its standard error: for checkpoints
    /// trained before the error was recorded. `data` must be built as the run built it (task,
    /// seed, held-out set); its vocabulary must be the checkpoint's.
    public static func evaluate(checkpoint gguf: GGUFFile, data: TrainingData, threads: Int = 1) throws -> HeldOutLoss? {
        var config = try ModelConfig(gguf: gguf)
        guard let tokens = try gguf.stringArray("tokenizer.ggml.tokens"), tokens == data.vocabulary.tokenTexts else {
            throw TrainingError.invalidData("the checkpoint's vocabulary is not the one these data build (another task or seed?)")
        }
        // Evaluation rows may be longer than the context recorded for inference; training's limit is the row length.
        config.contextLength = max(config.contextLength, data.source.length)
        let model = try TinyLlama<Float>(config: config, threads: threads)
        try Checkpoint.load(gguf, into: model.params)
        return try HeldOutLoss.evaluate(model, on: data.heldOut)
    }

    /// One final held-out evaluation: the held-out batches, every one (forward only).
    public static func evaluationWork(data: TrainingData) -> TrainingWork {
        data.heldOut.filter { $0.weightedTokens > 0 }.reduce(TrainingWork()) { $0 + TrainingWork(batch: $1) }
    }
}
