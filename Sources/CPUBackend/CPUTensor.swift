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

/// The CPU backend's KV cache: K and V of every layer in host memory, [layer][cell][kvDim].
/// Created by `CPUBackend.makeKVCache` (which checks that the host can hold it) and owned by
/// the model that asked for it.
public final class CPUKVCache {
    public let layers: Int, cells: Int, kvDim: Int
    let k: UnsafeMutablePointer<Float>
    let v: UnsafeMutablePointer<Float>

    /// `layers · cells · kvDim` must not overflow (makeKVCache checks it).
    init(layers: Int, cells: Int, kvDim: Int) {
        self.layers = layers; self.cells = cells; self.kvDim = kvDim
        let n = max(1, layers * cells * kvDim)
        k = .allocate(capacity: n); k.initialize(repeating: 0, count: n)
        v = .allocate(capacity: n); v.initialize(repeating: 0, count: n)
    }

    deinit { k.deallocate(); v.deallocate() }

    /// The first cell of `layer`: a layer is `cells` rows of `kvDim`, as one store_kv buffer.
    @inline(__always) func keys(_ layer: Int) -> UnsafeMutablePointer<Float> { k + layer * cells * kvDim }
    @inline(__always) func values(_ layer: Int) -> UnsafeMutablePointer<Float> { v + layer * cells * kvDim }
}

/// Why the CPU backend refused a request.
public enum CPUBackendError: Error, CustomStringConvertible, Equatable {
    /// A KV cache larger than this machine's memory (`bytes` nil: more than 2^63).
    case kvCacheTooLarge(cells: Int, layers: Int, kvDim: Int, bytes: Int?, memory: UInt64)

    public var description: String {
        switch self {
        case let .kvCacheTooLarge(cells, layers, kvDim, bytes, memory):
            let needed = bytes.map { "\($0) bytes" } ?? "more than 2^63 bytes"
            return "a KV cache of \(cells) cells (K and V of \(layers) layers × \(kvDim) floats) needs \(needed), "
                + "more than this machine's \(memory) bytes of memory; ask for fewer cache cells"
        }
    }
}
