/// One training batch: `rows` rows of `length` tokens. Each row packs one or more segments
/// (examples); a token attends only inside its segment and its RoPE position counts from the
/// segment's start, so every example is trained exactly as inference will see it.
public struct TokenBatch: Equatable {
    public var rows: Int
    public var length: Int
    public var tokens: [Int32]
    /// The token each position must predict (the next one in its segment).
    public var targets: [Int32]
    /// 1 where the prediction counts towards the loss, 0 elsewhere (prompt, padding).
    public var lossWeights: [Float]
    /// Index within the row where this token's segment starts.
    public var segmentStart: [Int32]
    /// Positions that hold no example (padding): processed like any token, but no data.
    public var paddingTokens = 0

    public init(rows: Int, length: Int) {
        self.rows = rows
        self.length = length
        tokens = Array(repeating: 0, count: rows * length)
        targets = tokens
        segmentStart = tokens
        lossWeights = Array(repeating: 0, count: rows * length)
    }

    /// A single unpacked sequence, loss on every next-token prediction (tests, evaluation).
    public init(sequence: [Int]) {
        self.init(rows: 1, length: sequence.count)
        for (i, t) in sequence.enumerated() {
            tokens[i] = Int32(t)
            if i + 1 < sequence.count { targets[i] = Int32(sequence[i + 1]); lossWeights[i] = 1 }
        }
    }

    /// RoPE position of each token: its distance from its segment's start.
    public var positions: [Int32] { (0..<rows * length).map { Int32($0 % length) - segmentStart[$0] } }

    public var weightedTokens: Float { lossWeights.reduce(0, +) }

    /// Checks ids and segment bounds against the model before anything runs.
    public func validate(vocabSize: Int, context: Int) throws {
        let n = rows * length
        guard rows > 0, length > 0 else { throw TrainingError.invalidData("empty batch (\(rows) rows of \(length) tokens)") }
        guard length <= context else { throw TrainingError.invalidData("batch rows of \(length) tokens exceed the context of \(context)") }
        guard tokens.count == n, targets.count == n, lossWeights.count == n, segmentStart.count == n else {
            throw TrainingError.invalidData("batch arrays must all hold \(n) entries")
        }
        for i in 0..<n {
            guard tokens[i] >= 0, Int(tokens[i]) < vocabSize, targets[i] >= 0, Int(targets[i]) < vocabSize else {
                throw TrainingError.invalidData("token id out of range 0..<\(vocabSize) at batch position \(i)")
            }
            let t = Int32(i % length)
            guard segmentStart[i] >= 0, segmentStart[i] <= t else {
                throw TrainingError.invalidData("segment start \(segmentStart[i]) after its token at position \(t)")
            }
            guard lossWeights[i].isFinite, lossWeights[i] >= 0 else { throw TrainingError.invalidData("loss weight \(lossWeights[i]) at \(i)") }
        }
    }
}

/// Fixed-address Int32 storage for token ids and positions during a step.
final class IndexBuffer {
    let data: UnsafeMutablePointer<Int32>
    let count: Int
    init(count: Int) {
        self.count = count
        data = .allocate(capacity: max(count, 1))
        data.initialize(repeating: 0, count: max(count, 1))
    }
    func load(_ values: [Int32]) { values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: min(count, values.count)) } }
    deinit { data.deallocate() }
}
