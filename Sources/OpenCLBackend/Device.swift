import COpenCL
import Foundation

/// Facts about one OpenCL device, as `llamacl devices` lists them and errors quote them.
public struct DeviceInfo: Sendable, Equatable, Codable {
    /// Position in the flat list over all platforms: what `--device N` selects.
    public let index: Int
    public let platformName: String
    public let platformVersion: String
    public let name: String
    public let vendor: String
    public let kind: String
    public let deviceVersion: String
    public let driverVersion: String
    public let openCLCVersion: String
    public let globalMemory: Int
    public let maxAllocation: Int
    public let computeUnits: Int
    public let maxWorkGroupSize: Int
    public let localMemory: Int
    public let extensions: [String]

    public var supportsFP16: Bool { extensions.contains("cl_khr_fp16") }
    public var summary: String { "\(index): \(name) [\(platformName), \(kind)]" }
}

/// One OpenCL device with its context and an in-order command queue: the "Device" noun of the
/// runtime. Selection: an index into `DeviceInfo.index` order, or a case-insensitive substring of
/// the device, vendor or platform name; by default the first GPU, else the first device.
public final class Device {
    /// Environment variable that picks the device when no selector is given.
    public static let environmentKey = "LLAMACL_DEVICE"

    public let info: DeviceInfo
    let id: cl_device_id
    let context: cl_context
    let queue: cl_command_queue
    /// A second in-order queue whose work may overlap the main queue's (dequantizing the next
    /// weight chunk while the GEMM of the last one runs); the two are ordered by events alone.
    let sideQueue: cl_command_queue
    /// True when the queue records profiling events (per-kernel device times in `counters`).
    public let profiling: Bool
    /// Launches, host synchronisations and bytes moved on this device's queue.
    public let counters = RuntimeCounters()
    /// Host copies that non-blocking writes still read from; dropped once the host has waited
    /// for the queue (in order, so every write queued before has completed).
    private var staged: [HostStaging] = []

    public init(selector: String? = nil, profiling: Bool = false) throws {
        let found = try Device.discover()
        let env = ProcessInfo.processInfo.environment[Device.environmentKey]
        let wanted = (selector?.isEmpty == false ? selector : nil) ?? (env?.isEmpty == false ? env : nil)
        let chosen = try Device.select(wanted, from: found.map(\.info))
        let id = found[chosen.index].id
        var status: cl_int = CL_SUCCESS
        var ids: [cl_device_id?] = [id]
        guard let context = clCreateContext(nil, 1, &ids, nil, nil, &status) else {
            try check(status, "clCreateContext"); throw OpenCLError.unsupported("clCreateContext returned no context")
        }
        try check(status, "clCreateContext")
        let properties = cl_command_queue_properties(profiling ? CL_QUEUE_PROFILING_ENABLE : 0)
        guard let queue = clCreateCommandQueue(context, id, properties, &status) else {
            clReleaseContext(context)
            try check(status, "clCreateCommandQueue"); throw OpenCLError.unsupported("clCreateCommandQueue returned no queue")
        }
        guard let side = clCreateCommandQueue(context, id, properties, &status) else {
            clReleaseCommandQueue(queue); clReleaseContext(context)
            try check(status, "clCreateCommandQueue(side)"); throw OpenCLError.unsupported("clCreateCommandQueue returned no queue")
        }
        self.info = chosen; self.id = id; self.context = context; self.queue = queue; self.sideQueue = side; self.profiling = profiling
    }

