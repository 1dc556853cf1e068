/// Vectorised inner loops. Summation order is fixed by n alone, so a dot product gives the
/// same bits whatever batch or thread computes it.
enum SIMDMath {
    @inline(__always) static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always) static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= n {
            s0 = s0.addingProduct(load16(a + i), load16(b + i))
            s1 = s1.addingProduct(load16(a + i + 16), load16(b + i + 16))
            i += 32
        }
        while i + 16 <= n { s0 = s0.addingProduct(load16(a + i), load16(b + i)); i += 16 }
        var s = (s0 + s1).sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// y += a · x
    @inline(__always) static func axpy(_ y: UnsafeMutablePointer<Float>, _ a: Float, _ x: UnsafePointer<Float>, _ n: Int) {
        var i = 0
        let av = SIMD16<Float>(repeating: a)
        while i + 16 <= n {
            let r = load16(UnsafePointer(y + i)).addingProduct(av, load16(x + i))
            UnsafeMutableRawPointer(y + i).storeBytes(of: r, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { y[i] += a * x[i]; i += 1 }
    }
}
