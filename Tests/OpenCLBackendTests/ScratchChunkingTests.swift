import CPUBackend
import GGUF
import LlamaCore
import OpenCLBackend
@testable import OpenCLVerification
import XCTest

/// The paths that only large models take on a real device, forced here with tiny limits:
/// GEMM over a weight dequantized a few rows at a time, and attention in row chunks.
final class ScratchChunkingTests: XCTestCase {
    func testChunkedDequantizedGemmAndAttention() throws {
        _ = try openCL()
        let small = try makeOpenCL(.init(scratchBytes: 4096))
        let reference = CPUBackend(mode: .reference, threads: 1)
        let cases: [(String, OpCase, Double)] = [
            ("matmul Q8_0 67×96, 37 rows, 10-row chunks", .matmul(type: .q8_0, outputs: 67, cols: 96, rows: 37, bias: true), Budget.openCLMatmulF32),
            ("matmul Q6_K 67×512, 9 rows, 2-row chunks", .matmul(type: .q6_K, outputs: 67, cols: 512, rows: 9, bias: false), Budget.openCLMatmulF32),
            ("attention 37 rows in 6-row chunks", .attention(.prompt(rows: 37, heads: 4, kvHeads: 2, headDim: 64)), Budget.openCLMatmul),
            ("attention 3 sequences in chunks", .attention(.sharedPrompt(prompt: 20, sequences: 3, own: 4, heads: 4, kvHeads: 2, headDim: 32)), Budget.openCLMatmul),
        ]
        for (i, (name, op, budget)) in cases.enumerated() {
            let check = Check.nmse(name, try op.run(on: small, seed: UInt64(i)), try op.run(on: reference, seed: UInt64(i)), budget: budget)
            XCTAssertTrue(check.pass, "\(name): NMSE \(check.value) over \(budget)")
        }
    }

    func testHalfGemmNeedsFP16() throws {
        let device = try openCL().device
        guard !device.info.supportsFP16 else { throw XCTSkip("\(device.info.name) has cl_khr_fp16") }
        XCTAssertThrowsError(try OpenCLBackend(options: .init(gemm: .f16))) { error in
            guard case OpenCLError.unsupported = error else { return XCTFail("got \(error)") }
        }
        XCTAssertFalse(try makeOpenCL(.init(gemm: .auto)).usesHalfGemm)
    }
}

/// The GPU's matvec layout (several lanes per output row, reduced in local memory), forced on
/// whatever device runs the tests, for every weight type.
final class MatvecLanesTests: XCTestCase {
    func testManyLanesPerRowEveryType() throws {
        _ = try openCL()
        let reference = CPUBackend(mode: .reference, threads: 1)
        for lanes in [4, 64] {
            let backend = try makeOpenCL(.init(matvecLanes: lanes))
            for (i, type) in TensorType.allCases.enumerated() {
                for (rows, outputs) in [(1, 67), (3, 5)] {
                    let op = OpCase.matmul(type: type, outputs: outputs, cols: OpChecks.awkwardWidth(type) * 2, rows: rows, bias: i % 2 == 0)
                    let seed = UInt64(100 * lanes + i)
                    let check = Check.nmse("\(type)", try op.run(on: backend, seed: seed), try op.run(on: reference, seed: seed), budget: Budget.openCLMatmulF32)
                    XCTAssertTrue(check.pass, "\(type), \(lanes) lanes, \(rows) rows: NMSE \(check.value)")
                }
            }
        }
    }
}
