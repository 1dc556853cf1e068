import Foundation
import LlamaCore

/// The number type the training math is written in. Training runs in `Float`; the gradient
/// checks run the very same code in `Double`, so finite differences are accurate to ~1e-10.
/// Every op is generic over it, and the optimizer specializes each for the concrete type.
public protocol TrainScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable {
    static func exponential(_ x: Self) -> Self
    static func logarithm(_ x: Self) -> Self
}

extension Float: TrainScalar {
    @inline(__always) public static func exponential(_ x: Float) -> Float { Foundation.exp(x) }
    @inline(__always) public static func logarithm(_ x: Float) -> Float { Foundation.log(x) }
}

extension Double: TrainScalar {
    @inline(__always) public static func exponential(_ x: Double) -> Double { Foundation.exp(x) }
    @inline(__always) public static func logarithm(_ x: Double) -> Double { Foundation.log(x) }
}

/// A fixed-size buffer with a stable address: activations, parameters, gradients and optimizer
/// state. A class so that ops can take several buffers' pointers at once without copies or
/// exclusivity conflicts, and so nothing is reallocated between training steps.
public final class Tensor<S: TrainScalar> {
    public let count: Int
    public let data: UnsafeMutablePointer<S>

    public init(count: Int) {
        self.count = count
        data = .allocate(capacity: max(count, 1))
        data.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init(_ values: [S]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { data.deallocate() }

    public var values: [S] { Array(UnsafeBufferPointer(start: data, count: count)) }
    public func zero() { data.update(repeating: 0, count: count) }
    public func copy(from other: Tensor<S>) { data.update(from: other.data, count: min(count, other.count)) }

    public subscript(i: Int) -> S {
        get { data[i] }
        set { data[i] = newValue }
    }
}

/// Splits 0..<count into contiguous chunks run in parallel on at most `threads` workers.
/// GCD keeps its worker threads alive, so nothing is created per call.
@inline(__always) func parallelChunks(_ count: Int, threads: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let workers = min(max(threads, 1), max(1, count / max(1, minimumChunk)))
    if workers <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = count * w / workers, hi = count * (w + 1) / workers
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// The seeded stream behind weight initialisation and batch sampling: SplitMix64 (LlamaCore's,
/// see `SeededRandom` for why training keeps it) with Box–Muller normals. Platform-independent,
/// so a seed reproduces a run.
public struct TrainingRandom: SeededStream {
    private var mix: SplitMix64
    private var spareNormal: Double?

    public init(seed: UInt64) { mix = SplitMix64(seed: seed ^ 0x5DEE_CE66_D1CE_4E5B) }

    public mutating func next() -> UInt64 { mix.next() }

    /// Standard normal.
    public mutating func nextNormal() -> Double {
        if let s = spareNormal { spareNormal = nil; return s }
        var u = nextDouble()
        while u <= 0 { u = nextDouble() }
        let v = nextDouble()
        let r = (-2 * Foundation.log(u)).squareRoot()
        spareNormal = r * Foundation.sin(2 * .pi * v)
        return r * Foundation.cos(2 * .pi * v)
    }
}
