import LlamaCore
import XCTest
import TestSupport
@testable import Experiments

func runParameters(problems: Int = 10, n: Int = 8, seed: UInt64 = 1234, shard: ShardSpec? = nil) -> RunParameters {
    RunParameters(task: "arithmetic(digits=3,ops=+-*)", problems: problems, n: n, ks: RunParameters.defaultKs(n: n), maxTokens: 32,
                  seed: seed, sampler: ["temperature": 0.8, "top_p": 0.95],
                  model: ModelIdentity(path: "/models/tiny.gguf", sha256: String(repeating: "ab", count: 32),
                                       shape: ModelShape(parameters: 1_000_000, layers: 4, attentionWidth: 64)),
                  engineVersion: "test", backend: "cpu", device: "test-cpu", shard: shard)
}

/// Random but reproducible samples: answers from a small set so votes are interesting.
func syntheticSamples(problems: Int, n: Int, seed: UInt64 = 5) -> [Sample] {
    var rng = SeededRandom(seed: seed)
    var out: [Sample] = []
    for p in 0..<problems {
        let difficulty = rng.nextDouble()
        for i in 0..<n {
            let hasAnswer = rng.nextDouble() < 0.9
            let right = rng.nextDouble() > difficulty
            let answer: String? = hasAnswer ? (right ? "42" : String(rng.nextInt(below: 3))) : nil
            let length = 1 + rng.nextInt(below: 20)
            out.append(Sample(problem: p, index: i, tokens: (0..<length).map { _ in rng.nextInt(below: 32000) },
                              text: "text \(p).\(i) \"quoted\"\nnewline ✓", answer: answer, correct: hasAnswer && right,
                              logprob: -rng.nextDouble() * Double(length), promptTokens: 12 + p, seconds: 0.25))
        }
    }
    return out
}

