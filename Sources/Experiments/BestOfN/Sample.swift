import Foundation

/// One generated answer to one problem, as stored in `samples.jsonl`.
public struct Sample: Codable, Equatable, Sendable {
    /// The problem's id.
    public var problem: Int
    /// Which of the problem's n samples this is (0-based); stored as "sample".
    public var index: Int
    /// Generated token ids (the prompt excluded).
    public var tokens: [Int]
    public var text: String
    /// The answer extracted from `text`, nil if none could be found.
    public var answer: String?
    public var correct: Bool
    /// Sum of the generated tokens' log-probabilities under the sampling distribution.
    public var logprob: Double
    /// Prompt length in tokens; the prompt is computed once per problem and shared by its samples.
    public var promptTokens: Int
    /// Wall-clock seconds attributed to this sample (a batch's time split over its samples).
    public var seconds: Double
    /// Code tasks (absent otherwise): the extracted program, why it failed (a `CodeFailure`,
    /// absent when it passed) with one line of detail, and its outputs on the prompt's examples.
    public var code: String?
    public var failure: CodeFailure?
    public var detail: String?
    public var behaviour: [String]?

    public init(problem: Int, index: Int, tokens: [Int], text: String, answer: String?, correct: Bool,
                logprob: Double, promptTokens: Int = 0, seconds: Double = 0, code: String? = nil, failure: CodeFailure? = nil,
                detail: String? = nil, behaviour: [String]? = nil) {
        self.code = code
        self.failure = failure
        self.detail = detail
        self.behaviour = behaviour
        self.problem = problem
        self.index = index
        self.tokens = tokens
        self.text = text
        self.answer = answer
        self.correct = correct
        self.logprob = logprob
        self.promptTokens = promptTokens
        self.seconds = seconds
    }

    /// Length-normalised log-probability (what OpenAI's best_of ranks by).
    public var meanLogprob: Double { logprob / Double(max(1, tokens.count)) }

    public var key: SampleKey { SampleKey(problem: problem, sample: index) }

    enum CodingKeys: String, CodingKey {
        case problem, index = "sample", tokens, text, answer, correct, logprob
        case promptTokens = "prompt_tokens", seconds, code, failure, detail, behaviour
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        problem = try c.decode(Int.self, forKey: .problem)
        index = try c.decode(Int.self, forKey: .index)
        tokens = try c.decode([Int].self, forKey: .tokens)
        text = try c.decode(String.self, forKey: .text)
        answer = try c.decodeIfPresent(String.self, forKey: .answer)
        correct = try c.decode(Bool.self, forKey: .correct)
        logprob = try c.decode(Double.self, forKey: .logprob)
        promptTokens = try c.decodeIfPresent(Int.self, forKey: .promptTokens) ?? 0
        seconds = try c.decodeIfPresent(Double.self, forKey: .seconds) ?? 0
        code = try c.decodeIfPresent(String.self, forKey: .code)
        failure = try c.decodeIfPresent(CodeFailure.self, forKey: .failure)
        detail = try c.decodeIfPresent(String.self, forKey: .detail)
        behaviour = try c.decodeIfPresent([String].self, forKey: .behaviour)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(problem, forKey: .problem)
        try c.encode(index, forKey: .index)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(text, forKey: .text)
        try c.encode(answer, forKey: .answer)   // explicit null, so every line has every field
        try c.encode(correct, forKey: .correct)
        // JSON has no infinities or NaN; an impossible token (−∞) becomes the lowest finite value,
        // which ranks the same in every selection rule.
        try c.encode(logprob.isFinite ? logprob : -Double.greatestFiniteMagnitude, forKey: .logprob)
        try c.encode(promptTokens, forKey: .promptTokens)
        try c.encode(seconds, forKey: .seconds)
        // Only code tasks have these; other tasks' lines stay as they were.
        try c.encodeIfPresent(code, forKey: .code)
        try c.encodeIfPresent(failure, forKey: .failure)
        try c.encodeIfPresent(detail, forKey: .detail)
        try c.encodeIfPresent(behaviour, forKey: .behaviour)
    }
}

/// (problem, sample) — identifies one sample in a run.
public struct SampleKey: Hashable, Comparable, Codable, Sendable {
    public var problem: Int
    public var sample: Int
    public init(problem: Int, sample: Int) { self.problem = problem; self.sample = sample }
    public static func < (a: SampleKey, b: SampleKey) -> Bool { (a.problem, a.sample) < (b.problem, b.sample) }
}
