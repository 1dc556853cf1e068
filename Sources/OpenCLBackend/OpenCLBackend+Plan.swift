import Foundation
import GGUF
import LlamaCore

/// A BatchPlan's index lists on the device, uploaded once per plan and shared by every layer.
final class DevicePlan {
    weak var plan: BatchPlan?
    let tokens, cells, offsets, visible: Buffer
    /// The longest visible list of any row: the attention score scratch's row length.
    let maxVisible: Int
    /// One past the highest cell the plan writes or reads (checked against the cache at use).
    let cellsNeeded: Int

    init(plan: BatchPlan, tokens: Buffer, cells: Buffer, offsets: Buffer, visible: Buffer, maxVisible: Int, cellsNeeded: Int) {
        self.plan = plan; self.tokens = tokens; self.cells = cells; self.offsets = offsets
        self.visible = visible; self.maxVisible = maxVisible; self.cellsNeeded = cellsNeeded
    }
}

/// cos/sin of every (row, pair) of one plan, computed on the host in double precision like
/// the CPU reference (see rope.cl for why), uploaded once and used by every layer.
final class RopeTableOnDevice {
    weak var plan: BatchPlan?
    let key: String
    let cosines, sines: Buffer

    init(plan: BatchPlan, key: String, cosines: Buffer, sines: Buffer) {
        self.plan = plan; self.key = key; self.cosines = cosines; self.sines = sines
    }
}

extension OpenCLBackend {
    /// The plan's lists on the device; re-uploaded only when the plan object changes (a weak
    /// reference, so a new plan at a freed plan's address is never mistaken for it).
    func devicePlan(_ plan: BatchPlan) throws -> DevicePlan {
        if let s = planState, s.plan === plan { return s }
        let rows = plan.rows
        guard plan.positions.count == rows, plan.cells.count == rows, plan.visibleOffsets.count == rows + 1,
              plan.visibleOffsets.first == 0, Int(plan.visibleOffsets.last!) == plan.visibleCells.count,
              zip(plan.visibleOffsets, plan.visibleOffsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw OpenCLError.unsupported("malformed batch plan (\(rows) rows)")
        }
        guard plan.cells.allSatisfy({ $0 >= 0 }), plan.visibleCells.allSatisfy({ $0 >= 0 }) else {
            throw OpenCLError.unsupported("batch plan refers to negative cells")
        }
        let cellsNeeded = Int(max(plan.cells.max() ?? -1, plan.visibleCells.max() ?? -1)) + 1
        let maxVisible = (0..<rows).map { Int(plan.visibleOffsets[$0 + 1] - plan.visibleOffsets[$0]) }.max() ?? 0
        func upload(_ label: String, _ values: [Int32]) throws -> Buffer {
            let b = try scratchBuffer("plan: \(label)", bytes: max(1, values.count) * 4)
            try b.upload(values)
            return b
        }
        let s = DevicePlan(plan: plan, tokens: try upload("tokens", plan.tokens), cells: try upload("cells", plan.cells),
                           offsets: try upload("offsets", plan.visibleOffsets), visible: try upload("visible cells", plan.visibleCells),
                           maxVisible: maxVisible, cellsNeeded: cellsNeeded)
        planState = s
        return s
    }

    /// The plan on the device, checked to stay inside the KV cache: kernels index the cache with
    /// its cells, and an out-of-range cell must be an error rather than a stray write.
    func cachePlan(_ plan: BatchPlan, _ cache: OpenCLKVCache) throws -> DevicePlan {
        let p = try devicePlan(plan)
        guard p.cellsNeeded <= cache.cells else {
            throw OpenCLError.unsupported("batch plan refers to cell \(p.cellsNeeded - 1) of a KV cache with \(cache.cells) cells")
        }
        return p
    }

    /// A cache this backend can use: made on its device, with the layer asked for.
    func checkUsable(_ cache: OpenCLKVCache, layer: Int) throws {
        guard cache.device === device else { throw OpenCLError.unsupported("a KV cache made for another OpenCL device or context") }
        guard cache.keys.indices.contains(layer) else { throw ModelError.backend("layer \(layer) of a KV cache with \(cache.layers) layers") }
    }

    public func embed(_ out: OpenCLTensor, table: OpenCLWeight, plan: BatchPlan) throws {
        try checkRows(plan.rows, out)
        guard out.cols == table.cols else { throw OpenCLError.unsupported("embed: table '\(table.name)' is \(table.cols) wide, out \(out.cols)") }
        if let bad = plan.tokens.first(where: { $0 < 0 || Int($0) >= table.rows }) {
            throw OpenCLError.unsupported("embed: token \(bad) is outside the table's \(table.rows) rows")
        }
        let p = try devicePlan(plan)
        try kernels.embed.launch([.buffer(out.buffer), .buffer(table.buffer), .int(Int(table.type.rawValue)), .uint64(UInt64(table.rowBytes)),
                                  .buffer(p.tokens), .int(table.cols)], global: [table.cols, plan.rows])
    }

