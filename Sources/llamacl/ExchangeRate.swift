import ArgumentParser
import CPUBackend
import Experiments
import Foundation
import GGUF
import LlamaCore
import Tokenizers
import Training

/// `llamacl exchange-rate`: the pretraining ↔ test-time compute experiment (experiments/exchange-rate).
struct ExchangeRateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exchange-rate",
        abstract: "Pretraining vs test-time compute: sample a grid of trained models, score with a verifier, report iso-accuracy contours.",
        subcommands: [ExchangeRateSample.self, ExchangeRateScore.self, ExchangeRateReportCommand.self])
}

struct ExchangeRateSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "n samples per problem at each temperature, tallied per distinct answer (answers-T<temp>.jsonl; resumable).",
        discussion: """
        The problems are the graded-arithmetic task's fixed held-out set (the first --problems of the fixed \
        held-out seed, duplicates dropped), which `llamacl train --task graded-arithmetic --held-out N` with \
        N ≥ --problems keeps out of training. Samples are drawn as a tree (one forward step per distinct prefix), \
        which is exactly n independent samples; compute is accounted as n separate samples.
        """)

    @OptionGroup var model: ModelOption
    @OptionGroup var graded: GradedArithmeticOptions
    @Option(help: "Problems (the first of the fixed held-out set).") var problems: Int = 1024
    @Option(help: "Samples per problem.") var n: Int = 1024
    @Option(help: "Comma-separated temperatures.") var temperatures: String = "0.7,1.0"
    @Option(help: "Seed of the samples.") var seed: UInt64 = 0
    @Option(help: "Output directory.") var out: String
    @Option(name: [.short, .customLong("threads")], help: "CPU threads.") var threads: Int = 1
    @Flag(help: "No progress line.") var quiet = false

    func validate() throws {
        if problems < 1 { throw ValidationError("--problems must be at least 1") }
        if n < 1 { throw ValidationError("--n must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        let ts: [Double] = try parseList(temperatures, option: "--temperatures", example: "0.7,1.0")
        if let bad = ts.first(where: { !($0 > 0 && $0.isFinite) }) { throw ValidationError("--temperatures: \(bad) is not a positive temperature") }
    }

    func run() throws {
        let task = graded.task
        let temps: [Double] = try parseList(temperatures, option: "--temperatures", example: "0.7,1.0")
        let list = try AnswerSampling.problems(task: task, count: problems, seed: TrainingData.fixedHeldOutSeed)
        let gguf = try GGUFFile(path: model.model)
        try AnswerSampling.checkHeldOut(gguf, task: task, problems: problems)
        let tokenizer = try loadTokenizer(from: gguf)
        let longest = try list.map { try tokenizer.encode($0.prompt, addSpecial: true, parseSpecial: false).count }.max() ?? 0
        let cells = TreeSampler.cells(promptTokens: longest, n: n, maxTokens: task.defaultMaxTokens)
        let lm = try Transformer(gguf: gguf, backend: CPUBackend(mode: .fast, threads: threads), cacheCells: cells)
        let directory = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let provenance = Provenance.current(
            seeds: ["samples": seed, "problems": TrainingData.fixedHeldOutSeed], threads: threads, backend: lm.backendName, device: lm.deviceName,
            hyperParameters: ["task": .string(task.name), "problems_requested": .integer(problems), "problems": .integer(list.count),
                              "n": .integer(n), "temperatures": .list(temps.map { .number($0) }), "max_tokens": .integer(task.defaultMaxTokens),
                              "top_k": .integer(0), "top_p": .number(1), "sampler": .string("tree (exactly n i.i.d. samples)")],
            inputs: [try InputFile(role: "model", path: model.model)])
        try JSONEncoder.sorted.encode(provenance).write(to: directory.appendingPathComponent("sampling-provenance.json"))
        for t in temps {
            let file = directory.appendingPathComponent(ExchangeRateFiles.answers(temperature: t))
            let start = Date()
            try AnswerSampling.run(model: lm, tokenizer: tokenizer, task: task, problems: list, n: n, temperature: t, seed: seed, file: file,
                                   progress: { done, total in
                if !quiet && stderrIsTerminal { print("\rT=\(t): \(done)/\(total) problems", terminator: "", to: &standardError) }
            })
            if !quiet { print("\nT=\(t): \(list.count) problems × \(n) samples in \(String(format: "%.1f", Date().timeIntervalSince(start))) s → \(file.path)", to: &standardError) }
        }
    }
}

struct ExchangeRateScore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "The verifier's score for every distinct answer of a sample directory (verifier-T<temp>.jsonl).")

    @Option(help: "The verifier checkpoint (`llamacl train --task verify-graded-arithmetic`).") var verifier: String
    @Option(help: "likelihood: log p(answer, end of text | question) under the verifier (a generative verifier, trained with --generation-share > 0); yes-no: log p(y) − log p(n) after the verifier's prompt.")
    var score: VerifierScore = .likelihood
    @Option(help: "A directory written by `exchange-rate sample`.") var samples: String
    @OptionGroup var graded: GradedArithmeticOptions
    @Option(help: "Problems the samples were drawn for (the sample step's --problems).") var problems: Int = 1024
    @Option(help: "Comma-separated temperatures.") var temperatures: String = "0.7,1.0"
    @Option(name: [.short, .customLong("threads")], help: "CPU threads.") var threads: Int = 1

    func run() throws {
        let temps: [Double] = try parseList(temperatures, option: "--temperatures", example: "0.7,1.0")
        let questions = Dictionary(uniqueKeysWithValues: try AnswerSampling.problems(task: graded.task, count: problems, seed: TrainingData.fixedHeldOutSeed)
            .map { ($0.id, $0.prompt) })
        let gguf = try GGUFFile(path: verifier)
        let tokenizer = try loadTokenizer(from: gguf)
        let directory = URL(fileURLWithPath: samples)
        let tallies = try temps.map { try AnswerSampling.read(directory.appendingPathComponent(ExchangeRateFiles.answers(temperature: $0))) }
        let chunk = 64
        let cells = VerifierScorer.cells(questionTokens: 32, chunk: chunk, answerTokens: graded.task.defaultMaxTokens)
        let model = try Transformer(gguf: gguf, backend: CPUBackend(mode: .fast, threads: threads), cacheCells: cells)
        let scorer = try VerifierScorer(model: model, tokenizer: tokenizer, method: score, chunk: chunk)
        let provenance = Provenance.current(
            threads: threads, backend: model.backendName, device: model.deviceName,
            hyperParameters: ["task": .string(graded.task.name), "problems": .integer(problems), "temperatures": .list(temps.map { .number($0) }),
                              "score": .string(score.rawValue)],
            inputs: [try InputFile(role: "verifier", path: verifier)]
                + (try temps.map { try InputFile(role: "samples", path: directory.appendingPathComponent(ExchangeRateFiles.answers(temperature: $0)).path) }))
        try JSONEncoder.sorted.encode(provenance).write(to: directory.appendingPathComponent("scoring-provenance.json"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for (t, list) in zip(temps, tallies) {
            var out = Data()
            for tally in list {
                guard let question = questions[tally.problem] else {
                    throw InvalidInput(description: "problem \(tally.problem) is not among the first \(problems) problems; give the sample step's --problems")
                }
                out += try encoder.encode(try scorer.score(tally, question: question)) + Data("\n".utf8)
            }
            let file = directory.appendingPathComponent(ExchangeRateFiles.scores(temperature: t))
            try out.write(to: file, options: .atomic)
            print("T=\(t): \(list.count) problems scored → \(file.path)", to: &standardError)
        }
    }
}

struct ExchangeRateReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Iso-accuracy contours, the exchange rate with seed × problem bootstrap intervals, and the total-cost view.",
        discussion: """
        --runs holds one `train --json` summary per model, named CELL-sSEED.json (seeds of one cell are \
        averaged and resampled); each model's samples are in SAMPLES/CELL-sSEED/. The checkpoint named in a \
        summary's "out" gives the model's shape for the inference FLOPs.
        """)

    @Option(help: "Directory of `train --json` summaries (CELL-sSEED.json).") var runs: String
    @Option(help: "The verifier's `train --json` summary (adds the verifier rule).") var verifier: String?
    @Option(help: "Directory of the models' sample directories.") var samples: String
    @Option(help: "Comma-separated temperatures.") var temperatures: String = "0.7,1.0"
    @Option(help: "Comma-separated k values (at most the samples per problem).") var k: String = "1,2,4,8,16,32,64,128,256,512,1024"
    @Option(help: "Comma-separated target accuracies.") var targets: String = "0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.45,0.5,0.55,0.6,0.65,0.7,0.75,0.8,0.85,0.9"
    @Option(help: "The targets the summary gives the total-cost view for and the contour plot draws.") var highlight: String = "0.4,0.6"
    @Option(help: "Comma-separated query volumes Q for C_train + Q·C_infer.") var queries: String = "1,1e3,1e6,1e9,1e12"
    @Option(help: "Bootstrap replicates (seeds × problems).") var replicates: Int = 1000
    @Option(help: "Random subsets per (problem, k) for majority vote.") var majorityTrials: Int = 32
    @Option(help: "Bootstrap seed.") var seed: UInt64 = 1
    @Option(help: "Output directory.") var out: String

    func run() throws {
        let temps: [Double] = try parseList(temperatures, option: "--temperatures", example: "0.7,1.0")
        let ks: [Int] = try parseList(k, option: "--k", example: "1,2,4")
        let targetList: [Double] = try parseList(targets, option: "--targets", example: "0.4,0.6")
        let highlights: [Double] = try parseList(highlight, option: "--highlight", example: "0.4,0.6")
        let volumes: [Double] = try parseList(queries, option: "--queries", example: "1,1e6")
        let runFiles = try FileManager.default.contentsOfDirectory(atPath: runs).filter { $0.hasSuffix(".json") }.sorted()
        guard !runFiles.isEmpty else { throw InvalidInput(description: "no training summaries (*.json) in \(runs)") }
        var verifierCost: VerifierCost?
        var inputs: [InputFile] = []
        if let verifier {
            let checkpoint = try checkpointPath(summary: verifier)
            verifierCost = VerifierCost(trainFLOPs: try SampledModelLoader.trainingFLOPs(summary: URL(fileURLWithPath: verifier)),
                                        shape: try SampledModelLoader.shape(of: checkpoint))
            inputs.append(try InputFile(role: "verifier-summary", path: verifier))
        }
        var expected: [Int]?
        var models: [SampledModel] = []
        for file in runFiles {
            let name = String(file.dropLast(".json".count))
            guard let dash = name.range(of: "-s", options: .backwards), let seed = Int(name[dash.upperBound...]) else {
                throw InvalidInput(description: "\(file): a summary's name must be CELL-sSEED.json")
            }
            let summary = URL(fileURLWithPath: runs).appendingPathComponent(file)
            let directory = URL(fileURLWithPath: samples).appendingPathComponent(name)
            let model = try SampledModelLoader.load(
                cell: String(name[..<dash.lowerBound]), seed: seed, trainFLOPs: try SampledModelLoader.trainingFLOPs(summary: summary),
                shape: try SampledModelLoader.shape(of: try checkpointPath(summary: summary.path)), samples: directory,
                temperatures: temps, ks: ks,
                verifier: verifierCost, majorityTrials: majorityTrials, problems: expected)
            expected = expected ?? model.problems
            models.append(model)
            inputs.append(try InputFile(role: "training-summary", path: summary.path))
            print("loaded \(name)", to: &standardError)
        }
        let provenance = Provenance.current(
            seeds: ["bootstrap": seed], threads: 1,
            hyperParameters: ["ks": .list(ks.map { .integer($0) }), "temperatures": .list(temps.map { .number($0) }),
                              "replicates": .integer(replicates), "majority_trials": .integer(majorityTrials),
                              "targets": .list(targetList.map { .number($0) }), "queries": .list(volumes.map { .number($0) })],
            inputs: inputs)
        let report = ExchangeRateReport.make(models: models, ks: ks, temperatures: temps, rules: SelectionCurves.rules, targets: targetList,
                                             queryVolumes: volumes, verifierTrainFLOPs: verifierCost?.trainFLOPs ?? 0, replicates: replicates,
                                             seed: seed, provenance: provenance)
        let directory = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try JSONEncoder.sorted.encode(report).write(to: directory.appendingPathComponent("report.json"))
        for t in temps {
            let name = ExchangeRateFiles.formatTemperature(t)
            try report.contourPlot(temperature: t, highlight: highlights).svg()
                .write(to: directory.appendingPathComponent("contours-T\(name).svg"), atomically: true, encoding: .utf8)
            for rule in SelectionCurves.rules {
                try report.accuracyPlot(temperature: t, rule: rule)?.svg()
                    .write(to: directory.appendingPathComponent("accuracy-T\(name)-\(rule.rawValue).svg"), atomically: true, encoding: .utf8)
            }
        }
        print(report.summary(highlight: highlights))
    }

    /// The checkpoint a `train --json` summary names ("out").
    func checkpointPath(summary: String) throws -> String {
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as? [String: Any],
              let path = object["out"] as? String else {
            throw InvalidInput(description: "\(summary) names no checkpoint (\"out\")")
        }
        return path
    }
}

extension VerifierScore: ExpressibleByArgument {}

extension JSONEncoder {
    /// Sorted keys, pretty: for the small JSON files the experiments commit.
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return e
    }
}
