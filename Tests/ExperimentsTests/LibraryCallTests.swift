import CPUBackend
import Foundation
import Generation
import GGUF
import LlamaCore
import TestSupport
import Tokenizers
import XCTest
@testable import Experiments

/// The experiments as a researcher calls them from Swift: best-of-N, held-out selection, the
/// scaling, compute-matched and performance reports, the .npy writer.
final class LibraryCallTests: XCTestCase {
    /// A small random-weight model with the built-in byte vocabulary, written to a temporary file.
    func syntheticModel(training: [(String, GGUFValue)] = []) throws -> String {
        let shape = ModelSynthesizer.Shape(dim: 64, layers: 1, heads: 2, kvHeads: 1, ffnDim: 96, vocabSize: 600, contextLength: 128)
        var writer = try ModelSynthesizer(shape: shape, type: .q8_0, seed: 3).makeWriter(tokenizer: ModelSynthesizer.builtinByteVocabulary(size: 600))
        for (key, value) in training { writer.set(key, value) }
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("bon-\(UUID().uuidString).gguf").path
        try writer.write(to: path)
        return path
    }

    func load(_ path: String, _ cells: Int) throws -> any LanguageModel {
        try Transformer(gguf: GGUFFile(path: path), backend: CPUBackend(mode: .quantized, threads: 2), cacheCells: max(cells, 64))
    }

    func testBestOfNRunResumesAndShardsMergeToTheSameRun() throws {
        let model = try syntheticModel()
        let task = ArithmeticTask(digits: 1, operations: "+")
        let options = BestOfNOptions(problems: 6, n: 4, maxTokens: 4, seed: 5, batch: 3, quiet: true)
        let dir = try Fixtures.temporaryDirectory()
        let whole = try BestOfN.run(modelPath: model, load: load, task: task, options: options, engineVersion: "test", out: dir.appendingPathComponent("whole"))
        XCTAssertEqual(whole.samples, 24)
        XCTAssertEqual(whole.problems, 6)
        XCTAssertEqual(whole.parameters.ks, [1, 2, 4])
        // A second call with the same directory finds every sample done.
        let again = try BestOfN.run(modelPath: model, load: load, task: task, options: options, engineVersion: "test", out: dir.appendingPathComponent("whole"))
        XCTAssertEqual(again.passAtK, whole.passAtK)
        XCTAssertEqual(try ResultStore.loadSamples(path: dir.appendingPathComponent("whole/samples.jsonl").path).samples.count, 24)
        // Two shards merged give the same samples as the whole run.
        var shardDirs: [URL] = []
        for i in 0..<2 {
            var o = options
            o.shard = try ShardSpec(index: i, count: 2)
            let d = dir.appendingPathComponent("shard\(i)")
            _ = try BestOfN.run(modelPath: model, load: load, task: task, options: o, engineVersion: "test", out: d)
            shardDirs.append(d)
        }
        let merged = try ResultStore.merge(shardDirectories: shardDirs, into: dir.appendingPathComponent("merged"))
        XCTAssertEqual(merged.passAtK, whole.passAtK)
        func tokens(_ d: URL) throws -> [SampleKey: [Int]] {
            Dictionary(uniqueKeysWithValues: try ResultStore.loadSamples(path: d.appendingPathComponent("samples.jsonl").path).samples.map { ($0.key, $0.tokens) })
        }
        XCTAssertEqual(try tokens(dir.appendingPathComponent("merged")), try tokens(dir.appendingPathComponent("whole")))
    }

    func testBadOptionsAreRejectedBeforeAnyWork() {
        for bad in [BestOfNOptions(n: 0), BestOfNOptions(problems: 0), BestOfNOptions(maxTokens: 0), BestOfNOptions(batch: 0),
                    BestOfNOptions(n: 4, ks: [8]), BestOfNOptions(sampler: SamplerSettings(temperature: -1))] {
            XCTAssertThrowsError(try bad.validate())
        }
    }

