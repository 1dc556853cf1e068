import Atomics
import CPUKernels
import Foundation

/// Splits index ranges over a fixed set of threads that live as long as the pool. Decoding
/// one token calls it a few hundred times, each for microseconds of work, so waking threads
/// through the kernel each time (as a dispatch queue does) costs more than the work: helpers
/// spin for a while after each job, and only sleep when the pool has been idle for about a
/// millisecond. The calling thread does the first share itself.
public final class ThreadPool: @unchecked Sendable {
    public let threads: Int
    private let crew: Crew

    public init(threads: Int) {
        self.threads = max(1, threads)
        crew = Crew(helpers: self.threads - 1)
    }

    deinit { crew.stop() }

    /// Calls `body` with disjoint sub-ranges covering 0..<count, in parallel.
    public func parallelFor(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let workers = min(threads, max(1, count / max(1, minimumChunk)))
        if workers <= 1 { if count > 0 { body(0..<count) }; return }
        crew.run { worker in
            guard worker < workers else { return }
            let lo = count * worker / workers, hi = count * (worker + 1) / workers
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// The helper threads and the handshake with them. Helpers hold a strong reference to this
/// object, not to the pool, so the pool's deinit can stop them.
private final class Crew: @unchecked Sendable {
    /// How long an idle helper spins before it sleeps.
    static let spinNanoseconds: UInt64 = 1_000_000

    let helpers: Int
    private let generation = ManagedAtomic<Int>(0)  // one step per job
    private let pending = ManagedAtomic<Int>(0)     // helpers still inside the current job
    private let sleepers = ManagedAtomic<Int>(0)
    private let stopping = ManagedAtomic<Bool>(false)
    private let wake = NSCondition()
    private let submit = NSLock()                   // one job at a time, whoever calls
    private var job: ((Int) -> Void)?               // published by the generation step

    init(helpers: Int) {
        self.helpers = helpers
        for index in 0..<helpers {
            let thread = Thread { [self] in work(as: index + 1) }
            thread.name = "llamacl-cpu-\(index + 1)"
            thread.start()
        }
    }

    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        wake.lock(); wake.broadcast(); wake.unlock()
    }

    /// Runs `body(worker)` for worker 0 (this thread) and every helper 1...helpers; returns when all are done.
    func run(_ body: (Int) -> Void) {
        submit.lock(); defer { submit.unlock() }
        withoutActuallyEscaping(body) { body in
            job = body
            pending.store(helpers, ordering: .sequentiallyConsistent)
            generation.wrappingIncrement(ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 { wake.lock(); wake.broadcast(); wake.unlock() }
            body(0)
            while pending.load(ordering: .acquiring) > 0 { llcl_cpu_relax() }
            job = nil
        }
    }

    private func work(as worker: Int) {
        var seen = 0
        while true {
            seen = waitForJob(after: seen)
            if stopping.load(ordering: .sequentiallyConsistent) { return }
            job?(worker)
            pending.wrappingDecrement(ordering: .releasing)
        }
    }

    /// Spins, then sleeps, until the generation moves past `seen` (or the pool stops); returns it.
    private func waitForJob(after seen: Int) -> Int {
        let start = DispatchTime.now().uptimeNanoseconds
        var spins = 0
        while true {
            let current = generation.load(ordering: .sequentiallyConsistent)
            if current != seen || stopping.load(ordering: .relaxed) { return current }
            spins += 1
            if spins & 1023 != 0 { llcl_cpu_relax(); continue }
            if DispatchTime.now().uptimeNanoseconds - start < Self.spinNanoseconds { continue }
            wake.lock()
            sleepers.wrappingIncrement(ordering: .sequentiallyConsistent)
            while generation.load(ordering: .sequentiallyConsistent) == seen && !stopping.load(ordering: .sequentiallyConsistent) { wake.wait() }
            sleepers.wrappingDecrement(ordering: .sequentiallyConsistent)
            wake.unlock()
        }
    }
}
