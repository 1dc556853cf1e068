import Experiments

/// Training data from best-of-N's tasks: the same generators (and seeds) that experiments draw
/// problems from, and the same verifiers to check every target answer before it is trained on.
public enum TaskExamples {
    /// Problems `count` problems from `seed`, each as prompt → `separator` + answer text + </s>.
    /// The separator (a space by default) makes the trained text read "A: 579"; the tasks'
    /// extractors skip it. Countdown's reference answer is only the target number, so its
    /// completion is a solving expression found by `CountdownSolver` (checked by the verifier).
    public static func examples(task: any ExperimentTask, count: Int, seed: UInt64, separator: String = " ") throws -> [TextExample] {
        let problems = try task.problems(count: count, seed: seed)
        return try problems.map { p in
            let answer: String
            if task is CountdownTask {
                guard let solution = CountdownSolver.solve(numbers: p.numbers, target: Int(p.answer) ?? -1) else {
                    throw TrainingError.invalidData("\(task.name): no expression found for problem \(p.id)")
                }
                answer = solution
            } else {
                answer = p.answer
            }
            guard task.grade(separator + answer, problem: p).correct else {
                throw TrainingError.invalidData("\(task.name): the training answer '\(answer)' for problem \(p.id) fails the task's own verifier")
            }
            return TextExample(prompt: p.prompt, completion: separator + answer)
        }
    }

    /// Held-out examples from a different seed, without any problem whose prompt is among the
    /// training prompts (so held-out loss measures generalisation, not recall).
    public static func heldOut(task: any ExperimentTask, count: Int, seed: UInt64, excluding training: [TextExample],
                               separator: String = " ") throws -> [TextExample] {
        let seen = Set(training.map(\.prompt))
        return try examples(task: task, count: count, seed: seed, separator: separator).filter { !seen.contains($0.prompt) }
    }
}

/// Finds a Countdown expression: exhaustive search over every way of combining pairs of the
/// remaining values with + − × ÷ (exact fractions, as the verifier evaluates), shallowest
/// first, so the answer uses as few numbers as possible. Written like the generator's
/// expressions, "(a op b)" with the outer parentheses dropped.
public enum CountdownSolver {
    public static func solve(numbers: [Int], target: Int) -> String? {
        let pool = numbers.map { (value: Rational(Int64($0)), text: String($0)) }
        if let hit = pool.first(where: { $0.value == Rational(Int64(target)) }) { return hit.text }
        let goal = Rational(Int64(target))
        for depth in 1..<max(2, numbers.count) {
            if let found = search(pool, goal: goal, combinationsLeft: depth) { return strip(found) }
        }
        return nil
    }

    private static func strip(_ text: String) -> String {
        text.hasPrefix("(") && text.hasSuffix(")") ? String(text.dropFirst().dropLast()) : text
    }

    /// Depth-limited: exactly `combinationsLeft` more pair combinations may be made.
    private static func search(_ pool: [(value: Rational, text: String)], goal: Rational, combinationsLeft: Int) -> String? {
        guard combinationsLeft > 0, pool.count >= 2 else { return nil }
        for i in 0..<pool.count {
            for j in 0..<pool.count where j != i {
                let a = pool[i], b = pool[j]
                var rest = pool
                rest.remove(at: max(i, j)); rest.remove(at: min(i, j))
                // + and × are symmetric: try them once per unordered pair.
                var candidates: [(Rational?, String)] = [(try? a.value.subtracting(b.value), "-"), (try? a.value.dividing(by: b.value), "/")]
                if i < j { candidates += [(try? a.value.adding(b.value), "+"), (try? a.value.multiplying(b.value), "*")] }
                for case let (value?, op) in candidates {
                    let text = "(\(a.text) \(op) \(b.text))"
                    if combinationsLeft == 1 {
                        if value == goal { return text }
                    } else if let found = search(rest + [(value, text)], goal: goal, combinationsLeft: combinationsLeft - 1) {
                        return found
                    }
                }
            }
        }
        return nil
    }
}
