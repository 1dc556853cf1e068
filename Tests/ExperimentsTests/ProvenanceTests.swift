import CPUBackend
import Foundation
import GGUF
import LlamaCore
import TestSupport
import XCTest
@testable import Experiments

/// Every result file names the source revision that produced it (and whether that tree was
/// dirty), the command, seeds, threads, backend, settings and the SHA-256 of every file read;
/// best-of-n summaries report the batch invariance they measured.
final class ProvenanceTests: XCTestCase {
    func syntheticModel() throws -> String {
        let shape = ModelSynthesizer.Shape(dim: 64, layers: 1, heads: 2, kvHeads: 1, ffnDim: 96, vocabSize: 600, contextLength: 128)
        let writer = try ModelSynthesizer(shape: shape, type: .q8_0, seed: 3).makeWriter(tokenizer: ModelSynthesizer.builtinByteVocabulary(size: 600))
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("prov-\(UUID().uuidString).gguf").path
        try writer.write(to: path)
        return path
    }

    func load(_ path: String, _ cells: Int) throws -> any LanguageModel {
        try Transformer(gguf: GGUFFile(path: path), backend: CPUBackend(mode: .quantized, threads: 2), cacheCells: max(cells, 64))
    }

    /// The block's text form keeps the dirty flag a JSON boolean (a reader must not see 0/1).
    func assertDirtyFlagIsABoolean(_ url: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertNotNil(text.range(of: #""source_tree_dirty" ?: ?(true|false)"#, options: .regularExpression), url.path, file: file, line: line)
    }

    func testBestOfNFilesCarryTheProvenanceBlockAndMeasuredInvariance() throws {
        let model = try syntheticModel()
        let modelHash = try FileHash.compute(fileAt: model)
        let options = BestOfNOptions(problems: 4, n: 4, maxTokens: 4, seed: 5, batch: 3, invarianceChecks: 3, quiet: true)
        let dir = try Fixtures.temporaryDirectory()
        let out = dir.appendingPathComponent("run")
        let summary = try BestOfN.run(modelPath: model, load: load, task: ArithmeticTask(digits: 1, operations: "+"), options: options,
                                      threads: 2, out: out)
        XCTAssertEqual(summary.batchInvariance, BatchInvarianceCheck(checked: 3, identical: 3), "the CPU backend is batch invariant")

        for file in [ResultStore.parametersFile, ResultStore.summaryFile] {
            let url = out.appendingPathComponent(file)
            let json = try jsonObject(at: url)
            try assertDirtyFlagIsABoolean(url)
            guard let block = assertProvenanceBlock(json["provenance"], file) else { continue }
            XCTAssertEqual((block["seeds"] as? [String: Any])?["run"] as? Int, 5, file)
            XCTAssertEqual(block["threads"] as? Int, 2, file)
            XCTAssertEqual(block["backend"] as? String, "cpu", file)
            XCTAssertNotNil(block["device"] as? String, file)
            let hyper = block["hyper_parameters"] as? [String: Any] ?? [:]
            XCTAssertEqual(hyper["n"] as? Int, 4, file)
            XCTAssertEqual(hyper["batch"] as? Int, 3, file)
            XCTAssertEqual(hyper["stop"] as? [String], ["\n"], file)
            XCTAssertEqual(hyper["task"] as? String, "arithmetic(digits=1,ops=+)", file)
            let inputs = block["inputs"] as? [[String: Any]] ?? []
            XCTAssertEqual(inputs.first?["role"] as? String, "model", file)
            XCTAssertEqual(inputs.first?["sha256"] as? String, modelHash, file)
        }
        let summaryJSON = try jsonObject(at: out.appendingPathComponent(ResultStore.summaryFile))
        XCTAssertEqual(summaryJSON["batch_invariance"] as? [String: Int], ["checked": 3, "identical": 3])
        XCTAssertNotNil((summaryJSON["parameters"] as? [String: Any])?["seed"], "the run parameters sit beside the block")
        XCTAssertNil((summaryJSON["parameters"] as? [String: Any])?["provenance"], "not repeated inside the parameters")
        XCTAssertNil(((summaryJSON["parameters"] as? [String: Any])?["sampler"] as? [String: Any])?["batch_invariant"],
                     "batch invariance is measured, not written")

        // A merge of shards records its own block: the samples it read; the shards' checks add up.
        var shards: [URL] = []
        for i in 0..<2 {
            var o = options
            o.shard = try ShardSpec(index: i, count: 2)
            shards.append(dir.appendingPathComponent("shard\(i)"))
            _ = try BestOfN.run(modelPath: model, load: load, task: ArithmeticTask(digits: 1, operations: "+"), options: o, out: shards[i])
        }
        let merged = try ResultStore.merge(shardDirectories: shards, into: dir.appendingPathComponent("merged"))
        XCTAssertEqual(merged.batchInvariance, BatchInvarianceCheck(checked: 6, identical: 6))
        let mergedBlock = assertProvenanceBlock(try jsonObject(at: dir.appendingPathComponent("merged/summary.json"))["provenance"], "merged summary")
        let roles = (mergedBlock?["inputs"] as? [[String: Any]] ?? []).compactMap { $0["role"] as? String }
        XCTAssertEqual(roles, ["model", "samples", "samples"])

        // A summary recomputed from the samples (`best-of-n summary`) records its own block too.
        let recomputed = try ResultStore.recomputeSummary(in: dir.appendingPathComponent("merged"))
        let recomputedBlock = assertProvenanceBlock(try JSONSerialization.jsonObject(with: JSONEncoder().encode(recomputed.provenance)), "recomputed summary")
        XCTAssertEqual((recomputedBlock?["inputs"] as? [[String: Any]] ?? []).compactMap { $0["role"] as? String }, ["model", "samples", "run"])
        XCTAssertEqual((recomputedBlock?["hyper_parameters"] as? [String: Any])?["recomputed_from"] as? String, "samples")

        // compute-matched writes its block beside the tables, naming the summaries it read.
        let report = try ComputeMatchedReport.load(runs: [("small", out), ("same", dir.appendingPathComponent("merged"))])
        let reportDir = dir.appendingPathComponent("matched")
        try report.write(to: reportDir)
        let matched = assertProvenanceBlock(try jsonObject(at: reportDir.appendingPathComponent(Provenance.file)), "compute-matched")
        let summaryHash = try FileHash.compute(fileAt: out.appendingPathComponent(ResultStore.summaryFile).path)
        XCTAssertEqual((matched?["inputs"] as? [[String: Any]])?.first?["sha256"] as? String, summaryHash)
    }

    func testScalingFitRecordsTheRunsFileItRead() throws {
        let truth = ScalingLaw(E: 0.4, A: 60, B: 200, alpha: 0.45, beta: 0.35)
        var csv = "name,budget,parameters,tokens,held_out_loss\n"
        for c in [1e12, 1e13] {
            for n in [2e4, 1e5, 5e5] { csv += "r,\(c),\(n),\(c / (6 * n)),\(truth.loss(parameters: n, tokens: c / (6 * n)))\n" }
        }
        let dir = try Fixtures.temporaryDirectory()
        let runsFile = dir.appendingPathComponent("runs.csv")
        try Data(csv.utf8).write(to: runsFile)
        let report = try ScalingReport.load(runsFile: runsFile.path, options: .init(resamples: 3, seed: 11, starts: ScalingFit.coarseGrid()))
        try report.write(to: dir.appendingPathComponent("fit"))
        let fitFile = dir.appendingPathComponent("fit/fit.json")
        try assertDirtyFlagIsABoolean(fitFile)
        let block = assertProvenanceBlock(try jsonObject(at: fitFile)["provenance"], "fit.json")
        XCTAssertEqual((block?["seeds"] as? [String: Any])?["bootstrap"] as? Int, 11)
        XCTAssertEqual((block?["hyper_parameters"] as? [String: Any])?["resamples"] as? Int, 3)
        let inputs = block?["inputs"] as? [[String: Any]] ?? []
        XCTAssertEqual(inputs.count, 1)
        XCTAssertEqual(inputs.first?["role"] as? String, "runs")
        XCTAssertEqual(inputs.first?["sha256"] as? String, try FileHash.compute(fileAt: runsFile.path))
    }

    func testPerformanceReportNamesTheFilesItRead() throws {
        let dir = try Fixtures.temporaryDirectory()
        let machine = dir.appendingPathComponent("machine.json"), ours = dir.appendingPathComponent("ours.json")
        try Data(#"{"threads":2,"readGBPerSecond":30,"f32GFLOPs":200,"int8GOPs":800,"kernelVariant":1}"#.utf8).write(to: machine)
        try Data(#"[{"model":"m.gguf","n_prompt":0,"n_gen":32,"tokens_per_second":50,"stddev":1,"model_size":6e8,"model_params":1.1e9}]"#.utf8).write(to: ours)
        try PerformanceReport.load(machine: machine, ours: [ours], llamacpp: []).write(to: dir.appendingPathComponent("out"))
        let block = assertProvenanceBlock(try jsonObject(at: dir.appendingPathComponent("out/\(Provenance.file)")), "perf-report")
        XCTAssertEqual((block?["inputs"] as? [[String: Any]])?.compactMap { $0["role"] as? String }, ["machine", "bench"])
    }

    /// A build from uncommitted changes says so in its version and in the block.
    func testADirtyTreeIsVisible() throws {
        let dirty = Provenance(release: "0.1.0", revision: "3f2a9c1b0d4e", dirty: true, command: ["llamacl", "best-of-n"])
        XCTAssertEqual(dirty.engineVersion, "0.1.0+3f2a9c1b0d4e-dirty")
        let json = try dirty.jsonString()
        XCTAssertTrue(json.contains(#""source_tree_dirty":true"#), json)
        XCTAssertTrue(json.contains(#""engine_version":"0.1.0+3f2a9c1b0d4e-dirty""#), json)
        XCTAssertTrue(json.contains(#""threads":null"#), "absent values are written as null: \(json)")
        let clean = Provenance(release: "0.1.0", revision: "3f2a9c1b0d4e", dirty: false, command: ["llamacl"])
        XCTAssertEqual(clean.engineVersion, "0.1.0+3f2a9c1b0d4e")
        // This build's own block is consistent with itself, dirty or not.
        let current = Provenance.current()
        XCTAssertEqual(current.engineVersion.hasSuffix("-dirty"), current.sourceTreeDirty)
        XCTAssertEqual(current.command, CommandLine.arguments)
        XCTAssertEqual(try JSONDecoder().decode(Provenance.self, from: Data(json.utf8)), dirty)
    }
}
