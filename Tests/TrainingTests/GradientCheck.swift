import Training
import XCTest

/// Float64 central differences against the analytic gradients.
enum GradientCheck {
    /// Relative error of each entry, |a − n| / max(|a|, |n|, floor), maximised; the floor keeps
    /// entries whose true gradient is ~0 from dividing rounding noise by ~0.
    static func maxRelativeError(_ analytic: [Double], _ numeric: [Double], floor: Double = 1e-6) -> Double {
        zip(analytic, numeric).map { a, n in abs(a - n) / max(abs(a), abs(n), floor) }.max() ?? 0
    }

    /// dL/dx by (L(x + h) − L(x − h)) / 2h for each entry of x.
    static func numeric(_ x: UnsafeMutablePointer<Double>, count: Int, h: Double = 1e-5, loss: () throws -> Double) rethrows -> [Double] {
        try (0..<count).map { i in
            let saved = x[i]
            x[i] = saved + h
            let plus = try loss()
            x[i] = saved - h
            let minus = try loss()
            x[i] = saved
            return (plus - minus) / (2 * h)
        }
    }

    static func random(_ count: Int, seed: UInt64, scale: Double = 1, offset: Double = 0) -> Tensor<Double> {
        var rng = TrainingRandom(seed: seed)
        return Tensor((0..<count).map { _ in offset + scale * rng.nextNormal() })
    }

    /// Σ out ⊙ r: a scalar loss whose gradient with respect to `out` is r.
    static func project(_ out: Tensor<Double>, _ r: Tensor<Double>) -> Double {
        (0..<out.count).reduce(0) { $0 + out[$1] * r[$1] }
    }
}

/// Per-op errors are collected so one test can print them all (the report quotes them).
final class GradientErrors {
    static let shared = GradientErrors()
    private let lock = NSLock()
    private(set) var errors: [String: Double] = [:]
    func record(_ name: String, _ error: Double) {
        lock.lock(); errors[name] = max(errors[name] ?? 0, error); lock.unlock()
        print("gradient check \(name): max relative error \(String(format: "%.2e", error))")
    }
}
