import CPUKernels
import Foundation

/// This machine's limits, measured: the ceilings of a roofline plot. Bandwidth is what the
/// threads can stream from memory (reads only, as weights are read during decoding); the
/// compute peaks are F32 fused multiply-adds and 8-bit dot products with the active kernels.
public struct MachineLimits: Codable, Sendable {
    public var threads: Int
    public var readGBPerSecond: Double
    public var f32GFLOPs: Double
    public var int8GOPs: Double
    /// 2 = AVX-512 VNNI, 1 = AVX2, 0 = portable C.
    public var kernelVariant: Int
}

public enum MachineProbe {
    /// Best of `repetitions` for each probe; `bytes` should be well above the caches.
    public static func measure(threads: Int, bytes: Int = 1 << 30, repetitions: Int = 5) -> MachineLimits {
        let pool = ThreadPool(threads: threads)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)  // touch every page first
        let sink = ManagedSink()

        func best(_ body: () -> Void) -> Double {
            (0..<repetitions).map { _ in
                let start = DispatchTime.now().uptimeNanoseconds
                body()
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }.min()!
        }
        let slice = bytes / threads / 128 * 128
        let readSeconds = best {
            pool.parallelFor(threads) { range in for w in range { sink.add(UInt64(llcl_probe_read(buffer + w * slice, slice))) } }
        }
        let iterations = 20_000_000
        let fmaSeconds = best {
            pool.parallelFor(threads) { range in for _ in range { sink.add(UInt64(llcl_probe_fma(iterations).bitPattern)) } }
        }
        let int8Seconds = best {
            pool.parallelFor(threads) { range in for _ in range { sink.add(UInt64(bitPattern: Int64(llcl_probe_int8(iterations)))) } }
        }
        let perThread = Double(iterations) * 10 * Double(threads)
        return MachineLimits(threads: threads,
                             readGBPerSecond: Double(slice * threads) / readSeconds / 1e9,
                             f32GFLOPs: perThread * 8 * 2 / fmaSeconds / 1e9,      // 8 lanes, multiply + add
                             int8GOPs: perThread * 32 * 2 / int8Seconds / 1e9,    // 32 byte pairs, multiply + add
                             kernelVariant: Int(llcl_kernel_variant()))
    }
}

/// Keeps probe results alive so that the compiler cannot drop the work.
private final class ManagedSink: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var value: UInt64 = 0
    func add(_ v: UInt64) { lock.lock(); value &+= v; lock.unlock() }
}
