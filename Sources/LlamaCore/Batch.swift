/// One entry of a batch: the llama.cpp model. Prefill, single-token decode and N-way parallel
/// decode are all lists of these.
public struct BatchEntry: Equatable, Sendable {
    public var token: Int
    public var position: Int
    /// The sequences this token belongs to (a shared prompt can belong to several).
    public var sequences: [Int]
    public var wantsLogits: Bool

    public init(token: Int, position: Int, sequence: Int = 0, wantsLogits: Bool = false) {
        self.init(token: token, position: position, sequences: [sequence], wantsLogits: wantsLogits)
    }

    public init(token: Int, position: Int, sequences: [Int], wantsLogits: Bool) {
        self.token = token; self.position = position; self.sequences = sequences; self.wantsLogits = wantsLogits
    }
}

extension Array where Element == BatchEntry {
    /// A prompt for one sequence starting at `start`, with logits for the last token (or all).
    public static func prompt(_ tokens: [Int], sequence: Int = 0, start: Int = 0, allLogits: Bool = false) -> [BatchEntry] {
        tokens.enumerated().map { i, t in
            BatchEntry(token: t, position: start + i, sequence: sequence, wantsLogits: allLogits || i == tokens.count - 1)
        }
    }
}