final class ResultStoreTests: XCTestCase {
    var directory: URL!
    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testAppendWritesOneJSONObjectPerLine() throws {
        let run = directory.appendingPathComponent("run")
        let store = try ResultStore(directory: run, parameters: runParameters())
        for s in syntheticSamples(problems: 2, n: 3) { try store.append(s) }
        let text = try String(contentsOf: run.appendingPathComponent("samples.jsonl"), encoding: .utf8)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, 6)
        XCTAssertTrue(text.hasSuffix("\n"))
        let object = try JSONSerialization.jsonObject(with: Data(lines[4].utf8)) as! [String: Any]
        for key in ["problem", "sample", "tokens", "text", "answer", "correct", "logprob"] { XCTAssertNotNil(object[key], key) }
        XCTAssertEqual(object["problem"] as? Int, 1)
        XCTAssertEqual(object["sample"] as? Int, 1)
        XCTAssertThrowsError(try store.append(syntheticSamples(problems: 1, n: 1)[0]))   // duplicate (0, 0)
        let params = try ResultStore.readParameters(in: run)
        XCTAssertEqual(params, runParameters())
    }

    func testResumeIgnoresAndTruncatesAPartialLastLine() throws {
        let run = directory.appendingPathComponent("run")
        let all = syntheticSamples(problems: 2, n: 2)
        do {
            let store = try ResultStore(directory: run, parameters: runParameters())
            for s in all.prefix(3) { try store.append(s) }
        }
        // A run killed mid-write: half of the fourth line, no newline.
        let file = run.appendingPathComponent("samples.jsonl")
        let fourth = try JSONEncoder().encode(all[3])
        let handle = try FileHandle(forWritingTo: file)
        handle.seekToEndOfFile()
        handle.write(fourth.prefix(fourth.count / 2))
        try handle.close()

        let resumed = try ResultStore(directory: run, parameters: runParameters())
        XCTAssertEqual(resumed.samples, Array(all.prefix(3)))
        XCTAssertEqual(resumed.truncatedBytes, fourth.count / 2)
        XCTAssertEqual(resumed.completed, Set(all.prefix(3).map(\.key)))
        XCTAssertTrue(resumed.isDone(problem: 1, sample: 0))
        XCTAssertFalse(resumed.isDone(problem: 1, sample: 1))
        XCTAssertEqual(resumed.remaining(problems: [0, 1, 2], n: 2).map(\.problem), [1, 2])
        XCTAssertEqual(resumed.remaining(problems: [0, 1, 2], n: 2).map(\.samples), [[1], [0, 1]])
        try resumed.append(all[3])
        let reloaded = try ResultStore.loadSamples(path: file.path)
        XCTAssertEqual(reloaded.samples, all)
        XCTAssertEqual(reloaded.truncatedBytes, 0)
    }

    func testCorruptMiddleLineIsAnErrorNamingTheLine() throws {
        let file = directory.appendingPathComponent("samples.jsonl")
        let good = String(decoding: try JSONEncoder().encode(syntheticSamples(problems: 1, n: 1)[0]), as: UTF8.self)
        try Data((good + "\n{\"oops\n" + good + "\n").utf8).write(to: file)
        XCTAssertThrowsError(try ResultStore.loadSamples(path: file.path)) { error in
            XCTAssertEqual(error as? ExperimentError, .corruptResults(path: file.path, line: 2, reason: "not a valid sample"))
        }
        try Data((good + "\n" + good + "\n").utf8).write(to: file)
        XCTAssertThrowsError(try ResultStore.loadSamples(path: file.path))   // duplicate (problem, sample)
        XCTAssertEqual(try ResultStore.loadSamples(path: directory.appendingPathComponent("none").path).samples, [])
    }

    func testResumingWithDifferentParametersIsAnError() throws {
        let run = directory.appendingPathComponent("run")
        _ = try ResultStore(directory: run, parameters: runParameters())
        var other = runParameters(seed: 99)
        other.sampler["temperature"] = 1.0
        XCTAssertThrowsError(try ResultStore(directory: run, parameters: other)) { error in
            XCTAssertEqual(error as? ExperimentError, .parametersMismatch(directory: run.path, fields: ["seed", "sampler"]))
            XCTAssertTrue("\(error)".contains("seed, sampler"))
        }
        // The same model moved elsewhere (same hash) is the same run.
        var moved = runParameters()
        moved.model.path = "/elsewhere/tiny.gguf"
        XCTAssertNoThrow(try ResultStore(directory: run, parameters: moved))
    }

    /// Files written before the provenance block: a run.json with the retired constant
    /// `batch_invariant` sampler flag still resumes, and a summary whose "provenance" key held the
    /// run parameters (what compute-matched reads from committed runs) still reads.
    func testFilesFromBeforeTheProvenanceBlockStillWork() throws {
        let run = directory.appendingPathComponent("old")
        var old = runParameters()
        old.sampler["batch_invariant"] = 1
        _ = try ResultStore(directory: run, parameters: old)
        XCTAssertNoThrow(try ResultStore(directory: run, parameters: runParameters()))

        let summary = try Summary.compute(samples: syntheticSamples(problems: 2, n: 8), parameters: runParameters())
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: summary.jsonData()) as? [String: Any])
        object["provenance"] = object.removeValue(forKey: "parameters")
        let legacy = try JSONDecoder().decode(Summary.self, from: JSONSerialization.data(withJSONObject: object))
        XCTAssertEqual(legacy.parameters, summary.parameters)
        XCTAssertNil(legacy.provenance)
    }

    func testSummaryIsWrittenAtomicallyWithHandValues() throws {
        var params = runParameters(problems: 2, n: 2)
        params.ks = [1, 2]
        let store = try ResultStore(directory: directory, parameters: params)
        let samples = [sample(0, problem: 0, answer: "1", correct: true), sample(1, problem: 0, answer: "2", correct: false),
                       sample(0, problem: 1, answer: "3", correct: false), sample(1, problem: 1, answer: nil, correct: false)]
        for s in samples { try store.append(s) }
        let summary = try store.writeSummary()
        XCTAssertEqual(summary.problems, 2)
        XCTAssertEqual(summary.samples, 4)
        XCTAssertEqual(summary.passAtK["1"]?.mean, 0.25)
        XCTAssertEqual(summary.passAtK["2"]?.mean, 0.5)
        XCTAssertEqual(summary.coverage["1"]?.mean, 0.5)
        XCTAssertEqual(summary.accuracy["oracle"]?["2"]?.mean, 0.5)
        XCTAssertEqual(summary.accuracy["majority_vote"]?["2"]?.mean, 0.5)   // tie 1 vs 2 → earliest, "1"
        XCTAssertEqual(summary.compute.generatedTokens, 4)
        let data = try Data(contentsOf: directory.appendingPathComponent("summary.json"))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        XCTAssertNotNil((object["pass_at_k"] as? [String: Any])?["2"])
        XCTAssertNotNil(object["parameters"])
        XCTAssertEqual(try JSONDecoder().decode(Summary.self, from: data), summary)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [])
    }

    func testShardedRunMergesToTheUnshardedSummary() throws {
        let all = syntheticSamples(problems: 11, n: 8)
        let whole = try ResultStore(directory: directory.appendingPathComponent("whole"), parameters: runParameters(problems: 11))
        var rng = SeededRandom(seed: 1)
        var shuffled = all
        for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, rng.nextInt(below: i + 1)) }
        for s in shuffled { try whole.append(s) }   // write order must not matter
        let expected = try whole.writeSummary()
        // At k = 1 every rule's accuracy is c/n, like pass@1, and equal values give equal intervals.
        let rule = try XCTUnwrap(expected.accuracy["mean_logprob"]?["1"]), pass1 = try XCTUnwrap(expected.passAtK["1"])
        XCTAssertEqual(rule.mean, pass1.mean, accuracy: 1e-12)
        XCTAssertEqual(rule.lower, pass1.lower, accuracy: 1e-12)
        XCTAssertEqual(rule.upper, pass1.upper, accuracy: 1e-12)
        XCTAssertEqual(expected.accuracy["majority_vote"]?["8"]?.problems, 11)

        var shardDirectories: [URL] = []
        for index in [1, 0] {   // the order shards are given in must not matter either
            let shard = try ShardSpec(index: index, count: 2)
            let dir = directory.appendingPathComponent("shard\(index)")
            let store = try ResultStore(directory: dir, parameters: runParameters(problems: 11, shard: shard))
            for s in all where shard.contains(problem: s.problem) { try store.append(s) }
            try store.writeSummary()
            shardDirectories.append(dir)
        }
        var merged = try ResultStore.merge(shardDirectories: shardDirectories, into: directory.appendingPathComponent("merged"))
        // Equal but for the provenance block (host, command, time, files read), which records the merge itself.
        XCTAssertNotNil(merged.provenance)
        merged.provenance = nil
        XCTAssertEqual(try merged.jsonData(), try expected.jsonData())
        var written = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: directory.appendingPathComponent("merged/summary.json")))
        written.provenance = nil
        XCTAssertEqual(try written.jsonData(), try Data(contentsOf: directory.appendingPathComponent("whole/summary.json")))
        XCTAssertEqual(try ResultStore.loadSamples(path: directory.appendingPathComponent("merged/samples.jsonl").path).samples, all)
        XCTAssertNil(try ResultStore.readParameters(in: directory.appendingPathComponent("merged")).shard)
    }

    func testMergeRejectsMismatchedOrOverlappingShards() throws {
        let s = syntheticSamples(problems: 4, n: 2)
        func make(_ name: String, _ params: RunParameters, _ samples: [Sample]) throws -> URL {
            let dir = directory.appendingPathComponent(name)
            let store = try ResultStore(directory: dir, parameters: params)
            for x in samples { try store.append(x) }
            return dir
        }
        let a = try make("a", runParameters(problems: 4, n: 2, shard: try ShardSpec(index: 0, count: 2)), s.filter { $0.problem % 2 == 0 })
        let b = try make("b", runParameters(problems: 4, n: 2, seed: 7, shard: try ShardSpec(index: 1, count: 2)), s.filter { $0.problem % 2 == 1 })
        let c = try make("c", runParameters(problems: 4, n: 2, shard: try ShardSpec(index: 0, count: 2)), s.filter { $0.problem % 2 == 0 })
        let d = try make("d", runParameters(problems: 4, n: 2), s.filter { $0.problem == 1 })
        let e = try make("e", runParameters(problems: 4, n: 2), s.filter { $0.problem == 1 })
        XCTAssertThrowsError(try ResultStore.merge(shardDirectories: [a, b], into: directory.appendingPathComponent("m1")))  // seed differs
        XCTAssertThrowsError(try ResultStore.merge(shardDirectories: [a, c], into: directory.appendingPathComponent("m2")))  // same shard twice
        XCTAssertThrowsError(try ResultStore.merge(shardDirectories: [a, d], into: directory.appendingPathComponent("m3")))  // not both shards
        XCTAssertThrowsError(try ResultStore.merge(shardDirectories: [d, e], into: directory.appendingPathComponent("m4")))  // overlapping problems
        XCTAssertThrowsError(try ResultStore.merge(shardDirectories: [], into: directory.appendingPathComponent("m5")))
        let stray = try make("f", runParameters(problems: 4, n: 2, shard: try ShardSpec(index: 1, count: 2)), s.filter { $0.problem == 0 })
        XCTAssertThrowsError(try ResultStore.merge(shardDirectories: [a, stray], into: directory.appendingPathComponent("m6"))) { error in
            XCTAssertTrue("\(error)".contains("holds problem 0"), "\(error)")
        }
    }
}

