import Foundation
import LlamaCore
import Training
import XCTest

final class OptimizerTests: XCTestCase {
    /// Two AdamW steps on a 1-layer model, checked entry by entry against the update written out by hand.
    func testAdamWMatchesHandComputedUpdate() throws {
        let config = ModelConfig.training(dim: 4, layers: 1, heads: 2, vocabSize: 6, contextLength: 4)
        let params = ParameterSet<Double>(config: config), grads = ParameterSet<Double>(config: config)
        params.initialize(seed: 1, std: 0.5)
        let settings = AdamW<Double>.Settings(beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1)
        let adam = AdamW<Double>(config: config, settings: settings)
        var expected = params.entries.map(\.tensor.values)
        var m = expected.map { [Double](repeating: 0, count: $0.count) }, v = m
        let lrs = [0.01, 0.005]
        for (t, lr) in lrs.enumerated() {
            var rng = TrainingRandom(seed: UInt64(10 + t))
            for e in grads.entries { for i in 0..<e.tensor.count { e.tensor[i] = rng.nextNormal() } }
            adam.update(params, grads: grads, lr: lr)
            for (k, e) in params.entries.enumerated() {
                for i in 0..<e.tensor.count {
                    let g = grads.entries[k].tensor[i]
                    m[k][i] = 0.9 * m[k][i] + 0.1 * g
                    v[k][i] = 0.95 * v[k][i] + 0.05 * g * g
                    let mHat = m[k][i] / (1 - pow(0.9, Double(t + 1))), vHat = v[k][i] / (1 - pow(0.95, Double(t + 1)))
                    let decay = e.decays ? 1 - lr * 0.1 : 1
                    expected[k][i] = expected[k][i] * decay - lr * mHat / (vHat.squareRoot() + 1e-8)
                }
            }
        }
        for (k, e) in params.entries.enumerated() {
            for i in 0..<e.tensor.count { XCTAssertEqual(e.tensor[i], expected[k][i], accuracy: 1e-12, e.name) }
        }
        // Decay applies to matrices only.
        XCTAssertEqual(params.entries.filter(\.decays).map(\.name).sorted(),
                       ["blk.0.attn_k.weight", "blk.0.attn_output.weight", "blk.0.attn_q.weight", "blk.0.attn_v.weight",
                        "blk.0.ffn_down.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight"])
    }

    func testScheduleWarmupThenCosineToTenPercent() {
        let s = LearningRateSchedule(peak: 1e-3, warmup: 10, total: 110)
        XCTAssertEqual(s.rate(at: 0), 1e-4, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 4), 5e-4, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 9), 1e-3, accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 10), 1e-3, accuracy: 1e-15)
        // Half-way through the decay: the mean of peak and floor.
        XCTAssertEqual(s.rate(at: 10 + 99 / 2), 1e-4 + 0.9e-3 * 0.5 * (1 + cos(.pi * 49.0 / 99.0)), accuracy: 1e-15)
        XCTAssertEqual(s.rate(at: 109), 1e-4, accuracy: 1e-15)
        for step in 10..<109 { XCTAssertGreaterThanOrEqual(s.rate(at: step), s.rate(at: step + 1)) }
    }

    func testGradientClipping() {
        let config = ModelConfig.training(dim: 4, layers: 1, heads: 2, vocabSize: 6, contextLength: 4)
        let grads = ParameterSet<Double>(config: config)
        for e in grads.entries { for i in 0..<e.tensor.count { e.tensor[i] = 1 } }
        let count = Double(grads.count)
        XCTAssertEqual(clipGradients(grads, maxNorm: 1), count.squareRoot(), accuracy: 1e-9)
        let after = grads.entries.reduce(0.0) { s, e in s + e.tensor.values.reduce(0) { $0 + $1 * $1 } }.squareRoot()
        XCTAssertEqual(after, 1, accuracy: 1e-5)
        // Below the limit nothing changes.
        XCTAssertEqual(clipGradients(grads, maxNorm: 10), after, accuracy: 1e-12)
        XCTAssertEqual(grads.entries[0].tensor[0], 1 / count.squareRoot(), accuracy: 1e-6)
    }

    func testSeededInitIsReproducibleAndScaled() {
        let config = ModelConfig.training(dim: 64, layers: 4, heads: 4, vocabSize: 50, contextLength: 8)
        let a = ParameterSet<Float>(config: config), b = ParameterSet<Float>(config: config)
        a.initialize(seed: 9); b.initialize(seed: 9)
        XCTAssertEqual(a.entries.map(\.tensor.values), b.entries.map(\.tensor.values))
        func std(_ name: String) -> Double {
            let v = a.entries.first { $0.name == name }!.tensor.values.map(Double.init)
            return (v.reduce(0) { $0 + $1 * $1 } / Double(v.count)).squareRoot()
        }
        XCTAssertEqual(std("blk.0.attn_q.weight"), 0.02, accuracy: 0.002)
        XCTAssertEqual(std("blk.0.ffn_down.weight"), 0.02 / 8.0.squareRoot(), accuracy: 0.001)
        XCTAssertEqual(a.entries.first { $0.name == "blk.1.ffn_norm.weight" }!.tensor.values, Array(repeating: 1, count: 64))
    }
}
