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
    ///
    /// The candidates are ranked by descending logit, ties by ascending id (for determinism).
    /// No comparison sort of the whole vocabulary: top-k selects its k with a bounded heap in one
    /// pass and sorts only those; without top-k every token stays a candidate, and the cuts sum
    /// probabilities over all of them in rank order (Double sums, whose bits depend on the order),
    /// so they are ranked by a stable radix sort, O(n). Either gives exactly the order of the
    /// comparison sort, hence the same token for the same seed.
    mutating func draw(_ x: [Float]) -> Int {
        var ids = settings.topK > 0 && settings.topK < x.count ? Self.topK(x, settings.topK) : Self.rankAll(x)
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

    /// Whether id a comes before id b in rank order: higher logit, or the same logit and lower id.
    @inline(__always) static func before(_ x: UnsafeBufferPointer<Float>, _ a: Int, _ b: Int) -> Bool {
        x[a] != x[b] ? x[a] > x[b] : a < b
    }

    /// The k (1 ≤ k < n) best ids in rank order: one pass keeps the best k so far in a heap whose
    /// root is the last of them in rank order (replaced when a better one comes), then those k
    /// are sorted. O(n + k log k · replacements) instead of O(n log n).
    static func topK(_ x: [Float], _ k: Int) -> [Int] {
        x.withUnsafeBufferPointer { x in
            var heap = [Int](unsafeUninitializedCapacity: k) { buffer, count in
                for i in 0..<k { buffer[i] = i }
                count = k
            }
            heap.withUnsafeMutableBufferPointer { h in
                // parent after (or equal to) its children in rank order: the root is the worst kept
                func siftDown(_ start: Int) {
                    var i = start
                    while true {
                        let l = 2 * i + 1, r = l + 1
                        var worst = i
                        if l < k && before(x, h[worst], h[l]) { worst = l }
                        if r < k && before(x, h[worst], h[r]) { worst = r }
                        if worst == i { return }
                        h.swapAt(i, worst)
                        i = worst
                    }
                }
                for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i) }
                var worstLogit = x[h[0]]
                for i in k..<x.count where x[i] > worstLogit {
                    // a later id with an equal logit ranks after every kept one: only higher logits enter
                    h[0] = i
                    siftDown(0)
                    worstLogit = x[h[0]]
                }
            }
            heap.sort { before(x, $0, $1) }
            return heap
        }
    }

    /// Every id in rank order, by a stable least-significant-digit radix sort (three passes of
    /// 11, 11 and 10 bits) of keys that order the logits descending (−0 counted as +0, as the
    /// comparison treats them); ids enter in ascending order, so ties stay in ascending id.
    static func rankAll(_ x: [Float]) -> [Int] {
        let n = x.count
        var keys = [UInt32](repeating: 0, count: n), keys2 = keys
        var ids = [Int32](repeating: 0, count: n), ids2 = ids
        var histogram = [Int](repeating: 0, count: 3 * 2048)
        x.withUnsafeBufferPointer { x in
            keys.withUnsafeMutableBufferPointer { key in
                histogram.withUnsafeMutableBufferPointer { hist in
                    for i in 0..<n {
                        let bits = (x[i] == 0 ? 0 : x[i]).bitPattern
                        // ascending in the float value, then inverted: ascending key = descending logit
                        let k = ~(bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000)
                        key[i] = k
                        hist[Int(k & 0x7FF)] += 1
                        hist[2048 + Int((k >> 11) & 0x7FF)] += 1
                        hist[4096 + Int(k >> 22)] += 1
                    }
                }
            }
        }
        ids.withUnsafeMutableBufferPointer { for i in 0..<n { $0[i] = Int32(i) } }
        for pass in 0..<3 {
            let shift = UInt32(11 * pass)
            let skip = histogram.withUnsafeMutableBufferPointer { hist -> Bool in
                let h = UnsafeMutableBufferPointer(rebasing: hist[2048 * pass..<2048 * pass + 2048])
                if h.contains(n) { return true }  // every key has the same digit: the order stands
                var total = 0
                for b in 0..<2048 { let c = h[b]; h[b] = total; total += c }
                return false
            }
            if skip { continue }
            histogram.withUnsafeMutableBufferPointer { hist in
                keys.withUnsafeBufferPointer { key in
                    ids.withUnsafeBufferPointer { id in
                        keys2.withUnsafeMutableBufferPointer { key2 in
                            ids2.withUnsafeMutableBufferPointer { id2 in
                                let base = 2048 * pass
                                for i in 0..<n {
                                    let k = key[i], b = base + Int((k >> shift) & 0x7FF)
                                    let at = hist[b]
                                    hist[b] = at + 1
                                    key2[at] = k
                                    id2[at] = id[i]
                                }
                            }
                        }
                    }
                }
            }
            swap(&keys, &keys2)
            swap(&ids, &ids2)
        }
        return ids.map { Int($0) }
    }
}
