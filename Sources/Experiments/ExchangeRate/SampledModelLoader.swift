import Foundation
import GGUF
import LlamaCore

/// The verifier as the analysis charges it: its training FLOPs (added to C_train of the
/// verifier rule) and its shape (one call per sample added to C_infer).
public struct VerifierCost: Sendable {
    public var trainFLOPs: Double
    public var shape: ModelShape
    public init(trainFLOPs: Double, shape: ModelShape) { self.trainFLOPs = trainFLOPs; self.shape = shape }
}

/// Builds a `SampledModel` from what the experiment's steps wrote: the training summary
/// (`train --json`), the checkpoint (its shape), and the tallies and verifier scores of every
/// temperature.
public enum SampledModelLoader {
    /// The shape that sets a token's cost: every weight, the layers and the attention width.
    public static func shape(of checkpoint: String) throws -> ModelShape {
        let gguf = try GGUFFile(path: checkpoint)
        let c = try ModelConfig(gguf: gguf)
        return ModelShape(parameters: gguf.tensors.reduce(0) { $0 + $1.elementCount }, layers: c.layers, attentionWidth: c.qDim)
    }

    /// `flops_actual` of a `train --json` summary.
    public static func trainingFLOPs(summary: URL) throws -> Double {
        guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: summary)) as? [String: Any],
              let flops = (object["flops_actual"] as? NSNumber)?.doubleValue else {
            throw ExperimentError.invalidTaskParameter(task: "exchange-rate", reason: "\(summary.path) has no flops_actual (not a `train --json` summary?)")
        }
        return flops
    }

    public static func load(cell: String, seed: Int, trainFLOPs: Double, shape: ModelShape, samples directory: URL, temperatures: [Double],
                            ks: [Int], verifier: VerifierCost?, majorityTrials: Int, problems expected: [Int]? = nil) throws -> SampledModel {
        var accuracy: [Double: [SelectionRule: [[Double]]]] = [:]
        var costs: [Double: [SelectionRule: InferenceCost]] = [:]
        var levels: [String] = [], problems: [Int] = []
        for t in temperatures {
            let tallies = try AnswerSampling.read(directory.appendingPathComponent(ExchangeRateFiles.answers(temperature: t))).sorted { $0.problem < $1.problem }
            if let expected, tallies.map(\.problem) != expected {
                throw ExperimentError.invalidTaskParameter(task: "exchange-rate",
                    reason: "\(directory.path) at T=\(t) has \(tallies.count) problems, not the \(expected.count) every model must share (an unfinished sample step?)")
            }
            if let short = tallies.first(where: { $0.n < (ks.max() ?? 0) }) {
                throw ExperimentError.invalidTaskParameter(task: "exchange-rate",
                    reason: "k = \(ks.max() ?? 0) is more than the \(short.n) samples of problem \(short.problem) in \(directory.path) at T=\(t)")
            }
            var rng = SeededRandom(seed: 0, label: "majority", UInt64(seed), UInt64(t * 1000))
            var table: [SelectionRule: [[Double]]] = [
                .oracle: ks.map { k in tallies.map { SelectionCurves.oracle($0, k: k) } },
                .majorityVote: ks.map { k in tallies.map { SelectionCurves.majority($0, k: k, trials: majorityTrials, rng: &rng) } },
            ]
            let perQuery = mean(tallies.map { shape.flops(positions: 0, count: $0.promptTokens) })
            let perSample = mean(tallies.map { tally in
                tally.answers.reduce(0) { $0 + Double($1.count) / Double(tally.n) * shape.flops(positions: tally.promptTokens, count: $1.tokens) }
            })
            var cost: [SelectionRule: InferenceCost] = [.oracle: InferenceCost(perQuery: perQuery, perSample: perSample),
                                                        .majorityVote: InferenceCost(perQuery: perQuery, perSample: perSample)]
            if let verifier {
                let scores = Dictionary(uniqueKeysWithValues: try readScores(directory.appendingPathComponent(ExchangeRateFiles.scores(temperature: t))).map { ($0.problem, $0) })
                table[.verifier] = try ks.map { k in
                    try tallies.map { tally in
                        guard tally.correctCount > 0 else { return 0 }
                        guard let s = scores[tally.problem], s.scores.count == tally.answers.count else {
                            throw ExperimentError.invalidTaskParameter(task: "exchange-rate", reason: "no verifier scores for problem \(tally.problem) in \(directory.path) at T=\(t)")
                        }
                        return SelectionCurves.verifier(tally, scores: s.scores, k: k)
                    }
                }
                // One verifier call per sample over its whole prompt (nothing shared): the mean
                // over the scored answers, weighted by how often each was sampled.
                var tokens = 0.0, weight = 0.0
                for tally in tallies {
                    guard let s = scores[tally.problem], !s.tokens.isEmpty else { continue }
                    for (a, length) in zip(tally.answers, s.tokens) where length > 0 { tokens += Double(a.count * length); weight += Double(a.count) }
                }
                let callFLOPs = weight > 0 ? verifier.shape.flops(positions: 0, count: Int((tokens / weight).rounded())) : 0
                cost[.verifier] = InferenceCost(perQuery: perQuery, perSample: perSample + callFLOPs)
            }
            accuracy[t] = table
            costs[t] = cost
            // "3x3+" → level "3 digits".
            levels = tallies.map { $0.difficulty.map { "\($0.prefix { $0.isNumber }) digits" } ?? "?" }
            problems = tallies.map(\.problem)
        }
        return SampledModel(cell: cell, seed: seed, trainFLOPs: trainFLOPs, accuracy: accuracy, inferenceCost: costs, levels: levels, problems: problems)
    }

    static func readScores(_ file: URL) throws -> [ProblemScores] {
        let text = try String(contentsOf: file, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(ProblemScores.self, from: Data($0.utf8)) }
    }

    static func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
}
