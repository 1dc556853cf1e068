import LlamaCore
import Training
import XCTest

/// The whole model's backward pass against float64 central differences, on a tiny shape:
/// every parameter of every tensor, tied and untied output, packed segments and GQA.
final class ModelGradientTests: XCTestCase {
    static func tinyConfig(tied: Bool) -> ModelConfig {
        ModelConfig.training(dim: 8, layers: 2, heads: 2, kvHeads: 1, ffnDim: 12, vocabSize: 20, contextLength: 8, tiedOutput: tied)
    }

    /// Two rows of 5: the first one segment, the second two (positions restart at index 2).
    static func tinyBatch() -> TokenBatch {
        var b = TokenBatch(rows: 2, length: 5)
        b.tokens = [1, 5, 9, 13, 2, 1, 7, 1, 4, 19]
        b.targets = [5, 9, 13, 2, 2, 7, 2, 4, 19, 2]
        b.lossWeights = [1, 1, 1, 1, 0, 0, 1, 1, 1, 1]
        b.segmentStart = [0, 0, 0, 0, 0, 0, 0, 2, 2, 2]
        return b
    }

    func check(tied: Bool) throws {
        let model = try TinyLlama<Double>(config: Self.tinyConfig(tied: tied), threads: 2)
        // Large weights (not 0.02) so every nonlinearity is exercised; norm gains around 1.
        model.params.initialize(seed: 42, std: 0.5)
        var rng = TrainingRandom(seed: 7)
        for e in model.params.entries where e.dims.count == 1 {
            for i in 0..<e.tensor.count { e.tensor[i] = 1 + 0.3 * rng.nextNormal() }
        }
        let batch = Self.tinyBatch()
        try model.forward(batch)
        try model.backward()
        var worst = 0.0
        for (e, g) in zip(model.params.entries, model.grads.entries) {
            let numeric = try GradientCheck.numeric(e.tensor.data, count: e.tensor.count) { try model.forward(batch) }
            let err = GradientCheck.maxRelativeError(g.tensor.values, numeric)
            XCTAssertLessThanOrEqual(err, 1e-4, "\(e.name) (tied: \(tied))")
            worst = max(worst, err)
        }
        GradientErrors.shared.record("whole model (\(tied ? "tied" : "untied") output)", worst)
    }

    func testTiedOutput() throws { try check(tied: true) }
    func testUntiedOutput() throws { try check(tied: false) }

    /// The same model in Float and Double gives the same loss to Float precision, so the
    /// checked Double code is the code that trains.
    func testFloatMatchesDouble() throws {
        let config = Self.tinyConfig(tied: true)
        let d = try TinyLlama<Double>(config: config), f = try TinyLlama<Float>(config: config)
        d.params.initialize(seed: 3, std: 0.3)
        f.params.copy(from: d.params)
        let lossD = try d.forward(Self.tinyBatch()), lossF = try f.forward(Self.tinyBatch())
        XCTAssertEqual(lossF, lossD, accuracy: 1e-5 * abs(lossD))
    }
}
