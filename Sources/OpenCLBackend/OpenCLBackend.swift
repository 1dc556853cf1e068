import Foundation
import GGUF
import LlamaCore

/// The OpenCL backend: every `Backend` op as an OpenCL C kernel (kernels/*.cl), matrix products
/// through CLBlast. Weights are uploaded once, the KV cache lives on the device, and nothing is
/// copied back between ops: only `read` copies to the host.
///
/// Matrix products, and why: weights stay on the device in their GGUF type (quantized blocks
/// as stored), because keeping an F32 copy as well would multiply memory by up to 8.
/// - Batches of up to `Options.matvecMaxRows` rows (decode) run a fused dequantize-and-multiply
///   kernel straight on the quantized blocks: decode is bound by reading the weights, and
///   reading them quantized is the least to read.
/// - Larger batches (prompts) dequantize the weight, a chunk of its rows at a time, into one
///   reusable scratch buffer and call CLBlast SGEMM on it (HGEMM on F16 storage when the device
///   has cl_khr_fp16 and `Options.gemm` allows it). The dequantization is amortised over the
///   batch's rows and the scratch is bounded by `Options.scratchBytes` (two such buffers: the
///   next chunk is dequantized on a second queue while the GEMM of the last one runs). F32
///   weights skip it.
public final class OpenCLBackend: Backend {
    public enum GemmPrecision: String, Sendable, CaseIterable {
        /// HGEMM when the device has cl_khr_fp16, else SGEMM.
        case auto
        case f32
        case f16
    }

    public struct Options {
        /// Index or name substring (nil: $LLAMACL_DEVICE, else the first GPU, else the first device).
        public var device: String?
        /// Pretend the device has at most this many bytes (tests; shared GPUs).
        public var memoryLimit: Int?
        /// Environment LLAMACL_GEMM=f32|f16|auto overrides the default.
        public var gemm: GemmPrecision
        /// Batches with at most this many rows use the fused matvec kernel.
        public var matvecMaxRows: Int
        /// Work-items per output row in matvec (a power of two); nil: by device kind (see `matvec`).
        public var matvecLanes: Int?
        /// Visible cells per work-group in decode attention (split-K): longer contexts are cut
        /// into chunks of this many cells, each its own work-group, merged after.
        public var attentionChunk: Int
        /// Upper bound of the dequantization and attention-score scratch buffers.
        public var scratchBytes: Int
        /// Where compiled programs are cached (nil: no cache). Default: `Compiler.defaultCacheDirectory()`.
        public var kernelCacheDirectory: URL?
        /// OpenCL C appended to the program: lets tests check what a failing build reports.
        public var extraKernelSource: String
        /// Record a profiling event per launch (CL_QUEUE_PROFILING_ENABLE) for per-kernel device
        /// times in `profile`. Default: environment LLAMACL_PROFILE=1 (what `bench --profile` sets).
        public var profiling: Bool

        public init(device: String? = nil, memoryLimit: Int? = nil, gemm: GemmPrecision? = nil, matvecMaxRows: Int = 4,
                    matvecLanes: Int? = nil, attentionChunk: Int = 256, scratchBytes: Int = 64 << 20, kernelCacheDirectory: URL? = Compiler.defaultCacheDirectory(),
                    extraKernelSource: String = "", profiling: Bool? = nil) {
            self.device = device; self.memoryLimit = memoryLimit
            self.gemm = gemm ?? ProcessInfo.processInfo.environment["LLAMACL_GEMM"].flatMap(GemmPrecision.init(rawValue:)) ?? .auto
            self.matvecMaxRows = matvecMaxRows; self.matvecLanes = matvecLanes; self.attentionChunk = attentionChunk; self.scratchBytes = scratchBytes
            self.kernelCacheDirectory = kernelCacheDirectory; self.extraKernelSource = extraKernelSource
            self.profiling = profiling ?? (ProcessInfo.processInfo.environment[OpenCLBackend.profilingEnvironmentKey] == "1")
        }
    }

    /// Set to 1 to time every kernel with the driver's profiling events (`bench --profile` does).
    public static let profilingEnvironmentKey = "LLAMACL_PROFILE"

