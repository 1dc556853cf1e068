import COpenCL

/// A device buffer: allocate, copy in, copy out. Copies are blocking, so host memory handed to
/// `write` can be released as soon as it returns; on the in-order queue they also wait for the
/// kernels queued before them, which is what makes reusing a buffer across batches safe.
public final class Buffer {
    public let bytes: Int
    public let label: String
    let mem: cl_mem
    private let device: Device
    private let ledger: MemoryLedger?

    /// With a `ledger`, the bytes are checked against the device's limits first and given back
    /// when the buffer is released.
    public init(device: Device, bytes: Int, label: String, ledger: MemoryLedger? = nil) throws {
        var status: cl_int = CL_SUCCESS
        // Zero-sized buffers are invalid in OpenCL; one float keeps empty tensors legal.
        let size = max(bytes, 4)
        try ledger?.reserve(size, label: label)
        var reserved = ledger != nil
        defer { if reserved { ledger?.release(size) } }
        guard let mem = clCreateBuffer(device.context, cl_mem_flags(CL_MEM_READ_WRITE), size, nil, &status) else {
            try check(status, "clCreateBuffer(\(label), \(size) bytes)")
            throw OpenCLError.unsupported("clCreateBuffer(\(label)) returned no buffer")
        }
        try check(status, "clCreateBuffer(\(label), \(size) bytes)")
        self.mem = mem; self.bytes = size; self.label = label; self.device = device; self.ledger = ledger
        reserved = false
    }

    deinit {
        clReleaseMemObject(mem)
        ledger?.release(bytes)
    }

    public func write(_ source: UnsafeRawPointer, bytes count: Int, offset: Int = 0) throws {
        guard count > 0 else { return }
        try boundsCheck(offset, count, "write")
        try check(clEnqueueWriteBuffer(device.queue, mem, cl_bool(CL_TRUE), offset, count, source, 0, nil, nil),
                  "clEnqueueWriteBuffer(\(label))")
        device.counters.wrote(count)
        device.synchronised()
    }

    /// Queues a copy of `values` without waiting for it: the host data is copied into a staging
    /// block the device keeps until the next synchronisation. This is how per-batch data (plan
    /// lists, rope tables) reaches the device without the host waiting inside a token; the
    /// in-order queue runs the copy after the kernels queued before it and before those after.
    public func upload<T>(_ values: [T], offset: Int = 0) throws {
        let count = values.count * MemoryLayout<T>.stride
        guard count > 0 else { return }
        try boundsCheck(offset, count, "write")
        let copy = values.withUnsafeBytes { HostStaging($0) }
        try check(clEnqueueWriteBuffer(device.queue, mem, cl_bool(CL_FALSE), offset, count, copy.pointer, 0, nil, nil),
                  "clEnqueueWriteBuffer(\(label), non-blocking)")
        device.stage(copy)
        device.counters.wrote(count)
    }

    public func write<T>(_ values: [T], offset: Int = 0) throws {
        try values.withUnsafeBytes { try write($0.baseAddress!, bytes: $0.count, offset: offset) }
    }

    public func read(into destination: UnsafeMutableRawPointer, bytes count: Int, offset: Int = 0) throws {
        guard count > 0 else { return }
        try boundsCheck(offset, count, "read")
        try check(clEnqueueReadBuffer(device.queue, mem, cl_bool(CL_TRUE), offset, count, destination, 0, nil, nil),
                  "clEnqueueReadBuffer(\(label))")
        device.counters.read(count)
        device.synchronised()
    }

    public func readFloats(count: Int, offset: Int = 0) throws -> [Float] {
        try read(Float.self, count: count, offset: offset)
    }

    /// `count` values of a plain type (Float, UInt16 half bits, ...), `offset` counted in values.
    public func read<T>(_ type: T.Type, count: Int, offset: Int = 0) throws -> [T] {
        let size = MemoryLayout<T>.stride
        return try [T](unsafeUninitializedCapacity: count) { buf, n in
            if count > 0 { try read(into: buf.baseAddress!, bytes: count * size, offset: offset * size) }
            n = count
        }
    }

    private func boundsCheck(_ offset: Int, _ count: Int, _ what: String) throws {
        guard offset >= 0, offset + count <= bytes else {
            throw OpenCLError.unsupported("\(what) of \(count) bytes at \(offset) overruns buffer '\(label)' of \(bytes) bytes")
        }
    }
}

/// A host copy of bytes that a non-blocking write reads from (see `Buffer.upload`).
final class HostStaging {
    let pointer: UnsafeMutableRawPointer
    init(_ bytes: UnsafeRawBufferPointer) {
        pointer = .allocate(byteCount: max(bytes.count, 1), alignment: 16)
        if let base = bytes.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) }
    }
    deinit { pointer.deallocate() }
}
