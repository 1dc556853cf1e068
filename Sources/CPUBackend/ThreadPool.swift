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
    ///
    /// Each thread owns an equal share and walks it in chunks, in order (so its reads stay one
    /// stream); a thread that finishes early takes the chunks that the others have not started.
    /// Two cores of a shared machine do not run at the same speed from one job to the next, and
    /// with fixed shares the faster one waited for the slower at every one of a token's few
    /// hundred jobs. Chunks are whole multiples of `minimumChunk`.
    public func parallelFor(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let grain = max(1, minimumChunk)
        let workers = min(threads, max(1, count / grain))
        if workers <= 1 { if count > 0 { body(0..<count) }; return }
        let share = (count + workers - 1) / workers
        let chunk = max(grain, (share / Self.chunksPerShare + grain - 1) / grain * grain)
        crew.run { worker, claims in
            guard worker < workers else { return }
            func bounds(_ w: Int) -> Range<Int> { count * w / workers..<count * (w + 1) / workers }
            // own share first, then the others' from the next worker round
            for step in 0..<workers {
                let owner = (worker + step) % workers, range = bounds(owner)
                while true {
                    let lo = range.lowerBound + claims.next(owner) * chunk
                    if lo >= range.upperBound { break }
                    body(lo..<min(lo + chunk, range.upperBound))
                }
            }
        }
    }

    /// About how many chunks a share is cut into: fine enough that the last chunk is a small
    /// part of a job, coarse enough that claiming one (an atomic add) costs nothing beside it.
    static let chunksPerShare = 32
}

/// Per-job chunk counters, one per worker share, each on its own cache line so that a worker
/// claiming its own chunks does not contend with the others.
struct ChunkClaims {
    fileprivate let storage: UnsafeMutablePointer<UnsafeAtomic<Int>.Storage>
    static let stride = 8  // 8 × 8 bytes: one cache line per counter

    /// Claims the next chunk of `owner`'s share; the index may be past the share's end.
    func next(_ owner: Int) -> Int {
        UnsafeAtomic(at: storage + owner * Self.stride).loadThenWrappingIncrement(ordering: .relaxed)
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
    private var job: ((Int, ChunkClaims) -> Void)?  // published by the generation step
    private let claims: ChunkClaims

    init(helpers: Int) {
        self.helpers = helpers
        let counters = (helpers + 1) * ChunkClaims.stride
        let storage = UnsafeMutablePointer<UnsafeAtomic<Int>.Storage>.allocate(capacity: counters)
        storage.initialize(repeating: UnsafeAtomic<Int>.Storage(0), count: counters)
        claims = ChunkClaims(storage: storage)
        for index in 0..<helpers {
            let thread = Thread { [self] in work(as: index + 1) }
            thread.name = "llamacl-cpu-\(index + 1)"
            thread.start()
        }
    }

    deinit { claims.storage.deallocate() }

    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        wake.lock(); wake.broadcast(); wake.unlock()
    }

    /// Runs `body(worker, claims)` for worker 0 (this thread) and every helper 1...helpers, with
    /// every chunk counter at zero; returns when all are done.
    func run(_ body: (Int, ChunkClaims) -> Void) {
        submit.lock(); defer { submit.unlock() }
        for w in 0...helpers { UnsafeAtomic(at: claims.storage + w * ChunkClaims.stride).store(0, ordering: .relaxed) }
        withoutActuallyEscaping(body) { body in
            job = body
            pending.store(helpers, ordering: .sequentiallyConsistent)
            generation.wrappingIncrement(ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 { wake.lock(); wake.broadcast(); wake.unlock() }
            body(0, claims)
            while pending.load(ordering: .acquiring) > 0 { llcl_cpu_relax() }
            job = nil
        }
    }

    private func work(as worker: Int) {
        var seen = 0
        while true {
            seen = waitForJob(after: seen)
            if stopping.load(ordering: .sequentiallyConsistent) { return }
            job?(worker, claims)
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