    public let device: Device
    public let options: Options
    public let ledger: MemoryLedger
    /// True when batched matrix products run as HGEMM on F16 storage.
    public let usesHalfGemm: Bool
    /// True when the kernels were loaded from the on-disk cache.
    public let kernelsFromCache: Bool
    let kernels: KernelSet
    /// Stands in for an absent optional buffer argument (OpenCL has no null buffer argument in 1.2 everywhere).
    let placeholder: Buffer

    var planState: DevicePlan?
    var ropeState: RopeTableOnDevice?
    var scratch: [String: Buffer] = [:]
    /// Double-buffered dequantization ahead of GEMM (OpenCLBackend+Matmul).
    let dequantState = DequantizeOverlap()

    public init(options: Options = Options()) throws {
        device = try Device(selector: options.device, profiling: options.profiling)
        self.options = options
        let info = device.info
        ledger = MemoryLedger(device: info.name, budget: min(options.memoryLimit ?? info.globalMemory, info.globalMemory),
                              maxAllocation: info.maxAllocation)
        switch options.gemm {
        case .auto: usesHalfGemm = info.supportsFP16
        case .f32: usesHalfGemm = false
        case .f16:
            guard info.supportsFP16 else { throw OpenCLError.unsupported("F16 GEMM was asked for but \(info.name) has no cl_khr_fp16") }
            usesHalfGemm = true
        }
        kernels = try KernelSet(compiler: Compiler(device: device, cacheDirectory: options.kernelCacheDirectory),
                                extraSource: options.extraKernelSource)
        kernelsFromCache = kernels.program.fromCache
        placeholder = try Buffer(device: device, bytes: 16, label: "placeholder", ledger: ledger)
    }

    public var name: String { "opencl" }
    public var deviceName: String {
        let i = device.info
        return "\(i.name) (\(i.platformName), driver \(i.driverVersion), \(usesHalfGemm ? "HGEMM" : "SGEMM"))"
    }

    /// Launches, host synchronisations and bytes moved since the last reset, counted by the
    /// runtime (Kernel, Buffer, CLBlast); per-kernel device times when `options.profiling`.
    public var profile: BackendProfile { device.counters.snapshot }
    public func resetProfile() { device.counters.reset() }

    func allocate(_ bytes: Int, _ label: String) throws -> Buffer {
        try Buffer(device: device, bytes: bytes, label: label, ledger: ledger)
    }

    /// A scratch buffer of at least `bytes`, grown (never shrunk) and reused across calls.
    func scratchBuffer(_ label: String, bytes: Int) throws -> Buffer {
        if let b = scratch[label], b.bytes >= bytes { return b }
        scratch[label] = nil   // release the old one before allocating the larger one
        let b = try allocate(bytes, "scratch: \(label)")
        scratch[label] = b
        return b
    }

    // MARK: - Storage

    public func upload(_ s: WeightSource) throws -> OpenCLWeight {
        guard s.rows > 0, s.cols > 0, let rowBytes = s.type.rowBytes(s.cols) else {
            throw OpenCLError.unsupported("tensor '\(s.name)' (\(s.type), \(s.rows)×\(s.cols)): a row is not a whole number of \(s.type) blocks")
        }
        if s.rows == 1 {
            let values = Dequantize.toFloats(s.type, s.data, count: s.cols)
            let buffer = try allocate(values.count * 4, s.name)
            try buffer.write(values)
            return OpenCLWeight(name: s.name, type: .f32, rows: 1, cols: s.cols, rowBytes: s.cols * 4, hostValues: values, buffer: buffer)
        }
        let buffer = try allocate(rowBytes * s.rows, s.name)
        try buffer.write(s.data, bytes: rowBytes * s.rows)
        return OpenCLWeight(name: s.name, type: s.type, rows: s.rows, cols: s.cols, rowBytes: rowBytes, hostValues: nil, buffer: buffer)
    }

    public func makeTensor(rows: Int, cols: Int) throws -> OpenCLTensor {
        OpenCLTensor(buffer: try allocate(rows * cols * 4, "activations \(rows)×\(cols)"), rows: rows, cols: cols)
    }

