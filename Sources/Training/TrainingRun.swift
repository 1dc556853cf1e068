import Foundation
import GGUF
import LlamaCore

/// One training run as a library call: train the model on the data, then write the checkpoint
/// with its typed provenance (`training.*`), so that best-of-N can later keep the training
/// problems out of its evaluation.
public enum TrainingRun {
    public struct Outcome {
        public let config: ModelConfig
        public let records: [TrainingRecord]
        public let plannedSteps: Int
        public let heldOutLoss: Double?
        public let provenance: TrainingProvenance
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
        onStart(trainer)
        try trainer.run(report: report, shouldStop: shouldStop)
        let last = trainer.records.last
        let heldOutLoss = try last?.heldOutLoss ?? trainer.heldOutLoss()
        // With data and seed, `items` lets best-of-n rebuild the training problems and keep them out of its evaluation.
        let provenance = TrainingProvenance(data: data.name, steps: trainer.records.count, tokens: last?.tokens ?? 0, seed: settings.seed,
                                            items: data.trainingItems, batch: settings.rows, learningRate: settings.learningRate,
                                            lossScope: lossScope.rawValue, engine: engine, finalLoss: last?.loss, heldOutLoss: heldOutLoss)
        try Checkpoint.write(params: trainer.model.params, vocabulary: data.vocabulary, type: type, name: name,
                             training: provenance.metadata, to: path)
        return Outcome(config: config, records: trainer.records, plannedSteps: trainer.steps, heldOutLoss: heldOutLoss, provenance: provenance)
    }
}
