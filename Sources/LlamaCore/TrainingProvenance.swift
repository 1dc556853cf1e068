import GGUF

/// What a `llamacl train` run was, recorded in its checkpoint under `training.*` (loaders ignore
/// these keys). With `data`, `seed` and `items`, best-of-n can rebuild the training problems and
/// keep them out of its evaluation. It lives in LlamaCore, beside the `llama.*` schema, so that
/// readers that do not depend on Training (Experiments, the CLI) share the one definition.
///
/// Keys and GGUF types, in the order written:
///
///     training.data            string    task name (e.g. `arithmetic(digits=3,ops=+)`) or text file name
///     training.steps           uint32    optimizer steps taken (fewer than planned when stopped early)
///     training.tokens          uint64    training tokens seen
///     training.seed            uint64    initial weights, data order, problems
///     training.items           uint64    distinct training problems / items (absent in early checkpoints)
///     training.batch           uint32    sequences per batch
///     training.learning_rate   float32   peak learning rate
///     training.loss_scope      string    which predictions counted (`completion` or `all`)
///     training.engine          string    e.g. `llamacl 0.1.0`
///     training.final_loss      float32   last step's loss (absent if no step ran)
///     training.held_out_loss   float32   held-out loss (absent without held-out data)
///     training.provenance      string    the run's provenance block as one line of JSON (Experiments'
///                                        `Provenance`: source revision and dirty flag, command line,
///                                        seeds, threads, every hyper-parameter, data files' SHA-256;
///                                        absent in checkpoints written before it existed)
///
/// The floating-point fields are stored as float32, so a value read back is the float32
/// rounding of the one written.
public struct TrainingProvenance: Equatable, Sendable {
    public var data: String
    public var steps: Int
    public var tokens: Int
    public var seed: UInt64
    /// nil in checkpoints written before llamacl recorded it.
    public var items: Int?
    public var batch: Int
    public var learningRate: Double
    public var lossScope: String
    public var engine: String
    public var finalLoss: Double?
    public var heldOutLoss: Double?
    /// JSON text of the run's provenance block; kept as text here because its type lives in
    /// Experiments, above this module.
    public var provenance: String?

    public init(data: String, steps: Int, tokens: Int, seed: UInt64, items: Int?, batch: Int, learningRate: Double,
                lossScope: String, engine: String, finalLoss: Double? = nil, heldOutLoss: Double? = nil, provenance: String? = nil) {
        self.data = data; self.steps = steps; self.tokens = tokens; self.seed = seed; self.items = items
        self.batch = batch; self.learningRate = learningRate; self.lossScope = lossScope; self.engine = engine
        self.finalLoss = finalLoss; self.heldOutLoss = heldOutLoss; self.provenance = provenance
    }

    /// The key whose presence marks a llamacl-trained checkpoint.
    public static let marker = "training.data"

    /// The `training.*` metadata, in the order and with the types listed above.
    public var metadata: [(String, GGUFValue)] {
        var m: [(String, GGUFValue)] = [
            ("training.data", .string(data)),
            ("training.steps", .uint32(UInt32(steps))),
            ("training.tokens", .uint64(UInt64(tokens))),
            ("training.seed", .uint64(seed)),
        ]
        if let items { m.append(("training.items", .uint64(UInt64(items)))) }
        m += [
            ("training.batch", .uint32(UInt32(batch))),
            ("training.learning_rate", .float32(Float(learningRate))),
            ("training.loss_scope", .string(lossScope)),
            ("training.engine", .string(engine)),
        ]
        if let finalLoss { m.append(("training.final_loss", .float32(Float(finalLoss)))) }
        if let heldOutLoss { m.append(("training.held_out_loss", .float32(Float(heldOutLoss)))) }
        if let provenance { m.append(("training.provenance", .string(provenance))) }
        return m
    }

    /// Reads a checkpoint's provenance: nil when the file has no `training.data` (not trained by
    /// llamacl). Throws `ModelError.missingMetadata` naming a required key that is absent, and
    /// `ModelError.invalidMetadata` naming a key of the wrong type or out of range. Integers may
    /// be stored in any GGUF integer type; numbers in any numeric type (never bool).
    public init?(gguf: GGUFFile) throws {
        guard gguf.metadata[Self.marker] != nil else { return nil }
        func value(_ key: String) -> GGUFValue? { gguf.metadata[key] }
        func invalid(_ key: String, _ expected: String, _ v: GGUFValue) -> ModelError {
            .invalidMetadata(key: key, reason: "expected \(expected), found \(v.type) \(v)")
        }
        func required<T>(_ key: String, _ read: (String) throws -> T?) throws -> T {
            guard let v = try read(key) else { throw ModelError.missingMetadata(key) }
            return v
        }
        func string(_ key: String) throws -> String? {
            guard let v = value(key) else { return nil }
            guard case let .string(s) = v else { throw invalid(key, "a string", v) }
            return s
        }
        func count(_ key: String) throws -> Int? {
            guard let v = value(key) else { return nil }
            guard v.type != .bool, let i = v.intValue else { throw invalid(key, "an integer", v) }
            guard i >= 0 else { throw ModelError.invalidMetadata(key: key, reason: "\(i) is negative") }
            return i
        }
        func unsigned(_ key: String) throws -> UInt64? {
            guard let v = value(key) else { return nil }
            if case let .uint64(u) = v { return u }
            return try count(key).map(UInt64.init)
        }
        func number(_ key: String) throws -> Double? {
            guard let v = value(key) else { return nil }
            guard v.type != .bool, let d = v.doubleValue else { throw invalid(key, "a number", v) }
            return d
        }
        self.init(data: try required("training.data", string),
                  steps: try required("training.steps", count),
                  tokens: try required("training.tokens", count),
                  seed: try required("training.seed", unsigned),
                  items: try count("training.items"),
                  batch: try required("training.batch", count),
                  learningRate: try required("training.learning_rate", number),
                  lossScope: try required("training.loss_scope", string),
                  engine: try required("training.engine", string),
                  finalLoss: try number("training.final_loss"),
                  heldOutLoss: try number("training.held_out_loss"),
                  provenance: try string("training.provenance"))
    }
}