    /// One K and one V buffer per layer, [cells, kvDim]: per-layer buffers keep each allocation
    /// under CL_DEVICE_MAX_MEM_ALLOC_SIZE (often a quarter of the memory) for long contexts.
    /// The cache lives in device memory, so it is checked against what the device has left
    /// (the ledger) before anything is allocated: one typed error for the whole cache.
    public func makeKVCache(layers: Int, cells: Int, kvDim: Int) throws -> OpenCLKVCache {
        try checkFits(MemoryRequirement(kvCacheLayers: layers, cells: cells, kvDim: kvDim))
        var keys: [Buffer] = [], values: [Buffer] = []
        for l in 0..<layers {
            keys.append(try allocate(cells * kvDim * 4, "KV cache: K of layer \(l)"))
            values.append(try allocate(cells * kvDim * 4, "KV cache: V of layer \(l)"))
        }
        return OpenCLKVCache(device: device, keys: keys, values: values, cells: cells, kvDim: kvDim)
    }

    public func read(_ t: OpenCLTensor, rows: Int) throws -> [Float] {
        try checkRows(rows, t)
        return try t.buffer.readFloats(count: rows * t.cols)
    }

    public func readKV(_ cache: OpenCLKVCache, layer: Int) throws -> (keys: [Float], values: [Float]) {
        try checkUsable(cache, layer: layer)
        let n = cache.cells * cache.kvDim
        return (try cache.keys[layer].readFloats(count: n), try cache.values[layer].readFloats(count: n))
    }

    // MARK: - Elementwise ops

    public func rmsNorm(_ out: OpenCLTensor, _ x: OpenCLTensor, weight: OpenCLWeight, eps: Float, rows: Int) throws {
        try checkRows(rows, x, out)
        guard weight.isVector, weight.cols == x.cols, out.cols == x.cols else {
            throw OpenCLError.unsupported("rmsnorm: weight '\(weight.name)' (\(weight.rows)×\(weight.cols)) for rows of \(x.cols)")
        }
        let ls = kernels.rmsNorm.groupSize(preferred: 256)
        try kernels.rmsNorm.launch([.buffer(out.buffer), .buffer(x.buffer), .buffer(weight.buffer), .int(x.cols), .float(eps), .local(bytes: ls * 4)],
                                   global: [ls * rows], local: [ls])
    }

    public func swiglu(_ out: OpenCLTensor, gate: OpenCLTensor, up: OpenCLTensor, rows: Int) throws {
        try checkRows(rows, out, gate, up)
        guard gate.cols == up.cols, out.cols == gate.cols else { throw OpenCLError.unsupported("swiglu: widths \(out.cols), \(gate.cols), \(up.cols)") }
        let n = rows * gate.cols
        try kernels.swiglu.launch([.buffer(out.buffer), .buffer(gate.buffer), .buffer(up.buffer), .int(n)], global: [n])
    }

    public func add(_ x: OpenCLTensor, _ y: OpenCLTensor, rows: Int) throws {
        try checkRows(rows, x, y)
        guard x.cols == y.cols else { throw OpenCLError.unsupported("add: widths \(x.cols) and \(y.cols)") }
        let n = rows * x.cols
        try kernels.add.launch([.buffer(x.buffer), .buffer(y.buffer), .int(n)], global: [n])
    }

    public func gatherRows(_ out: OpenCLTensor, _ x: OpenCLTensor, rows: [Int]) throws {
        guard !rows.isEmpty else { return }
        try checkRows(rows.count, out)
        guard out.cols == x.cols, rows.allSatisfy({ $0 >= 0 && $0 < x.capacity }) else {
            throw OpenCLError.unsupported("gather: rows \(rows) of a \(x.capacity)×\(x.cols) tensor into width \(out.cols)")
        }
        let index = try scratchBuffer("gather rows", bytes: rows.count * 4)
        try index.upload(rows.map { Int32($0) })
        try kernels.gather.launch([.buffer(out.buffer), .buffer(x.buffer), .buffer(index), .int(x.cols)], global: [x.cols, rows.count])
    }

    func checkRows(_ rows: Int, _ tensors: OpenCLTensor...) throws {
        for t in tensors where rows < 0 || rows > t.capacity {
            throw OpenCLError.unsupported("\(rows) rows asked of a tensor with room for \(t.capacity)")
        }
    }
}
