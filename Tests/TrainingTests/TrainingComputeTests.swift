import Experiments
import GGUF
import LlamaCore
import TestSupport
import Training
import XCTest

/// Honest units: FLOPs counted from the work, tokens by kind, one fixed held-out set, and a
/// held-out loss with a standard error.
final class TrainingComputeTests: XCTestCase {
    /// dim 8, 1 layer, 2 heads of 4 (1 KV head), ffn 16, vocab 10; one row of 4 tokens holding
    /// two segments of 2. Counted by hand:
    ///   weights per token: Q 8·8 + K 8·4 + V 8·4 + O 8·8 + gate, up, down 3·8·16 + head 8·10 = 656
    ///   attention pairs: 1 + 2 + 1 + 2 = 6
    ///   forward = 2·656·4 + 4·1·8·6 = 5 440; training = 3 × forward = 16 320
    ///   N (non-embedding) = 680 total − 80 embedding = 600; 6ND = 6·600·4 = 14 400
    func testFLOPsOfATinyShapeByHand() {
        let config = ModelConfig.training(dim: 8, layers: 1, heads: 2, kvHeads: 1, ffnDim: 16, vocabSize: 10, contextLength: 4)
        var batch = TokenBatch(rows: 1, length: 4)
        batch.segmentStart = [0, 0, 2, 2]
        batch.lossWeights = [0, 1, 0, 1]
        let work = TrainingWork(batch: batch)
        XCTAssertEqual(work.tokens, 4)
        XCTAssertEqual(work.attentionPairs, 6)
        XCTAssertEqual(work.lossTokens, 2)
        let flops = TrainingFLOPs(config: config)
        XCTAssertEqual(config.parameterCount, 680)
        XCTAssertEqual(flops.matmulWeights, 656)
        XCTAssertEqual(flops.nonEmbeddingParameters, 600)
        XCTAssertEqual(flops.forward(work), 5440)
        XCTAssertEqual(flops.training(work), 16320)
        XCTAssertEqual(flops.sixND(work), 14400)
        // Twice the batch, twice the work.
        XCTAssertEqual(flops.training(work + work), 2 * 16320)
    }

    /// Packed rows: padding and loss tokens as the packer placed them.
    func testPackedBatchCountsPaddingAndLossTokens() throws {
        let v = CharVocabulary(coveringTexts: ["ab"])
        // Each example is <s> a b </s>, 4 tokens; the loss counts the predictions of "b" and </s>.
        let e = EncodedExample(TextExample(prompt: "a", completion: "b"), vocabulary: v, scope: .completion)
        XCTAssertEqual(e.tokens.count, 4)
        let packer = try PackedExamples(examples: [e, e, e], rows: 2, length: 10, seed: 1, shuffle: false)
        let b = packer.nextBatch()
        let w = TrainingWork(batch: b)
        // Two examples per row (8 tokens) and 2 padding tokens per row.
        XCTAssertEqual(w.tokens, 20)
        XCTAssertEqual(w.paddingTokens, 4)
        XCTAssertEqual(w.lossTokens, 4 * Int(e.weights.reduce(0, +)))
        // Per row: two segments of 4 (1+2+3+4 each) and a padding segment of 2 (1+2).
        XCTAssertEqual(w.attentionPairs, 2 * (10 + 10 + 3))
    }

    /// A run records exactly the work `countWork` predicts from the same data, and its FLOPs.
    func testCountOnlyMatchesWhatTrainingProcessed() throws {
        var settings = TrainingSettings()
        settings.rows = 4; settings.tokens = 4 * 32 * 6; settings.threads = 1; settings.evalEvery = 3
        func data() throws -> TrainingData {
            try TrainingData.task(ArithmeticTask(digits: 2), problems: 200, tokens: settings.tokens, heldOutProblems: 20, seed: 5,
                                  rows: 4, length: 32, scope: .completion)
        }
        let d = try data()
        let config = ModelConfig.training(dim: 16, layers: 1, heads: 2, vocabSize: d.vocabulary.count, contextLength: 32)
        let trainer = try Trainer(config: config, settings: settings, source: d.source, heldOut: d.heldOut)
        try trainer.run()
        let counted = TrainingRun.countWork(settings: settings, data: try data())
        XCTAssertEqual(trainer.work, counted)
        XCTAssertEqual(counted.tokens, 6 * 4 * 32)
        XCTAssertGreaterThan(counted.lossTokens, 0)
        XCTAssertLessThan(counted.lossTokens + counted.paddingTokens, counted.tokens)
        let last = try XCTUnwrap(trainer.records.last)
        XCTAssertEqual(last.lossTokens, counted.lossTokens)
        XCTAssertEqual(last.flops, TrainingFLOPs(config: config).training(counted))
        XCTAssertGreaterThan(last.flops, TrainingFLOPs(config: config).sixND(counted), "head and attention cost more than 6ND says")
        // Two evaluations (steps 3 and 6), each over every held-out batch.
        XCTAssertEqual(trainer.evaluationWork.batches, 2 * d.heldOut.filter { $0.weightedTokens > 0 }.count)
        let se = try XCTUnwrap(last.heldOutStandardError)
        XCTAssertTrue(se.isFinite && se > 0, "\(se)")
    }

