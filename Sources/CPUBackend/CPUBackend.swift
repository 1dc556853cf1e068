import CPUKernels
import Foundation
import GGUF
import LlamaCore

/// The CPU backend. `.reference` runs the plain loops of `ReferenceOps` (the oracle);
/// `.fast` runs the same math with SIMD and threads (`FastOps`), tested against the reference;
/// `.quantized` is `.fast` with activations rounded to 8 bits per block for Q4_0, Q4_1, Q5_0,
/// Q5_1, Q8_0, Q4_K, Q5_K and Q6_K weights (integer dot products, llama.cpp's numerics), tested against llama.cpp's logits.
public final class CPUBackend: Backend {
    public enum Mode: String, Sendable, CaseIterable { case reference, fast, quantized }

    public let mode: Mode
    public let pool: ThreadPool
    private var ropeCache: (positions: [Int32], params: RopeParams, factors: [Float]?, table: RopeTable)?
    private let quantized = QuantizedMatmul()

    public init(mode: Mode = .fast, threads: Int = AvailableCPUs.count) {
        self.mode = mode
        pool = ThreadPool(threads: threads)
        _ = llcl_kernel_variant()  // probe the CPU here, before any worker thread asks
    }

    public var name: String { "cpu" }
    /// The device and the numerics it runs (not the thread count: results do not depend on it,
    /// and shards of one run may use different counts).
    public var deviceName: String { "CPU (\(mode.rawValue))" }

    public func upload(_ source: WeightSource) throws -> CPUWeight { CPUWeight(source) }

    public func makeTensor(rows: Int, cols: Int) throws -> CPUTensor { CPUTensor(rows: rows, cols: cols) }

    /// The cache lives in host memory, so host memory is what it is checked against: a cache
    /// size is a request (--cache-cells), and one this machine cannot hold must be a typed error,
    /// not a trap in the allocator (or an overflow in the size computation).
    public func makeKVCache(layers: Int, cells: Int, kvDim: Int) throws -> CPUKVCache {
        let memory = ProcessInfo.processInfo.physicalMemory
        let bytes = Self.kvCacheBytes(layers: layers, cells: cells, kvDim: kvDim)
        guard let bytes, UInt64(bytes) <= memory else {
            throw CPUBackendError.kvCacheTooLarge(cells: cells, layers: layers, kvDim: kvDim, bytes: bytes, memory: memory)
        }
        return CPUKVCache(layers: layers, cells: cells, kvDim: kvDim)
    }

    /// Bytes of K and V (F32) for every layer; nil when that does not fit in an Int.
    static func kvCacheBytes(layers: Int, cells: Int, kvDim: Int) -> Int? {
        let perCell = layers.multipliedReportingOverflow(by: 2 * 4 * max(1, kvDim))
        let total = cells.multipliedReportingOverflow(by: perCell.partialValue)
        return perCell.overflow || total.overflow ? nil : total.partialValue
    }

    // Ops without a fast path (copies and one add per value: bound by memory, not arithmetic)
    // run the reference op in every mode.

    public func embed(_ out: CPUTensor, table: CPUWeight, plan: BatchPlan) throws {
        ReferenceOps.embedRows(out.data, table: table, tokens: plan.tokens)
    }

    /// Norm weights are tiny vectors, so they are decoded on use whatever their type.
    private func vector(_ w: CPUWeight) -> [Float] {
        if w.source.type == .f32 { return Array(UnsafeBufferPointer(start: w.source.data.assumingMemoryBound(to: Float.self), count: w.cols * w.rows)) }
        return Dequantize.toFloats(w.source.type, w.source.data, count: w.cols * w.rows)
    }

    public func rmsNorm(_ out: CPUTensor, _ x: CPUTensor, weight: CPUWeight, eps: Float, rows: Int) throws {
        // F32 norm weights (the usual case) are read in place: no copy per call
        func run(_ w: UnsafePointer<Float>) {
            switch mode {
            case .reference: ReferenceOps.rmsnormRows(out.data, x.data, w, rows: rows, dim: x.cols, eps: eps)
            case .fast, .quantized: FastOps.rmsNorm(out.data, x.data, w, rows: rows, dim: x.cols, eps: eps)
            }
        }
        if weight.source.type == .f32 { run(weight.source.data.assumingMemoryBound(to: Float.self)) } else { vector(weight).withUnsafeBufferPointer { run($0.baseAddress!) } }
    }

    public func matmul(_ out: CPUTensor, _ x: CPUTensor, _ w: CPUWeight, bias: CPUWeight?, rows: Int) throws {
        precondition(x.cols == w.cols && out.cols == w.rows, "matmul shapes: x \(x.cols), W \(w.rows)×\(w.cols), out \(out.cols)")
        bias.map(vector).withOptionalPointer { b in
            switch mode {
            case .reference: ReferenceOps.matvecRows(out.data, x.data, w, bias: b, rows: rows)
            case .quantized where QuantizedMatmul.format(for: w.source.type) != nil:
                quantized.matmul(out.data, x.data, w, rows: rows, pool: pool)
                if let b { ReferenceOps.addBiasRows(out.data, bias: b, rows: rows, cols: w.rows) }
            case .fast, .quantized:
                FastOps.matmul(out.data, x.data, w, rows: rows, pool: pool)
                if let b { ReferenceOps.addBiasRows(out.data, bias: b, rows: rows, cols: w.rows) }
            }
        }
    }

