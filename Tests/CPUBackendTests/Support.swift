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

/// The C kernel variants (CPUKernels.h), by number.
enum KernelVariant {
    static let names: [Int32: String] = [2: "AVX-512 VNNI", 1: "AVX2", 0: "portable C"]
    static let vnni: Int32 = 2
    /// The best variant this CPU (and build) can run.
    static var best: Int32 { llcl_use_kernel_variant(-1) }
}

extension XCTestCase {
    /// The kernel variants this CPU can run (2 = AVX-512 VNNI, 1 = AVX2, 0 = portable), each
    /// made active in turn; the best is restored afterwards. A variant this CPU lacks is not
    /// silently left out: the test log says by name which one was skipped (and
    /// `KernelVariantTests.testVNNIVariantRuns` reports it as a skipped test).
    func forEachVariant(_ body: (Int32) -> Void) {
        let best = KernelVariant.best
        defer { _ = llcl_use_kernel_variant(-1) }
        for skipped in stride(from: best + 1, through: KernelVariant.vnni, by: 1) {
            print("skipped: \(KernelVariant.names[skipped]!) variant in \(name) (this CPU or build has no \(KernelVariant.names[skipped]!))")
        }
        for variant in (0...best).reversed() { XCTAssertEqual(llcl_use_kernel_variant(variant), variant); body(variant) }
    }
}
