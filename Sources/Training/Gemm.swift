/// Dense matrix products for training, written once for any `TrainScalar` (SIMD16 lanes).
///
/// Everything reduces to one kernel, C = A·B with all three row-major (the "NN" form), plus
/// transposes: for a linear layer y = x·Wᵀ with W [out, in] (GGUF's [in, out] ggml order),
///   forward   y  = x · Wᵀ      A = x (N×in),   B = Wᵀ (in×out, transposed once per step)
///   input     dx = dy · W      A = dy (N×out), B = W (out×in)
///   weight    dW = dyᵀ · x     A = dyᵀ (read through strides, no copy), B = x (N×in)
/// The kernel keeps a 4×16 tile of C in registers and broadcasts one A element per row against
/// a 16-wide row of B, so no horizontal sums are needed; K is blocked so B's panel stays cached.
public enum Gemm {
    static let kBlock = 256

    @inline(__always) static func load<S: TrainScalar>(_ p: UnsafePointer<S>) -> SIMD16<S> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<S>.self)
    }

    @inline(__always) static func store<S: TrainScalar>(_ v: SIMD16<S>, _ p: UnsafeMutablePointer<S>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<S>.self)
    }

    /// C (n×m) = A (n×k) · B (k×m), or C += A·B when `accumulate`. Rows of C are split across threads.
    /// A's element (r, kk) is at a[r·aRow + kk·aCol]: (k, 1) for A stored row-major, (1, n) for
    /// A stored transposed (k×n), which computes Aᵀ·B without materialising the transpose.
    public static func multiply<S: TrainScalar>(_ c: UnsafeMutablePointer<S>, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>,
                                                n: Int, k: Int, m: Int, aStrides: (row: Int, col: Int)? = nil, accumulate: Bool, threads: Int) {
        let (aRow, aCol) = aStrides ?? (k, 1)
        guard n > 0, m > 0 else { return }
        if k == 0 {
            if !accumulate { c.update(repeating: 0, count: n * m) }
            return
        }
        let tiles = (n + 3) / 4
        // Small products are not worth waking other threads for.
        let work = n * k * m
        let workers = work < 1 << 16 ? 1 : threads
        parallelChunks(tiles, threads: workers) { tileRange in
            var k0 = 0
            while k0 < k {
                let k1 = min(k, k0 + kBlock)
                let fresh = k0 == 0 && !accumulate
                var m0 = 0
                while m0 + 16 <= m {
                    for tile in tileRange {
                        let r0 = tile * 4
                        if r0 + 4 <= n {
                            tile4x16(c, a, b, row: r0, col: m0, k0: k0, k1: k1, aRow: aRow, aCol: aCol, m: m, fresh: fresh)
                        } else {
                            for r in r0..<n { tile1x16(c, a, b, row: r, col: m0, k0: k0, k1: k1, aRow: aRow, aCol: aCol, m: m, fresh: fresh) }
                        }
                    }
                    m0 += 16
                }
                if m0 < m {
                    // Columns left over after whole 16-wide panels.
                    for r in tileRange.lowerBound * 4..<min(n, tileRange.upperBound * 4) {
                        let crow = c + r * m, arow = a + r * aRow
                        if fresh { for j in m0..<m { crow[j] = 0 } }
                        for kk in k0..<k1 {
                            let av = arow[kk * aCol], brow = b + kk * m
                            for j in m0..<m { crow[j] += av * brow[j] }
                        }
                    }
                }
                k0 = k1
            }
        }
    }

    @inline(__always) static func tile4x16<S: TrainScalar>(_ c: UnsafeMutablePointer<S>, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>,
                                                          row r0: Int, col m0: Int, k0: Int, k1: Int, aRow: Int, aCol: Int, m: Int, fresh: Bool) {
        let c0 = c + r0 * m + m0, c1 = c0 + m, c2 = c1 + m, c3 = c2 + m
        var s0: SIMD16<S> = fresh ? .zero : load(c0)
        var s1: SIMD16<S> = fresh ? .zero : load(c1)
        var s2: SIMD16<S> = fresh ? .zero : load(c2)
        var s3: SIMD16<S> = fresh ? .zero : load(c3)
        var ap = a + r0 * aRow + k0 * aCol
        var bp = b + k0 * m + m0
        for _ in k0..<k1 {
            let bv = load(bp)
            s0 = s0.addingProduct(ap[0], bv)
            s1 = s1.addingProduct(ap[aRow], bv)
            s2 = s2.addingProduct(ap[2 * aRow], bv)
            s3 = s3.addingProduct(ap[3 * aRow], bv)
            ap += aCol
            bp += m
        }
        store(s0, c0); store(s1, c1); store(s2, c2); store(s3, c3)
    }

    @inline(__always) static func tile1x16<S: TrainScalar>(_ c: UnsafeMutablePointer<S>, _ a: UnsafePointer<S>, _ b: UnsafePointer<S>,
                                                          row r: Int, col m0: Int, k0: Int, k1: Int, aRow: Int, aCol: Int, m: Int, fresh: Bool) {
        let cp = c + r * m + m0
        var s: SIMD16<S> = fresh ? .zero : load(cp)
        var ap = a + r * aRow + k0 * aCol
        var bp = b + k0 * m + m0
        for _ in k0..<k1 {
            s = s.addingProduct(ap[0], load(bp))
            ap += aCol
            bp += m
        }
        store(s, cp)
    }

    /// out (cols×rows) = xᵀ for x (rows×cols), in 32×32 blocks so both sides stay in cache.
    public static func transpose<S: TrainScalar>(_ out: UnsafeMutablePointer<S>, _ x: UnsafePointer<S>, rows: Int, cols: Int, threads: Int) {
        let block = 32
        let rowBlocks = (rows + block - 1) / block
        parallelChunks(rowBlocks, threads: rows * cols < 1 << 15 ? 1 : threads) { range in
            for rb in range {
                let r0 = rb * block, r1 = min(rows, r0 + block)
                var c0 = 0
                while c0 < cols {
                    let c1 = min(cols, c0 + block)
                    for r in r0..<r1 {
                        for col in c0..<c1 { out[col * rows + r] = x[r * cols + col] }
                    }
                    c0 = c1
                }
            }
        }
    }

    /// Σ a[i]·b[i], vectorised (used by attention, where rows are short).
    @inline(__always) public static func dot<S: TrainScalar>(_ a: UnsafePointer<S>, _ b: UnsafePointer<S>, _ n: Int) -> S {
        var acc = SIMD16<S>.zero
        var i = 0
        while i + 16 <= n { acc = acc.addingProduct(load(a + i), load(b + i)); i += 16 }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// y += α·x
    @inline(__always) public static func axpy<S: TrainScalar>(_ y: UnsafeMutablePointer<S>, _ alpha: S, _ x: UnsafePointer<S>, _ n: Int) {
        var i = 0
        while i + 16 <= n { store(load(UnsafePointer(y + i)).addingProduct(alpha, load(x + i)), y + i); i += 16 }
        while i < n { y[i] += alpha * x[i]; i += 1 }
    }
}

