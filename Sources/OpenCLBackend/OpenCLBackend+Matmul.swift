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

    /// out[t] = W·x[t] (+ bias) straight from W's stored blocks. On a GPU a row gets as many
    /// lanes as it has 32-value units (up to the group size), so wide rows spread over a warp;
    /// on a CPU driver one lane per row, so a group is a plain loop over many rows.
    func matvec(_ out: OpenCLTensor, _ x: OpenCLTensor, _ w: OpenCLWeight, bias: OpenCLWeight?, rows: Int) throws {
        let ls = kernels.matvec.groupSize(preferred: 128)
        let units = (w.cols + 31) / 32
        var lanes = 1
        if let forced = options.matvecLanes {
            while lanes * 2 <= min(forced, ls) { lanes *= 2 }
        } else if device.info.kind != "CPU" {
            while lanes < min(units, ls) { lanes *= 2 }
        }
        let rowsPerGroup = ls / lanes
        let groups = (w.rows + rowsPerGroup - 1) / rowsPerGroup
        try kernels.matvec.launch([
            .buffer(out.buffer), .buffer(w.buffer), .int(Int(w.type.rawValue)), .uint64(UInt64(w.rowBytes)),
            .buffer(x.buffer), .buffer(bias?.buffer ?? placeholder), .int(bias == nil ? 0 : 1),
            .int(w.cols), .int(w.rows), .int(lanes), .local(bytes: ls * 4),
        ], global: [ls * groups, rows], local: [ls, 1])
    }

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
        let chunk = chunkRows(w, bytesPerValue: 4)
        let dense = try scratchBuffer("dequantized weights", bytes: chunk * w.cols * 4)
        for first in stride(from: 0, to: w.rows, by: chunk) {
            let n = min(chunk, w.rows - first)
            try dequantize(w, rows: first..<first + n, into: dense, half: false)
            try CLBlast.sgemm(device: device, m: rows, n: n, k: w.cols, a: x.buffer, b: dense, c: out.buffer, cOffset: first, ldc: w.rows)
        }
    }

    /// HGEMM on F16 storage: x and W chunks converted to half, the product converted back.
    func gemmHalf(_ out: OpenCLTensor, _ x: OpenCLTensor, _ w: OpenCLWeight, rows: Int) throws {
        let xHalf = try scratchBuffer("activations (F16)", bytes: rows * w.cols * 2)
        let outHalf = try scratchBuffer("products (F16)", bytes: rows * w.rows * 2)
        try kernels.toHalf.launch([.buffer(xHalf), .buffer(x.buffer), .int(rows * w.cols)], global: [rows * w.cols])
        let chunk = chunkRows(w, bytesPerValue: 2)
        let dense = try scratchBuffer("dequantized weights (F16)", bytes: chunk * w.cols * 2)
        for first in stride(from: 0, to: w.rows, by: chunk) {
            let n = min(chunk, w.rows - first)
            try dequantize(w, rows: first..<first + n, into: dense, half: true)
            try CLBlast.hgemm(device: device, m: rows, n: n, k: w.cols, a: xHalf, b: dense, c: outHalf, cOffset: first, ldc: w.rows)
        }
        try kernels.fromHalf.launch([.buffer(out.buffer), .buffer(outHalf), .int(rows * w.rows)], global: [rows * w.rows])
    }

    /// Rows `rows` of W as a dense row-major matrix in `into` (F32, or F16 when `half`).
    func dequantize(_ w: OpenCLWeight, rows: Range<Int>, into: Buffer, half: Bool) throws {
        let kernel = half ? kernels.dequantizeHalf : kernels.dequantize
        try kernel.launch([.buffer(into), .buffer(w.buffer), .int(Int(w.type.rawValue)), .uint64(UInt64(w.rowBytes)),
                           .int(w.cols), .int(rows.lowerBound)], global: [w.cols, rows.count])
    }
}
