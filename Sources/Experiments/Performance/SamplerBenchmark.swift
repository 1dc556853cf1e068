import Foundation
import Generation
import LlamaCore

/// Time per sampled token spent in the sampler alone, over one vocabulary-sized row of logits
/// (on a 152k-token vocabulary this used to be a full sort per draw). Measured for the settings
/// that take different paths: greedy (an argmax), llama.cpp's defaults (top-k first: a bounded
/// heap), and EvalPlus's sampling (top-p without top-k: every token ranked by a radix sort).
/// Each draw also computes the chosen token's log-probability over the whole row, as generation does.
public enum SamplerBenchmark {
    public struct Result: Sendable {
        public var name: String
        public var settings: SamplerSettings
        /// Microseconds per draw, one value per repetition.
        public var microseconds: [Double]
        public var median: Double { median(of: microseconds) }

        private func median(of values: [Double]) -> Double {
            let s = values.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
    }

    public static let cases: [(name: String, settings: SamplerSettings)] = [
        ("greedy", .greedy),
        ("top-k 40, top-p 0.95, min-p 0.05, T 0.8", SamplerSettings()),
        ("top-p 0.95, T 0.8 (no top-k)", SamplerSettings(temperature: 0.8, topK: 0, topP: 0.95, minP: 0)),
    ]

    /// `draws` draws per repetition, after one warm-up repetition.
    public static func run(logits: [Float], draws: Int = 64, repetitions: Int = 5) throws -> [Result] {
        try cases.map { name, settings in
            var sampler = Sampler(settings: settings, rng: SeededRandom(seed: 0))
            var times: [Double] = []
            for repetition in 0...repetitions {
                let start = Date()
                for _ in 0..<draws { _ = try sampler.sample(logits) }
                if repetition > 0 { times.append(Date().timeIntervalSince(start) / Double(draws) * 1e6) }
            }
            return Result(name: name, settings: settings, microseconds: times)
        }
    }
}
