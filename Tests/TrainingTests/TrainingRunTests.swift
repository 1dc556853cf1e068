import Experiments
import LlamaCore
import Training
import XCTest

/// A short run on a tiny arithmetic set learns something (no timing assertions).
final class TrainingRunTests: XCTestCase {
    func testLossFallsOnTinyArithmetic() throws {
        var settings = TrainingSettings()
        settings.rows = 4
        settings.tokens = 4 * 32 * 150
        settings.learningRate = 1e-2
        settings.evalEvery = 50
        settings.threads = 2
        settings.seed = 3
        let data = try TrainingData.task(ArithmeticTask(digits: 1, operations: "+"), problems: 100, tokens: settings.tokens,
                                         heldOutProblems: 50, seed: 3, rows: 4, length: 32, scope: .completion)
        let config = ModelConfig.training(dim: 32, layers: 2, heads: 4, kvHeads: 2, vocabSize: data.vocabulary.count, contextLength: 32)
        let trainer = try Trainer(config: config, settings: settings, source: data.source, heldOut: data.heldOut)
        let before = try XCTUnwrap(trainer.heldOutLoss())
        try trainer.run()
        let r = trainer.records
        XCTAssertEqual(r.count, 150)
        let first = r.prefix(10).map(\.loss).reduce(0, +) / 10, last = r.suffix(10).map(\.loss).reduce(0, +) / 10
        let after = try XCTUnwrap(r.last?.heldOutLoss)
        print("tiny arithmetic: train loss \(first) → \(last), held-out \(before) → \(after), \(Int(r.last!.tokensPerSecond)) tokens/s (debug build)")
        XCTAssertLessThan(last, 0.5 * first)
        XCTAssertLessThan(after, 0.5 * before)
        XCTAssertEqual(r.filter { $0.heldOutLoss != nil }.map(\.step), [50, 100, 150])
    }

    /// Work is split so that no sum depends on the thread count: 1 and 3 threads train identical weights.
    func testThreadCountDoesNotChangeResults() throws {
        func train(threads: Int) throws -> [[Float]] {
            var settings = TrainingSettings()
            settings.rows = 4; settings.tokens = 4 * 32 * 4; settings.threads = threads; settings.evalEvery = 0
            let data = try TrainingData.task(ArithmeticTask(digits: 2), problems: 50, tokens: settings.tokens,
                                             heldOutProblems: 10, seed: 5, rows: 4, length: 32, scope: .all)
            let config = ModelConfig.training(dim: 32, layers: 1, heads: 4, kvHeads: 2, vocabSize: data.vocabulary.count, contextLength: 32)
            let trainer = try Trainer(config: config, settings: settings, source: data.source, heldOut: data.heldOut)
            try trainer.run()
            return trainer.model.params.entries.map(\.tensor.values)
        }
        XCTAssertEqual(try train(threads: 1), try train(threads: 3))
    }
}
