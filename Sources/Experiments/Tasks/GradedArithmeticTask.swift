import Foundation
import LlamaCore

/// Integer arithmetic of graded difficulty, for the exchange-rate experiment: a problem's level
/// d (both operands have d digits) is drawn from `minDigits...maxDigits` with P(d) ∝ d^(−exponent),
/// the operator uniformly from `operations`. Short operands are common and long ones rare (a
/// power law), so a model's aggregate loss falls smoothly as it masters longer operands, and
/// problems differ in difficulty from "learnt early" to "beyond any model of the grid".
///
/// The prompt and answer are `ArithmeticTask`'s: `Q: 12*3456=?\nA:` → `41472`.
public struct GradedArithmeticTask: ExperimentTask {
    public let minDigits: Int
    public let maxDigits: Int
    public let exponent: Double
    public let operations: String

    public init(minDigits: Int = 2, maxDigits: Int = 5, exponent: Double = 1.5, operations: String = "+-") {
        self.minDigits = minDigits
        self.maxDigits = maxDigits
        self.exponent = exponent
        self.operations = operations
    }

    public var name: String { "graded-arithmetic(digits=\(minDigits)-\(maxDigits),zipf=\(exponent),ops=\(operations))" }

    /// The answer is at most 2·maxDigits digits and a sign; a space before it and </s> after.
    public var defaultMaxTokens: Int { 2 * maxDigits + 3 }

    /// P(level d) for d in minDigits...maxDigits.
    public var digitProbabilities: [Double] {
        let weights = (minDigits...maxDigits).map { pow(Double($0), -exponent) }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }

    public func problems(count: Int, seed: UInt64) throws -> [Problem] {
        guard 1 <= minDigits, minDigits <= maxDigits, maxDigits <= ArithmeticTask.maxDigits else {
            throw ExperimentError.invalidTaskParameter(task: name, reason: "digits must satisfy 1 ≤ min ≤ max ≤ \(ArithmeticTask.maxDigits)")
        }
        guard exponent.isFinite, exponent >= 0 else {
            throw ExperimentError.invalidTaskParameter(task: name, reason: "the exponent must be finite and ≥ 0, got \(exponent)")
        }
        let ops = try ArithmeticTask.checkedOperations(operations, count: count, task: name)
        let cumulative = digitProbabilities.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1) }
        return (0..<count).map { id in
            var rng = SeededRandom(seed: seed, label: "graded-arithmetic", UInt64(id))
            let u = rng.nextDouble()
            let digits = minDigits + (cumulative.firstIndex { u < $0 } ?? cumulative.count - 1)
            let low = digits == 1 ? 0 : Self.power10(digits - 1), high = Self.power10(digits) - 1
            let a = rng.nextInt(in: low...high), b = rng.nextInt(in: low...high)
            let op = ops[rng.nextInt(below: ops.count)]
            let result = op == "+" ? a + b : op == "-" ? a - b : a * b
            return Problem(id: id, prompt: "Q: \(a)\(op)\(b)=?\nA:", answer: String(result))
        }
    }

    public func extractAnswer(from generated: String) -> String? { IntegerAnswer.extract(from: generated) }

    public func isCorrect(extracted: String?, problem: Problem) -> Bool { IntegerAnswer.matches(extracted, problem.answer) }

    /// A problem's difficulty class, read back from its prompt: "3x3*" for a 3-digit times a
    /// 3-digit operand (longer operand first); nil for a prompt not in this task's form.
    public static func difficulty(of prompt: String) -> String? {
        guard let range = prompt.range(of: "^Q: -?[0-9]+[-+*][0-9]+=", options: .regularExpression) else { return nil }
        let body = prompt[range].dropFirst(3).dropLast()
        let signedFirst = body.first == "-"
        let rest = signedFirst ? body.dropFirst() : body
        guard let opIndex = rest.firstIndex(where: { "+-*".contains($0) }) else { return nil }
        let a = rest[..<opIndex].count, b = rest[rest.index(after: opIndex)...].count
        return "\(max(a, b))x\(min(a, b))\(rest[opIndex])"
    }

    static func power10(_ n: Int) -> Int { (0..<n).reduce(1) { r, _ in r * 10 } }
}

