import Experiments
import Foundation
import GGUF
import LlamaCore
import TestSupport
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

    /// The checkpoint says which source, settings and data made it: the provenance block as
    /// `training.provenance`, with the text file's SHA-256; `train --json` prints the same block.
    func testCheckpointCarriesTheProvenanceBlock() throws {
        let dir = try Fixtures.temporaryDirectory()
        let text = dir.appendingPathComponent("corpus.txt")
        try Data(String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 40).utf8).write(to: text)
        var settings = TrainingSettings()
        settings.rows = 2; settings.tokens = 2 * 16 * 3; settings.threads = 2; settings.seed = 42; settings.evalEvery = 0
        let data = try TrainingData.text(path: text.path, rows: 2, length: 16, seed: 42)
        let config = ModelConfig.training(dim: 16, layers: 1, heads: 2, kvHeads: 1, vocabSize: data.vocabulary.count, contextLength: 16)
        let checkpoint = dir.appendingPathComponent("m.gguf").path
        let outcome = try TrainingRun.run(config: config, settings: settings, data: data, lossScope: .all, checkpoint: checkpoint,
                                          type: .f32, name: "t", engine: "llamacl test")
        let stored = try XCTUnwrap(try TrainingProvenance(gguf: GGUFFile(path: checkpoint))?.provenance, "training.provenance")
        XCTAssertEqual(stored, try outcome.runProvenance.jsonString())
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stored.utf8)) as? [String: Any])
        let block = assertProvenanceBlock(json, "checkpoint")
        XCTAssertEqual((block?["seeds"] as? [String: Any])?["training"] as? Int, 42)
        XCTAssertEqual(block?["threads"] as? Int, 2)
        XCTAssertEqual(block?["backend"] as? String, "cpu")
        let hyper = block?["hyper_parameters"] as? [String: Any] ?? [:]
        XCTAssertEqual(hyper["dim"] as? Int, 16)
        XCTAssertEqual(hyper["tokens"] as? Int, 96)
        XCTAssertEqual(hyper["loss_scope"] as? String, "all")
        XCTAssertNotNil(hyper["warmup_steps"] as? Int, "the warmup as the schedule resolved it")
        let inputs = block?["inputs"] as? [[String: Any]] ?? []
        XCTAssertEqual(inputs.map { $0["role"] as? String }, ["data"])
        XCTAssertEqual(inputs.first?["sha256"] as? String, try FileHash.compute(fileAt: text.path))
    }
}
