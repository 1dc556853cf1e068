@testable import CPUBackend
import CPUKernels
import GGUF
import LlamaCore
import XCTest

/// The C kernel variants themselves. The tests that iterate the variants (`forEachVariant`) can
/// only run those this CPU has; this one makes a missing AVX-512 VNNI variant visible in the
/// results as a skipped test, by name, instead of a silent gap.
final class KernelVariantTests: XCTestCase {
    /// Where the CPU has AVX-512 VNNI: the variant can be selected and its integer panels give
    /// the portable C's bits (the other tests cover it in depth through `forEachVariant`).
    func testVNNIVariantRuns() throws {
        defer { _ = llcl_use_kernel_variant(-1) }
        guard llcl_use_kernel_variant(KernelVariant.vnni) == KernelVariant.vnni else {
            throw XCTSkip("skipped: VNNI variant (this CPU has no AVX-512 VNNI); its kernels are untested on this machine")
        }
        XCTAssertEqual(llcl_kernel_variant(), KernelVariant.vnni)
        let rows = 9, cols = 512, tokens = 5
        let weights = Quantize.run(.q4_K, randomValues(rows * cols, seed: 71))
        let x = randomValues(tokens * cols, seed: 72)
        func product(variant: Int32) -> [UInt32] {
            XCTAssertEqual(llcl_use_kernel_variant(variant), variant)
            return weights.withUnsafeBytes { raw in
                let w = CPUWeight(WeightSource(name: "w", type: .q4_K, rows: rows, cols: cols, data: raw.baseAddress!, owner: nil))
                var out = [Float](repeating: .nan, count: tokens * rows)
                QuantizedMatmul().matmul(&out, x, w, rows: tokens, pool: ThreadPool(threads: 1))
                return out.map(\.bitPattern)
            }
        }
        XCTAssertEqual(product(variant: KernelVariant.vnni), product(variant: 0), "VNNI and portable C differ")
    }
}
