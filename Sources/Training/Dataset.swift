import Foundation

/// One training example: the model reads `prompt` and learns to continue with `completion`.
public struct TextExample: Equatable, Sendable {
    public var prompt: String
    public var completion: String
    public init(prompt: String, completion: String) { self.prompt = prompt; self.completion = completion }
}

/// Which predictions count towards the loss.
public enum LossScope: String, Codable, Sendable, CaseIterable {
    /// Only the completion and its closing </s>: the model is not asked to model the prompts,
    /// which for generated tasks are random numbers it could not predict anyway.
    case completion
    /// Every next-token prediction, prompt included.
    case all
}

/// An example as tokens: <s> prompt completion </s>, with the loss weight of each prediction
/// (position i predicts token i + 1).
public struct EncodedExample: Equatable, Sendable {
    public var tokens: [Int32]
    public var weights: [Float]

    public init(_ example: TextExample, vocabulary: CharVocabulary, scope: LossScope) {
        let prompt = vocabulary.encode(example.prompt), completion = vocabulary.encode(example.completion)
        let all = ([CharVocabulary.bos] + prompt + completion + [CharVocabulary.eos]).map { Int32($0) }
        let firstCounted = scope == .all ? 0 : prompt.count   // predicts the first completion token
        tokens = all
        weights = (0..<all.count).map { i in i >= firstCounted && i + 1 < all.count ? 1 : 0 }
    }
}

/// Where training batches come from.
public protocol BatchSource: AnyObject {
    /// Rows per batch and tokens per row.
    var rows: Int { get }
    var length: Int { get }
    func nextBatch() -> TokenBatch
}

/// Packs whole examples into rows: each row takes examples (in a seeded shuffled order, a new
/// shuffle every epoch) until the next one would not fit, and the rest of the row is padding
/// that no loss counts. Examples never span rows.
public final class PackedExamples: BatchSource {
    public let rows: Int
    public let length: Int
    let examples: [EncodedExample]
    private var order: [Int] = []
    private var cursor = 0
    private var rng: TrainingRandom
    private let shuffles: Bool
    public private(set) var epochs = 0

    /// Throws when an example does not fit in a row.
    public init(examples: [EncodedExample], rows: Int, length: Int, seed: UInt64, shuffle: Bool = true) throws {
        guard rows > 0, length > 1 else { throw TrainingError.invalidHyperparameter("a batch needs at least 1 row of 2 tokens (got \(rows) × \(length))") }
        guard !examples.isEmpty else { throw TrainingError.invalidData("no examples") }
        for (i, e) in examples.enumerated() where e.tokens.count > length {
            throw TrainingError.exampleTooLong(index: i, tokens: e.tokens.count, context: length)
        }
        self.examples = examples; self.rows = rows; self.length = length
        rng = TrainingRandom(seed: seed)
        shuffles = shuffle
        startEpoch()
    }

