import Foundation
import LlamaCore

/// Prompt processing and generation speed, llama-bench style: pp<P> is one batch of P prompt
/// tokens, tg<N> is N single-token steps; each repeated, reported as mean ± sd tokens/s. With a
/// depth D both run after D tokens of context (llama-bench's `tg32 @ d1024`): filling the cache
/// is not timed, and attention then reads D cached keys and values per step.
public enum Benchmark {
    /// One test's result.
    public struct Result: Sendable {
        /// "pp512", "tg128", "tg32 @ d1024", or "pp64+tg32x16" for a batched test.
        public var test: String
        public var prompt: Int, gen: Int, depth: Int, batch: Int
        /// Tokens per second of each repetition (generated tokens for batched tests).
        public var rates: [Double]
        public var mean: Double { rates.reduce(0, +) / Double(rates.count) }
        public var stddev: Double {
            guard rates.count > 1 else { return 0 }
            let m = mean
            return (rates.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(rates.count - 1)).squareRoot()
        }
        /// Batched tests: mean seconds of the shared prompt and of the generation steps.
        public var promptSeconds: Double?
        public var generationSeconds: Double?
    }

    public enum Failure: Error, CustomStringConvertible {
        case doesNotFit(String)
        public var description: String { switch self { case let .doesNotFit(s): return s } }
    }

    /// pp`prompt` and tg`gen` (either may be 0) after `depth` tokens of context, each timed
    /// `repetitions` times after one warm-up. Token ids are random: speed does not depend on them.
    public static func run(model: any LanguageModel, prompt: Int, gen: Int, depth: Int, repetitions: Int) throws -> [Result] {
        let limit = min(model.config.contextLength, model.cacheCapacity)
        guard depth + max(prompt, gen) <= limit else {
            throw Failure.doesNotFit("the test needs \(depth + max(prompt, gen)) positions but the context holds \(limit) tokens")
        }
        var rng = SystemRandomNumberGenerator()
        let vocab = model.config.vocabSize
        let promptIds = (0..<prompt).map { _ in Int.random(in: 0..<vocab, using: &rng) }
        let contextIds = (0..<depth).map { _ in Int.random(in: 0..<vocab, using: &rng) }
        /// An empty cache, then the depth's context tokens (in prompt-sized batches).
        func fillContext() throws {
            model.resetCache()
            for start in stride(from: 0, to: depth, by: 512) {
                _ = try model.forward(.prompt(Array(contextIds[start..<min(depth, start + 512)]), start: start))
            }
        }
        func measure(_ name: String, prompt: Int, gen: Int, _ body: () throws -> Void) throws -> Result {
            try fillContext()
            try body() // warm-up: page in weights, size buffers
            var rates: [Double] = []
            for _ in 0..<repetitions {
                try fillContext()
                let start = Date()
                try body()
                rates.append(Double(prompt + gen) / Date().timeIntervalSince(start))
            }
            return Result(test: depth > 0 ? "\(name) @ d\(depth)" : name, prompt: prompt, gen: gen, depth: depth, batch: 1, rates: rates)
        }
        var results: [Result] = []
        if prompt > 0 {
            results.append(try measure("pp\(prompt)", prompt: prompt, gen: 0) { _ = try model.forward(.prompt(promptIds, start: depth)) })
        }
        if gen > 0 {
            results.append(try measure("tg\(gen)", prompt: 0, gen: gen) {
                var token = vocab / 2
                for pos in depth..<depth + gen {
                    token = try model.forwardArgmax([BatchEntry(token: token, position: pos, wantsLogits: true)])[0]
                }
            })
        }
        return results
    }

    /// KV cells a batched test needs: the shared prompt and `batch` tails of `gen` tokens.
    public static func cellsNeeded(prompt: Int, gen: Int, batches: [Int]) -> Int { prompt + (batches.max() ?? 1) * gen }

    /// llama-batched-bench with a shared prompt: `prompt` tokens processed once, then B sequences
    /// forked from it generate `gen` tokens each, one batch of B per step, for each B in `batches`.
    /// S_PP = PP / T_PP, S_TG = B·TG / T_TG (aggregate generated tokens/s).
    public static func batched(model: any LanguageModel, prompt: Int, gen: Int, batches: [Int], repetitions: Int) throws -> [Result] {
        guard prompt > 0, gen > 0 else { throw Failure.doesNotFit("a batched test needs a prompt and generated tokens (-p > 0 and -n > 0)") }
        let needed = cellsNeeded(prompt: prompt, gen: gen, batches: batches)
        guard prompt + gen <= model.config.contextLength, needed <= model.cacheCapacity else {
            throw Failure.doesNotFit("the test needs \(prompt + gen) positions and \(needed) cache cells; the context holds \(min(model.config.contextLength, model.cacheCapacity)) tokens")
        }
        var rng = SystemRandomNumberGenerator()
        let ids = (0..<prompt).map { _ in Int.random(in: 0..<model.config.vocabSize, using: &rng) }

        func once(_ b: Int) throws -> (tpp: Double, ttg: Double) {
            model.resetCache()
            let t0 = Date()
            let last = try model.forward(.prompt(ids, sequence: 0)).last!
            let tpp = Date().timeIntervalSince(t0)
            for s in 1...b { model.copySequence(0, to: s) }
            var tokens = [Int](repeating: argmax(last), count: b)
            let t1 = Date()
            for step in 0..<gen {
                let entries = (0..<b).map { BatchEntry(token: tokens[$0], position: prompt + step, sequence: $0 + 1, wantsLogits: true) }
                tokens = try model.forward(entries).map { argmax($0) }
            }
            return (tpp, Date().timeIntervalSince(t1))
        }
        _ = try once(1) // warm-up
        return try batches.map { b in
            let times = try (0..<repetitions).map { _ in try once(b) }
            return Result(test: "pp\(prompt)+tg\(gen)x\(b)", prompt: prompt, gen: gen, depth: 0, batch: b,
                          rates: times.map { Double(b * gen) / $0.ttg },
                          promptSeconds: times.map(\.tpp).reduce(0, +) / Double(repetitions),
                          generationSeconds: times.map(\.ttg).reduce(0, +) / Double(repetitions))
        }
    }
}
