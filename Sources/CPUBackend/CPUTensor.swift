import LlamaCore

/// A row-major F32 activation buffer with room for `capacity` rows of `cols`.
public final class CPUTensor {
    public let capacity: Int
    public let cols: Int
    public let data: UnsafeMutablePointer<Float>

    init(rows: Int, cols: Int) {
        capacity = rows; self.cols = cols
        data = .allocate(capacity: max(1, rows * cols))
        data.initialize(repeating: 0, count: max(1, rows * cols))
    }

    deinit { data.deallocate() }

    @inline(__always) func row(_ t: Int) -> UnsafeMutablePointer<Float> { data + t * cols }
}

/// A weight left where it is in the memory map (not copied), with its layout.
public struct CPUWeight {
    public let source: WeightSource
    public var rows: Int { source.rows }
    public var cols: Int { source.cols }
    public let rowBytes: Int

    init(_ s: WeightSource) {
        source = s
        rowBytes = s.type.rowBytes(s.cols)!
    }

    @inline(__always) func row(_ r: Int) -> UnsafeRawPointer { source.data + r * rowBytes }
}

/// K and V for every layer: [layer][cell][kvDim].
final class KVStorage {
    let layers: Int, cells: Int, kvDim: Int
    let k: UnsafeMutablePointer<Float>
    let v: UnsafeMutablePointer<Float>

    init(layers: Int, cells: Int, kvDim: Int) {
        self.layers = layers; self.cells = cells; self.kvDim = kvDim
        let n = max(1, layers * cells * kvDim)
        k = .allocate(capacity: n); k.initialize(repeating: 0, count: n)
        v = .allocate(capacity: n); v.initialize(repeating: 0, count: n)
    }

    deinit { k.deallocate(); v.deallocate() }

    @inline(__always) func key(_ layer: Int, _ cell: Int) -> UnsafeMutablePointer<Float> { k + (layer * cells + cell) * kvDim }
    @inline(__always) func value(_ layer: Int, _ cell: Int) -> UnsafeMutablePointer<Float> { v + (layer * cells + cell) * kvDim }
}
