import BuildInfo
import Foundation

/// Where a result came from: the "provenance" block of every result file LlamaCL writes
/// (best-of-n `run.json` and `summary.json`, `scaling-fit`'s `fit.json`, the reports'
/// `provenance.json`, `train --json` and, as one JSON string, a checkpoint's
/// `training.provenance`). A reviewer holding only the file can tell which source built the
/// binary (and whether it had uncommitted changes), how it was invoked, with which seeds,
/// threads, backend and settings, and which exact model and data files it read.
///
/// Every key is always written (null where it does not apply: no model ran, no thread count
/// matters), so readers and tests can rely on the block's shape:
///
///     engine_version     "0.1.0+3f2a9c1b0d4e", "-dirty" appended when built from uncommitted changes
///     source_revision    git revision of the build (12 hex digits) or "unknown"
///     source_tree_dirty  the build's tree had uncommitted changes to tracked files
///     command            the command line (`CommandLine.arguments`)
///     seeds              every seed the result depends on, by role ("run", "bootstrap", "training")
///     threads            CPU threads the work ran on (null on a device, or when not applicable)
///     backend, device    where the model ran (null when no model ran)
///     hyper_parameters   the settings that determine the result, by name
///     inputs             every model and data file read: role, path, sha256
///     host               the machine's name
///     created            when the block was made (ISO 8601, UTC)
public struct Provenance: Codable, Equatable, Sendable {
    public var engineVersion: String
    public var sourceRevision: String
    public var sourceTreeDirty: Bool
    public var command: [String]
    public var seeds: [String: UInt64]
    public var threads: Int?
    public var backend: String?
    public var device: String?
    public var hyperParameters: [String: ParameterValue]
    public var inputs: [InputFile]
    public var host: String?
    public var created: String

    /// The build's identity as given (for tests and for a caller recording another build's run).
    public init(release: String, revision: String, dirty: Bool, command: [String], seeds: [String: UInt64] = [:], threads: Int? = nil,
                backend: String? = nil, device: String? = nil, hyperParameters: [String: ParameterValue] = [:], inputs: [InputFile] = [],
                host: String? = nil, created: Date = Date()) {
        engineVersion = BuildInfo.version(release: release, revision: revision, dirty: dirty)
        sourceRevision = revision; sourceTreeDirty = dirty; self.command = command; self.seeds = seeds; self.threads = threads
        self.backend = backend; self.device = device; self.hyperParameters = hyperParameters; self.inputs = inputs; self.host = host
        self.created = Self.timestamp(created)
    }

    /// This build and this process: its command line, host and the time now.
    public static func current(seeds: [String: UInt64] = [:], threads: Int? = nil, backend: String? = nil, device: String? = nil,
                               hyperParameters: [String: ParameterValue] = [:], inputs: [InputFile] = []) -> Provenance {
        Provenance(release: BuildInfo.release, revision: BuildInfo.revision, dirty: BuildInfo.dirty, command: CommandLine.arguments,
                   seeds: seeds, threads: threads, backend: backend, device: device, hyperParameters: hyperParameters, inputs: inputs,
                   host: ProcessInfo.processInfo.hostName)
    }

    /// ISO 8601 in UTC, to the second ("2026-12-05T02:54:51Z").
    static func timestamp(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    enum CodingKeys: String, CodingKey {
        case engineVersion = "engine_version", sourceRevision = "source_revision", sourceTreeDirty = "source_tree_dirty"
        case command, seeds, threads, backend, device, hyperParameters = "hyper_parameters", inputs, host, created
    }

    /// Writes null for an absent value instead of leaving the key out (see the type's comment).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(engineVersion, forKey: .engineVersion)
        try c.encode(sourceRevision, forKey: .sourceRevision)
        try c.encode(sourceTreeDirty, forKey: .sourceTreeDirty)
        try c.encode(command, forKey: .command)
        try c.encode(seeds, forKey: .seeds)
        try c.encode(threads, forKey: .threads)
        try c.encode(backend, forKey: .backend)
        try c.encode(device, forKey: .device)
        try c.encode(hyperParameters, forKey: .hyperParameters)
        try c.encode(inputs, forKey: .inputs)
        try c.encode(host, forKey: .host)
        try c.encode(created, forKey: .created)
    }

    /// The block as a Foundation object, for files written with `JSONSerialization` (fit.json).
    public func jsonObject() throws -> Any {
        try JSONSerialization.jsonObject(with: try JSONEncoder().encode(self))
    }

    /// The block as one line of JSON, keys sorted (a checkpoint's `training.provenance`).
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Writes the block alone as `provenance.json` into `directory`: for outputs that cannot
    /// hold it themselves (CSV and Markdown tables, plots).
    public func write(into directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try ResultStore.writeAtomically(try encoder.encode(self), to: directory.appendingPathComponent(Self.file))
    }

    public static let file = "provenance.json"
}

/// One file a result was computed from, named by its content.
public struct InputFile: Codable, Equatable, Sendable {
    /// What the file was to the run: "model", "task", "runs", "summary", "machine", "bench", "data".
    public var role: String
    /// Where it was (a note only: the hash identifies it).
    public var path: String
    /// Lower-case hex SHA-256 of its content.
    public var sha256: String

    public init(role: String, path: String, sha256: String) {
        self.role = role; self.path = path; self.sha256 = sha256
    }

    /// Hashes the file at `path`. Models go through the hash cache (`FileHash.sha256(fileAt:)`:
    /// every shard reads the same multi-gigabyte file); small files are hashed afresh, because a
    /// file rewritten within the clock's resolution at the same size (a runs.csv) would fool
    /// the cache, and hashing them costs nothing.
    public init(role: String, path: String) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        let digest = size >= Self.cachedHashSize ? try FileHash.sha256(fileAt: path) : try FileHash.compute(fileAt: path)
        self.init(role: role, path: path, sha256: digest)
    }

    /// Files at least this large (64 MiB) are hashed through the cache.
    static let cachedHashSize = 64 << 20
}

/// A hyper-parameter's value: the JSON scalars and lists of them, so any caller can record its
/// settings without this module knowing their types.
public enum ParameterValue: Codable, Equatable, Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral {
    case string(String)
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case list([ParameterValue])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else { self = .list(try c.decode([ParameterValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .string(s): try c.encode(s)
        case let .integer(i): try c.encode(i)
        case let .number(d): try c.encode(d)
        case let .bool(b): try c.encode(b)
        case let .list(l): try c.encode(l)
        }
    }
}
