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
