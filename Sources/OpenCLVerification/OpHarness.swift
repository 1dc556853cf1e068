import GGUF
import LlamaCore

/// Host data that a `WeightSource` points into, kept alive as the source's owner.
final class HostBytes {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func source(name: String, type: TensorType, rows: Int, cols: Int) -> WeightSource {
        bytes.withUnsafeBytes { WeightSource(name: name, type: type, rows: rows, cols: cols, data: $0.baseAddress!, owner: self) }
    }
}

/// Runs single ops on any `Backend` through the protocol alone, so the CPU reference and
/// OpenCL execute exactly the same calls. Inputs reach a tensor through `embed` of an F32
/// table holding them (an exact copy on every backend).
struct OpHarness<B: Backend> {
    let backend: B

    /// An F32 weight from host floats (`rows` rows of `cols`).
    func weight(_ values: [Float], rows: Int, cols: Int, name: String = "input") throws -> B.Weight {
        try backend.upload(HostBytes(Quantize.run(.f32, values)).source(name: name, type: .f32, rows: rows, cols: cols))
    }

    /// A weight of `type` from floats: quantized by the reference quantizer.
    func weight(_ values: [Float], type: TensorType, rows: Int, cols: Int, name: String) throws -> B.Weight {
        try backend.upload(HostBytes(Quantize.run(type, values)).source(name: name, type: type, rows: rows, cols: cols))
    }

    /// A tensor of `capacity` rows holding `values` in its first rows.
    func tensor(_ values: [Float], rows: Int, cols: Int, capacity: Int? = nil) throws -> B.Tensor {
        let t = try backend.makeTensor(rows: capacity ?? rows, cols: cols)
        guard rows > 0 else { return t }
        // Two rows at least, so the table is a matrix on every backend (vectors may be stored differently).
        let tableRows = max(rows, 2)
        let table = try weight(values + [Float](repeating: 0, count: (tableRows - rows) * cols), rows: tableRows, cols: cols)
        try backend.embed(t, table: table, plan: Plans.sequential(rows: rows))
        return t
    }
}

/// BatchPlans for op checks, built by hand: the cells and visible lists are explicit.
enum Plans {
    /// Rows 0..<rows at positions 0..<rows in cells 0..<rows, each seeing itself and those before.
    static func sequential(rows: Int, tokens: [Int32]? = nil, positions: [Int32]? = nil) -> BatchPlan {
        causal(tokens: tokens ?? (0..<Int32(rows)).map { $0 }, positions: positions ?? (0..<Int32(rows)).map { $0 },
               cells: (0..<Int32(rows)).map { $0 }, visible: (0..<rows).map { Array(0...Int32($0)) })
    }

    static func causal(tokens: [Int32], positions: [Int32], cells: [Int32], visible: [[Int32]]) -> BatchPlan {
        var offsets: [Int32] = [0]
        for v in visible { offsets.append(offsets.last! + Int32(v.count)) }
        return BatchPlan(tokens: tokens, positions: positions, cells: cells, visibleOffsets: offsets, visibleCells: visible.flatMap { $0 })
    }
}
