/// ggml tensor types that LlamaCL reads, with their block layouts (elements per block, bytes per block).
public enum TensorType: UInt32, CaseIterable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, bf16 = 30

    /// Elements per quantization block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return 256
        }
    }

    /// Bytes per block, as the ggml block structs lay them out.
    public var bytesPerBlock: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 2 + 16            // d, 32 × 4-bit
        case .q4_1: return 2 + 2 + 16        // d, m, 32 × 4-bit
        case .q5_0: return 2 + 4 + 16        // d, high bits, 32 × low 4 bits
        case .q5_1: return 2 + 2 + 4 + 16    // d, m, high bits, low bits
        case .q8_0: return 2 + 32            // d, 32 × int8
        case .q2_K: return 16 + 64 + 2 + 2    // 4-bit scale|min pairs, 256 × 2-bit, d, dmin
        case .q3_K: return 32 + 64 + 12 + 2   // high bits, 256 × low 2 bits, 6-bit scales, d
        case .q4_K: return 2 + 2 + 12 + 128  // d, dmin, 6-bit scales/mins, 256 × 4-bit
        case .q5_K: return 2 + 2 + 12 + 32 + 128
        case .q6_K: return 128 + 64 + 16 + 2 // low 4 bits, high 2 bits, int8 scales, d
        }
    }

    public var isQuantized: Bool { blockSize > 1 }

    /// Bytes for a row of `elements` values; nil when elements is not a whole number of blocks.
    public func rowBytes(_ elements: Int) -> Int? {
        guard elements % blockSize == 0 else { return nil }
        return elements / blockSize * bytesPerBlock
    }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        }
    }

    public init?(name: String) {
        guard let t = TensorType.allCases.first(where: { $0.description.lowercased() == name.lowercased() }) else { return nil }
        self = t
    }

    /// Names of ggml types we know of but do not support, so errors can name them.
    static func knownName(_ id: UInt32) -> String? {
        let names: [UInt32: String] = [
            4: "Q4_2", 5: "Q4_3", 9: "Q8_1", 15: "Q8_K", 16: "IQ2_XXS",
            17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S",
            23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M",
            34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
        ]
        return names[id]
    }
}
