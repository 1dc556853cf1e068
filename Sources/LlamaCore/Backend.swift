import GGUF

/// A weight as it lies in the GGUF map: ggml order, `cols` (dims[0]) contiguous, `rows` rows.
public struct WeightSource {
    public let name: String
    public let type: TensorType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    /// Keeps the memory map alive as long as a backend holds on to this weight.
    public let owner: AnyObject?
    public init(name: String, type: TensorType, rows: Int, cols: Int, data: UnsafeRawPointer, owner: AnyObject?) {
        self.name = name; self.type = type; self.rows = rows; self.cols = cols; self.data = data; self.owner = owner
    }
}

/// The narrow seam between the forward pass and a device. Activations are row-major
/// [rows, cols] F32 tensors with a fixed capacity; every op takes the live row count.
/// Shapes in comments: T tokens in the batch, D width, O outputs, H heads, Dh head size.
public protocol Backend: AnyObject {
    associatedtype Tensor
    associatedtype Weight
    /// K and V of every layer. The backend creates it (in its own memory, after checking that
    /// memory can hold it) and the model owns it, so a backend keeps no hidden per-model state
    /// and several models (or op checks) can share one backend.
    associatedtype KVCache

    var name: String { get }
    /// Human-readable device description (for provenance).
    var deviceName: String { get }

    func upload(_ source: WeightSource) throws -> Weight
    func makeTensor(rows: Int, cols: Int) throws -> Tensor
    /// A KV cache for `layers` layers of `cells` cells, each `kvDim` wide (K and V). Throws a
    /// typed error naming the bytes needed when the memory the cache would live in cannot hold it.
    func makeKVCache(layers: Int, cells: Int, kvDim: Int) throws -> KVCache

    /// out[t] = dequantized row tokens[t] of `table`          (table [V, D]) -> out [T, D]
    func embed(_ out: Tensor, table: Weight, plan: BatchPlan) throws
    /// out[t] = x[t] / rms(x[t]) · weight                       x [T, D] -> out [T, D]
    func rmsNorm(_ out: Tensor, _ x: Tensor, weight: Weight, eps: Float, rows: Int) throws
    /// out[t] = W · x[t] (+ bias)                               W [O, D], x [T, D] -> out [T, O]
    func matmul(_ out: Tensor, _ x: Tensor, _ w: Weight, bias: Weight?, rows: Int) throws
    /// Rotates each head of x in place at the plan's positions.  x [T, H·Dh]
    func rope(_ x: Tensor, heads: Int, headDim: Int, params: RopeParams, freqFactors: Weight?, plan: BatchPlan) throws
    /// Writes k[t], v[t] into the plan's cells of `layer` of `cache`.   k, v [T, kvDim]
    func storeKV(_ cache: KVCache, layer: Int, k: Tensor, v: Tensor, plan: BatchPlan) throws
    /// Causal attention of q[t] over the cells of `cache` the plan lets row t see.  q [T, H·Dh] -> out [T, H·Dh]
    func attention(_ out: Tensor, q: Tensor, cache: KVCache, layer: Int, heads: Int, kvHeads: Int, headDim: Int, plan: BatchPlan) throws
    /// out = silu(gate) · up                                    [T, F]
    func swiglu(_ out: Tensor, gate: Tensor, up: Tensor, rows: Int) throws
    /// x += y                                                   [T, D]
    func add(_ x: Tensor, _ y: Tensor, rows: Int) throws
    /// out[i] = x[rows[i]]
    func gatherRows(_ out: Tensor, _ x: Tensor, rows: [Int]) throws
    /// The first `rows` rows as host floats.
    func read(_ t: Tensor, rows: Int) throws -> [Float]
    /// Every cell of one layer of `cache` as host floats, [cells, kvDim] each (verify's store-KV check).
    func readKV(_ cache: KVCache, layer: Int) throws -> (keys: [Float], values: [Float])

    // MARK: Optional (default implementations below, composed of the ops above)

    // Fused entry points: one call for what the forward pass does between two points where the
    // data must be whole. A device backend runs each as one kernel launch for decode-sized
    // batches; the defaults are the plain op sequences, so the CPU backend is unchanged.

