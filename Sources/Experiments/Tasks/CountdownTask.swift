import LlamaCore
import Foundation

/// The Countdown numbers game: combine the given numbers with + − × ÷ and parentheses to hit a
/// target, using each number at most once. Every generated target comes from a random
/// expression over all the numbers, so a solution always exists.
///
/// Prompt format (fixed):
///
///     Numbers: 3 5 7 8
///     Target: 24
///     Use each number at most once, with + - * / and parentheses. Write one expression.
///     Expression:
///
/// The model's answer is the first non-blank line of its output, with any "= ..." suffix removed.
/// The verifier parses it, checks the numbers it uses against the given multiset and evaluates it
/// exactly with fractions (a division must come out exact to give an integer target; any Int64
/// overflow makes the answer wrong).
public struct CountdownTask: ExperimentTask {
    public let numbers: Int
    public let maxNumber: Int
    public let maxTarget: Int

    /// Attempts per problem to find an expression with an integer target in range.
    static let maxAttempts = 10_000

    public init(numbers: Int = 4, maxNumber: Int = 25, maxTarget: Int = 500) {
        self.numbers = numbers
        self.maxNumber = maxNumber
        self.maxTarget = maxTarget
    }

    public var name: String { "countdown(numbers=\(numbers),max_number=\(maxNumber),max_target=\(maxTarget))" }

    public func problems(count: Int, seed: UInt64) throws -> [Problem] {
        guard (2...8).contains(numbers) else {
            throw ExperimentError.invalidTaskParameter(task: name, reason: "numbers must be in 2...8, got \(numbers)")
        }
        guard (1...10_000).contains(maxNumber) else {
            throw ExperimentError.invalidTaskParameter(task: name, reason: "max number must be in 1...10000, got \(maxNumber)")
        }
        guard maxTarget >= 2 else {
            throw ExperimentError.invalidTaskParameter(task: name, reason: "max target must be at least 2, got \(maxTarget)")
        }
        guard count >= 0 else {
            throw ExperimentError.invalidTaskParameter(task: name, reason: "problem count must not be negative, got \(count)")
        }
        return try (0..<count).map { id in
            let (given, target, _) = try generate(id: id, seed: seed)
            let list = given.map(String.init).joined(separator: " ")
            let prompt = "Numbers: \(list)\nTarget: \(target)\n"
                + "Use each number at most once, with + - * / and parentheses. Write one expression.\nExpression:"
            return Problem(id: id, prompt: prompt, answer: String(target), numbers: given)
        }
    }

    /// The numbers, the target and the expression that produced it (a witness that the
    /// problem is solvable; tests check it with the verifier).
    func generate(id: Int, seed: UInt64) throws -> (numbers: [Int], target: Int, solution: String) {
        var rng = SeededRandom(seed: seed, label: "countdown", UInt64(id))
        let given = (0..<numbers).map { _ in rng.nextInt(in: 1...maxNumber) }
        for _ in 0..<Self.maxAttempts {
            // Combine random pairs until one value is left: every binary tree shape and
            // number order is reachable.
            var pool: [(value: Rational, text: String)] = given.map { (Rational(Int64($0)), String($0)) }
            var ok = true
            while pool.count > 1, ok {
                let i = rng.nextInt(below: pool.count)
                let a = pool.remove(at: i)
                let j = rng.nextInt(below: pool.count)
                let b = pool.remove(at: j)
                let op = Array("+-*/")[rng.nextInt(below: 4)]
                do {
                    let value: Rational
                    switch op {
                    case "+": value = try a.value.adding(b.value)
                    case "-": value = try a.value.subtracting(b.value)
                    case "*": value = try a.value.multiplying(b.value)
                    default: value = try a.value.dividing(by: b.value)
                    }
                    pool.append((value, "(\(a.text) \(op) \(b.text))"))
                } catch {
                    ok = false
                }
            }
            guard ok, let last = pool.first, last.value.isInteger else { continue }
            let target = Int(last.value.numerator)
            // A target equal to a given number would be trivial.
            guard (1...maxTarget).contains(target), !given.contains(target) else { continue }
            var text = last.text
            if text.hasPrefix("(") && text.hasSuffix(")") { text = String(text.dropFirst().dropLast()) }
            return (given, target, text)
        }
        throw ExperimentError.problemGenerationFailed(task: name, problem: id, reason: "no integer target in 1...\(maxTarget) after \(Self.maxAttempts) attempts")
    }

    public func extractAnswer(from generated: String) -> String? {
        guard var line = AnswerText.firstNonEmptyLine(generated) else { return nil }
        if let eq = line.firstIndex(of: "=") { line = String(line[..<eq]) }
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    public func isCorrect(extracted: String?, problem: Problem) -> Bool {
        guard let extracted, let target = Int64(problem.answer),
              let expression = try? ArithmeticExpression.parse(extracted) else { return false }
        // Each literal must be a given number, used no more often than it was given.
        var available: [Int64: Int] = [:]
        for n in problem.numbers { available[Int64(n), default: 0] += 1 }
        for literal in expression.literals {
            guard let left = available[literal], left > 0 else { return false }
            available[literal] = left - 1
        }
        guard let value = try? expression.evaluate() else { return false }
        return value == Rational(target)
    }
}
