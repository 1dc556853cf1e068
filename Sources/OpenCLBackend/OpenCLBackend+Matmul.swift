import COpenCL
import GGUF
import LlamaCore

/// Matrix products: fused dequantize-matvec for decode-sized batches, dequantize-into-scratch
/// plus CLBlast GEMM for larger ones (see the type's documentation for why).
extension OpenCLBackend {
    public func matmul(_ out: OpenCLTensor, _ x: OpenCLTensor, _ w: OpenCLWeight, bias: OpenCLWeight?, rows: Int) throws {
        try checkRows(rows, out, x)
        guard x.cols == w.cols, out.cols == w.rows else {
            throw OpenCLError.unsupported("matmul shapes: x has \(x.cols) columns, '\(w.name)' is \(w.rows)×\(w.cols), out has \(out.cols)")
        }
        if let bias, !(bias.isVector && bias.cols == w.rows) {
            throw OpenCLError.unsupported("matmul: bias '\(bias.name)' has \(bias.cols) values for \(w.rows) outputs")
        }
        guard rows > 0 else { return }
        if rows <= options.matvecMaxRows {
            try matvec(out, x, w, bias: bias, rows: rows)
            return
        }
        if usesHalfGemm { try gemmHalf(out, x, w, rows: rows) } else { try gemm(out, x, w, rows: rows) }
        if let bias {
            try kernels.addBias.launch([.buffer(out.buffer), .buffer(bias.buffer), .int(w.rows)], global: [w.rows, rows])
        }
    }

    /// out[t] = W·x[t] (+ bias) straight from W's stored blocks, with the kernel specialised for
    /// W's type (matvec.cl); every weight block is read once for all the batch's rows.
    func matvec(_ out: OpenCLTensor, _ x: OpenCLTensor, _ w: OpenCLWeight, bias: OpenCLWeight?, rows: Int) throws {
        let kernel = try kernels.typed(w.type).matvec
        let layout = matvecLayout(kernel, slots: w.rows, cols: w.cols, rows: rows)
        try kernel.launch([
            .buffer(out.buffer), .buffer(w.buffer), .uint64(UInt64(w.rowBytes)),
            .buffer(x.buffer), .buffer(bias?.buffer ?? placeholder), .int(bias == nil ? 0 : 1),
            .int(w.cols), .int(w.rows), .int(rows), .int(layout.lanes), .local(bytes: layout.local * 4),
        ], global: layout.global, local: [layout.local, 1])
    }

    /// The launch shape of the matvec family (matvec.cl): `slots` outputs (rows, or row pairs),
    /// `lanes` work-items each. On a GPU a slot gets up to a warp of lanes (as many as its row has
    /// 32-value units), so wide rows spread over a warp and a group still covers several slots
    /// (the fused norm's sum of squares is computed once per group); on a CPU driver one lane per
    /// slot, so a group is a plain loop over many rows. Dimension 1 walks blocks of 4 batch rows
    /// (MAX_ROWS in matvec.cl).
    func matvecLayout(_ kernel: Kernel, slots: Int, cols: Int, rows: Int) -> (global: [Int], local: Int, lanes: Int) {
        let ls = kernel.groupSize(preferred: device.info.kind == "CPU" ? 128 : 256)
        let units = (cols + 31) / 32
        var lanes = 1
        if let forced = options.matvecLanes {
            while lanes * 2 <= min(forced, ls) { lanes *= 2 }
        } else if device.info.kind != "CPU" {
            while lanes < min(units, 32, ls) { lanes *= 2 }
        }
        let slotsPerGroup = ls / lanes
        let groups = (slots + slotsPerGroup - 1) / slotsPerGroup
        return ([ls * groups, (rows + Self.matvecRowBlock - 1) / Self.matvecRowBlock], ls, lanes)
    }

    /// Batch rows one matvec work-group computes together (MAX_ROWS in matvec.cl).
    static let matvecRowBlock = 4

    /// How many of W's rows fit the dequantization scratch at `bytesPerValue`.
    private func chunkRows(_ w: OpenCLWeight, bytesPerValue: Int) -> Int {
        max(1, min(w.rows, options.scratchBytes / (w.cols * bytesPerValue)))
    }

