import CPUBackend
import GGUF
import LlamaCore
import OpenCLBackend
import TestSupport
import XCTest

/// What a decoded token costs on the device, from the runtime's own counters (Kernel, Buffer,
/// CLBlast, Device.finish count every launch, synchronisation and byte): the fused decode path
/// must stay at most 6 launches per layer, never make the host wait inside a token, and return
/// only the token ids of a greedy step. Holds on any OpenCL driver, PoCL included.
final class DecodeProfileTests: XCTestCase {
    /// embed_rows, rmsnorm_matvec_rows (head) and argmax_rows: launched once per token, not per layer.
    static let perTokenLaunches = 3

    struct Decoded {
        var tokens: [[Int]] = []
        var profile = BackendProfile()
        var steps = 0
    }

    /// A prompt per sequence (shared cells when `sequences` > 1), then `steps` greedy steps of
    /// one row per sequence, counted from the first step on.
    func decode<B: Backend>(_ backend: B, gguf: GGUFFile, prompt: [Int], steps: Int, sequences: Int = 1) throws -> Decoded {
        let model = try Transformer(gguf: gguf, backend: backend, cacheCells: 128)
        var next = try model.forwardArgmax(.prompt(prompt, sequence: 0))
        for s in 1..<max(sequences, 1) { model.copySequence(0, to: s) }
        next = [Int](repeating: next[0], count: sequences)
        var out = Decoded()
        model.resetProfile()
        for step in 0..<steps {
            let batch = (0..<sequences).map { BatchEntry(token: (next[$0] + 7 * $0) % model.config.vocabSize, position: prompt.count + step, sequence: $0, wantsLogits: true) }
            next = try model.forwardArgmax(batch)
            out.tokens.append(next)
        }
        out.profile = model.profile
        out.steps = steps
        return out
    }

    let prompt = [1, 9038, 2501, 263, 931, 29892, 263, 2319, 3748, 29889]

    func model() throws -> (GGUFFile, Int) {
        let gguf = try GGUFFile(path: try Fixtures.require("models/tiny-spm-q4_0.gguf"))
        return (gguf, try ModelConfig(gguf: gguf).layers)
    }

    func assertDecodeBudget(_ d: Decoded, layers: Int, rows: Int, file: StaticString = #filePath, line: UInt = #line) {
        let p = d.profile, n = Double(d.steps)
        let launches = Double(p.launches) / n
        let perLayer = (launches - Double(Self.perTokenLaunches)) / Double(layers)
        print(String(format: "decode profile (%d row(s)): %.1f launches per token (%.2f per layer after %d per token), %.2f host syncs, %.0f B to device, %.0f B from device per step",
                     rows, launches, perLayer, Self.perTokenLaunches, Double(p.hostSyncs) / n, Double(p.bytesToDevice) / n, Double(p.bytesFromDevice) / n))
        XCTAssertLessThanOrEqual(perLayer, 6, "launches per layer", file: file, line: line)
        // The one synchronisation of a step is reading its result: none inside the token.
        XCTAssertEqual(p.hostSyncs, d.steps, "host synchronisations: exactly one per step (the result)", file: file, line: line)
        XCTAssertLessThanOrEqual(Double(p.bytesFromDevice) / n, Double(16 * rows), "bytes read back per step", file: file, line: line)
        XCTAssertLessThanOrEqual(Double(p.bytesFromDevice) / n / Double(rows), 64, "bytes read back per greedy token", file: file, line: line)
    }

    /// One sequence, short context: one attention launch per layer (a single chunk).
    func testGreedyDecodeLaunchesSyncsAndBytes() throws {
        let (gguf, layers) = try model()
        let gpu = try decode(try openCL(), gguf: gguf, prompt: prompt, steps: 6)
        assertDecodeBudget(gpu, layers: layers, rows: 1)
        XCTAssertLessThanOrEqual(gpu.profile.launches, gpu.steps * (5 * layers + Self.perTokenLaunches), "5 launches per layer below one chunk of context")
        // The device's greedy tokens are the CPU's.
        let cpu = try decode(CPUBackend(), gguf: gguf, prompt: prompt, steps: 6)
        XCTAssertEqual(gpu.tokens, cpu.tokens)
        XCTAssertEqual(cpu.profile.launches, 0)
        XCTAssertEqual(cpu.profile.ops, 6 * (1 + 5 * layers + 2), "CPU ops per token: embed, 5 per layer, head, argmax")
    }

