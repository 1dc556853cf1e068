import Foundation
import LlamaCore
import Tokenizers

/// n independent samples of one problem's answer, drawn as a tree instead of n separate decodes.
///
/// Drawing n i.i.d. samples token by token is the same as this: at the prompt, draw the n first
/// tokens at once (a multinomial split of n over the next-token distribution); each distinct
/// first token becomes a node carrying its share of the n draws, which it splits the same way
/// over its own next-token distribution; and so on until every draw has ended (end of text, a
/// newline, or the token budget). A node is one forward step of one token however many draws
/// pass through it, so when the model is sure of itself 1,024 samples cost a handful of steps.
/// The distribution of the resulting answer counts is exactly that of n separate samples, and
/// every leaf also gets its exact probability under the sampling distribution (the product of
/// the conditional probabilities along its path).
///
/// Compute is *accounted* as n separate samples would cost (`ComputeCost`), not as the tree
/// cost: the tree is how this experiment affords n = 1,024, not a saving it claims.
public struct TreeSampler {
    public let model: any LanguageModel
    public let tokenizer: any Tokenizer
    public let maxTokens: Int
    /// Tokens that end a sample: the tokenizer's end-of-generation ids and any token whose text
    /// holds a newline (the tasks' stop string).
    let stopTokens: Set<Int>

    /// KV cells the sampler can need for one problem: the prompt, and every draw's own path.
    public static func cells(promptTokens: Int, n: Int, maxTokens: Int) -> Int { promptTokens + n * maxTokens }

    public init(model: any LanguageModel, tokenizer: any Tokenizer, maxTokens: Int) {
        self.model = model
        self.tokenizer = tokenizer
        self.maxTokens = maxTokens
        var stops = tokenizer.endOfGenerationIds
        for id in 0..<tokenizer.vocabSize where tokenizer.decode([id]).contains("\n") { stops.insert(id) }
        stopTokens = stops
    }

    /// One distinct generated continuation and how many of the n draws produced it.
    public struct Leaf: Equatable, Sendable {
        public var tokens: [Int]
        public var count: Int
        /// Its probability under the sampling distribution (softmax of logits / temperature).
        public var probability: Double
    }

    /// The tree's leaves for `prompt` (token ids), sorted by token sequence, and how many nodes
    /// (one-token forward steps after the prompt) the tree took. Draws split with the random
    /// stream (seed, problem, depth, prefix), so the result depends on nothing but these.
    public func sample(prompt: [Int], n: Int, temperature: Double, seed: UInt64, problem: Int) throws -> (leaves: [Leaf], nodes: Int) {
        guard n >= 1 else { throw ExperimentError.invalidTaskParameter(task: "tree sampler", reason: "n must be at least 1, got \(n)") }
        guard temperature > 0, temperature.isFinite else {
            throw ExperimentError.invalidTaskParameter(task: "tree sampler", reason: "the temperature must be positive, got \(temperature)")
        }
        model.resetCache()
        struct Node { var sequence: Int; var tokens: [Int]; var count: Int; var probability: Double }
        var logits = try model.forward(.prompt(prompt, sequence: 0))
        var frontier = [Node(sequence: 0, tokens: [], count: n, probability: 1)]
        var leaves: [Leaf] = []
        var nextSequence = 1, nodes = 0
        while !frontier.isEmpty {
            var entries: [BatchEntry] = []
            var children: [Node] = []
            for (node, row) in zip(frontier, logits) {
                let probabilities = Self.softmax(row, temperature: temperature)
                var rng = SeededRandom(seed: seed, streams: [UInt64(problem), UInt64(node.tokens.count), Self.hash(node.tokens)])
                for (token, count) in Self.multinomial(count: node.count, probabilities: probabilities, rng: &rng) {
                    let child = Node(sequence: nextSequence, tokens: node.tokens + [token], count: count,
                                     probability: node.probability * probabilities[token])
                    if stopTokens.contains(token) || child.tokens.count >= maxTokens {
                        leaves.append(Leaf(tokens: child.tokens, count: count, probability: child.probability))
                        continue
                    }
                    model.copySequence(node.sequence, to: nextSequence)
                    entries.append(BatchEntry(token: token, position: prompt.count + node.tokens.count, sequence: nextSequence, wantsLogits: true))
                    children.append(child)
                    nextSequence += 1
                }
                model.removeSequence(node.sequence)
            }
            nodes += entries.count
            logits = entries.isEmpty ? [] : try model.forward(entries)
            frontier = children
        }
        return (leaves.sorted { $0.tokens.lexicographicallyPrecedes($1.tokens) }, nodes)
    }

    /// softmax(logits / temperature), in Double.
    static func softmax(_ logits: [Float], temperature: Double) -> [Double] {
        let top = Double(logits.max() ?? 0)
        var p = logits.map { exp((Double($0) - top) / temperature) }
        let total = p.reduce(0, +)
        for i in p.indices { p[i] /= total }
        return p
    }

    /// `count` categorical draws from `probabilities`, as (index, how many) for the indices drawn,
    /// in index order.
    static func multinomial(count: Int, probabilities: [Double], rng: inout SeededRandom) -> [(Int, Int)] {
        var cumulative = [Double](repeating: 0, count: probabilities.count)
        var running = 0.0
        for (i, p) in probabilities.enumerated() { running += p; cumulative[i] = running }
        var counts: [Int: Int] = [:]
        for _ in 0..<count {
            let u = rng.nextDouble() * running
            // First index whose cumulative probability exceeds u (binary search), skipping zeros.
            var lo = 0, hi = cumulative.count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid] > u { hi = mid } else { lo = mid + 1 }
            }
            counts[lo, default: 0] += 1
        }
        return counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// FNV-1a over the token ids: the prefix's part of a node's random stream.
    static func hash(_ tokens: [Int]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for t in tokens { h = (h ^ UInt64(truncatingIfNeeded: t)) &* 0x0000_0100_0000_01b3 }
        return h
    }
}
