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
    func testDequantizeEveryType() throws { try assertFamily("dequantize", minimumCount: TensorType.allCases.count) }
    func testMatmulEveryTypeMatvecAndGemm() throws { try assertFamily("matmul", minimumCount: 3 * TensorType.allCases.count + 3) }
    func testRMSNorm() throws { try assertFamily("rmsnorm", minimumCount: 3) }
    func testRope() throws { try assertFamily("rope", minimumCount: 4) }
    func testSwiGLU() throws { try assertFamily("swiglu", minimumCount: 2) }
    func testAdd() throws { try assertFamily("add", minimumCount: 2) }
    func testGather() throws { try assertFamily("gather", minimumCount: 1) }
    func testStoreKVAndAttention() throws { try assertFamily("store-KV + attention", minimumCount: 4) }

    func testEveryCheckIsFinite() throws {
        for c in try checks() { XCTAssertTrue(c.value.isFinite, "\(c.name) produced NaN/inf") }
    }
}
