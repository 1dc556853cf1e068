import GGUF

/// A row-major F32 activation buffer on the device with room for `capacity` rows of `cols`.
public final class OpenCLTensor {
    public let capacity: Int
    public let cols: Int
    let buffer: Buffer

    init(buffer: Buffer, rows: Int, cols: Int) { self.buffer = buffer; capacity = rows; self.cols = cols }
}

/// A weight on the device. Matrices keep their GGUF bytes (quantized blocks as stored, rows
/// `rowBytes` apart); vectors (norms, biases, rope factors: one row) are decoded to F32 once at
/// upload, since every op that reads them wants floats and they are tiny.
public final class OpenCLWeight {
    public let name: String
    public let type: TensorType
    public let rows: Int
    public let cols: Int
    public let rowBytes: Int
    /// The F32 values of a vector weight, kept on the host too (rope reads its factors here).
    let hostValues: [Float]?
    let buffer: Buffer

    init(name: String, type: TensorType, rows: Int, cols: Int, rowBytes: Int, hostValues: [Float]?, buffer: Buffer) {
        self.name = name; self.type = type; self.rows = rows; self.cols = cols
        self.rowBytes = rowBytes; self.hostValues = hostValues; self.buffer = buffer
    }

    var isVector: Bool { hostValues != nil }
}

/// The OpenCL backend's KV cache: one K and one V buffer per layer, [cells, kvDim] F32, on the
/// device it was made for. Created by `OpenCLBackend.makeKVCache`, owned by the model.
public final class OpenCLKVCache {
    public let cells: Int
    public let kvDim: Int
    public var layers: Int { keys.count }
    /// Buffers belong to one context: a cache is only usable by a backend on the same device.
    let device: Device
    let keys: [Buffer], values: [Buffer]

    init(device: Device, keys: [Buffer], values: [Buffer], cells: Int, kvDim: Int) {
        self.device = device; self.keys = keys; self.values = values; self.cells = cells; self.kvDim = kvDim
    }
}
