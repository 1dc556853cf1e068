import CPUBackend
import GGUF
import LlamaCore
import OpenCLBackend
import TestSupport
import XCTest

/// Best-of-N through the real KV bookkeeping: one prompt, three samples sharing its cells, each
/// step one batch with a row per sample. OpenCL must match the CPU at every step.
final class ParallelDecodeTests: XCTestCase {
    func run<B: Backend>(_ backend: B, gguf: GGUFFile, prompt: [Int], steps: Int) throws -> [[Float]] {
        let model = try Transformer(gguf: gguf, backend: backend, cacheCells: 64)
        var logits = try model.forward(.prompt(prompt, sequence: 0))
        for s in 1..<3 { model.copySequence(0, to: s) }
        var all = logits
        var tokens = [11, 222, 3333]   // each sample starts from its own token
        for step in 0..<steps {
            let batch = (0..<3).map { BatchEntry(token: tokens[$0], position: prompt.count + step, sequence: $0, wantsLogits: true) }
            logits = try model.forward(batch)
            all += logits
            tokens = logits.map { argmax($0) }
        }
        return all
    }

    func testSharedPromptSamplesMatchCPU() throws {
        let gguf = try GGUFFile(path: try Fixtures.require("models/tiny-spm-q8_0.gguf"))
        let prompt = [1, 9038, 2501, 263, 931, 29892, 263, 2319]
        let gpu = try run(try openCL(), gguf: gguf, prompt: prompt, steps: 5)
        let cpu = try run(CPUBackend(), gguf: gguf, prompt: prompt, steps: 5)
        XCTAssertEqual(gpu.count, cpu.count)
        for (i, (g, c)) in zip(gpu, cpu).enumerated() {
            XCTAssertLessThanOrEqual(Budget.nmse(g, c), Budget.openCLModel, "logits row \(i)")
        }
    }
}
