import Foundation
import XCTest
@testable import CPUBackend

final class ThreadPoolTests: XCTestCase {
    /// Every index is visited exactly once, whatever the thread count, chunk and count, and
    /// also when one thread is held up so that the others take its chunks.
    func testParallelForCoversEveryIndexOnce() {
        for threads in [1, 2, 3, 5] {
            let pool = ThreadPool(threads: threads)
            for (count, minimumChunk) in [(0, 1), (1, 1), (2, 1), (7, 3), (100, 1), (2048, 16), (5000, 16), (333, 8)] {
                for slowThread in [false, true] {
                    let visits = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count))
                    visits.initialize(repeating: 0, count: max(1, count))
                    let lock = NSLock()
                    var ranges: [Range<Int>] = []
                    pool.parallelFor(count, minimumChunk: minimumChunk) { range in
                        // the chunk holding index 0 stalls: its thread falls behind the others
                        if slowThread, range.contains(0) { Thread.sleep(forTimeInterval: 0.005) }
                        for i in range { visits[i] += 1 }
                        lock.lock(); ranges.append(range); lock.unlock()
                    }
                    let label = "threads \(threads), count \(count), chunk \(minimumChunk), slow \(slowThread)"
                    XCTAssertEqual((0..<count).filter { visits[$0] != 1 }, [], label)
                    // chunks are whole multiples of the minimum, except where a share ends
                    let workers = min(threads, max(1, count / minimumChunk))
                    let shareEnds = Set((1...workers).map { count * $0 / workers })
                    for r in ranges where !shareEnds.contains(r.upperBound) {
                        XCTAssertEqual(r.count % minimumChunk, 0, "\(label): chunk \(r)")
                    }
                    visits.deallocate()
                }
            }
        }
    }

    /// A held-up thread's share is finished by the others: the first chunk claimed waits until
    /// every other index is done, which happens only if the other thread takes the stalled
    /// thread's remaining chunks (it gives up after 10 s, and the test then fails).
    func testFreeThreadTakesAStalledThreadsChunks() {
        let pool = ThreadPool(threads: 2)
        let lock = NSLock()
        var done = 0, stalledChunk: Range<Int>?, othersFinishedFirst = false
        pool.parallelFor(1024, minimumChunk: 16) { range in
            lock.lock()
            let stalls = stalledChunk == nil
            if stalls { stalledChunk = range }
            lock.unlock()
            if stalls {
                let deadline = Date().addingTimeInterval(10)
                while Date() < deadline {
                    lock.lock(); let others = done; lock.unlock()
                    if others == 1024 - range.count { othersFinishedFirst = true; break }
                    Thread.sleep(forTimeInterval: 0.001)
                }
            }
            lock.lock(); done += range.count; lock.unlock()
        }
        XCTAssertEqual(done, 1024)
        XCTAssertTrue(othersFinishedFirst, "the free thread did not take the stalled thread's chunks")
        XCTAssertEqual(stalledChunk?.count, 16, "chunks of 1/32 of a share, rounded up to the minimum")
    }
}
