import COpenCL

/// One argument of a kernel launch.
public enum KernelArgument {
    case buffer(Buffer)
    case int32(Int32)
    case uint64(UInt64)
    case float(Float)
    /// `local` memory of this many bytes (the kernel sees a `local T*`).
    case local(bytes: Int)

    public static func int(_ v: Int) -> KernelArgument { .int32(Int32(v)) }
}

/// A kernel of a built program: set arguments, launch. Not thread-safe (arguments live in the
/// cl_kernel object), like the backend that owns it.
public final class Kernel {
    public let name: String
    /// CL_KERNEL_WORK_GROUP_SIZE: the most work-items a group of this kernel may have here.
    public let maxWorkGroupSize: Int
    let kernel: cl_kernel
    private let device: Device
    private let program: Program   // keeps the program alive

    public init(program: Program, name: String) throws {
        var status: cl_int = CL_SUCCESS
        guard let k = clCreateKernel(program.program, name, &status) else {
            try check(status, "clCreateKernel(\(name))")
            throw OpenCLError.unsupported("clCreateKernel(\(name)) returned no kernel")
        }
        try check(status, "clCreateKernel(\(name))")
        var size = 0
        try check(clGetKernelWorkGroupInfo(k, program.device.id, cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
                                           MemoryLayout<Int>.size, &size, nil), "clGetKernelWorkGroupInfo(\(name))")
        self.kernel = k; self.name = name; self.maxWorkGroupSize = max(1, size)
        self.device = program.device; self.program = program
    }

    deinit { clReleaseKernel(kernel) }

    /// The largest power of two ≤ `preferred` that this kernel may use as its group size.
    public func groupSize(preferred: Int) -> Int {
        var n = 1
        while n * 2 <= min(preferred, maxWorkGroupSize) { n *= 2 }
        return n
    }

    /// Sets `arguments` in order and enqueues the kernel. With `local`, each global size is
    /// rounded up to a multiple of it (kernels bounds-check their indices). `side` enqueues on the
    /// device's side queue, after the events `waits`; with `returningEvent` the launch's event
    /// comes back, retained for the caller (nil when there was nothing to launch).
    @discardableResult
    public func launch(_ arguments: [KernelArgument], global: [Int], local: [Int]? = nil,
                       side: Bool = false, after waits: [cl_event] = [], returningEvent: Bool = false) throws -> cl_event? {
        for (i, arg) in arguments.enumerated() { try set(i, arg) }
        guard !global.contains(0) else { return nil }   // nothing to do (OpenCL rejects empty ranges)
        var g = global
        if let local { for d in g.indices { g[d] = (g[d] + local[d] - 1) / local[d] * local[d] } }
        var l = local ?? []
        var event: cl_event? = nil
        let wantsEvent = device.profiling || returningEvent
        let waitList: [cl_event?] = waits
        let hasLocal = local != nil
        let status: cl_int = withUnsafeMutablePointer(to: &event) { e in
            l.withUnsafeMutableBufferPointer { lp in
                waitList.withUnsafeBufferPointer { w in
                    clEnqueueNDRangeKernel(side ? device.sideQueue : device.queue, kernel, cl_uint(g.count), nil, &g,
                                           hasLocal ? lp.baseAddress : nil, cl_uint(waits.count), waits.isEmpty ? nil : w.baseAddress,
                                           wantsEvent ? e : nil)
                }
            }
        }
        try check(status, "clEnqueueNDRangeKernel(\(name), global \(g), local \(local.map { "\($0)" } ?? "auto"))")
        if side { clFlush(device.sideQueue) }   // the main queue may wait on it: let it start
        // One reference for the profiling counters (which release it), one for the caller.
        if returningEvent, device.profiling, let event { clRetainEvent(event) }
        device.counters.launched(name, event: device.profiling ? event : nil)
        return returningEvent ? event : nil
    }

    private func set(_ index: Int, _ arg: KernelArgument) throws {
        let i = cl_uint(index)
        let status: cl_int
        switch arg {
        case let .buffer(b):
            var mem: cl_mem? = b.mem
            status = clSetKernelArg(kernel, i, MemoryLayout<cl_mem?>.size, &mem)
        case var .int32(v): status = clSetKernelArg(kernel, i, 4, &v)
        case var .uint64(v): status = clSetKernelArg(kernel, i, 8, &v)
        case var .float(v): status = clSetKernelArg(kernel, i, 4, &v)
        case let .local(bytes): status = clSetKernelArg(kernel, i, max(bytes, 4), nil)
        }
        try check(status, "clSetKernelArg(\(name), \(index))")
    }
}
