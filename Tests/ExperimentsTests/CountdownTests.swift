import XCTest
@testable import Experiments

final class CountdownTests: XCTestCase {
    let problem = Problem(id: 0, prompt: "", answer: "24", numbers: [3, 5, 7, 8])

    func check(_ expression: String) -> Bool { CountdownTask().isCorrect(extracted: expression, problem: problem) }

    func testValidExpressions() {
        XCTAssertTrue(check("3 * 8"))                  // not every number has to be used
        XCTAssertTrue(check("8 × 3"))                  // unicode times
        XCTAssertTrue(check("  ( 3 ) * ( 8 )  "))      // whitespace, redundant parentheses
        XCTAssertTrue(check("7 * 3 + 8 - 5"))          // all four numbers
        XCTAssertTrue(check("(7 * 5 − 3) − 8"))        // unicode minus
    }

    func testFractionalIntermediatesAreExact() {
        // 8 / (3 − 8/3) = 24 uses exact fractions: 3 − 8/3 = 1/3.
        let p = Problem(id: 0, prompt: "", answer: "24", numbers: [8, 3, 8, 3])
        XCTAssertTrue(CountdownTask().isCorrect(extracted: "8 / (3 - 8 / 3)", problem: p))
        // 7 / 2 is not an integer, and 7/2 * 2 is exact again: only the final value must equal the target.
        let q = Problem(id: 0, prompt: "", answer: "7", numbers: [7, 2, 2])
        XCTAssertTrue(CountdownTask().isCorrect(extracted: "7 / 2 * 2", problem: q))
        XCTAssertFalse(CountdownTask().isCorrect(extracted: "7 / 2", problem: q))
    }

    func testInvalidExpressions() {
        XCTAssertFalse(check("3 * 8 * 1"))           // 1 is not given
        XCTAssertFalse(check("8 * 3 + 3 - 3"))       // 3 reused
        XCTAssertFalse(check("(8 + 7) * 5 / 3"))     // 75/3 = 25, wrong value
        XCTAssertFalse(check("7 / 3 * 8 + 5"))       // not exact → 56/3 + 5 ≠ 24
        XCTAssertFalse(check("24"))                  // the target itself is not a given number
        XCTAssertFalse(check("3 * 8)"))              // unbalanced
        XCTAssertFalse(check("(3 * 8"))
        XCTAssertFalse(check("3 ** 8"))
        XCTAssertFalse(check("-3 * -8"))             // no unary minus
        XCTAssertFalse(check("3 8"))
        XCTAssertFalse(check("the answer is 3*8"))
        XCTAssertFalse(check(""))
        XCTAssertFalse(check("8 / (5 - 5)"))         // division by zero, and 5 reused
        XCTAssertFalse(CountdownTask().isCorrect(extracted: nil, problem: problem))
    }

    func testDivisionByZeroIsWrongNotACrash() {
        let p = Problem(id: 0, prompt: "", answer: "3", numbers: [3, 5, 5])
        XCTAssertFalse(CountdownTask().isCorrect(extracted: "3 / (5 - 5)", problem: p))
    }

    func testOverflowIsWrongNotACrash() {
        let big = 3_037_000_500   // big² > Int64.max
        let p = Problem(id: 0, prompt: "", answer: "1", numbers: [big, big, big, big])
        XCTAssertFalse(CountdownTask().isCorrect(extracted: "\(big) * \(big) * \(big) / \(big)", problem: p))
        XCTAssertFalse(CountdownTask().isCorrect(extracted: "99999999999999999999999", problem: p))
        let deep = String(repeating: "(", count: 10_000) + "1" + String(repeating: ")", count: 10_000)
        XCTAssertFalse(CountdownTask().isCorrect(extracted: deep, problem: Problem(id: 0, prompt: "", answer: "1", numbers: [1])))
    }

