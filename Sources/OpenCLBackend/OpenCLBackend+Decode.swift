import GGUF
import LlamaCore

/// Decode-sized batches (at most `Options.matvecMaxRows` rows) as few launches as the data
/// allows: per layer attention_input_rows (norm, Q/K/V, RoPE, KV store), attention_split_rows
/// (+ attention_combine past one chunk of context), matvec_add_rows (Wo and the residual),
/// gate_up_swiglu_rows (norm, gate, up, SwiGLU), matvec_add_rows (down and the residual); per
/// token embed_rows, rmsnorm_matvec_rows and, for greedy decoding, argmax_rows. Nothing waits
/// for the device inside a token: per-batch data goes up with non-blocking writes, and the one
/// blocking read is the result. Larger batches (prompts), and shapes or type mixes the fused
/// kernels do not take, run the composed op sequences (Backend's `composed…`).
extension OpenCLBackend {
    func takesFused(_ rows: Int) -> Bool { rows > 0 && rows <= options.matvecMaxRows }

    public func attentionInput(q: OpenCLTensor, x: OpenCLTensor, norm: OpenCLWeight, eps: Float,
                               wq: OpenCLWeight, wk: OpenCLWeight, wv: OpenCLWeight,
                               bq: OpenCLWeight?, bk: OpenCLWeight?, bv: OpenCLWeight?, rope: RopeParams, freqFactors: OpenCLWeight?,
                               cache: OpenCLKVCache, layer: Int, heads: Int, kvHeads: Int, headDim: Int, plan: BatchPlan,
                               scratch: (xb: OpenCLTensor, k: OpenCLTensor, v: OpenCLTensor)) throws {
        let rows = plan.rows, kvDim = kvHeads * headDim
        let biases = [bq, bk, bv].compactMap { $0 }
        let fusable = takesFused(rows)
            && !wq.isVector && wk.type == wq.type && wv.type == wq.type
            && wk.cols == wq.cols && wv.cols == wq.cols && wq.cols == x.cols && norm.isVector && norm.cols == x.cols
            && wq.rows == heads * headDim && q.cols == wq.rows && wk.rows == kvDim && wv.rows == kvDim && cache.kvDim == kvDim
            && headDim % 2 == 0 && rope.dims % 2 == 0 && rope.dims > 0 && rope.dims <= headDim
            && (biases.isEmpty || (biases.count == 3 && bq!.cols == wq.rows && bk!.cols == kvDim && bv!.cols == kvDim && biases.allSatisfy(\.isVector)))
            && (freqFactors.map { $0.cols >= rope.dims / 2 } ?? true)
        guard fusable else {
            try composedAttentionInput(q: q, x: x, norm: norm, eps: eps, wq: wq, wk: wk, wv: wv, bq: bq, bk: bk, bv: bv, rope: rope,
                                       freqFactors: freqFactors, cache: cache, layer: layer, heads: heads, kvHeads: kvHeads,
                                       headDim: headDim, plan: plan, scratch: scratch)
            return
        }
        try checkUsable(cache, layer: layer)
        try checkRows(rows, q, x)
        let p = try cachePlan(plan, cache)
        let table = try ropeTable(plan, params: rope, factors: freqFactors)
        let kernel = try kernels.typed(wq.type).attentionInput
        let layout = matvecLayout(kernel, slots: (wq.rows + 2 * kvDim) / 2, cols: x.cols, rows: rows)
        try kernel.launch([
            .buffer(q.buffer), .buffer(cache.keys[layer]), .buffer(cache.values[layer]),
            .buffer(wq.buffer), .buffer(wk.buffer), .buffer(wv.buffer), .uint64(UInt64(wq.rowBytes)),
            .buffer(bq?.buffer ?? placeholder), .buffer(bk?.buffer ?? placeholder), .buffer(bv?.buffer ?? placeholder), .int(biases.isEmpty ? 0 : 1),
            .buffer(x.buffer), .buffer(norm.buffer), .float(eps),
            .buffer(table.cosines), .buffer(table.sines), .buffer(p.cells),
            .int(x.cols), .int(heads), .int(kvHeads), .int(headDim), .int(rope.dims / 2), .int(rope.style == .neox ? 1 : 0),
            .int(rows), .int(layout.lanes), .local(bytes: layout.local * 4),
        ], global: layout.global, local: [layout.local, 1])
    }

    public func matmulAdd(_ x: OpenCLTensor, _ a: OpenCLTensor, _ w: OpenCLWeight, scratch: OpenCLTensor, rows: Int) throws {
        guard takesFused(rows), !w.isVector, a.cols == w.cols, x.cols == w.rows else {
            try composedMatmulAdd(x, a, w, scratch: scratch, rows: rows)
            return
        }
        try checkRows(rows, x, a)
        let kernel = try kernels.typed(w.type).matvecAdd
        let layout = matvecLayout(kernel, slots: w.rows, cols: w.cols, rows: rows)
        try kernel.launch([
            .buffer(x.buffer), .buffer(w.buffer), .uint64(UInt64(w.rowBytes)), .buffer(a.buffer),
            .int(w.cols), .int(w.rows), .int(rows), .int(layout.lanes), .local(bytes: layout.local * 4),
        ], global: layout.global, local: [layout.local, 1])
    }

