import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A run directory:
///
///     run.json        RunParameters (written once, checked on resume)
///     samples.jsonl   one Sample per line, appended and fsync'd one line at a time
///     summary.json    Summary, replaced atomically (temp file + rename)
///
/// A run killed mid-write loses at most the sample in flight: on reopening, a trailing partial
/// line is cut off and the remaining samples are reported as done.
public final class ResultStore {
    public static let parametersFile = "run.json"
    public static let samplesFile = "samples.jsonl"
    public static let summaryFile = "summary.json"

    public let directory: URL
    public let parameters: RunParameters
    /// Samples already on disk when the store was opened, plus those appended since.
    public private(set) var samples: [Sample]
    /// Bytes of a partial last line removed when the store was opened (0 if none).
    public let truncatedBytes: Int
    private var descriptor: Int32

    /// The (problem, sample) pairs stored so far: a resumed run skips these.
    public var completed: Set<SampleKey> { completedKeys }
    private var completedKeys: Set<SampleKey>

    public func isDone(problem: Int, sample: Int) -> Bool { completedKeys.contains(SampleKey(problem: problem, sample: sample)) }

    /// For each problem, the sample indices in 0..<n still to generate (problems with nothing
    /// left are omitted), in the order given.
    public func remaining(problems: [Int], n: Int) -> [(problem: Int, samples: [Int])] {
        problems.compactMap { p in
            let todo = (0..<max(0, n)).filter { !completedKeys.contains(SampleKey(problem: p, sample: $0)) }
            return todo.isEmpty ? nil : (p, todo)
        }
    }

    var samplesPath: String { directory.appendingPathComponent(Self.samplesFile).path }

    /// Opens `directory` for a run with `parameters`: creates it (and run.json) if new, else
    /// checks that run.json holds the same parameters and loads the samples written so far.
    public init(directory: URL, parameters: RunParameters) throws {
        self.directory = directory
        self.parameters = parameters
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ExperimentError.ioFailure(path: directory.path, reason: "cannot create the directory")
        }
        let runFile = directory.appendingPathComponent(Self.parametersFile)
        if fm.fileExists(atPath: runFile.path) {
            let stored = try Self.readParameters(in: directory)
            let differing = stored.differences(from: parameters)
            guard differing.isEmpty else { throw ExperimentError.parametersMismatch(directory: directory.path, fields: differing) }
        } else {
            try Self.writeAtomically(try Self.encoder().encode(parameters), to: runFile)
        }
        let loaded = try Self.loadSamples(path: directory.appendingPathComponent(Self.samplesFile).path, truncate: true)
        samples = loaded.samples
        truncatedBytes = loaded.truncatedBytes
        completedKeys = Set(loaded.samples.map(\.key))
        descriptor = open(directory.appendingPathComponent(Self.samplesFile).path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard descriptor >= 0 else {
            throw ExperimentError.ioFailure(path: directory.appendingPathComponent(Self.samplesFile).path, reason: String(cString: strerror(errno)))
        }
    }

    deinit { close(descriptor) }

