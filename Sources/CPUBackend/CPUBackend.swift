import CPUKernels
import Foundation
import GGUF
import LlamaCore

/// The CPU backend. `.reference` runs the plain loops of `ReferenceOps` (the oracle);
/// `.fast` runs the same math with SIMD and threads (`FastOps`), tested against the reference;
/// `.quantized` is `.fast` with activations rounded to 8 bits per block for Q4_0, Q8_0, Q4_K and
/// Q6_K weights (integer dot products, llama.cpp's numerics), tested against llama.cpp's logits.
public final class CPUBackend: Backend {
    public enum Mode: String, Sendable, CaseIterable { case reference, fast, quantized }

    public let mode: Mode
    public let pool: ThreadPool
    private var kv: KVStorage?
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

    public func makeKVStorage(layers: Int, cells: Int, kvDim: Int) throws {
        kv = KVStorage(layers: layers, cells: cells, kvDim: kvDim)
    }

    public func embed(_ out: CPUTensor, table: CPUWeight, plan: BatchPlan) throws {
        for (t, token) in plan.tokens.enumerated() {
            Dequantize.run(table.source.type, table.row(Int(token)), out.row(t), count: table.cols)
        }
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
            case .reference: ReferenceOps.rmsNorm(out.data, x.data, w, rows: rows, dim: x.cols, eps: eps)
            case .fast, .quantized: FastOps.rmsNorm(out.data, x.data, w, rows: rows, dim: x.cols, eps: eps)
            }
        }
        if weight.source.type == .f32 { run(weight.source.data.assumingMemoryBound(to: Float.self)) } else { vector(weight).withUnsafeBufferPointer { run($0.baseAddress!) } }
    }

    public func matmul(_ out: CPUTensor, _ x: CPUTensor, _ w: CPUWeight, bias: CPUWeight?, rows: Int) throws {
        precondition(x.cols == w.cols && out.cols == w.rows, "matmul shapes: x \(x.cols), W \(w.rows)×\(w.cols), out \(out.cols)")
        switch mode {
        case .reference: ReferenceOps.matmul(out.data, x.data, w, rows: rows)
        case .quantized where QuantizedMatmul.format(for: w.source.type) != nil:
            quantized.matmul(out.data, x.data, w, rows: rows, pool: pool)
        case .fast, .quantized: FastOps.matmul(out.data, x.data, w, rows: rows, pool: pool)
        }
        if let bias {
            let b = vector(bias)
            for t in 0..<rows { for o in 0..<w.rows { out.row(t)[o] += b[o] } }
        }
    }

    public func rope(_ x: CPUTensor, heads: Int, headDim: Int, params: RopeParams, freqFactors: CPUWeight?, plan: BatchPlan) throws {
        let factors = freqFactors.map(vector)
        switch mode {
        case .reference:
            ReferenceOps.rope(x.data, rows: plan.rows, heads: heads, headDim: headDim, positions: plan.positions, params: params, factors: factors)
        case .fast, .quantized:
            // Keyed by content: a freed plan's address can be reused by the next one. Compared
            // field by field, as a string key built per call cost more than the rotation itself.
            if let cached = ropeCache, cached.positions == plan.positions, cached.params == params, cached.factors == factors {} else {
                ropeCache = (plan.positions, params, factors, RopeTable(positions: plan.positions, params: params, factors: factors))
            }
            ropeCache!.table.apply(x.data, rows: plan.rows, heads: heads, headDim: headDim)
        }
    }

    public func storeKV(layer: Int, k: CPUTensor, v: CPUTensor, plan: BatchPlan) throws {
        guard let kv else { throw ModelError.backend("KV storage was not allocated") }
        for (t, cell) in plan.cells.enumerated() {
            kv.key(layer, Int(cell)).update(from: k.row(t), count: kv.kvDim)
            kv.value(layer, Int(cell)).update(from: v.row(t), count: kv.kvDim)
        }
    }

    public func attention(_ out: CPUTensor, q: CPUTensor, layer: Int, heads: Int, kvHeads: Int, headDim: Int, plan: BatchPlan) throws {
        guard let kv else { throw ModelError.backend("KV storage was not allocated") }
        let k = UnsafePointer(kv.key(layer, 0)), v = UnsafePointer(kv.value(layer, 0))
        switch mode {
        case .reference: ReferenceOps.attention(out.data, q: q.data, k: k, v: v, heads: heads, kvHeads: kvHeads, headDim: headDim, plan: plan)
        case .fast, .quantized: FastOps.attention(out.data, q: q.data, k: k, v: v, heads: heads, kvHeads: kvHeads, headDim: headDim, plan: plan, pool: pool)
        }
    }

    public func swiglu(_ out: CPUTensor, gate: CPUTensor, up: CPUTensor, rows: Int) throws {
        switch mode {
        case .reference: ReferenceOps.swiglu(out.data, gate: gate.data, up: up.data, count: rows * gate.cols)
        case .fast, .quantized: llcl_swiglu(out.data, gate.data, up.data, Int32(rows * gate.cols))
        }
    }

    public func add(_ x: CPUTensor, _ y: CPUTensor, rows: Int) throws {
        for i in 0..<rows * x.cols { x.data[i] += y.data[i] }
    }

    public func gatherRows(_ out: CPUTensor, _ x: CPUTensor, rows: [Int]) throws {
        for (i, r) in rows.enumerated() { out.row(i).update(from: x.row(r), count: x.cols) }
    }

    public func read(_ t: CPUTensor, rows: Int) throws -> [Float] {
        Array(UnsafeBufferPointer(start: t.data, count: rows * t.cols))
    }
}