    func testParser() throws {
        XCTAssertEqual(try ArithmeticExpression.parse("2 + 3 * 4").evaluate(), Rational(14))
        XCTAssertEqual(try ArithmeticExpression.parse("(2 + 3) * 4").evaluate(), Rational(20))
        XCTAssertEqual(try ArithmeticExpression.parse("8 - 3 - 2").evaluate(), Rational(3))   // left-associative
        XCTAssertEqual(try ArithmeticExpression.parse("12 / 3 / 2").evaluate(), Rational(2))
        XCTAssertEqual(try ArithmeticExpression.parse("1 / 3").evaluate(), try Rational(1, 3))
        XCTAssertEqual(try ArithmeticExpression.parse("3 × (4 ÷ 2) − 1").literals, [3, 4, 2, 1])
        XCTAssertThrowsError(try ArithmeticExpression.parse("   "))
        XCTAssertThrowsError(try ArithmeticExpression.parse("2 +"))
        XCTAssertThrowsError(try ArithmeticExpression.parse("()"))
    }

    func testRationalOverflowChecks() throws {
        let max = Rational(Int64.max)
        XCTAssertThrowsError(try max.adding(Rational(1)))
        XCTAssertThrowsError(try max.multiplying(Rational(2)))
        XCTAssertThrowsError(try Rational(1).dividing(by: Rational(0)))
        XCTAssertThrowsError(try Rational(Int64.min, 1))
        XCTAssertEqual(try Rational(6, -4), try Rational(-3, 2))
        XCTAssertEqual(try max.multiplying(try Rational(1, Int64.max)), Rational(1))   // cross-cancels
    }

    func testExtraction() {
        let task = CountdownTask()
        XCTAssertEqual(task.extractAnswer(from: " (8 - 5) * 8 = 24\nNumbers: ..."), "(8 - 5) * 8")
        XCTAssertEqual(task.extractAnswer(from: "\n\n3*8"), "3*8")
        XCTAssertNil(task.extractAnswer(from: "= 24"))
        XCTAssertNil(task.extractAnswer(from: "   \n "))
    }

    func testGeneratedProblemsAreSolvableAndDeterministic() throws {
        let task = CountdownTask()
        let problems = try task.problems(count: 100, seed: 11)
        XCTAssertEqual(problems, try task.problems(count: 100, seed: 11))
        for problem in problems {
            XCTAssertEqual(problem.numbers.count, 4)
            XCTAssertTrue(problem.numbers.allSatisfy { (1...25).contains($0) })
            let target = Int(problem.answer)!
            XCTAssertTrue((1...500).contains(target))
            XCTAssertTrue(problem.prompt.contains("Target: \(target)\n") && problem.prompt.hasSuffix("Expression:"))
            let witness = try task.generate(id: problem.id, seed: 11)
            XCTAssertEqual(witness.numbers, problem.numbers)
            XCTAssertTrue(task.isCorrect(extracted: task.extractAnswer(from: witness.solution), problem: problem), witness.solution)
        }
    }

    func testInvalidSettingsThrow() {
        XCTAssertThrowsError(try CountdownTask(numbers: 1).problems(count: 1, seed: 0))
        XCTAssertThrowsError(try CountdownTask(maxNumber: 0).problems(count: 1, seed: 0))
        XCTAssertThrowsError(try CountdownTask(maxTarget: 1).problems(count: 1, seed: 0))
        XCTAssertThrowsError(try CountdownTask().problems(count: -2, seed: 0))
    }

    func testErrorMessagesAreOneLine() {
        let errors: [ExperimentError] = [
            .problemGenerationFailed(task: "countdown", problem: 3, reason: "no integer target"),
            .invalidTaskParameter(task: "countdown", reason: "numbers must be in 2...8, got 1"),
        ]
        XCTAssertEqual(errors[0].description, "countdown: could not generate problem 3: no integer target")
        XCTAssertTrue(errors.allSatisfy { !$0.description.contains("\n") })
    }
}