    /// A checkpoint of the task is evaluated on problems it was not trained on; a typed
    /// provenance key of the wrong type is an error, not a silently skipped filter.
    func testHeldOutProblemsLeaveOutTrainingProblems() throws {
        let task = ArithmeticTask(digits: 1, operations: "+")
        let training = TrainingProvenance(data: task.name, steps: 10, tokens: 1000, seed: 9, items: 40, batch: 4, learningRate: 1e-3,
                                          lossScope: "completion", engine: "test", finalLoss: nil, heldOutLoss: nil).metadata
        let gguf = try GGUFFile(path: try syntheticModel(training: training))
        let trained = Set(try task.problems(count: 40, seed: 9).map(\.prompt))
        let held = try BestOfN.problems(task: task, options: BestOfNOptions(problems: 20, seed: 1), model: gguf)
        XCTAssertEqual(held.count, 20)
        XCTAssertTrue(held.allSatisfy { !trained.contains($0.prompt) })
        XCTAssertGreaterThan(try BestOfN.heldOutProblems(task: task, count: 20, seed: 1, trainingItems: 40, trainingSeed: 9).skipped, 0,
                             "1-digit sums repeat, so some drawn problems were training problems")
        // Asked to keep them, the run takes the first problems of the seed as they come.
        let all = try BestOfN.problems(task: task, options: BestOfNOptions(problems: 20, seed: 1, includeTrainingProblems: true), model: gguf)
        XCTAssertEqual(all, try task.problems(count: 20, seed: 1))

        let wrong = try GGUFFile(path: try syntheticModel(training: training.map { $0.0 == "training.items" ? ($0.0, .string("40")) : $0 }))
        XCTAssertThrowsError(try BestOfN.problems(task: task, options: BestOfNOptions(problems: 20, seed: 1), model: wrong)) { error in
            XCTAssertTrue("\(error)".contains("training.items"), "\(error)")
        }
    }

