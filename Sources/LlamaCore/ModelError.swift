/// Why a model cannot be loaded or run. Messages name the key, tensor or limit involved.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unsupportedArchitecture(String)
    case missingMetadata(String)
    case invalidMetadata(key: String, reason: String)
    case missingTensor(String)
    case shapeMismatch(tensor: String, expected: [Int], found: [Int])
    case contextOverflow(needed: Int, context: Int)
    case cacheFull(needed: Int, free: Int)
    case invalidToken(id: Int, vocabSize: Int)
    /// A special token id in the metadata (`key`) that is not a token of the vocabulary.
    case specialTokenOutOfRange(key: String, id: Int, vocabSize: Int)
    case invalidBatch(String)
    case backend(String)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(a): return "unsupported architecture '\(a)' (supported: llama, qwen2)"
        case let .missingMetadata(k): return "missing metadata key '\(k)'"
        case let .invalidMetadata(k, r): return "metadata '\(k)' is invalid: \(r)"
        case let .missingTensor(n): return "missing tensor '\(n)'"
        case let .shapeMismatch(n, e, f): return "tensor '\(n)' has shape \(f), the config implies \(e)"
        case let .contextOverflow(needed, ctx): return "prompt and generation need \(needed) positions but the context is \(ctx) tokens"
        case let .cacheFull(needed, free): return "KV cache full: \(needed) cells needed, \(free) free"
        case let .invalidToken(id, n): return "token id \(id) is outside the vocabulary (0..<\(n))"
        case let .specialTokenOutOfRange(key, id, n): return "metadata '\(key)' is \(id), outside the vocabulary of \(n) tokens (0..<\(n))"
        case let .invalidBatch(r): return "invalid batch: \(r)"
        case let .backend(m): return m
        }
    }
}
