import LlamaCore
import ArgumentParser
import CPUBackend
import Foundation

/// The roofline's ceilings for this machine: streaming read bandwidth and compute peaks.
struct Machine: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure this machine's limits: memory read bandwidth, F32 FMA and 8-bit dot-product peaks.")

    @Option(name: [.short, .customLong("threads")], help: "Threads (default: the CPUs this process may use).") var threads: Int?
    @Option(help: "Bytes to stream, in MiB (well above the caches).") var sizeMib = 1024
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1, got \(t)") }
        guard sizeMib >= 64 else { throw ValidationError("--size-mib must be at least 64 (the caches would answer), got \(sizeMib)") }
    }

    func run() throws {
        let limits = MachineProbe.measure(threads: threads ?? AvailableCPUs.count, bytes: sizeMib << 20)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(limits), as: UTF8.self))
        } else {
            let variant = ["portable C", "AVX2", "AVX-512 VNNI"][limits.kernelVariant]
            print(String(format: "threads %d: read %.1f GB/s, F32 FMA %.0f GFLOP/s, int8 dot %.0f GOP/s (%@ kernels)",
                         limits.threads, limits.readGBPerSecond, limits.f32GFLOPs, limits.int8GOPs, variant))
        }
    }
}