extension ResultStoreTests {
    /// A run with a failed shard must not look finished: a missing shard, or a shard whose
    /// problems are short of n samples, is refused unless the merge is forced, and a forced
    /// merge says in its summary what is missing.
    func testMergeRefusesAnIncompleteRunUnlessForced() throws {
        let s = syntheticSamples(problems: 6, n: 3)
        func shard(_ i: Int, of k: Int, _ name: String, dropping: Int = 0) throws -> URL {
            let spec = try ShardSpec(index: i, count: k)
            let dir = directory.appendingPathComponent(name)
            let store = try ResultStore(directory: dir, parameters: runParameters(problems: 6, n: 3, shard: spec))
            for x in s.filter({ spec.contains(problem: $0.problem) }).dropLast(dropping) { try store.append(x) }
            return dir
        }
        let a = try shard(0, of: 3, "i0"), b = try shard(1, of: 3, "i1"), c = try shard(2, of: 3, "i2")
        let cShort = try shard(2, of: 3, "i2-short", dropping: 1)
        XCTAssertThrowsError(try ResultStore.merge(shardDirectories: [a, b], into: directory.appendingPathComponent("p1"))) { error in
            XCTAssertTrue("\(error)".contains("shard 2/3 not given"), "\(error)")
        }
        XCTAssertThrowsError(try ResultStore.merge(shardDirectories: [a, b, cShort], into: directory.appendingPathComponent("p2"))) { error in
            XCTAssertTrue("\(error)".contains("fewer than n = 3 samples"), "\(error)")
        }
        let forced = try ResultStore.merge(shardDirectories: [a, b], into: directory.appendingPathComponent("p3"), allowPartial: true)
        XCTAssertEqual(forced.partial?.first, "shard 2/3 not given")
        let summaryJSON = try String(contentsOf: directory.appendingPathComponent("p3/summary.json"), encoding: .utf8)
        XCTAssertTrue(summaryJSON.contains("\"partial\""), "a forced merge is marked partial in summary.json")
        let complete = try ResultStore.merge(shardDirectories: [c, a, b], into: directory.appendingPathComponent("p4"))
        XCTAssertNil(complete.partial)
        XCTAssertFalse(try String(contentsOf: directory.appendingPathComponent("p4/summary.json"), encoding: .utf8).contains("\"partial\""))
    }
}