    public func feedForwardInput(_ out: OpenCLTensor, x: OpenCLTensor, norm: OpenCLWeight, eps: Float, gate: OpenCLWeight, up: OpenCLWeight,
                                 scratch: (xb: OpenCLTensor, up: OpenCLTensor), rows: Int) throws {
        guard takesFused(rows), !gate.isVector, up.type == gate.type, up.cols == gate.cols, up.rows == gate.rows,
              gate.cols == x.cols, out.cols == gate.rows, norm.isVector, norm.cols == x.cols else {
            try composedFeedForwardInput(out, x: x, norm: norm, eps: eps, gate: gate, up: up, scratch: scratch, rows: rows)
            return
        }
        try checkRows(rows, out, x)
        let kernel = try kernels.typed(gate.type).gateUpSwiglu
        let layout = matvecLayout(kernel, slots: gate.rows, cols: gate.cols, rows: rows)
        try kernel.launch([
            .buffer(out.buffer), .buffer(gate.buffer), .buffer(up.buffer), .uint64(UInt64(gate.rowBytes)),
            .buffer(x.buffer), .buffer(norm.buffer), .float(eps),
            .int(gate.cols), .int(gate.rows), .int(rows), .int(layout.lanes), .local(bytes: layout.local * 4),
        ], global: layout.global, local: [layout.local, 1])
    }

    public func rmsNormMatmul(_ out: OpenCLTensor, _ x: OpenCLTensor, norm: OpenCLWeight, eps: Float, _ w: OpenCLWeight,
                              scratch: OpenCLTensor, rows: Int) throws {
        guard takesFused(rows), !w.isVector, w.cols == x.cols, out.cols == w.rows, norm.isVector, norm.cols == x.cols else {
            try composedRMSNormMatmul(out, x, norm: norm, eps: eps, w, scratch: scratch, rows: rows)
            return
        }
        try checkRows(rows, out, x)
        let kernel = try kernels.typed(w.type).normMatvec
        let layout = matvecLayout(kernel, slots: w.rows, cols: w.cols, rows: rows)
        try kernel.launch([
            .buffer(out.buffer), .buffer(w.buffer), .uint64(UInt64(w.rowBytes)), .buffer(x.buffer), .buffer(norm.buffer), .float(eps),
            .int(w.cols), .int(w.rows), .int(rows), .int(layout.lanes), .local(bytes: layout.local * 4),
        ], global: layout.global, local: [layout.local, 1])
    }

    /// argmax_rows on the device; only `rows` Int32s come back.
    public func argmaxRows(_ x: OpenCLTensor, rows: Int) throws -> [Int] {
        guard rows > 0 else { return [] }
        try checkRows(rows, x)
        let ids = try scratchBuffer("argmax", bytes: rows * 4)
        let ls = kernels.argmax.groupSize(preferred: 256)
        try kernels.argmax.launch([.buffer(ids), .buffer(x.buffer), .int(x.cols), .local(bytes: ls * 4), .local(bytes: ls * 4)],
                                  global: [ls * rows], local: [ls])
        return try ids.read(Int32.self, count: rows).map(Int.init)
    }

    /// Split-K attention over the cache for decode rows (attention.cl): chunks of
    /// `Options.attentionChunk` visible cells, one work-group each, merged by attention_combine
    /// when there is more than one.
    func attentionDecode(_ out: OpenCLTensor, q: OpenCLTensor, cache: OpenCLKVCache, layer: Int, heads: Int, kvHeads: Int, headDim: Int,
                         plan p: DevicePlan, rows: Int) throws {
        let chunk = max(1, options.attentionChunk)
        let splits = max(1, (p.maxVisible + chunk - 1) / chunk)
        let ls = kernels.attentionSplit.groupSize(preferred: 64)
        guard headDim <= 4 * ls else {
            throw OpenCLError.unsupported("attention: head dimension \(headDim) needs work-groups of \((headDim + 3) / 4), the device allows \(ls)")
        }
        let partials = splits > 1 ? try scratchBuffer("attention partials", bytes: rows * heads * splits * (headDim + 2) * 4) : placeholder
        try kernels.attentionSplit.launch([
            .buffer(out.buffer), .buffer(partials), .buffer(q.buffer), .buffer(cache.keys[layer]), .buffer(cache.values[layer]),
            .buffer(p.offsets), .buffer(p.visible), .int(splits), .int(chunk),
            .int(heads), .int(kvHeads), .int(headDim), .float(1 / Float(headDim).squareRoot()),
            .local(bytes: ls * 4), .local(bytes: headDim * 4), .local(bytes: chunk * 4), .local(bytes: chunk * 4),
        ], global: [ls, heads, rows * splits], local: [ls, 1, 1])
        if splits > 1 {
            try kernels.attentionCombine.launch([.buffer(out.buffer), .buffer(partials), .int(splits), .int(heads), .int(headDim)],
                                                global: [headDim, heads, rows])
        }
    }
}