    /// Attention's inputs for one layer: n = rmsnorm(x)·norm, q = rope(Wq·n + bq), and the plan's
    /// cells of `layer` get K = rope(Wk·n + bk) and V = Wv·n + bv.   x [T, D] -> q [T, H·Dh]
    /// `scratch` (xb [T, D], k and v [T, kvDim]) may be left with any contents.
    func attentionInput(q: Tensor, x: Tensor, norm: Weight, eps: Float, wq: Weight, wk: Weight, wv: Weight,
                        bq: Weight?, bk: Weight?, bv: Weight?, rope: RopeParams, freqFactors: Weight?,
                        cache: KVCache, layer: Int, heads: Int, kvHeads: Int, headDim: Int, plan: BatchPlan,
                        scratch: (xb: Tensor, k: Tensor, v: Tensor)) throws
    /// x += W·a: a product and its residual add.   a [T, D'] -> x [T, O]; `scratch` [T, O].
    func matmulAdd(_ x: Tensor, _ a: Tensor, _ w: Weight, scratch: Tensor, rows: Int) throws
    /// out = silu(Wg·n) ⊙ (Wu·n), n = rmsnorm(x)·norm.   x [T, D] -> out [T, F]; scratch xb [T, D], up [T, F].
    func feedForwardInput(_ out: Tensor, x: Tensor, norm: Weight, eps: Float, gate: Weight, up: Weight,
                          scratch: (xb: Tensor, up: Tensor), rows: Int) throws
    /// out = W·(rmsnorm(x)·norm): the classifier head.   x [T, D] -> out [T, O]; scratch xb [T, D].
    func rmsNormMatmul(_ out: Tensor, _ x: Tensor, norm: Weight, eps: Float, _ w: Weight, scratch: Tensor, rows: Int) throws
    /// The argmax of each of the first `rows` rows (LlamaCore.argmax: first index on ties), so
    /// greedy decoding need not copy logits to the host.
    func argmaxRows(_ x: Tensor, rows: Int) throws -> [Int]


    /// What the device did since the last `resetProfile()`: launches, host synchronisations,
    /// bytes moved, per-kernel times. Backends without a device report zeros.
    var profile: BackendProfile { get }
    func resetProfile()
}

extension Backend {
    public var profile: BackendProfile { BackendProfile() }
    public func resetProfile() {}

    public func attentionInput(q: Tensor, x: Tensor, norm: Weight, eps: Float, wq: Weight, wk: Weight, wv: Weight,
                               bq: Weight?, bk: Weight?, bv: Weight?, rope: RopeParams, freqFactors: Weight?,
                               cache: KVCache, layer: Int, heads: Int, kvHeads: Int, headDim: Int, plan: BatchPlan,
                               scratch: (xb: Tensor, k: Tensor, v: Tensor)) throws {
        try composedAttentionInput(q: q, x: x, norm: norm, eps: eps, wq: wq, wk: wk, wv: wv, bq: bq, bk: bk, bv: bv, rope: rope,
                                   freqFactors: freqFactors, cache: cache, layer: layer, heads: heads, kvHeads: kvHeads,
                                   headDim: headDim, plan: plan, scratch: scratch)
    }
    public func matmulAdd(_ x: Tensor, _ a: Tensor, _ w: Weight, scratch: Tensor, rows: Int) throws {
        try composedMatmulAdd(x, a, w, scratch: scratch, rows: rows)
    }
    public func feedForwardInput(_ out: Tensor, x: Tensor, norm: Weight, eps: Float, gate: Weight, up: Weight,
                                 scratch: (xb: Tensor, up: Tensor), rows: Int) throws {
        try composedFeedForwardInput(out, x: x, norm: norm, eps: eps, gate: gate, up: up, scratch: scratch, rows: rows)
    }
    public func rmsNormMatmul(_ out: Tensor, _ x: Tensor, norm: Weight, eps: Float, _ w: Weight, scratch: Tensor, rows: Int) throws {
        try composedRMSNormMatmul(out, x, norm: norm, eps: eps, w, scratch: scratch, rows: rows)
    }
    public func argmaxRows(_ x: Tensor, rows: Int) throws -> [Int] {
        try composedArgmaxRows(x, rows: rows)
    }

    // The fused entry points as plain op sequences: the defaults, and what a device backend
    // falls back to for batches or shapes its fused kernels do not take.

