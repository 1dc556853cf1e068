import XCTest
import CPUKernels

extension XCTestCase {
    /// Seeded values in [−2, 2] (a 64-bit LCG), the same for a seed on every machine.
    func randomValues(_ n: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max) * 2
        }
    }
}

extension XCTestCase {
    /// The kernel variants this CPU can run (2 = AVX-512 VNNI, 1 = AVX2, 0 = portable), each
    /// made active in turn; the best is restored afterwards.
    func forEachVariant(_ body: (Int32) -> Void) {
        let best = llcl_use_kernel_variant(-1)
        defer { _ = llcl_use_kernel_variant(-1) }
        for variant in (0...best).reversed() { XCTAssertEqual(llcl_use_kernel_variant(variant), variant); body(variant) }
    }
}