/// A linear layer y = x·Wᵀ, W [out, in] row-major (GGUF's [in, out] in ggml order).
public enum LinearOp {
    /// y (rows×out) = x (rows×in) · Wᵀ, given wT = Wᵀ (in×out).
    public static func forward<S: TrainScalar>(_ y: UnsafeMutablePointer<S>, _ x: UnsafePointer<S>, wT: UnsafePointer<S>,
                                               rows: Int, inDim: Int, outDim: Int, accumulate: Bool = false, threads: Int) {
        Gemm.multiply(y, x, wT, n: rows, k: inDim, m: outDim, accumulate: accumulate, threads: threads)
    }

    /// dx = dy·W (added to dx when `accumulateInput`) and dW = dyᵀ·x (written; dy is read
    /// transposed in place by the kernel's strides).
    public static func backward<S: TrainScalar>(dx: UnsafeMutablePointer<S>, accumulateInput: Bool, dWeight: UnsafeMutablePointer<S>,
                                                dy: UnsafePointer<S>, _ x: UnsafePointer<S>, weight w: UnsafePointer<S>,
                                                rows: Int, inDim: Int, outDim: Int, threads: Int) {
        Gemm.multiply(dx, dy, w, n: rows, k: outDim, m: inDim, accumulate: accumulateInput, threads: threads)
        Gemm.multiply(dWeight, dy, x, n: outDim, k: rows, m: inDim, aStrides: (row: 1, col: outDim), accumulate: false, threads: threads)
    }
}