    public func composedAttentionInput(q: Tensor, x: Tensor, norm: Weight, eps: Float, wq: Weight, wk: Weight, wv: Weight,
                                       bq: Weight?, bk: Weight?, bv: Weight?, rope: RopeParams, freqFactors: Weight?,
                                       cache: KVCache, layer: Int, heads: Int, kvHeads: Int, headDim: Int, plan: BatchPlan,
                                       scratch: (xb: Tensor, k: Tensor, v: Tensor)) throws {
        let rows = plan.rows
        try rmsNorm(scratch.xb, x, weight: norm, eps: eps, rows: rows)
        try matmul(q, scratch.xb, wq, bias: bq, rows: rows)
        try matmul(scratch.k, scratch.xb, wk, bias: bk, rows: rows)
        try matmul(scratch.v, scratch.xb, wv, bias: bv, rows: rows)
        try self.rope(q, heads: heads, headDim: headDim, params: rope, freqFactors: freqFactors, plan: plan)
        try self.rope(scratch.k, heads: kvHeads, headDim: headDim, params: rope, freqFactors: freqFactors, plan: plan)
        try storeKV(cache, layer: layer, k: scratch.k, v: scratch.v, plan: plan)
    }
    public func composedMatmulAdd(_ x: Tensor, _ a: Tensor, _ w: Weight, scratch: Tensor, rows: Int) throws {
        try matmul(scratch, a, w, bias: nil, rows: rows)
        try add(x, scratch, rows: rows)
    }
    public func composedFeedForwardInput(_ out: Tensor, x: Tensor, norm: Weight, eps: Float, gate: Weight, up: Weight,
                                         scratch: (xb: Tensor, up: Tensor), rows: Int) throws {
        try rmsNorm(scratch.xb, x, weight: norm, eps: eps, rows: rows)
        try matmul(out, scratch.xb, gate, bias: nil, rows: rows)
        try matmul(scratch.up, scratch.xb, up, bias: nil, rows: rows)
        try swiglu(out, gate: out, up: scratch.up, rows: rows)
    }
    public func composedRMSNormMatmul(_ out: Tensor, _ x: Tensor, norm: Weight, eps: Float, _ w: Weight, scratch: Tensor, rows: Int) throws {
        try rmsNorm(scratch, x, weight: norm, eps: eps, rows: rows)
        try matmul(out, scratch, w, bias: nil, rows: rows)
    }
    public func composedArgmaxRows(_ x: Tensor, rows: Int) throws -> [Int] {
        guard rows > 0 else { return [] }
        let flat = try read(x, rows: rows)
        let cols = flat.count / rows
        return (0..<rows).map { argmax(Array(flat[$0 * cols..<($0 + 1) * cols])) }
    }
}

/// Counters of a backend's work, summed since the last reset. `ops` is counted by the forward
/// pass (every backend); the rest by a device runtime (zeros on the CPU).
public struct BackendProfile: Sendable, Equatable {
    /// Backend op calls made by the forward pass (`Transformer`).
    public var ops = 0
    /// Kernel launches (clEnqueueNDRangeKernel), plus one per GEMM library call.
    public var launches = 0
    /// Points where the host waited for the device: clFinish, blocking reads and writes, event waits.
    public var hostSyncs = 0
    public var bytesToDevice = 0
    public var bytesFromDevice = 0
    /// Device time per kernel (name → launches and seconds), when the driver's profiling events
    /// are on (`LLAMACL_PROFILE=1` / `bench --profile`); empty otherwise.
    public var kernelTimes: [String: KernelTime] = [:]

    public struct KernelTime: Sendable, Equatable {
        public var count = 0
        public var seconds = 0.0
        public init(count: Int = 0, seconds: Double = 0) { self.count = count; self.seconds = seconds }
    }

    public init() {}

    /// Each counter divided by `n` (per token), times included.
    public func per(_ n: Int) -> (ops: Double, launches: Double, hostSyncs: Double, bytesToDevice: Double, bytesFromDevice: Double) {
        let d = Double(max(n, 1))
        return (Double(ops) / d, Double(launches) / d, Double(hostSyncs) / d, Double(bytesToDevice) / d, Double(bytesFromDevice) / d)
    }
}

/// Everything the ops need to know about one batch, computed once per forward on the host:
/// the tokens, their positions, where their K/V go, and which cells each row may attend to
/// (a CSR list: row t sees cells visible[offsets[t]..<offsets[t+1]], all with position ≤ its own).
public final class BatchPlan {
    public let tokens: [Int32]
    public let positions: [Int32]
    public let cells: [Int32]
    public let visibleOffsets: [Int32]
    public let visibleCells: [Int32]
    public var rows: Int { tokens.count }

    public init(tokens: [Int32], positions: [Int32], cells: [Int32], visibleOffsets: [Int32], visibleCells: [Int32]) {
        self.tokens = tokens; self.positions = positions; self.cells = cells
        self.visibleOffsets = visibleOffsets; self.visibleCells = visibleCells
    }
}
