import Foundation

/// Runs programs in a `CodeSandbox` on a few worker threads, beside generation: `submit` returns
/// at once and the result arrives through the completion handler (on a worker thread). Each
/// worker owns one sandbox slot (and so, as root, one uid).
public final class GraderPool: @unchecked Sendable {
    public let sandbox: CodeSandbox
    public let workers: Int
    private let queue = OperationQueue()
    private let lock = NSLock()
    private var freeSlots: [Int]

    /// Default workers: half the CPUs this process may use (at least 1, at most 8), leaving the
    /// rest to generation.
    public static var defaultWorkers: Int { max(1, min(8, ProcessInfo.processInfo.activeProcessorCount / 2)) }

    public init(sandbox: CodeSandbox, workers: Int = GraderPool.defaultWorkers) {
        self.sandbox = sandbox
        self.workers = max(1, workers)
        freeSlots = Array((0..<self.workers).reversed())
        queue.maxConcurrentOperationCount = self.workers
        queue.name = "llamacl.grader"
    }

    public func submit(_ program: CodeProgram, completion: @escaping @Sendable (ExecutionResult) -> Void) {
        queue.addOperation { [self] in
            let slot = lock.withLock { freeSlots.removeLast() }
            let result = sandbox.run(program, slot: slot)
            lock.withLock { freeSlots.append(slot) }
            completion(result)
        }
    }

    /// Blocks until every submitted program has been run and its completion has returned.
    public func waitUntilIdle() { queue.waitUntilAllOperationsAreFinished() }

    /// Runs `programs` and returns their results in order (blocking).
    public func runAll(_ programs: [CodeProgram]) -> [ExecutionResult] {
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var values: [ExecutionResult?]
            init(_ n: Int) { values = Array(repeating: nil, count: n) }
        }
        let results = Results(programs.count)
        for (i, p) in programs.enumerated() {
            submit(p) { r in results.lock.withLock { results.values[i] = r } }
        }
        waitUntilIdle()
        return results.values.map { $0! }
    }
}
