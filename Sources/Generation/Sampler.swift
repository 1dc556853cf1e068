import Foundation
import LlamaCore

/// Sampling settings. temperature ≤ 0 means greedy (argmax).
public struct SamplerSettings: Equatable, Sendable, Codable {
    public var temperature: Float = 0.8
    public var topK: Int = 40               // 0 = off
    public var topP: Float = 0.95           // 1 = off
    public var minP: Float = 0.05           // 0 = off
    public var repeatPenalty: Float = 1.0   // 1 = off
    public var repeatLastN: Int = 64

    public init(temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05, repeatPenalty: Float = 1.0, repeatLastN: Int = 64) {
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.minP = minP
        self.repeatPenalty = repeatPenalty; self.repeatLastN = repeatLastN
    }

    public static let greedy = SamplerSettings(temperature: 0, topK: 0, topP: 1, minP: 0)

    public func validate() throws {
        guard temperature.isFinite, temperature >= 0 else { throw SamplingError.invalidSetting("temperature \(temperature) must be ≥ 0") }
        guard topK >= 0 else { throw SamplingError.invalidSetting("top-k \(topK) must be ≥ 0") }
        guard topP > 0, topP <= 1 else { throw SamplingError.invalidSetting("top-p \(topP) must be in (0, 1]") }
        guard minP >= 0, minP < 1 else { throw SamplingError.invalidSetting("min-p \(minP) must be in [0, 1)") }
        guard repeatPenalty.isFinite, repeatPenalty > 0 else { throw SamplingError.invalidSetting("repeat penalty \(repeatPenalty) must be > 0") }
        guard repeatLastN >= 0 else { throw SamplingError.invalidSetting("repeat-last-n \(repeatLastN) must be ≥ 0") }
    }
}

public enum SamplingError: Error, CustomStringConvertible, Equatable {
    case invalidSetting(String)
    case nonFiniteLogits
    case emptyLogits
    public var description: String {
        switch self {
        case .emptyLogits: return "there are no logits to sample from (empty vocabulary)"
        case let .invalidSetting(s): return "invalid sampling setting: \(s)"
        case .nonFiniteLogits: return "the model produced NaN or infinite logits"
        }
    }
}

/// A sampled token and its log-probability under the model's own (unmodified) distribution.
public struct SampledToken: Equatable, Sendable {
    public let token: Int
    public let logprob: Double
}

/// Picks the next token from logits: repetition penalty, top-k, top-p, min-p, temperature,
/// then a draw from the seeded generator (in that order, as llama.cpp's default chain does).
/// Temperature 0 is the argmax of the penalized logits. Invalid settings and NaN/inf logits throw.
public struct Sampler: Sendable {
    public let settings: SamplerSettings
    public var rng: SeededRandom

    public init(settings: SamplerSettings, rng: SeededRandom) {
        self.settings = settings; self.rng = rng
    }

    public mutating func sample(_ logits: [Float], history: [Int] = []) throws -> SampledToken {
        try settings.validate()
        guard !logits.isEmpty else { throw SamplingError.emptyLogits }
        guard logits.allSatisfy({ $0.isFinite }) else { throw SamplingError.nonFiniteLogits }
        let penalized = applyingRepetitionPenalty(logits, history: history)
        let choice = settings.temperature <= 0 ? argmax(penalized) : draw(penalized)
        return SampledToken(token: choice, logprob: Self.logSoftmax(logits, at: choice))
    }

    /// Shrinks positive logits and grows negative ones of the last `repeatLastN` tokens. Applied
    /// before the greedy pick as well as before a draw (as llama.cpp's sampler chain does).
    func applyingRepetitionPenalty(_ logits: [Float], history: [Int]) -> [Float] {
        guard settings.repeatPenalty != 1, settings.repeatLastN > 0 else { return logits }
        var x = logits
        for t in Set(history.suffix(settings.repeatLastN)) where t >= 0 && t < x.count {
            x[t] = x[t] > 0 ? x[t] / settings.repeatPenalty : x[t] * settings.repeatPenalty
        }
        return x
    }

    /// log softmax(x)[i], in Double.
    public static func logSoftmax(_ x: [Float], at i: Int) -> Double {
        let m = Double(x.max() ?? 0)
        var sum = 0.0
        for v in x { sum += Foundation.exp(Double(v) - m) }
        return Double(x[i]) - m - Foundation.log(sum)
    }

    /// A draw from the (already penalized) logits after the top-k, top-p and min-p cuts.
    mutating func draw(_ x: [Float]) -> Int {
        // candidates by descending logit (ties by id, for determinism)
        var ids = Array(x.indices)
        if settings.topK > 0 && settings.topK < ids.count {
            ids = Array(ids.sorted { x[$0] != x[$1] ? x[$0] > x[$1] : $0 < $1 }.prefix(settings.topK))
        } else {
            ids.sort { x[$0] != x[$1] ? x[$0] > x[$1] : $0 < $1 }
        }
        // probabilities at temperature 1 for the top-p and min-p cuts
        func probs(_ ids: [Int], temperature: Float) -> [Double] {
            let m = Double(x[ids[0]])
            let e = ids.map { Foundation.exp((Double(x[$0]) - m) / Double(temperature)) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }
        if settings.topP < 1 {
            let p = probs(ids, temperature: 1)
            var cum = 0.0, keep = ids.count
            for (i, pi) in p.enumerated() {
                cum += pi
                if cum >= Double(settings.topP) { keep = i + 1; break }
            }
            ids = Array(ids.prefix(keep))
        }
        if settings.minP > 0 {
            let p = probs(ids, temperature: 1)
            let floor = p[0] * Double(settings.minP)
            ids = Array(ids.enumerated().filter { p[$0.offset] >= floor }.map { $0.element })
        }
        let p = probs(ids, temperature: settings.temperature)
        let u = rng.nextDouble()
        var cum = 0.0
        for (i, pi) in p.enumerated() {
            cum += pi
            if u < cum { return ids[i] }
        }
        return ids[ids.count - 1]
    }
}