    /// The fixed held-out set is the same for every run seed, all of it is scored, and training
    /// never contains one of its problems. The per-seed set (older runs) shrinks instead.
    func testFixedHeldOutSetIsSharedAndExcludedFromTraining() throws {
        let task = ArithmeticTask(digits: 1, operations: "+")   // 100 distinct problems: overlap is certain
        let a = try TrainingData.split(task, problems: 150, heldOutProblems: 30, seed: 1, heldOutSet: .fixed)
        let b = try TrainingData.split(task, problems: 150, heldOutProblems: 30, seed: 2, heldOutSet: .fixed)
        XCTAssertEqual(a.held, b.held)
        XCTAssertEqual(a.held.count, 30)
        XCTAssertEqual(a.drawn, 150)
        XCTAssertLessThan(a.train.count, 150, "drawn problems that are held out are dropped")
        XCTAssertTrue(Set(a.train.map(\.prompt)).isDisjoint(with: a.held.map(\.prompt)))
        XCTAssertTrue(Set(b.train.map(\.prompt)).isDisjoint(with: b.held.map(\.prompt)))
        let old = try TrainingData.split(task, problems: 150, heldOutProblems: 30, seed: 1, heldOutSet: .perSeed)
        XCTAssertEqual(old.train.count, 150)
        XCTAssertLessThan(old.held.count, 30, "the per-seed set loses the problems training drew")
        let data = try TrainingData.task(task, problems: 150, tokens: 1000, heldOutProblems: 30, seed: 1, rows: 2, length: 32, scope: .completion)
        XCTAssertEqual(data.heldOutItems, 30)
        XCTAssertEqual(data.trainingItems, 150, "the checkpoint records what was drawn, so best-of-n rebuilds a superset")
        XCTAssertEqual(data.droppedTrainingItems, 150 - a.train.count)
    }

    /// A written checkpoint, evaluated on its run's data rebuilt from the same options, gives the
    /// run's own final held-out loss and error (what `train --evaluate` does for older runs).
    func testCheckpointEvaluationReproducesTheRunsHeldOutLoss() throws {
        var settings = TrainingSettings()
        settings.rows = 4; settings.tokens = 4 * 32 * 5; settings.threads = 1; settings.evalEvery = 0
        func data() throws -> TrainingData {
            try TrainingData.task(ArithmeticTask(digits: 2), problems: 100, tokens: settings.tokens, heldOutProblems: 25, seed: 7,
                                  rows: 4, length: 32, scope: .completion)
        }
        let d = try data()
        let config = ModelConfig.training(dim: 16, layers: 1, heads: 2, vocabSize: d.vocabulary.count, contextLength: 32)
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("m.gguf").path
        let outcome = try TrainingRun.run(config: config, settings: settings, data: d, lossScope: .completion, checkpoint: path,
                                          type: .f32, name: "t", engine: "test")
        let trained = try XCTUnwrap(outcome.heldOut)
        XCTAssertEqual(trained.examples, 25)
        let evaluated = try XCTUnwrap(TrainingRun.evaluate(checkpoint: GGUFFile(path: path), data: try data()))
        XCTAssertEqual(evaluated.mean, trained.mean, accuracy: 1e-12)
        XCTAssertEqual(evaluated.standardError, trained.standardError, accuracy: 1e-12)
        // Other data (another task's characters) is refused, not silently evaluated.
        let other = try TrainingData.task(CountdownTask(), problems: 10, tokens: 1000, heldOutProblems: 5, seed: 1, rows: 2, length: 256,
                                          scope: .completion)
        XCTAssertThrowsError(try TrainingRun.evaluate(checkpoint: GGUFFile(path: path), data: other))
    }

    /// Ratio-estimator standard error, by hand: (loss, predictions) = (2, 2), (4, 2), (6, 2):
    /// L = 12/6 = 2; sᵢ − L·wᵢ = −2, 0, 2; SE = √(3/2 · 8) / 6 = √12 / 6.
    func testHeldOutStandardErrorByHand() throws {
        let h = try XCTUnwrap(HeldOutLoss(examples: [(2, 2), (4, 2), (6, 2)]))
        XCTAssertEqual(h.mean, 2, accuracy: 1e-12)
        XCTAssertEqual(h.standardError, 12.0.squareRoot() / 6, accuracy: 1e-12)
        XCTAssertEqual(h.examples, 3)
        XCTAssertEqual(h.predictions, 6)
        XCTAssertEqual(try XCTUnwrap(HeldOutLoss(examples: [(1, 1), (2, 2), (3, 3)])).standardError, 0, accuracy: 1e-12)
        XCTAssertNil(HeldOutLoss(examples: [(0, 0)]))
        // Per-example sums from logits: uniform logits over 2 tokens cost ln 2 per prediction;
        // one row holding a segment of 3 (2 predictions counted) and one of 1 (1 counted).
        var batch = TokenBatch(rows: 1, length: 4)
        batch.segmentStart = [0, 0, 0, 3]
        batch.lossWeights = [1, 1, 0, 1]
        let per = HeldOutLoss.perExample(batch, logits: [Float](repeating: 0, count: 8), vocab: 2)
        XCTAssertEqual(per.count, 2)
        XCTAssertEqual(per[0].predictions, 2)
        XCTAssertEqual(per[0].loss, 2 * log(2.0), accuracy: 1e-6)
        XCTAssertEqual(per[1].predictions, 1)
    }
}
