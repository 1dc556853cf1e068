import LlamaCore
import Training
import XCTest

/// Training's shape is LlamaCore's `ModelConfig`: training's defaults and limits on it.
final class TrainingShapeTests: XCTestCase {
    func testDefaults() {
        let c = ModelConfig.training(dim: 128, layers: 4, heads: 4, vocabSize: 276, contextLength: 64)
        XCTAssertEqual(c.architecture, .llama)
        XCTAssertEqual(c.kvHeads, 4)
        XCTAssertEqual(c.ffnDim, 352, "8/3 · 128 = 341, rounded up to 16")
        XCTAssertEqual(ModelConfig.trainingFFNWidth(dim: 4), 16)
        XCTAssertTrue(c.tiedOutput)
        XCTAssertEqual(c.headDim, 32); XCTAssertEqual(c.ropeDim, 32); XCTAssertEqual(c.normEps, 1e-5); XCTAssertEqual(c.ropeBase, 10000)
        XCTAssertEqual(c.parameterCount, 839_296, "models/arithmetic.gguf")
    }

    func testParameterCountIsTheParameterSet() {
        for tied in [true, false] {
            let c = ModelConfig.training(dim: 32, layers: 2, heads: 4, kvHeads: 2, ffnDim: 48, vocabSize: 50, contextLength: 16, tiedOutput: tied)
            XCTAssertEqual(c.parameterCount, ParameterSet<Float>(config: c).count)
        }
    }

    func testValidateForTraining() throws {
        func assertInvalid(_ c: ModelConfig, _ text: String, line: UInt = #line) {
            XCTAssertThrowsError(try c.validateForTraining(), line: line) { error in
                guard case let .invalidConfig(message)? = error as? TrainingError else { return XCTFail("\(error)", line: line) }
                XCTAssertTrue(message.contains(text), message, line: line)
            }
        }
        let ok = ModelConfig.training(dim: 32, layers: 2, heads: 4, vocabSize: 50, contextLength: 16)
        XCTAssertNoThrow(try ok.validateForTraining())
        assertInvalid(ModelConfig.training(dim: 30, layers: 2, heads: 4, vocabSize: 50, contextLength: 16), "do not divide")
        assertInvalid(ModelConfig.training(dim: 32, layers: 2, heads: 4, kvHeads: 3, vocabSize: 50, contextLength: 16), "KV heads")
        assertInvalid(ModelConfig.training(dim: 1 << 15, layers: 1, heads: 4, vocabSize: 50, contextLength: 16), "too large")
        var qwen = ok
        qwen.architecture = .qwen2; qwen.ropeStyle = .neox
        assertInvalid(qwen, "llama")
        var partialRope = ok
        partialRope.ropeDim = 4
        assertInvalid(partialRope, "rotates all")
        var wideHeads = ok
        wideHeads.headDim = 16
        assertInvalid(wideHeads, "head size")
    }
}