    /// SGEMM over F32 weights directly, or over chunks of rows dequantized into scratch.
    func gemm(_ out: OpenCLTensor, _ x: OpenCLTensor, _ w: OpenCLWeight, rows: Int) throws {
        if w.type == .f32 {
            try CLBlast.sgemm(device: device, m: rows, n: w.rows, k: w.cols, a: x.buffer, b: w.buffer, c: out.buffer, cOffset: 0, ldc: w.rows)
            return
        }
        try overlapped(w, half: false) { dense, first, n in
            try CLBlast.sgemm(device: device, m: rows, n: n, k: w.cols, a: x.buffer, b: dense, c: out.buffer, cOffset: first, ldc: w.rows,
                              returningEvent: true)
        }
    }

    /// HGEMM on F16 storage: x and W chunks converted to half, the product converted back.
    func gemmHalf(_ out: OpenCLTensor, _ x: OpenCLTensor, _ w: OpenCLWeight, rows: Int) throws {
        let xHalf = try scratchBuffer("activations (F16)", bytes: rows * w.cols * 2)
        let outHalf = try scratchBuffer("products (F16)", bytes: rows * w.rows * 2)
        try kernels.toHalf.launch([.buffer(xHalf), .buffer(x.buffer), .int(rows * w.cols)], global: [rows * w.cols])
        try overlapped(w, half: true) { dense, first, n in
            try CLBlast.hgemm(device: device, m: rows, n: n, k: w.cols, a: xHalf, b: dense, c: outHalf, cOffset: first, ldc: w.rows,
                              returningEvent: true)
        }
        try kernels.fromHalf.launch([.buffer(out.buffer), .buffer(outHalf), .int(rows * w.rows)], global: [rows * w.rows])
    }

    /// W a chunk of rows at a time: each chunk is dequantized on the side queue into one of two
    /// scratch buffers (taken in turn, across calls), and `product` (on the main queue, after a
    /// barrier on that dequantization) multiplies it. The side queue dequantizes the next chunk,
    /// or the next weight's first, while the main queue runs the last GEMM; a buffer is only
    /// overwritten after the GEMM that last read it (its event). No host synchronisation.
    private func overlapped(_ w: OpenCLWeight, half: Bool, product: (Buffer, Int, Int) throws -> cl_event?) throws {
        let size = half ? 2 : 4
        let chunk = chunkRows(w, bytesPerValue: size)
        let state = dequantState
        for first in stride(from: 0, to: w.rows, by: chunk) {
            let n = min(chunk, w.rows - first)
            let slot = state.next()
            let dense = try scratchBuffer("dequantized weights \(half ? "(F16) " : "")\(slot == 0 ? "A" : "B")", bytes: chunk * w.cols * size)
            let ready = try dequantize(w, rows: first..<first + n, into: dense, half: half, side: true, after: state.lastUse(slot))
            if let ready { try device.mainWaits(for: ready); clReleaseEvent(ready) }
            state.setLastUse(slot, try product(dense, first, n))
        }
    }

    /// Rows `rows` of W as a dense row-major matrix in `into` (F32, or F16 when `half`); on the
    /// side queue after `after` (returning its event) when `side`.
    @discardableResult
    func dequantize(_ w: OpenCLWeight, rows: Range<Int>, into: Buffer, half: Bool, side: Bool = false, after: cl_event? = nil) throws -> cl_event? {
        let kernel = half ? kernels.dequantizeHalf : kernels.dequantize
        return try kernel.launch([.buffer(into), .buffer(w.buffer), .int(Int(w.type.rawValue)), .uint64(UInt64(w.rowBytes)),
                                  .int(w.cols), .int(rows.lowerBound)], global: [w.cols, rows.count],
                                 side: side, after: after.map { [$0] } ?? [], returningEvent: side)
    }
}

/// The two dequantization buffers' turn and the event of the GEMM that last read each.
final class DequantizeOverlap {
    private var turn = 0
    private var lastUses: [cl_event?] = [nil, nil]

    func next() -> Int { defer { turn = 1 - turn }; return turn }
    func lastUse(_ slot: Int) -> cl_event? { lastUses[slot] }
    func setLastUse(_ slot: Int, _ event: cl_event?) {
        if let old = lastUses[slot] { clReleaseEvent(old) }
        lastUses[slot] = event
    }

    deinit { for case let e? in lastUses { clReleaseEvent(e) } }
}
