import Foundation
import LlamaCore
import Tokenizers

/// A problem's verifier scores, aligned with its tally's answers (`verifier-T<temp>.jsonl`).
public struct ProblemScores: Codable, Equatable, Sendable {
    public var problem: Int
    /// log p("y") − log p("n") after "… OK? " for each answer of the tally, in its order; nil
    /// for a text with no integer (never selected when any answer has one). Empty when the
    /// problem has no correct sample: every selection rule then scores 0, whatever the scores.
    public var scores: [Double?]
    /// Verifier prompt tokens per answer, what one verifier call costs (aligned like `scores`).
    public var tokens: [Int]
}

/// Scores answers with a verifier trained on `ArithmeticVerificationTask`: the question and
/// candidate go in as the verifier's prompt, and the score is how much more likely the verifier
/// makes "yes" than "no" as its answer. Candidates go in batches of `chunk`; those of a batch
/// share the question's cells. (Batches bound the KV cache, whose lookups scan every cell.)
public struct VerifierScorer {
    public let model: any LanguageModel
    public let tokenizer: any Tokenizer
    public let chunk: Int
    let yes: Int, no: Int

    public init(model: any LanguageModel, tokenizer: any Tokenizer, chunk: Int = 64) throws {
        self.model = model
        self.tokenizer = tokenizer
        self.chunk = max(1, chunk)
        guard let y = try tokenizer.encode("y", addSpecial: false, parseSpecial: false).last,
              let n = try tokenizer.encode("n", addSpecial: false, parseSpecial: false).last, y != n else {
            throw ExperimentError.invalidTaskParameter(task: "verifier", reason: "the verifier's vocabulary has no 'y' and 'n' tokens")
        }
        yes = y; no = n
    }

    /// The verifier's tokens for one candidate: its training prompt, then the space its answers begin with.
    func tokens(question: String, candidate: String) throws -> [Int] {
        try tokenizer.encode(ArithmeticVerificationTask.prompt(question: question, candidate: candidate) + " ", addSpecial: true, parseSpecial: false)
    }

    /// KV cells one batch of `chunk` candidates of up to `answerTokens` tokens needs.
    public static func cells(questionTokens: Int, chunk: Int, answerTokens: Int) -> Int {
        questionTokens + chunk * (answerTokens + 8)
    }

    /// Scores of every answer of `tally` (the problem's question is `question`).
    public func score(_ tally: ProblemTally, question: String) throws -> ProblemScores {
        let candidates = tally.answers.enumerated().compactMap { i, a in a.answer.map { (i, $0) } }
        var scores = [Double?](repeating: nil, count: tally.answers.count)
        var lengths = [Int](repeating: 0, count: tally.answers.count)
        guard tally.correctCount > 0, !candidates.isEmpty else { return ProblemScores(problem: tally.problem, scores: [], tokens: []) }
        let encoded = try candidates.map { try tokens(question: question, candidate: $0.1) }
        for start in stride(from: 0, to: encoded.count, by: chunk) {
            let part = Array(encoded[start..<min(encoded.count, start + chunk)])
            // The longest prefix the batch shares (at least the question), prefilled once.
            var shared = part[0].count - 1
            for e in part.dropFirst() { shared = min(shared, zip(e, part[0]).prefix { $0 == $1 }.count, e.count - 1) }
            model.resetCache()
            _ = try model.forward(.prompt(Array(part[0].prefix(shared)), sequence: 0))
            var batch: [BatchEntry] = []
            for (j, e) in part.enumerated() {
                model.copySequence(0, to: j + 1)
                for p in shared..<e.count { batch.append(BatchEntry(token: e[p], position: p, sequence: j + 1, wantsLogits: p == e.count - 1)) }
            }
            for (j, row) in try model.forward(batch).enumerated() {
                let i = candidates[start + j].0
                scores[i] = Double(row[yes]) - Double(row[no])
                lengths[i] = part[j].count
            }
        }
        return ProblemScores(problem: tally.problem, scores: scores, tokens: lengths)
    }
}