    public func rope(_ x: CPUTensor, heads: Int, headDim: Int, params: RopeParams, freqFactors: CPUWeight?, plan: BatchPlan) throws {
        let factors = freqFactors.map(vector)
        switch mode {
        case .reference:
            ReferenceOps.ropeRows(x.data, rows: plan.rows, heads: heads, headDim: headDim, positions: plan.positions, params: params, factors: factors)
        case .fast, .quantized:
            // Keyed by content: a freed plan's address can be reused by the next one. Compared
            // field by field, as a string key built per call cost more than the rotation itself.
            if let cached = ropeCache, cached.positions == plan.positions, cached.params == params, cached.factors == factors {} else {
                ropeCache = (plan.positions, params, factors, RopeTable(positions: plan.positions, params: params, factors: factors))
            }
            ropeCache!.table.apply(x.data, rows: plan.rows, heads: heads, headDim: headDim)
        }
    }

    public func storeKV(_ cache: CPUKVCache, layer: Int, k: CPUTensor, v: CPUTensor, plan: BatchPlan) throws {
        try check(cache, layer: layer, width: k.cols, cells: plan.cells, "storeKV")
        guard v.cols == cache.kvDim else { throw ModelError.backend("storeKV: V is \(v.cols) wide, the cache \(cache.kvDim)") }
        ReferenceOps.storeKV(kCache: cache.keys(layer), vCache: cache.values(layer), k: k.data, v: v.data, cells: plan.cells, kvDim: cache.kvDim)
    }

    public func attention(_ out: CPUTensor, q: CPUTensor, cache: CPUKVCache, layer: Int, heads: Int, kvHeads: Int, headDim: Int, plan: BatchPlan) throws {
        try check(cache, layer: layer, width: kvHeads * headDim, cells: plan.visibleCells, "attention")
        let k = UnsafePointer(cache.keys(layer)), v = UnsafePointer(cache.values(layer))
        switch mode {
        case .reference: ReferenceOps.attentionRows(out.data, q: q.data, k: k, v: v, heads: heads, kvHeads: kvHeads, headDim: headDim, plan: plan)
        case .fast, .quantized: FastOps.attention(out.data, q: q.data, k: k, v: v, heads: heads, kvHeads: kvHeads, headDim: headDim, plan: plan, pool: pool)
        }
    }

    /// The kernels index the cache with the plan's cells unchecked: an out-of-range layer, cell
    /// or width must be an error here rather than a stray read or write.
    private func check(_ cache: CPUKVCache, layer: Int, width: Int, cells: [Int32], _ op: String) throws {
        guard layer >= 0, layer < cache.layers else { throw ModelError.backend("\(op): layer \(layer) of a KV cache with \(cache.layers) layers") }
        guard width == cache.kvDim else { throw ModelError.backend("\(op): rows \(width) wide for a KV cache \(cache.kvDim) wide") }
        if let bad = cells.first(where: { $0 < 0 || Int($0) >= cache.cells }) {
            throw ModelError.backend("\(op): cell \(bad) of a KV cache with \(cache.cells) cells")
        }
    }

    public func swiglu(_ out: CPUTensor, gate: CPUTensor, up: CPUTensor, rows: Int) throws {
        switch mode {
        case .reference: ReferenceOps.swiglu(out.data, gate: gate.data, up: up.data, count: rows * gate.cols)
        case .fast, .quantized: llcl_swiglu(out.data, gate.data, up.data, Int32(rows * gate.cols))
        }
    }

    public func add(_ x: CPUTensor, _ y: CPUTensor, rows: Int) throws {
        ReferenceOps.addInPlace(x.data, y.data, count: rows * x.cols)
    }

    public func gatherRows(_ out: CPUTensor, _ x: CPUTensor, rows: [Int]) throws {
        ReferenceOps.gatherRows(out.data, x.data, rows: rows, cols: x.cols)
    }

    public func read(_ t: CPUTensor, rows: Int) throws -> [Float] {
        Array(UnsafeBufferPointer(start: t.data, count: rows * t.cols))
    }

    public func readKV(_ cache: CPUKVCache, layer: Int) throws -> (keys: [Float], values: [Float]) {
        try check(cache, layer: layer, width: cache.kvDim, cells: [], "readKV")
        let n = cache.cells * cache.kvDim
        return (Array(UnsafeBufferPointer(start: cache.keys(layer), count: n)), Array(UnsafeBufferPointer(start: cache.values(layer), count: n)))
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with a pointer to the array's values, or nil when there is no array.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
        guard let values = self else { return try body(nil) }
        return try values.withUnsafeBufferPointer { try body($0.baseAddress) }
    }
}