    /// Appends one sample as one line, written whole and fsync'd before returning.
    public func append(_ sample: Sample) throws {
        guard !completedKeys.contains(sample.key) else {
            throw ExperimentError.corruptResults(path: samplesPath, line: samples.count + 1,
                                                 reason: "sample \(sample.index) of problem \(sample.problem) is already stored")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(sample)
        line.append(0x0A)
        try line.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ExperimentError.ioFailure(path: samplesPath, reason: String(cString: strerror(errno)))
                }
                offset += written
            }
        }
        guard fsync(descriptor) == 0 else { throw ExperimentError.ioFailure(path: samplesPath, reason: "fsync failed") }
        samples.append(sample)
        completedKeys.insert(sample.key)
    }

    /// Writes summary.json atomically and returns it. Its provenance block is that of the
    /// parameters the store was opened with (this invocation's).
    @discardableResult
    public func writeSummary(options: SummaryOptions = SummaryOptions(), partial: [String]? = nil,
                             batchInvariance: BatchInvarianceCheck? = nil) throws -> Summary {
        var summary = try Summary.compute(samples: samples, parameters: parameters, options: options)
        summary.partial = partial
        summary.batchInvariance = batchInvariance
        try Self.writeAtomically(try summary.jsonData(), to: directory.appendingPathComponent(Self.summaryFile))
        return summary
    }

    // MARK: - Reading

    public static func readParameters(in directory: URL) throws -> RunParameters {
        try readJSON(directory.appendingPathComponent(parametersFile)) { _ in "not a valid run parameters file" }
    }

    public static func readSummary(in directory: URL) throws -> Summary {
        try readJSON(directory.appendingPathComponent(summaryFile)) { "not a best-of-n summary: \($0)" }
    }

    /// One JSON file of a run: a missing file and one that does not decode get different errors
    /// (`reason` words the second from the decoding error).
    static func readJSON<T: Decodable>(_ url: URL, reason: (Error) -> String) throws -> T {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ExperimentError.fileUnreadable(path: url.path, reason: "no such file")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw ExperimentError.corruptResults(path: url.path, line: 1, reason: reason(error))
        }
    }

    /// Reads samples.jsonl (a missing file is an empty run). A last line without its newline
    /// is a write cut short and is ignored (and, with `truncate`, cut off the file); any other
    /// bad line is corruption and an error.
    public static func loadSamples(path: String, truncate: Bool = false) throws -> (samples: [Sample], truncatedBytes: Int) {
        guard FileManager.default.fileExists(atPath: path) else { return ([], 0) }
        guard let data = FileManager.default.contents(atPath: path) else { throw ExperimentError.fileUnreadable(path: path, reason: "unreadable") }
        let completeLength = (data.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
        let partial = data.count - completeLength
        if partial > 0, truncate {
            guard truncateFile(path, to: completeLength) else {
                throw ExperimentError.ioFailure(path: path, reason: "cannot truncate a partial last line")
            }
        }
        var samples: [Sample] = []
        var seen = Set<SampleKey>()
        let decoder = JSONDecoder()
        var lineNumber = 0
        for line in data.prefix(completeLength).split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
            let sample: Sample
            do {
                sample = try decoder.decode(Sample.self, from: Data(line))
            } catch {
                throw ExperimentError.corruptResults(path: path, line: lineNumber, reason: "not a valid sample")
            }
            guard seen.insert(sample.key).inserted else {
                throw ExperimentError.corruptResults(path: path, line: lineNumber, reason: "duplicate sample \(sample.index) of problem \(sample.problem)")
            }
            samples.append(sample)
        }
        return (samples, partial)
    }

    /// The summary of a finished run directory recomputed from its run.json and samples.jsonl
    /// with today's statistics (nothing is written); marked partial when samples are missing.
    public static func recomputeSummary(in directory: URL, options: SummaryOptions = SummaryOptions()) throws -> Summary {
        var parameters = try readParameters(in: directory)
        let samplesPath = directory.appendingPathComponent(samplesFile).path
        let samples = try loadSamples(path: samplesPath).samples
        let missing = parameters.shard == nil ? incompleteness(parameters: parameters, shardsSeen: [], samples: samples) : []
        // The recomputation's own block, as for a merge (the run's stays in its run.json, and runs
        // written before the block have none): this build's statistics over these samples.
        let model = InputFile(role: "model", path: parameters.model.path, sha256: parameters.model.sha256)
        parameters.provenance = .current(seeds: ["run": parameters.seed], backend: parameters.backend, device: parameters.device,
                                         hyperParameters: ["recomputed_from": .string("samples")],
                                         inputs: [model, try InputFile(role: "samples", path: samplesPath),
                                                  try InputFile(role: "run", path: directory.appendingPathComponent(parametersFile).path)])
        var summary = try Summary.compute(samples: samples.sorted { $0.key < $1.key }, parameters: parameters, options: options)
        summary.partial = missing.isEmpty ? nil : missing
        return summary
    }

    // MARK: - Merging shards

    /// Combines shard directories into `destination` (run.json without a shard, samples sorted
    /// by (problem, sample), summary.json) and returns the summary. The shards must share all
    /// parameters except the shard, come from distinct shards of one split, and hold disjoint
    /// problems. The run must be complete — every shard of the split given, every problem of the
    /// run with all n samples — unless `allowPartial`, which merges what there is and marks the
    /// summary `partial` (a run with a failed shard must never look finished).
    @discardableResult
    public static func merge(shardDirectories: [URL], into destination: URL, options: SummaryOptions = SummaryOptions(),
                             allowPartial: Bool = false) throws -> Summary {
        guard let firstDirectory = shardDirectories.first else { throw ExperimentError.mergeConflict("no shard directories given") }
        var base = try readParameters(in: firstDirectory)
        var shardsSeen = Set<ShardSpec>()
        var owner: [Int: String] = [:]
        var all: [Sample] = []
        var inputs: [InputFile] = []
        var invariance: BatchInvarianceCheck?
        for directory in shardDirectories {
            let p = try readParameters(in: directory)
            let differing = p.differences(from: base, ignoringShard: true)
            guard differing.isEmpty else {
                throw ExperimentError.mergeConflict("\(directory.path) differs from \(firstDirectory.path) in \(differing.joined(separator: ", "))")
            }
            guard (p.shard == nil) == (base.shard == nil) else {
                throw ExperimentError.mergeConflict("\(directory.path) and \(firstDirectory.path) are not both shards")
            }
            if let shard = p.shard {
                guard shard.count == base.shard?.count else {
                    throw ExperimentError.mergeConflict("\(directory.path) is shard \(shard) but \(firstDirectory.path) is not from a \(shard.count)-way split")
                }
                guard shardsSeen.insert(shard).inserted else { throw ExperimentError.mergeConflict("shard \(shard) given twice") }
            }
            let samplesPath = directory.appendingPathComponent(samplesFile).path
            let loaded = try loadSamples(path: samplesPath)
            if FileManager.default.fileExists(atPath: samplesPath) { inputs.append(try InputFile(role: "samples", path: samplesPath)) }
            // Each shard measured its own samples; a shard without a summary measured nothing.
            if let check = try? readSummary(in: directory).batchInvariance { invariance = invariance.map { $0 + check } ?? check }
            if let shard = p.shard, let stray = loaded.samples.first(where: { !shard.contains(problem: $0.problem) }) {
                throw ExperimentError.mergeConflict("\(directory.path) is shard \(shard) but holds problem \(stray.problem)")
            }
            for problem in Set(loaded.samples.map(\.problem)) {
                if let other = owner[problem] {
                    throw ExperimentError.mergeConflict("problem \(problem) appears in both \(other) and \(directory.path)")
                }
                owner[problem] = directory.path
            }
            all += loaded.samples
        }
        let missing = incompleteness(parameters: base, shardsSeen: shardsSeen, samples: all)
        if !missing.isEmpty && !allowPartial {
            throw ExperimentError.incompleteRun(missing.joined(separator: "; "))
        }
        base.shard = nil
        // The merge's own block (each shard's stays in its run.json): the shards' backend and
        // model, which all agree, and the samples it read. Threads are the shards' business.
        let model = InputFile(role: "model", path: base.model.path, sha256: base.model.sha256)
        base.provenance = .current(seeds: ["run": base.seed], backend: base.backend, device: base.device,
                                   hyperParameters: ["shards": .integer(shardDirectories.count), "allow_partial": .bool(allowPartial)],
                                   inputs: [model] + inputs)
        all.sort { $0.key < $1.key }
        let fm = FileManager.default
        if fm.fileExists(atPath: destination.appendingPathComponent(samplesFile).path) {
            throw ExperimentError.mergeConflict("\(destination.path) already holds samples")
        }
        let store = try ResultStore(directory: destination, parameters: base)
        for sample in all { try store.append(sample) }
        return try store.writeSummary(options: options, partial: missing.isEmpty ? nil : missing, batchInvariance: invariance)
    }

    /// What a merged run lacks: shards of the split not given, problems short of the run's
    /// count, problems with fewer than n samples. Empty when the run is complete.
    static func incompleteness(parameters p: RunParameters, shardsSeen: Set<ShardSpec>, samples: [Sample]) -> [String] {
        var missing: [String] = []
        if let count = p.shard?.count {
            let absent = (0..<count).filter { i in !shardsSeen.contains { $0.index == i } }
            if !absent.isEmpty { missing.append("shard\(absent.count == 1 ? "" : "s") \(absent.map { "\($0)/\(count)" }.joined(separator: ", ")) not given") }
        }
        let perProblem = Dictionary(grouping: samples, by: \.problem).mapValues(\.count)
        if perProblem.count < p.problems { missing.append("\(p.problems - perProblem.count) of \(p.problems) problems have no samples") }
        let short = perProblem.filter { $0.value < p.n }.keys.sorted()
        if !short.isEmpty {
            missing.append("\(short.count) problem\(short.count == 1 ? " has" : "s have") fewer than n = \(p.n) samples (first: problem \(short[0]))")
        }
        return missing
    }

    // MARK: - Helpers

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }

    /// Write to a temporary file in the same directory, then rename over the target: readers
    /// see the old file or the new one, never half of one.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw ExperimentError.ioFailure(path: url.path, reason: String(cString: strerror(errno)))
            }
        } catch let error as ExperimentError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw ExperimentError.ioFailure(path: url.path, reason: "cannot write")
        }
    }
}

/// POSIX truncate(2): cuts the file to `length` bytes.
private func truncateFile(_ path: String, to length: Int) -> Bool {
    truncate(path, off_t(length)) == 0
}