    /// Past one attention chunk (forced small here) split-K adds attention_combine: 6 per layer.
    func testSplitAttentionStaysWithinSixPerLayer() throws {
        let (gguf, layers) = try model()
        let split = try decode(try makeOpenCL(.init(attentionChunk: 4)), gguf: gguf, prompt: prompt, steps: 4)
        assertDecodeBudget(split, layers: layers, rows: 1)
        XCTAssertEqual(split.profile.launches, split.steps * (6 * layers + Self.perTokenLaunches))
        XCTAssertEqual(split.profile.kernelTimes.isEmpty, true, "no profiling events unless asked for")
        let whole = try decode(try openCL(), gguf: gguf, prompt: prompt, steps: 4)
        XCTAssertEqual(split.tokens, whole.tokens)
    }

    /// Three sequences decoded together: the same launches as one (each weight block is read once
    /// for the batch's rows), one synchronisation, 4 bytes per sequence.
    func testBatchedDecodeSharesLaunches() throws {
        let (gguf, layers) = try model()
        let one = try decode(try openCL(), gguf: gguf, prompt: prompt, steps: 3)
        let three = try decode(try openCL(), gguf: gguf, prompt: prompt, steps: 3, sequences: 3)
        assertDecodeBudget(three, layers: layers, rows: 3)
        XCTAssertEqual(three.profile.launches, one.profile.launches)
        XCTAssertEqual(three.profile.bytesFromDevice, 3 * 4 * three.steps)
        let cpu = try decode(CPUBackend(), gguf: gguf, prompt: prompt, steps: 3, sequences: 3)
        XCTAssertEqual(three.tokens, cpu.tokens)
    }

    /// With profiling on, every launch is timed per kernel, and the counts add up.
    func testProfilingEventsTimeEveryKernel() throws {
        let (gguf, _) = try model()
        let d = try decode(try makeOpenCL(.init(profiling: true)), gguf: gguf, prompt: prompt, steps: 2)
        let timed = d.profile.kernelTimes.values.reduce(0) { $0 + $1.count }
        XCTAssertEqual(timed, d.profile.launches)
        XCTAssertNotNil(d.profile.kernelTimes["attention_input_rows"])
        XCTAssertNotNil(d.profile.kernelTimes["argmax_rows"])
        XCTAssertTrue(d.profile.kernelTimes.values.allSatisfy { $0.seconds >= 0 })
    }
}

/// Prompts take the GEMM path: with a tiny scratch every weight is dequantized in many chunks on
/// the side queue, overlapping the GEMMs; still one host synchronisation (reading the logits),
/// and the logits equal the CPU's.
final class PromptOverlapTests: XCTestCase {
    func testChunkedPromptHasOneSynchronisation() throws {
        let gguf = try GGUFFile(path: try Fixtures.require("models/tiny-spm-q4_0.gguf"))
        let prompt = [1, 9038, 2501, 263, 931, 29892, 263, 2319, 3748, 29889, 450, 2501]
        let model = try Transformer(gguf: gguf, backend: try makeOpenCL(.init(scratchBytes: 8192)), cacheCells: 64)
        model.resetProfile()
        let gpu = try model.forward(.prompt(prompt, allLogits: true)).flatMap { $0 }
        let p = model.profile
        XCTAssertEqual(p.hostSyncs, 1, "only the logits read")
        XCTAssertGreaterThan(p.launches, 4 * 2 * 7, "many dequantize + GEMM chunks")
        let cpu = try Transformer(gguf: gguf, backend: CPUBackend(), cacheCells: 64).forward(.prompt(prompt, allLogits: true)).flatMap { $0 }
        XCTAssertLessThanOrEqual(Budget.nmse(gpu, cpu), Budget.openCLModel)
    }
}