final class ShardSpecTests: XCTestCase {
    func testParsing() throws {
        XCTAssertEqual(try ShardSpec(parsing: "0/4"), try ShardSpec(index: 0, count: 4))
        XCTAssertEqual(try ShardSpec(parsing: " 3/4 ").description, "3/4")
        for bad in ["4/4", "-1/4", "1/0", "0/-2", "1", "a/b", "1/2/3", "", "/", "1/"] {
            XCTAssertThrowsError(try ShardSpec(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".contains("invalid shard"), "\(error)")
            }
        }
    }

    func testSelectionPartitionsProblems() throws {
        let problems = try ArithmeticTask().problems(count: 10, seed: 0)
        let shards = try (0..<3).map { try ShardSpec(index: $0, count: 3).select(problems) }
        XCTAssertEqual(shards[1].map(\.id), [1, 4, 7])
        XCTAssertEqual(shards.flatMap { $0 }.map(\.id).sorted(), Array(0..<10))
    }

    func testParametersValidation() {
        XCTAssertNoThrow(try runParameters().validate())
        var p = runParameters()
        p.ks = [1, 16]
        XCTAssertThrowsError(try p.validate())
        p = runParameters(n: 0)
        XCTAssertThrowsError(try p.validate())
        XCTAssertEqual(RunParameters.defaultKs(n: 10), [1, 2, 4, 8, 10])
        XCTAssertEqual(RunParameters.defaultKs(n: 8), [1, 2, 4, 8])
    }
}

final class FileHashTests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(FileHash.sha256(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(FileHash.sha256(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(FileHash.sha256(Data(repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// A file is hashed once per version: the cache answers while (path, size, mtime) hold, and
    /// a changed file is hashed again.
    func testFileHashIsCachedUntilTheFileChanges() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cacheFile = dir.appendingPathComponent("hashes.json")
        setenv("LLAMACL_HASH_CACHE", cacheFile.path, 1)
        defer { unsetenv("LLAMACL_HASH_CACHE") }
        let url = dir.appendingPathComponent("model.bin")
        let data = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try data.write(to: url)
        XCTAssertEqual(try FileHash.sha256(fileAt: url.path), FileHash.sha256(data))
        XCTAssertTrue(try String(contentsOf: cacheFile, encoding: .utf8).contains(FileHash.sha256(data)))
        // A forged cache entry for the same (path, size, mtime) is believed: proof the file was not rehashed.
        var cache = try JSONDecoder().decode(FileHash.Cache.self, from: Data(contentsOf: cacheFile))
        let key = try FileHash.CacheKey(path: url.path)
        cache.entries[key.path]?.sha256 = "cached"
        try JSONEncoder().encode(cache).write(to: cacheFile)
        XCTAssertEqual(try FileHash.sha256(fileAt: url.path), "cached")
        // Changing the file (size and mtime) makes it hash again.
        try (data + Data([1])).write(to: url)
        XCTAssertEqual(try FileHash.sha256(fileAt: url.path), FileHash.sha256(data + Data([1])))
        XCTAssertThrowsError(try FileHash.sha256(fileAt: dir.appendingPathComponent("missing").path))
    }
}
