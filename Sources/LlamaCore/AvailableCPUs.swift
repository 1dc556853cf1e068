import Foundation

/// How many CPUs this process may run on: the default thread count everywhere. A batch job
/// given 4 cores of a 64-core node must start 4 threads, not 64 spinning ones, so the count
/// is the scheduler's grant (`SLURM_CPUS_PER_TASK`) or the CPU affinity mask (`taskset`,
/// cgroups cpusets, Slurm's task/affinity), never the machine's total.
public enum AvailableCPUs {
    public static var count: Int {
        let mask = affinityCount
        if let granted = ProcessInfo.processInfo.environment["SLURM_CPUS_PER_TASK"].flatMap({ Int($0) }), granted > 0 {
            return min(granted, mask ?? granted)
        }
        return mask ?? ProcessInfo.processInfo.activeProcessorCount
    }

    /// CPUs in this process's affinity mask, nil where it cannot be read. Linux reports the mask
    /// in /proc/self/status ("Cpus_allowed: ff,ffffffff", hex words); sched_getaffinity itself
    /// is not visible from Swift (it needs _GNU_SOURCE).
    public static var affinityCount: Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else { return nil }
        let hex = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
        let bits = hex.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
        return bits > 0 ? bits : nil
    }
}
