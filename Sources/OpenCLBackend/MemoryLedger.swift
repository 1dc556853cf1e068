/// Device memory accounting: every buffer a backend allocates is checked against the largest
/// single allocation and the total the device (or an injected limit) allows, so running out
/// is a typed error that says how much was needed, not a driver failure at some later launch.
public final class MemoryLedger {
    public let device: String
    /// Total bytes the backend may hold: CL_DEVICE_GLOBAL_MEM_SIZE unless a limit is injected.
    public let budget: Int
    /// CL_DEVICE_MAX_MEM_ALLOC_SIZE (capped by `budget`).
    public let maxAllocation: Int
    public private(set) var used = 0

    public init(device: String, budget: Int, maxAllocation: Int) {
        self.device = device; self.budget = budget; self.maxAllocation = min(maxAllocation, budget)
    }

    func reserve(_ bytes: Int, label: String) throws {
        guard bytes <= maxAllocation else {
            throw OpenCLError.allocationTooLarge(device: device, buffer: label, bytes: bytes, maxAllocation: maxAllocation)
        }
        guard used + bytes <= budget else {
            throw OpenCLError.insufficientMemory(device: device, needed: used + bytes, available: budget,
                                                 detail: "while allocating '\(label)' (\(byteString(bytes))) with \(byteString(used)) already in use")
        }
        used += bytes
    }

    func release(_ bytes: Int) { used -= bytes }
}
