import Dispatch

/// Splits index ranges over a fixed number of workers. GCD keeps its threads alive between
/// calls, so nothing is created per op.
public struct ThreadPool: Sendable {
    public let threads: Int

    public init(threads: Int) { self.threads = max(1, threads) }

    /// Calls `body` with disjoint sub-ranges covering 0..<count, in parallel.
    public func parallelFor(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let workers = min(threads, max(1, count / max(1, minimumChunk)))
        if workers <= 1 { if count > 0 { body(0..<count) }; return }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = count * w / workers, hi = count * (w + 1) / workers
                if lo < hi { body(lo..<hi) }
            }
        }
    }
}