    func testScalingReportWritesFitAndPlots() throws {
        let truth = ScalingLaw(E: 0.4, A: 60, B: 200, alpha: 0.45, beta: 0.35)
        var runs: [ScalingRun] = []
        for c in [1e12, 1e13, 1e14] {
            for n in [2e4, 1e5, 5e5, 2e6] { runs.append(ScalingRun(parameters: n, tokens: c / (6 * n), loss: truth.loss(parameters: n, tokens: c / (6 * n)), budget: c)) }
        }
        let report = try ScalingReport(runs: runs, options: .init(resamples: 4, extraBudgets: [1e15], starts: ScalingFit.coarseGrid()))
        XCTAssertEqual(report.full.law.alpha, truth.alpha, accuracy: 0.02)
        XCTAssertEqual(report.reportBudgets, [1e12, 1e13, 1e14, 1e15])
        let dir = try Fixtures.temporaryDirectory().appendingPathComponent("scaling")
        try report.write(to: dir)
        for file in ["fit.json", "isoflop.svg", "fit.svg", "optimal.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), file)
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("fit.json"))) as? [String: Any]
        XCTAssertEqual(json?["runs"] as? Int, 12)
        XCTAssertTrue(report.lines.contains { $0.hasPrefix("C = 1e+15") }, "\(report.lines)")
        XCTAssertThrowsError(try ScalingReport(runs: Array(runs.prefix(4))))
    }

    func testComputeMatchedReportPairsCheaperSamplingWithTheLargerModel() throws {
        func summary(parameters: Int, passAt: [Int: Double]) -> Summary {
            let shape = ModelShape(parameters: parameters, layers: 2, attentionWidth: 64)
            let parameters = RunParameters(task: "t", problems: 10, n: 4, ks: [1, 2, 4], maxTokens: 4, seed: 0, sampler: [:],
                                           model: ModelIdentity(path: "m", sha256: "x", shape: shape), engineVersion: "test", backend: "cpu", device: "cpu")
            let cost = ComputeCost.forProblem(promptTokens: 8, sampleLengths: [4, 4, 4, 4], model: shape)
            var s = Summary(problems: 10, samples: 40, passAtK: [:], coverage: [:], accuracy: [:],
                            compute: ComputeCost(promptTokens: 80, generatedTokens: 160, flops: cost.flops! * 10, seconds: 1),
                            options: SummaryOptions(), parameters: parameters)
            for (k, p) in passAt { s.passAtK[String(k)] = Estimate(mean: p, lower: p - 0.1, upper: p + 0.1, problems: 10) }
            return s
        }
        let report = try ComputeMatchedReport(runs: [("small", summary(parameters: 1000, passAt: [1: 0.2, 2: 0.3, 4: 0.45])),
                                                     ("large", summary(parameters: 4000, passAt: [1: 0.4, 2: 0.5, 4: 0.6]))])
        XCTAssertEqual(report.rows.count, 6)
        XCTAssertEqual(report.matchedPairs.count, 3)
        XCTAssertTrue(report.matchedPairs[0].hasPrefix("small k=2"), report.matchedPairs[0])
        XCTAssertTrue(report.csv.hasPrefix("model,parameters,k,"))
        XCTAssertTrue(report.markdown.contains("| large | 4000 | 4 |"))
    }

    func testPerformanceReportSetsOursBesideLlamaCpp() throws {
        let dir = try Fixtures.temporaryDirectory().appendingPathComponent("perf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let machine = dir.appendingPathComponent("machine.json"), ours = dir.appendingPathComponent("ours.json"), theirs = dir.appendingPathComponent("theirs.json")
        try Data(#"{"threads":2,"readGBPerSecond":30,"f32GFLOPs":200,"int8GOPs":800,"kernelVariant":1}"#.utf8).write(to: machine)
        try Data(#"[{"model":"m.gguf","n_prompt":0,"n_gen":32,"tokens_per_second":50,"stddev":1,"model_size":6e8,"model_params":1.1e9},{"model":"m.gguf","n_prompt":0,"n_gen":32,"tokens_per_second":54,"stddev":1,"model_size":6e8,"model_params":1.1e9}]"#.utf8).write(to: ours)
        try Data(#"[{"model_filename":"m.gguf","n_prompt":0,"n_gen":32,"avg_ts":40,"stddev_ts":1,"model_size":6e8,"model_n_params":1.1e9},{"model_filename":"m.gguf","n_prompt":0,"n_gen":32,"avg_ts":60,"stddev_ts":1,"model_size":6e8,"model_n_params":1.1e9}]"#.utf8).write(to: theirs)
        let report = try PerformanceReport.load(machine: machine, ours: [ours], llamacpp: [theirs])
        // Rounds pair up: 50/40 = 1.25 and 54/60 = 0.90; the median of the ratios (1.075) is their mean here.
        XCTAssertTrue(report.table.contains("| m.gguf | tg32 | 2 | 52.00 | 50.00 | 1.07× (0.90–1.25) |"), report.table)
        try report.write(to: dir.appendingPathComponent("out"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/roofline.svg").path))
        try Data("{}".utf8).write(to: ours)
        XCTAssertThrowsError(try PerformanceReport.load(machine: machine, ours: [ours], llamacpp: []))
    }

    /// The sampler timing covers each path once per case and gives a time for every repetition
    /// (the times themselves are for `llamacl bench --sampler`, not for a test).
    func testSamplerBenchmarkTimesEveryCase() throws {
        let logits = (0..<5000).map { Float(($0 * 7919) % 1000) / 100 }
        let results = try SamplerBenchmark.run(logits: logits, draws: 3, repetitions: 2)
        XCTAssertEqual(results.map(\.name), SamplerBenchmark.cases.map(\.name))
        XCTAssertEqual(results.first?.settings, .greedy)
        for r in results {
            XCTAssertEqual(r.microseconds.count, 2)
            XCTAssertTrue(r.microseconds.allSatisfy { $0 > 0 && $0.isFinite }, r.name)
        }
        XCTAssertThrowsError(try SamplerBenchmark.run(logits: [], draws: 1, repetitions: 1))
    }

    func testNpyWriterRoundTrips() throws {
        let url = try Fixtures.temporaryDirectory().appendingPathComponent("x-\(UUID().uuidString).npy")
        try NpyWriter.write([[1, 2, 3], [4, 5, -6.5]], to: url)
        let back = try NpyReader.read(url.path)
        XCTAssertEqual(back.shape, [2, 3])
        XCTAssertEqual(back.values, [1, 2, 3, 4, 5, -6.5])
        XCTAssertThrowsError(try NpyWriter.write([[1, 2], [3]], to: url))
    }
}
