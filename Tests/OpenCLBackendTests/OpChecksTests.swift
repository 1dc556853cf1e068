import GGUF
import LlamaCore
@testable import OpenCLVerification
import OpenCLBackend
import XCTest

/// Every OpenCL op against the CPU reference op, within the named budgets (Budgets.swift).
final class OpChecksTests: XCTestCase {
    static var results: [Check]?

    /// The op checks run once; each test below asserts on its family.
    func checks() throws -> [Check] {
        if let r = Self.results { return r }
        let r = try OpChecks.run(on: try openCL())
        for c in r { print(String(format: "%-60@ nmse %.3e (budget %.0e) %@", c.name, c.value, c.budget, c.pass ? "ok" : "FAIL")) }
        Self.results = r
        return r
    }

    func assertFamily(_ prefix: String, minimumCount: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let family = try checks().filter { $0.name.hasPrefix(prefix) }
        XCTAssertGreaterThanOrEqual(family.count, minimumCount, "checks of \(prefix)", file: file, line: line)
        for c in family { XCTAssertTrue(c.pass, "\(c.name): NMSE \(c.value) over budget \(c.budget)", file: file, line: line) }
    }

    func testEmbedEveryType() throws { try assertFamily("embed", minimumCount: TensorType.allCases.count) }
    /// To F32 and to F16 (dequantize_rows, dequantize_rows_half), every type.
    func testDequantizeEveryType() throws {
        try assertFamily("dequantize", minimumCount: 2 * TensorType.allCases.count)
        try assertFamily("dequantize to F16", minimumCount: TensorType.allCases.count)
    }
    func testMatmulEveryTypeMatvecAndGemm() throws { try assertFamily("matmul", minimumCount: 3 * TensorType.allCases.count + 3) }
    func testRMSNorm() throws { try assertFamily("rmsnorm", minimumCount: 3) }
    func testRope() throws { try assertFamily("rope", minimumCount: 4) }
    func testSwiGLU() throws { try assertFamily("swiglu", minimumCount: 2) }
    func testAdd() throws { try assertFamily("add", minimumCount: 2) }
    func testGather() throws { try assertFamily("gather", minimumCount: 1) }
    func testStoreKVAndAttention() throws {
        try assertFamily("store-KV + attention", minimumCount: 4)
        try assertFamily("store-KV", minimumCount: 5)
    }

    /// f32_to_f16 and f16_to_f32 are core OpenCL C (vstore_half_rte, vload_half): checked bit
    /// for bit on every device, whether or not it has cl_khr_fp16 (and so HGEMM).
    func testHalfConversions() throws {
        try assertFamily("f32_to_f16", minimumCount: 1)
        try assertFamily("f16_to_f32", minimumCount: 1)
    }

    /// Every kernel of the program has a check against its reference op (ReferenceOps names one
    /// per kernel). The GEMM path's kernels depend on the device (HGEMM or not) and on which
    /// batch sizes take matvec, so both settings are listed; the direct checks cover the rest.
    func testEveryKernelIsChecked() {
        let covered = OpChecks.kernels(halfGemm: false, matvecMaxRows: 4).union(OpChecks.kernels(halfGemm: true, matvecMaxRows: 4))
        let program = Set(OpenCLBackend.kernelNames)
        XCTAssertEqual(program.count, 21, "kernels: \(program.sorted())")
        XCTAssertEqual(program.subtracting(covered), [], "kernels without an op check")
        XCTAssertEqual(covered.subtracting(program), [], "checks naming kernels the program does not have")
        // the SGEMM settings (PoCL's) alone still reach every kernel, through the direct checks
        XCTAssertEqual(program.subtracting(OpChecks.kernels(halfGemm: false, matvecMaxRows: 4)), [])
    }

    func testEveryCheckIsFinite() throws {
        for c in try checks() { XCTAssertTrue(c.value.isFinite, "\(c.name) produced NaN/inf") }
    }
}
