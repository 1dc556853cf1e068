import Foundation

/// The model a run used. The hash identifies it; the path is only a note of where it was.
public struct ModelIdentity: Codable, Equatable, Sendable {
    public var path: String
    /// Lower-case hex SHA-256 of the file (`FileHash.sha256(fileAt:)`).
    public var sha256: String
    /// Dimensions for FLOPs accounting, when known.
    public var shape: ModelShape?

    public init(path: String, sha256: String, shape: ModelShape? = nil) {
        self.path = path
        self.sha256 = sha256
        self.shape = shape
    }
}

/// Shard I of K (0-based): the problems whose id % K == I. Lets one run be split across
/// machines and merged afterwards.
public struct ShardSpec: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        let text = "\(index)/\(count)"
        guard count >= 1 else { throw ExperimentError.invalidShard(text: text, reason: "the shard count must be at least 1") }
        guard index >= 0, index < count else {
            throw ExperimentError.invalidShard(text: text, reason: "the index must be in 0..<\(count)")
        }
        self.index = index
        self.count = count
    }

    /// Parses "I/K", e.g. "0/4".
    public init(parsing text: String) throws {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let k = Int(parts[1]) else {
            throw ExperimentError.invalidShard(text: text, reason: "expected INDEX/COUNT, e.g. 0/4")
        }
        guard k >= 1 else { throw ExperimentError.invalidShard(text: text, reason: "the shard count must be at least 1") }
        guard i >= 0, i < k else { throw ExperimentError.invalidShard(text: text, reason: "the index must be in 0..<\(k)") }
        try self.init(index: i, count: k)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(index: try c.decode(Int.self, forKey: .index), count: try c.decode(Int.self, forKey: .count))
    }

    public func contains(problem id: Int) -> Bool {
        // Non-negative remainder, in case an id is ever negative.
        ((id % count) + count) % count == index
    }

    public func select(_ problems: [Problem]) -> [Problem] { problems.filter { contains(problem: $0.id) } }

    public var description: String { "\(index)/\(count)" }
}

/// Everything that determines a run's results; stored as `run.json`. A run directory can only
/// be resumed with the same parameters.
public struct RunParameters: Codable, Equatable, Sendable {
    /// The task's `name`, which includes its settings.
    public var task: String
    /// Number of problems in the whole run (before sharding).
    public var problems: Int
    /// Samples per problem.
    public var n: Int
    /// The k values metrics are reported at.
    public var ks: [Int]
    public var maxTokens: Int
    public var seed: UInt64
    /// Sampler settings by name (temperature, top_k, top_p, min_p, repeat_penalty, ...). A
    /// dictionary so this module need not know the sampler's type.
    public var sampler: [String: Double]
    public var model: ModelIdentity
    public var engineVersion: String
    public var backend: String
    public var device: String
    /// nil for an unsharded (or merged) run.
    public var shard: ShardSpec?
    /// Which build ran it, how it was invoked, on how many threads, with which files (the
    /// invocation that created the run directory; a merge records its own). May differ between
    /// shards and resumptions (not compared). nil in run.json files written before it existed.
    public var provenance: Provenance?

    public init(task: String, problems: Int, n: Int, ks: [Int], maxTokens: Int, seed: UInt64, sampler: [String: Double],
                model: ModelIdentity, engineVersion: String, backend: String, device: String, shard: ShardSpec? = nil,
                provenance: Provenance? = nil) {
        self.task = task
        self.problems = problems
        self.n = n
        self.ks = ks
        self.maxTokens = maxTokens
        self.seed = seed
        self.sampler = sampler
        self.model = model
        self.engineVersion = engineVersion
        self.backend = backend
        self.device = device
        self.shard = shard
        self.provenance = provenance
    }

    enum CodingKeys: String, CodingKey {
        case task, problems, n, ks, maxTokens = "max_tokens", seed, sampler, model
        case engineVersion = "engine_version", backend, device, shard, provenance
    }

    /// Names of the fields that differ from `other`: what must agree across the shards of a run
    /// (task, sampler, seed, model hash, engine version, backend, device). The model's path (a
    /// moved file with the same hash is the same model) and the provenance (host, threads,
    /// command, time) may differ.
    public func differences(from other: RunParameters, ignoringShard: Bool = false) -> [String] {
        var fields: [String] = []
        if task != other.task { fields.append("task") }
        if problems != other.problems { fields.append("problems") }
        if n != other.n { fields.append("n") }
        if ks != other.ks { fields.append("ks") }
        if maxTokens != other.maxTokens { fields.append("max_tokens") }
        if seed != other.seed { fields.append("seed") }
        if sampler.filter({ $0.key != Self.retiredSamplerKey }) != other.sampler.filter({ $0.key != Self.retiredSamplerKey }) {
            fields.append("sampler")
        }
        if model.sha256 != other.model.sha256 { fields.append("model.sha256") }
        if model.shape != other.model.shape { fields.append("model.shape") }
        if engineVersion != other.engineVersion { fields.append("engine_version") }
        if backend != other.backend { fields.append("backend") }
        if device != other.device { fields.append("device") }
        if !ignoringShard, shard != other.shard { fields.append("shard") }
        return fields
    }

    /// A constant `"batch_invariant": 1` older run.json files wrote among the sampler settings; it
    /// changed no token (the invariance is now measured, `Summary.batchInvariance`), so those runs
    /// still resume and merge.
    static let retiredSamplerKey = "batch_invariant"

    /// Checks the run's own settings before any work starts.
    public func validate() throws {
        func bad(_ reason: String) -> ExperimentError { .invalidTaskParameter(task: task, reason: reason) }
        guard problems >= 1 else { throw bad("the run needs at least one problem, got \(problems)") }
        guard n >= 1 else { throw bad("n must be at least 1, got \(n)") }
        guard !ks.isEmpty else { throw bad("ks must not be empty") }
        if let k = ks.first(where: { $0 < 1 || $0 > n }) { throw bad("every k must be in 1...n (\(n)), got \(k)") }
        guard maxTokens >= 1 else { throw bad("max tokens must be at least 1, got \(maxTokens)") }
    }

    /// Powers of two up to n, plus n itself: the usual x-axis of a coverage curve.
    public static func defaultKs(n: Int) -> [Int] {
        guard n >= 1 else { return [] }
        var ks: [Int] = []
        var k = 1
        while k < n { ks.append(k); k *= 2 }
        ks.append(n)
        return ks
    }
}