    public func rope(_ x: OpenCLTensor, heads: Int, headDim: Int, params: RopeParams, freqFactors: OpenCLWeight?, plan: BatchPlan) throws {
        try checkRows(plan.rows, x)
        let pairs = params.dims / 2
        guard heads * headDim <= x.cols, params.dims <= headDim, params.dims % 2 == 0 else {
            throw OpenCLError.unsupported("rope: \(heads) heads of \(headDim) (rotating \(params.dims)) in rows of \(x.cols)")
        }
        if let f = freqFactors, f.cols < pairs { throw OpenCLError.unsupported("rope: \(f.cols) frequency factors for \(pairs) pairs") }
        guard pairs > 0, plan.rows > 0 else { return }
        let table = try ropeTable(plan, params: params, factors: freqFactors)
        try kernels.rope.launch([.buffer(x.buffer), .buffer(table.cosines), .buffer(table.sines), .int(heads), .int(headDim),
                                 .int(pairs), .int(params.style == .neox ? 1 : 0)], global: [pairs, heads, plan.rows])
    }

    func ropeTable(_ plan: BatchPlan, params p: RopeParams, factors: OpenCLWeight?) throws -> RopeTableOnDevice {
        let key = "\(p.base) \(p.dims) \(p.positionScale) \(factors.map { ObjectIdentifier($0).debugDescription } ?? "-")"
        if let t = ropeState, t.plan === plan, t.key == key { return t }
        let pairs = p.dims / 2
        var cosines = [Float](), sines = [Float]()
        cosines.reserveCapacity(plan.rows * pairs); sines.reserveCapacity(plan.rows * pairs)
        for position in plan.positions {
            for i in 0..<pairs {
                // The CPU's angles exactly (one formula, in LlamaCore), so the rotation matches bit for bit.
                let (c, s) = p.angle(position: Int(position), pair: i, factor: factors?.hostValues?[i] ?? 1)
                cosines.append(c); sines.append(s)
            }
        }
        ropeState = nil   // release before the new table takes the scratch slots
        let c = try scratchBuffer("rope cosines", bytes: cosines.count * 4), s = try scratchBuffer("rope sines", bytes: sines.count * 4)
        try c.upload(cosines); try s.upload(sines)
        let t = RopeTableOnDevice(plan: plan, key: key, cosines: c, sines: s)
        ropeState = t
        return t
    }

    public func storeKV(_ cache: OpenCLKVCache, layer: Int, k: OpenCLTensor, v: OpenCLTensor, plan: BatchPlan) throws {
        try checkUsable(cache, layer: layer)
        try checkRows(plan.rows, k, v)
        let kvDim = cache.kvDim
        guard k.cols == kvDim, v.cols == kvDim else { throw OpenCLError.unsupported("storeKV: K/V widths \(k.cols), \(v.cols) for a cache \(kvDim) wide") }
        let p = try cachePlan(plan, cache)
        try kernels.storeKV.launch([.buffer(cache.keys[layer]), .buffer(cache.values[layer]), .buffer(k.buffer), .buffer(v.buffer),
                                    .buffer(p.cells), .int(kvDim)], global: [kvDim, plan.rows])
    }

    public func attention(_ out: OpenCLTensor, q: OpenCLTensor, cache: OpenCLKVCache, layer: Int, heads: Int, kvHeads: Int, headDim: Int, plan: BatchPlan) throws {
        try checkUsable(cache, layer: layer)
        try checkRows(plan.rows, out, q)
        let kvDim = cache.kvDim
        guard kvHeads > 0, heads % kvHeads == 0, kvHeads * headDim == kvDim, q.cols == heads * headDim, out.cols == q.cols else {
            throw OpenCLError.unsupported("attention: \(heads) heads / \(kvHeads) KV heads of \(headDim) against a cache \(kvDim) wide")
        }
        let p = try cachePlan(plan, cache)
        if plan.rows <= options.matvecMaxRows {
            try attentionDecode(out, q: q, cache: cache, layer: layer, heads: heads, kvHeads: kvHeads, headDim: headDim, plan: p, rows: plan.rows)
            return
        }
        let stride = max(1, p.maxVisible)
        // Rows per launch so that their scores fit the scratch bound (long prompts run in chunks).
        let chunk = max(1, min(plan.rows, options.scratchBytes / (heads * stride * 4)))
        let scores = try scratchBuffer("attention scores", bytes: chunk * heads * stride * 4)
        let ls = kernels.attention.groupSize(preferred: 64)
        // each work-item owns at most four output dimensions (attention.cl)
        guard headDim <= 4 * ls else {
            throw OpenCLError.unsupported("attention: head dimension \(headDim) needs work-groups of \((headDim + 3) / 4), the device allows \(ls)")
        }
        let scale = 1 / Float(headDim).squareRoot()
        for first in Swift.stride(from: 0, to: plan.rows, by: chunk) {
            let n = min(chunk, plan.rows - first)
            try kernels.attention.launch([
                .buffer(out.buffer), .buffer(q.buffer), .buffer(cache.keys[layer]), .buffer(cache.values[layer]),
                .buffer(p.offsets), .buffer(p.visible), .buffer(scores), .int(stride), .int(first),
                .int(heads), .int(kvHeads), .int(headDim), .float(scale),
                .local(bytes: ls * 4), .local(bytes: headDim * 4), .local(bytes: ls * 4), .local(bytes: ls * 4),
            ], global: [ls, heads, n], local: [ls, 1, 1])
        }
    }
}
