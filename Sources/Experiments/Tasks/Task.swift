import Foundation
import GGUF

/// One question put to the model, with its reference answer.
public struct Problem: Codable, Equatable, Sendable {
    /// Stable identity: the generator's index or the record's position in a file. Sharding
    /// (`id % count`) and all per-problem randomness key on it.
    public var id: Int
    public var prompt: String
    public var answer: String
    /// Operands the verifier needs besides the answer (Countdown's given numbers); empty otherwise.
    public var numbers: [Int]

    public init(id: Int, prompt: String, answer: String, numbers: [Int] = []) {
        self.id = id
        self.prompt = prompt
        self.answer = answer
        self.numbers = numbers
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        prompt = try c.decode(String.self, forKey: .prompt)
        answer = try c.decode(String.self, forKey: .answer)
        numbers = try c.decodeIfPresent([Int].self, forKey: .numbers) ?? []
    }
}

/// A family of problems with an exact verifier. Problem generation is a pure function of
/// (count, seed), and problem i does not depend on count, so a longer run extends a shorter one.
public protocol ExperimentTask {
    /// A short description that includes the task's settings; recorded in run parameters.
    var name: String { get }
    func problems(count: Int, seed: UInt64) throws -> [Problem]
    /// The answer the model gave, pulled out of its raw generated text; nil if there is none.
    func extractAnswer(from generated: String) -> String?
    func isCorrect(extracted: String?, problem: Problem) -> Bool

    // Requirements below have defaults (plain-text prompts graded inline), so a task written
    // before them needs none of them.

    /// The text put to the model for `problem` (`model` is there for its chat template);
    /// default: the problem's prompt as it is, special-token text not parsed.
    func prompt(for problem: Problem, model: GGUFFile) throws -> TaskPrompt
    /// Stop strings and token budget when the caller gives none; default: a newline, 16 tokens.
    var defaultStop: [String] { get }
    var defaultMaxTokens: Int { get }
    /// A grader that runs answers outside the engine's process, beside generation (code tasks);
    /// nil (the default) grades inline with `grade`.
    func makeConcurrentGrader() throws -> (any ConcurrentGrader)?
    /// Files the problems are read from, for a run's provenance (their SHA-256 is recorded);
    /// default: none (generated problems).
    var dataFiles: [String] { get }
}

/// The text of a prompt, and whether special-token text in it (a chat template's
/// `<|im_start|>`) is to be read as those tokens.
public struct TaskPrompt: Sendable, Equatable {
    public var text: String
    public var parseSpecial: Bool
    public init(text: String, parseSpecial: Bool = false) { self.text = text; self.parseSpecial = parseSpecial }
}

/// How one generated text was graded. Code tasks fill in the program and how it ran.
public struct Grade: Sendable, Equatable {
    /// The extracted answer; for code tasks, the program's behaviour on the prompt's examples
    /// (see `HumanEvalTask`), which is what the vote rules count.
    public var answer: String?
    public var correct: Bool
    /// Code tasks: the extracted program.
    public var code: String?
    /// Code tasks: why it failed (nil when it passed).
    public var failure: CodeFailure?
    public var detail: String?
    /// Code tasks: the outputs of the example calls.
    public var behaviour: [String]?

    public init(answer: String?, correct: Bool, code: String? = nil, failure: CodeFailure? = nil, detail: String? = nil,
                behaviour: [String]? = nil) {
        self.answer = answer; self.correct = correct; self.code = code; self.failure = failure; self.detail = detail
        self.behaviour = behaviour
    }
}

/// Grades texts asynchronously (code execution in a process pool): `submit` returns at once.
public protocol ConcurrentGrader: AnyObject, Sendable {
    /// What the grader isolates and limits, for the record.
    var description: String { get }
    func submit(_ generated: String, problem: Problem, completion: @escaping @Sendable (Grade) -> Void)
    /// Blocks until every submitted text is graded and its completion has returned.
    func waitUntilIdle()
}

extension ExperimentTask {
    /// Extract and verify in one step.
    public func grade(_ generated: String, problem: Problem) -> (answer: String?, correct: Bool) {
        let answer = extractAnswer(from: generated)
        return (answer, isCorrect(extracted: answer, problem: problem))
    }

    public func prompt(for problem: Problem, model: GGUFFile) throws -> TaskPrompt { TaskPrompt(text: problem.prompt) }
    public var defaultStop: [String] { ["\n"] }
    public var defaultMaxTokens: Int { 16 }
    public func makeConcurrentGrader() throws -> (any ConcurrentGrader)? { nil }
    public var dataFiles: [String] { [] }
}

/// Helpers shared by the tasks' extractors and verifiers.
enum AnswerText {
    /// The canonical decimal form of an integer written with optional surrounding whitespace,
    /// an optional sign and leading zeros ("  +007" → "7", "-0" → "0"); nil if it is not an
    /// integer. Works on digit strings of any length, so no overflow.
    static func canonicalInteger(_ text: String) -> String? {
        var s = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        var negative = false
        if let first = s.first, first == "+" || first == "-" || first == "\u{2212}" {
            negative = first != "+"
            s = s.dropFirst()
        }
        guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let digits = s.drop(while: { $0 == "0" })
        if digits.isEmpty { return "0" }
        return (negative ? "-" : "") + digits
    }

    /// "-1,234,567" → "-1234567"; text whose commas are not exactly thousands groups is
    /// returned unchanged (so "1,2" stays wrong rather than becoming 12).
    static func removingThousandsSeparators(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.contains(","),
              trimmed.range(of: "^[-+\u{2212}]?[0-9]{1,3}(,[0-9]{3})+$", options: .regularExpression) != nil else { return text }
        return trimmed.replacingOccurrences(of: ",", with: "")
    }

    /// The first line of `text` that is not blank, trimmed.
    static func firstNonEmptyLine(_ text: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { return trimmed }
        }
        return nil
    }

    /// The first match of `regex` in `text`: its first capture group if it has one that took
    /// part in the match, else the whole match.
    static func firstMatch(_ regex: NSRegularExpression, in text: String) -> String? {
        let range = NSRange(text.startIndex..., in: text)
        guard let match = regex.firstMatch(in: text, range: range) else { return nil }
        var target = match.range
        if match.numberOfRanges > 1, match.range(at: 1).location != NSNotFound { target = match.range(at: 1) }
        guard let r = Range(target, in: text) else { return nil }
        return String(text[r])
    }
}