/// A verifier's training task built on an arithmetic task: the question with a candidate
/// answer, and whether the candidate is right. Half of the candidates are the reference answer;
/// the others are wrong in the ways a small model's samples are wrong (one digit changed, a
/// carry or borrow missed, a digit dropped or repeated), so the verifier learns to tell near
/// misses from right answers.
///
///     Q: 12+34=?
///     A: 46
///     OK?            →  yes
///
/// With `generationShare` > 0 that share of the items are the base task's own problems (the
/// question, answered): a generative verifier, which learns the arithmetic it has to check from
/// the answers' many tokens and not only from one yes/no token per example.
public struct ArithmeticVerificationTask: ExperimentTask {
    public let base: GradedArithmeticTask
    public let generationShare: Double

    public init(base: GradedArithmeticTask = GradedArithmeticTask(), generationShare: Double = 0) {
        self.base = base
        self.generationShare = generationShare
    }

    public var name: String { generationShare > 0 ? "verify(\(base.name),generation=\(generationShare))" : "verify(\(base.name))" }
    public var defaultMaxTokens: Int { 5 }

    /// The verifier's prompt for `question` (a base problem's prompt) and a candidate answer.
    public static func prompt(question: String, candidate: String) -> String { "\(question) \(candidate)\nOK?" }

    public func problems(count: Int, seed: UInt64) throws -> [Problem] {
        guard (0...1).contains(generationShare) else {
            throw ExperimentError.invalidTaskParameter(task: name, reason: "the generation share must be in [0, 1], got \(generationShare)")
        }
        return try base.problems(count: count, seed: seed).map { p in
            var rng = SeededRandom(seed: seed, label: "verify", UInt64(p.id))
            if generationShare > 0 && rng.nextDouble() < generationShare { return p }
            let right = rng.nextInt(below: 2) == 0
            let candidate = right ? p.answer : Self.nearMiss(of: p.answer, rng: &rng)
            return Problem(id: p.id, prompt: Self.prompt(question: p.prompt, candidate: candidate), answer: right ? "yes" : "no")
        }
    }

    /// A wrong integer near `answer`: one digit replaced, ±10^j (a missed carry or borrow), or a
    /// digit dropped or repeated. Never equal to `answer`.
    static func nearMiss(of answer: String, rng: inout SeededRandom) -> String {
        let negative = answer.hasPrefix("-")
        let digits = Array(negative ? answer.dropFirst() : Substring(answer))
        let value = Int(answer) ?? 0
        while true {
            var candidate: String
            switch rng.nextInt(below: 3) {
            case 0:
                var d = digits
                let i = rng.nextInt(below: d.count)
                d[i] = Character(String((Int(String(d[i]))! + 1 + rng.nextInt(below: 9)) % 10))
                candidate = (negative ? "-" : "") + String(d)
            case 1:
                let step = GradedArithmeticTask.power10(rng.nextInt(below: digits.count))
                candidate = String(value + (rng.nextInt(below: 2) == 0 ? step : -step))
            default:
                var d = digits
                let i = rng.nextInt(below: d.count)
                if d.count > 1 && rng.nextInt(below: 2) == 0 { d.remove(at: i) } else { d.insert(d[i], at: i) }
                candidate = (negative ? "-" : "") + String(d)
            }
            // Canonical form (no leading zeros, no "-0"), and never the right answer.
            if let canonical = AnswerText.canonicalInteger(candidate), canonical != answer { return canonical }
        }
    }

    /// "yes" or "no" for a verification item; the integer for a question of the base task.
    public func extractAnswer(from generated: String) -> String? {
        let word = generated.trimmingCharacters(in: .whitespacesAndNewlines).prefix { $0.isLetter }.lowercased()
        return word == "yes" || word == "no" ? word : IntegerAnswer.extract(from: generated)
    }

    public func isCorrect(extracted: String?, problem: Problem) -> Bool {
        problem.answer == "yes" || problem.answer == "no" ? extracted == problem.answer : IntegerAnswer.matches(extracted, problem.answer)
    }
}
