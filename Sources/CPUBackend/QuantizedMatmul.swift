import CPUKernels
import Foundation
import GGUF
import LlamaCore

/// Matrix products with activations rounded to 8 bits per block, as llama.cpp computes them:
/// each input row is quantized once (Q8_0 blocks of 32 for Q4_0/Q5_0/Q8_0 weights, the same with
/// llama.cpp's Q8_1 block sums for Q4_1/Q5_1, Q8_K blocks of 256 for Q4_K/Q5_K/Q6_K), then every
/// output is an integer dot product per block, scaled in F32.
/// Results follow llama.cpp's numerics (NMSE ≈ 1e-4 against the float64 reference, far below
/// that against llama.cpp); the F32 path (`FastOps.matmul`) stays for everything else.
final class QuantizedMatmul {
    enum ActivationFormat { case q8_0, q8_1, q8_K }

    /// The weight types with integer kernels, and the activation blocks each one pairs with.
    static func format(for type: TensorType) -> ActivationFormat? {
        switch type {
        case .q4_0, .q5_0, .q8_0: .q8_0
        case .q4_1, .q5_1: .q8_1
        case .q4_K, .q5_K, .q6_K: .q8_K
        default: nil
        }
    }

    private let qs = ScratchBuffer<Int8>(), scales = ScratchBuffer<Float>()
    private let sums = ScratchBuffer<Float>(), bsums = ScratchBuffer<Int16>()
    /// The input the buffers above hold the quantization of: Q, K and V (and gate and up) read
    /// the same activations, which are then quantized once instead of three (two) times.
    private let quantizedInput = ScratchBuffer<Float>()
    private var quantizedShape: (tokens: Int, width: Int, format: ActivationFormat)?

    /// Whether the buffers already hold x (T × D) in `format`; if not, the caller quantizes it and it is remembered.
    private func alreadyQuantized(_ x: UnsafePointer<Float>, tokens T: Int, width D: Int, format: ActivationFormat) -> Bool {
        let copy = quantizedInput.reserve(T * D)
        if let shape = quantizedShape, shape.tokens == T, shape.width == D, shape.format == format,
           memcmp(copy, x, T * D * MemoryLayout<Float>.size) == 0 {
            return true
        }
        copy.update(from: x, count: T * D)
        quantizedShape = (T, D, format)
        return false
    }

    /// out (T, O) = x (T, D) · Wᵀ for a weight type that `format(for:)` accepts.
    func matmul(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: CPUWeight, rows T: Int, pool: ThreadPool) {
        let D = w.cols, O = w.rows
        guard let format = Self.format(for: w.source.type) else { preconditionFailure("no integer kernel for \(w.source.type)") }
        let q = qs.reserve(T * D), d = scales.reserve(T * D / 32)
        let s = sums.reserve(T * D / 32), bs = bsums.reserve(T * D / 16)
        if !alreadyQuantized(x, tokens: T, width: D, format: format) {
            switch format {
            // scales (and Q8_0 sums) block-major, d[b·T + t]: one load gives a whole token group's
            case .q8_0: for t in 0..<T { llcl_quantize_q8_0(x + t * D, Int32(D), q + t * D, d + t, s + t, Int32(T)) }
            case .q8_1: for t in 0..<T { llcl_quantize_q8_1(x + t * D, Int32(D), q + t * D, d + t, s + t, Int32(T)) }
            case .q8_K: for t in 0..<T { llcl_quantize_q8_K(x + t * D, Int32(D), q + t * D, d + t, bs + t * (D / 16), Int32(T)) }
            }
        }
        let type = w.source.type, n = Int32(D), stride = Int32(T)
        Tiling.forEachTile(rows: O, tokens: T, bytesPerToken: D + D / 8, pool: pool) { rows, t0, count in
            // `count` tokens from t0 against each row; with two or more, each panel is unpacked once
            let tokens = Int32(count), qt = q + t0 * D, dt = d + t0, st = s + t0, bst = bs + t0 * (D / 16)
            let column = out + t0 * O
            // panels of eight rows, one vector lane per row
            var o = rows.lowerBound
            while o < rows.upperBound {
                let count = Int32(min(8, rows.upperBound - o)), row = w.row(o), target = column + o
                switch type {
                case .q4_0: llcl_panel_q4_0(n, row, w.rowBytes, count, tokens, qt, dt, st, stride, target, O)
                case .q8_0: llcl_panel_q8_0(n, row, w.rowBytes, count, tokens, qt, dt, st, stride, target, O)
                case .q4_1: llcl_panel_q4_1(n, row, w.rowBytes, count, tokens, qt, dt, st, stride, target, O)
                case .q5_0: llcl_panel_q5_0(n, row, w.rowBytes, count, tokens, qt, dt, st, stride, target, O)
                case .q5_1: llcl_panel_q5_1(n, row, w.rowBytes, count, tokens, qt, dt, st, stride, target, O)
                case .q4_K: llcl_panel_q4_K(n, row, w.rowBytes, count, tokens, qt, dt, bst, stride, target, O)
                case .q5_K: llcl_panel_q5_K(n, row, w.rowBytes, count, tokens, qt, dt, bst, stride, target, O)
                case .q6_K: llcl_panel_q6_K(n, row, w.rowBytes, count, tokens, qt, dt, bst, stride, target, O)
                default: preconditionFailure("no integer kernel for \(type)")
                }
                o += 8
            }
        }
    }
}

/// The loop order of the CPU matrix products. Output rows are split over threads; each thread
/// takes its rows a block at a time and runs every token tile against the block, so the block's
/// weights stay in cache while the tiles pass, and a tile's activations stay in L2 while they
/// meet the block's rows. Every (row, token) pair is computed by the same kernel call sequence
/// for its token group whatever the tiling, so results do not depend on it.
enum Tiling {
    /// Output rows per block: 16 rows of a 2048-wide F16 matrix are 64 KiB.
    static let rowBlock = 16
    /// Activation bytes per token tile: half of a 1 MiB L2.
    static let tileBytes = 512 << 10

    /// Calls `body(rows, firstToken, count)` for every block of rows and tile of tokens.
    static func forEachTile(rows O: Int, tokens T: Int, bytesPerToken: Int, pool: ThreadPool, _ body: (_ rows: Range<Int>, _ firstToken: Int, _ count: Int) -> Void) {
        // multiples of 8 tokens, so that tiles split into whole token groups
        let tile = max(8, tileBytes / max(1, bytesPerToken) / 8 * 8)
        pool.parallelFor(O, minimumChunk: 16) { range in
            var block = range.lowerBound
            while block < range.upperBound {
                let blockEnd = min(block + rowBlock, range.upperBound)
                var t0 = 0
                while t0 < T {
                    let count = min(tile, T - t0)
                    body(block..<blockEnd, t0, count)
                    t0 += count
                }
                block = blockEnd
            }
        }
    }
}

/// A buffer that grows to the largest size asked for and is then reused: no allocation per token.
final class ScratchBuffer<Element> {
    private var pointer = UnsafeMutablePointer<Element>.allocate(capacity: 1)
    private var capacity = 1

    deinit { pointer.deallocate() }

    func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity {
            pointer.deallocate()
            capacity = count
            pointer = .allocate(capacity: count)
        }
        return pointer
    }
}
