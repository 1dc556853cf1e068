import GGUF

/// A weight as it lies in the GGUF map: ggml order, `cols` (dims[0]) contiguous, `rows` rows.
public struct WeightSource {
    public let name: String
    public let type: TensorType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    /// Keeps the memory map alive as long as a backend holds on to this weight.
    public let owner: AnyObject?
    public init(name: String, type: TensorType, rows: Int, cols: Int, data: UnsafeRawPointer, owner: AnyObject?) {
        self.name = name; self.type = type; self.rows = rows; self.cols = cols; self.data = data; self.owner = owner
    }
}

/// RoPE parameters shared by every layer.
public struct RopeParams: Sendable, Equatable {
    public var base: Float
    public var dims: Int          // rotated dimensions per head
    public var style: RopeStyle
    public var positionScale: Float
    public init(base: Float, dims: Int, style: RopeStyle, positionScale: Float = 1) {
        self.base = base; self.dims = dims; self.style = style; self.positionScale = positionScale
    }
}

/// The narrow seam between the forward pass and a device. Activations are row-major
/// [rows, cols] F32 tensors with a fixed capacity; every op takes the live row count.
/// Shapes in comments: T tokens in the batch, D width, O outputs, H heads, Dh head size.
public protocol Backend: AnyObject {
    associatedtype Tensor
    associatedtype Weight

    var name: String { get }
    /// Human-readable device description (for provenance).
    var deviceName: String { get }

    func upload(_ source: WeightSource) throws -> Weight
    func makeTensor(rows: Int, cols: Int) throws -> Tensor
    /// KV storage for `layers` layers of `cells` cells, each `kvDim` wide (K and V).
    func makeKVStorage(layers: Int, cells: Int, kvDim: Int) throws

    /// out[t] = dequantized row tokens[t] of `table`          (table [V, D]) -> out [T, D]
    func embed(_ out: Tensor, table: Weight, plan: BatchPlan) throws
    /// out[t] = x[t] / rms(x[t]) · weight                       x [T, D] -> out [T, D]
    func rmsNorm(_ out: Tensor, _ x: Tensor, weight: Weight, eps: Float, rows: Int) throws
    /// out[t] = W · x[t] (+ bias)                               W [O, D], x [T, D] -> out [T, O]
    func matmul(_ out: Tensor, _ x: Tensor, _ w: Weight, bias: Weight?, rows: Int) throws
    /// Rotates each head of x in place at the plan's positions.  x [T, H·Dh]
    func rope(_ x: Tensor, heads: Int, headDim: Int, params: RopeParams, freqFactors: Weight?, plan: BatchPlan) throws
    /// Writes k[t], v[t] into the plan's cells of `layer`.       k, v [T, kvDim]
    func storeKV(layer: Int, k: Tensor, v: Tensor, plan: BatchPlan) throws
    /// Causal attention of q[t] over the cells the plan lets row t see.  q [T, H·Dh] -> out [T, H·Dh]
    func attention(_ out: Tensor, q: Tensor, layer: Int, heads: Int, kvHeads: Int, headDim: Int, plan: BatchPlan) throws
    /// out = silu(gate) · up                                    [T, F]
    func swiglu(_ out: Tensor, gate: Tensor, up: Tensor, rows: Int) throws
    /// x += y                                                   [T, D]
    func add(_ x: Tensor, _ y: Tensor, rows: Int) throws
    /// out[i] = x[rows[i]]
    func gatherRows(_ out: Tensor, _ x: Tensor, rows: [Int]) throws
    /// The first `rows` rows as host floats.
    func read(_ t: Tensor, rows: Int) throws -> [Float]
}

/// Everything the ops need to know about one batch, computed once per forward on the host:
/// the tokens, their positions, where their K/V go, and which cells each row may attend to
/// (a CSR list: row t sees cells visible[offsets[t]..<offsets[t+1]], all with position ≤ its own).
public final class BatchPlan {
    public let tokens: [Int32]
    public let positions: [Int32]
    public let cells: [Int32]
    public let visibleOffsets: [Int32]
    public let visibleCells: [Int32]
    public var rows: Int { tokens.count }

    public init(tokens: [Int32], positions: [Int32], cells: [Int32], visibleOffsets: [Int32], visibleCells: [Int32]) {
        self.tokens = tokens; self.positions = positions; self.cells = cells
        self.visibleOffsets = visibleOffsets; self.visibleCells = visibleCells
    }
}
