import CPUKernels
import GGUF
import LlamaCore

/// Matrix products with activations rounded to 8 bits per block, as llama.cpp computes them:
/// each input row is quantized once (Q8_0 blocks of 32 for Q4_0/Q8_0 weights, Q8_K blocks of
/// 256 for Q4_K/Q6_K), then every output is an integer dot product per block, scaled in F32.
/// Results follow llama.cpp's numerics (NMSE ≈ 1e-4 against the float64 reference, far below
/// that against llama.cpp); the F32 path (`FastOps.matmul`) stays for everything else.
final class QuantizedMatmul {
    enum ActivationFormat { case q8_0, q8_K }

    /// The weight types with integer kernels, and the activation blocks each one pairs with.
    static func format(for type: TensorType) -> ActivationFormat? {
        switch type {
        case .q4_0, .q8_0: .q8_0
        case .q4_K, .q6_K: .q8_K
        default: nil
        }
    }

    private let qs = ScratchBuffer<Int8>(), scales = ScratchBuffer<Float>()
    private let sums = ScratchBuffer<Float>(), bsums = ScratchBuffer<Int16>()

    /// out (T, O) = x (T, D) · Wᵀ for a weight type that `format(for:)` accepts.
    func matmul(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: CPUWeight, rows T: Int, pool: ThreadPool) {
        let D = w.cols, O = w.rows
        guard let format = Self.format(for: w.source.type) else { preconditionFailure("no integer kernel for \(w.source.type)") }
        let q = qs.reserve(T * D), d = scales.reserve(T * D / 32)
        let s = sums.reserve(T * D / 32), bs = bsums.reserve(T * D / 16)
        switch format {
        // scales (and Q8_0 sums) block-major, d[b·T + t]: one load gives a whole token group's
        case .q8_0: for t in 0..<T { llcl_quantize_q8_0(x + t * D, Int32(D), q + t * D, d + t, s + t, Int32(T)) }
        case .q8_K: for t in 0..<T { llcl_quantize_q8_K(x + t * D, Int32(D), q + t * D, d + t, bs + t * (D / 16), Int32(T)) }
        }
        let type = w.source.type, n = Int32(D)
        pool.parallelFor(O, minimumChunk: 16) { range in
            for o in range {
                // every token of the batch against this row: its blocks are unpacked once per four tokens
                let row = w.row(o), column = out + o
                switch type {
                case .q4_0: llcl_matvec_q4_0(n, row, Int32(T), q, d, s, column, O)
                case .q8_0: llcl_matvec_q8_0(n, row, Int32(T), q, d, column, O)
                case .q4_K: llcl_matvec_q4_K(n, row, Int32(T), q, d, bs, column, O)
                default: llcl_matvec_q6_K(n, row, Int32(T), q, d, bs, column, O)
                }
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