    private func startEpoch() {
        order = Array(examples.indices)
        if shuffles {
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.nextInt(below: i + 1)) }
        }
        cursor = 0
    }

    private func peek() -> EncodedExample {
        if cursor == order.count { epochs += 1; startEpoch() }
        return examples[order[cursor]]
    }

    public func nextBatch() -> TokenBatch {
        var batch = TokenBatch(rows: rows, length: length)
        for r in 0..<rows {
            var used = 0
            while true {
                let e = peek()
                guard used + e.tokens.count <= length else { break }
                place(e, in: &batch, row: r, at: used)
                used += e.tokens.count
                cursor += 1
            }
            pad(&batch, row: r, from: used)
        }
        return batch
    }

    /// Batches that hold every example exactly once, in order (held-out evaluation). Rows of
    /// the last batch may be all padding.
    public static func covering(_ examples: [EncodedExample], rows: Int, length: Int) throws -> [TokenBatch] {
        let packer = try PackedExamples(examples: examples, rows: rows, length: length, seed: 0, shuffle: false)
        var batches: [TokenBatch] = []
        var next = 0
        while next < examples.count {
            var batch = TokenBatch(rows: rows, length: length)
            for r in 0..<rows {
                var used = 0
                while next < examples.count, used + examples[next].tokens.count <= length {
                    packer.place(examples[next], in: &batch, row: r, at: used)
                    used += examples[next].tokens.count
                    next += 1
                }
                packer.pad(&batch, row: r, from: used)
            }
            batches.append(batch)
        }
        return batches
    }

    func place(_ e: EncodedExample, in batch: inout TokenBatch, row: Int, at start: Int) {
        let base = row * length
        for i in 0..<e.tokens.count {
            batch.tokens[base + start + i] = e.tokens[i]
            batch.targets[base + start + i] = i + 1 < e.tokens.count ? e.tokens[i + 1] : Int32(CharVocabulary.eos)
            batch.lossWeights[base + start + i] = e.weights[i]
            batch.segmentStart[base + start + i] = Int32(start)
        }
    }

    /// Padding is its own segment of </s> tokens with no loss, so it never touches real tokens.
    func pad(_ batch: inout TokenBatch, row: Int, from start: Int) {
        let base = row * length
        batch.paddingTokens += length - start
        for i in start..<length {
            batch.tokens[base + i] = Int32(CharVocabulary.eos)
            batch.targets[base + i] = Int32(CharVocabulary.eos)
            batch.lossWeights[base + i] = 0
            batch.segmentStart[base + i] = Int32(start)
        }
    }
}

/// Random windows of a token stream (plain text): each row is <s> followed by `length − 1`
/// consecutive tokens starting at a seeded random offset; every prediction counts.
public final class TextWindows: BatchSource {
    public let rows: Int
    public let length: Int
    let stream: [Int32]
    private var rng: TrainingRandom

    public init(stream: [Int32], rows: Int, length: Int, seed: UInt64) throws {
        guard rows > 0, length > 1 else { throw TrainingError.invalidHyperparameter("a batch needs at least 1 row of 2 tokens (got \(rows) × \(length))") }
        guard stream.count >= length else {
            throw TrainingError.invalidData("the text has \(stream.count) tokens, fewer than one row of \(length); use a longer file or a shorter --context")
        }
        self.stream = stream; self.rows = rows; self.length = length
        rng = TrainingRandom(seed: seed)
    }

    public func nextBatch() -> TokenBatch { window(starts: (0..<rows).map { _ in rng.nextInt(below: stream.count - length + 2) }) }

    /// Windows at the given offsets (each ≤ stream.count − length + 1), `rows` rows always
    /// (rows without an offset are padding with no loss, so every batch has one shape).
    public func window(starts: [Int]) -> TokenBatch {
        var batch = TokenBatch(rows: rows, length: length)
        for i in starts.count * length..<rows * length { batch.tokens[i] = Int32(CharVocabulary.eos); batch.targets[i] = Int32(CharVocabulary.eos) }
        batch.paddingTokens = max(0, rows - starts.count) * length
        for (r, s) in starts.prefix(rows).enumerated() {
            let row = [Int32(CharVocabulary.bos)] + stream[s..<min(stream.count, s + length)]
            for i in 0..<length {
                batch.tokens[r * length + i] = row[i]
                batch.targets[r * length + i] = i + 1 < row.count ? row[i + 1] : Int32(CharVocabulary.eos)
                batch.lossWeights[r * length + i] = i + 1 < row.count ? 1 : 0
            }
        }
        return batch
    }

    /// Non-overlapping windows over the whole stream, at most `limit` batches (held-out evaluation).
    public func covering(limit: Int) -> [TokenBatch] {
        let step = length - 1
        let starts = Array(stride(from: 0, through: max(0, stream.count - length + 1), by: step))
        return stride(from: 0, to: starts.count, by: rows).prefix(limit).map { window(starts: Array(starts[$0..<min(starts.count, $0 + rows)])) }
    }
}
