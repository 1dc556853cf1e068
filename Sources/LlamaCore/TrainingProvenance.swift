import GGUF

// TEMPORARY shim until the schema branch lands (replaced on merge).
public struct TrainingProvenance: Equatable, Sendable {
    public var data: String
    public var items: Int
    public var seed: UInt64
    public init?(gguf: GGUFFile) throws {
        guard let data = try gguf.string("training.data") else { return nil }
        guard let items = try gguf.int("training.items") else { throw ModelError.missingMetadata("training.items") }
        guard let seed = try gguf.int("training.seed") else { throw ModelError.missingMetadata("training.seed") }
        self.data = data; self.items = items; self.seed = UInt64(seed)
    }
}
