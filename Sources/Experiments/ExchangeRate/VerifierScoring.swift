import Foundation
import Generation
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

/// How a verifier scores a candidate answer.
public enum VerifierScore: String, CaseIterable, Sendable {
    /// log p("y") − log p("n") after "Q: …\nA: 46\nOK? ": the verifier's yes/no judgement
    /// (`ArithmeticVerificationTask`'s items).
    case yesNo = "yes-no"
    /// log p(" 46" + end of text | "Q: …\nA:"): how likely the verifier model finds the answer
    /// (a generative verifier: `ArithmeticVerificationTask` with a generation share).
    case likelihood
}

/// Scores answers with a trained verifier model (see `VerifierScore`). Candidates go in
/// batches of `chunk`; those of a batch share the question's cells. (Batches bound the KV
/// cache a problem with hundreds of distinct answers would otherwise need.)
public struct VerifierScorer {
    public let model: any LanguageModel
    public let tokenizer: any Tokenizer
    public let method: VerifierScore
    public let chunk: Int
    let yes: Int, no: Int

    public init(model: any LanguageModel, tokenizer: any Tokenizer, method: VerifierScore = .yesNo, chunk: Int = 64) throws {
        self.model = model
        self.tokenizer = tokenizer
        self.method = method
        self.chunk = max(1, chunk)
        guard let y = try tokenizer.encode("y", addSpecial: false, parseSpecial: false).last,
              let n = try tokenizer.encode("n", addSpecial: false, parseSpecial: false).last, y != n else {
            throw ExperimentError.invalidTaskParameter(task: "verifier", reason: "the verifier's vocabulary has no 'y' and 'n' tokens")
        }
        if method == .likelihood && tokenizer.eos == nil {
            throw ExperimentError.invalidTaskParameter(task: "verifier", reason: "the verifier's vocabulary has no end-of-text token")
        }
        yes = y; no = n
    }

    /// The verifier's tokens for one candidate, and the index of the first token it scores:
    /// yes/no, its training prompt and the space its answers begin with (the last position is
    /// scored); likelihood, the question, the answer and end of text (the answer's tokens are).
    func tokens(question: String, candidate: String) throws -> (tokens: [Int], scored: Int) {
        switch method {
        case .yesNo:
            let t = try tokenizer.encode(ArithmeticVerificationTask.prompt(question: question, candidate: candidate) + " ", addSpecial: true, parseSpecial: false)
            return (t, t.count)
        case .likelihood:
            let q = try tokenizer.encode(question, addSpecial: true, parseSpecial: false)
            let t = try tokenizer.encode(question + " " + candidate, addSpecial: true, parseSpecial: false) + [tokenizer.eos!]
            return (t, zip(q, t).prefix { $0 == $1 }.count)
        }
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
            // The longest prefix the batch shares, prefilled once; it stops before the first
            // position whose logits a score needs (the one predicting the first scored token).
            var shared = part[0].tokens.count - 1
            for e in part {
                shared = min(shared, zip(e.tokens, part[0].tokens).prefix { $0 == $1 }.count, e.scored - 1)
            }
            model.resetCache()
            _ = try model.forward(.prompt(Array(part[0].tokens.prefix(shared)), sequence: 0))
            var batch: [BatchEntry] = []
            for (j, e) in part.enumerated() {
                model.copySequence(0, to: j + 1)
                for p in shared..<e.tokens.count {
                    batch.append(BatchEntry(token: e.tokens[p], position: p, sequence: j + 1, wantsLogits: p >= e.scored - 1))
                }
            }
            var rows = try model.forward(batch)[...]
            for (j, e) in part.enumerated() {
                let i = candidates[start + j].0
                let mine = rows.prefix(e.tokens.count - e.scored + 1)
                rows = rows.dropFirst(mine.count)
                switch method {
                case .yesNo:
                    scores[i] = Double(mine.last![yes]) - Double(mine.last![no])
                case .likelihood:
                    // Row r predicts token scored + r; the last row (after end of text) is unused.
                    scores[i] = zip(mine.dropLast(), e.tokens[e.scored...]).reduce(0) { $0 + Sampler.logSoftmax($1.0, at: $1.1) }
                }
                lengths[i] = e.tokens.count
            }
        }
        return ProblemScores(problem: tally.problem, scores: scores, tokens: lengths)
    }
}
