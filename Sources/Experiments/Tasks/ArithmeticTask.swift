import LlamaCore
import Foundation

/// Integer arithmetic with two operands of exactly `digits` digits each.
///
/// Prompt format (fixed, so runs are comparable):
///
///     Q: 123+456=?
///     A:
///
/// The operator is written as `+`, `-` or `*`; the reference answer is the exact integer result
/// (negative for some subtractions). The model's answer is the first integer in its output.
public struct ArithmeticTask: ExperimentTask {
    public static let supportedOperations: Set<Character> = ["+", "-", "*"]
    /// Up to 9 digits, so a product (< 10^18) stays within Int64.
    public static let maxDigits = 9

    public let digits: Int
    public let operations: String

    public init(digits: Int = 3, operations: String = "+-*") {
        self.digits = digits
        self.operations = operations
    }

    public var name: String { "arithmetic(digits=\(digits),ops=\(operations))" }

    public func problems(count: Int, seed: UInt64) throws -> [Problem] {
        guard (1...Self.maxDigits).contains(digits) else {
            throw ExperimentError.invalidTaskParameter(task: name, reason: "digits must be in 1...\(Self.maxDigits), got \(digits)")
        }
        let ops = try Self.checkedOperations(operations, count: count, task: name)
        // 1-digit operands include 0; longer ones have a non-zero leading digit.
        var power = 1
        for _ in 1..<digits { power *= 10 }
        let low = digits == 1 ? 0 : power
        let high = power * 10 - 1
        return (0..<count).map { id in
            var rng = SeededRandom(seed: seed, label: "arithmetic", UInt64(id))
            let a = rng.nextInt(in: low...high)
            let b = rng.nextInt(in: low...high)
            let op = ops[rng.nextInt(below: ops.count)]
            let result: Int
            switch op {
            case "+": result = a + b
            case "-": result = a - b
            default: result = a * b
            }
            return Problem(id: id, prompt: "Q: \(a)\(op)\(b)=?\nA:", answer: String(result))
        }
    }

    public func extractAnswer(from generated: String) -> String? { IntegerAnswer.extract(from: generated) }

    public func isCorrect(extracted: String?, problem: Problem) -> Bool { IntegerAnswer.matches(extracted, problem.answer) }

    /// The operators of `operations` after checking them and the problem count (the arithmetic tasks' shared checks).
    static func checkedOperations(_ operations: String, count: Int, task: String) throws -> [Character] {
        let ops = Array(operations)
        guard !ops.isEmpty, ops.allSatisfy(supportedOperations.contains) else {
            throw ExperimentError.invalidTaskParameter(task: task, reason: "operations must be a non-empty string of + - *, got '\(operations)'")
        }
        guard count >= 0 else {
            throw ExperimentError.invalidTaskParameter(task: task, reason: "problem count must not be negative, got \(count)")
        }
        return ops
    }
}

/// The answer of the arithmetic tasks: an integer standing alone in the output, compared with
/// the reference as a number.
enum IntegerAnswer {
    /// An optionally signed integer standing alone: not a piece of a decimal ("-23.5" gives no
    /// answer rather than "-23") or of a longer digit run; thousands separators allowed
    /// ("1,234"); "−" (U+2212) counts as a minus sign.
    private static let integerPattern = try! NSRegularExpression(
        pattern: "(?<![0-9.])[-+\u{2212}]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?![0-9]|\\.[0-9])")

    static func extract(from generated: String) -> String? { AnswerText.firstMatch(integerPattern, in: generated) }

    static func matches(_ extracted: String?, _ reference: String) -> Bool {
        guard let extracted, let got = AnswerText.canonicalInteger(AnswerText.removingThousandsSeparators(extracted)),
              let want = AnswerText.canonicalInteger(reference) else { return false }
        return got == want
    }
}