    deinit {
        clFinish(queue)
        clFinish(sideQueue)
        clReleaseCommandQueue(sideQueue)
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    /// Every device of every platform, in selection order.
    public static func list() throws -> [DeviceInfo] { try discover().map(\.info) }

    /// Waits until every queued command has finished.
    public func finish() throws {
        try check(clFinish(queue), "clFinish")
        try check(clFinish(sideQueue), "clFinish(side)")
        synchronised()
    }

    /// The host has waited for the whole queue: count it, time finished launches, free staging.
    func synchronised() {
        counters.synchronised()
        staged.removeAll()
    }

    /// Counts a GEMM library call; its event is the caller's (retained) when asked for.
    func gemmLaunched(_ name: String, event: cl_event?, returningEvent: Bool) -> cl_event? {
        // One reference for the profiling counters (which release it), one for the caller.
        if returningEvent, profiling, let event { clRetainEvent(event) }
        counters.launched(name, event: profiling ? event : nil)
        return returningEvent ? event : nil
    }

    /// Makes the main queue's later commands wait for `event` (from the side queue) without the
    /// host waiting: clEnqueueBarrierWithWaitList.
    func mainWaits(for event: cl_event) throws {
        var e: cl_event? = event
        try check(clEnqueueBarrierWithWaitList(queue, 1, &e, nil), "clEnqueueBarrierWithWaitList")
    }

    /// Keeps `copy` alive until the next synchronisation (a non-blocking write reads from it).
    func stage(_ copy: HostStaging) { staged.append(copy) }

    /// The device `selector` names among `devices` (nil: first GPU, else first device).
    static func select(_ selector: String?, from devices: [DeviceInfo]) throws -> DeviceInfo {
        guard !devices.isEmpty else { throw OpenCLError.noPlatform(detail: "no platform reports a device") }
        guard let selector else { return devices.first { $0.kind == "GPU" } ?? devices[0] }
        if let index = Int(selector) {
            guard devices.indices.contains(index) else {
                throw OpenCLError.deviceNotFound(selector: selector, available: devices.map(\.summary))
            }
            return devices[index]
        }
        let needle = selector.lowercased()
        guard let match = devices.first(where: { d in
            [d.name, d.vendor, d.platformName].contains { $0.lowercased().contains(needle) }
        }) else { throw OpenCLError.deviceNotFound(selector: selector, available: devices.map(\.summary)) }
        return match
    }

    private static func discover() throws -> [(id: cl_device_id, info: DeviceInfo)] {
        var count: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &count)
        // The ICD loader answers CL_PLATFORM_NOT_FOUND_KHR when no vendor file is installed.
        if status == CL_PLATFORM_NOT_FOUND_KHR || (status == CL_SUCCESS && count == 0) {
            throw OpenCLError.noPlatform(detail: "clGetPlatformIDs found none")
        }
        try check(status, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
        try check(clGetPlatformIDs(count, &platforms, nil), "clGetPlatformIDs")

        var out: [(cl_device_id, DeviceInfo)] = []
        var problems: [String] = []
        for case let platform? in platforms {
            var n: cl_uint = 0
            let s = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &n)
            if s == CL_DEVICE_NOT_FOUND || (s == CL_SUCCESS && n == 0) { continue }
            // One broken driver should not hide the devices of the others; it is reported if none remain.
            guard s == CL_SUCCESS else { problems.append("clGetDeviceIDs: \(openCLStatusName(s))"); continue }
            var ids = [cl_device_id?](repeating: nil, count: Int(n))
            try check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), n, &ids, nil), "clGetDeviceIDs")
            let platformName = try platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            let platformVersion = try platformString(platform, cl_platform_info(CL_PLATFORM_VERSION))
            for case let id? in ids {
                out.append((id, try describe(id, index: out.count, platformName: platformName, platformVersion: platformVersion)))
            }
        }
        if out.isEmpty {
            throw OpenCLError.noPlatform(detail: "\(count) platform(s) but no devices" + (problems.isEmpty ? "" : "; " + problems.joined(separator: ", ")))
        }
        return out
    }

    private static func describe(_ id: cl_device_id, index: Int, platformName: String, platformVersion: String) throws -> DeviceInfo {
        let type: cl_device_type = try deviceValue(id, CL_DEVICE_TYPE)
        let kind = type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 ? "GPU"
            : type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 ? "CPU"
            : type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 ? "accelerator" : "other"
        let globalMemory: cl_ulong = try deviceValue(id, CL_DEVICE_GLOBAL_MEM_SIZE)
        let maxAllocation: cl_ulong = try deviceValue(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE)
        let units: cl_uint = try deviceValue(id, CL_DEVICE_MAX_COMPUTE_UNITS)
        let workGroup: Int = try deviceValue(id, CL_DEVICE_MAX_WORK_GROUP_SIZE)
        let local: cl_ulong = try deviceValue(id, CL_DEVICE_LOCAL_MEM_SIZE)
        return DeviceInfo(
            index: index, platformName: platformName, platformVersion: platformVersion,
            name: try deviceString(id, CL_DEVICE_NAME), vendor: try deviceString(id, CL_DEVICE_VENDOR), kind: kind,
            deviceVersion: try deviceString(id, CL_DEVICE_VERSION), driverVersion: try deviceString(id, CL_DRIVER_VERSION),
            openCLCVersion: try deviceString(id, CL_DEVICE_OPENCL_C_VERSION),
            globalMemory: Int(globalMemory), maxAllocation: Int(maxAllocation), computeUnits: Int(units),
            maxWorkGroupSize: workGroup, localMemory: Int(local),
            extensions: try deviceString(id, CL_DEVICE_EXTENSIONS).split(separator: " ").map(String.init))
    }
}

func deviceString(_ id: cl_device_id, _ param: Int32) throws -> String {
    var size = 0
    try check(clGetDeviceInfo(id, cl_device_info(param), 0, nil, &size), "clGetDeviceInfo(\(param))")
    var bytes = [CChar](repeating: 0, count: size + 1)
    try check(clGetDeviceInfo(id, cl_device_info(param), size, &bytes, nil), "clGetDeviceInfo(\(param))")
    return String(cString: bytes).trimmingCharacters(in: .whitespaces)
}

func deviceValue<T: FixedWidthInteger>(_ id: cl_device_id, _ param: Int32) throws -> T {
    var value: T = 0
    try check(clGetDeviceInfo(id, cl_device_info(param), MemoryLayout<T>.size, &value, nil), "clGetDeviceInfo(\(param))")
    return value
}

private func platformString(_ id: cl_platform_id, _ param: cl_platform_info) throws -> String {
    var size = 0
    try check(clGetPlatformInfo(id, param, 0, nil, &size), "clGetPlatformInfo")
    var bytes = [CChar](repeating: 0, count: size + 1)
    try check(clGetPlatformInfo(id, param, size, &bytes, nil), "clGetPlatformInfo")
    return String(cString: bytes).trimmingCharacters(in: .whitespaces)
}
