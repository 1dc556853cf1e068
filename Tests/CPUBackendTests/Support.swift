import XCTest

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
