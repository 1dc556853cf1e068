import Experiments
import Training
import XCTest

final class DataTests: XCTestCase {
    func testArithmeticExamplesUseTheTaskAndItsVerifier() throws {
        let task = ArithmeticTask(digits: 2)
        let examples = try TaskExamples.examples(task: task, count: 50, seed: 3)
        let problems = try task.problems(count: 50, seed: 3)
        for (e, p) in zip(examples, problems) {
            XCTAssertEqual(e.prompt, p.prompt)
            XCTAssertEqual(e.completion, " " + p.answer)
            XCTAssertTrue(task.grade(e.completion, problem: p).correct)
        }
        let held = try TaskExamples.heldOut(task: task, count: 200, seed: TrainingData.heldOutSeed(3), excluding: examples)
        XCTAssertFalse(held.isEmpty)
        XCTAssertTrue(Set(held.map(\.prompt)).isDisjoint(with: examples.map(\.prompt)))
    }

    func testCountdownSolutionsPassTheVerifier() throws {
        let task = CountdownTask()
        let problems = try task.problems(count: 40, seed: 11)
        let examples = try TaskExamples.examples(task: task, count: 40, seed: 11)
        for (e, p) in zip(examples, problems) {
            XCTAssertTrue(task.isCorrect(extracted: task.extractAnswer(from: e.completion), problem: p), "\(e.completion) for \(p.numbers) → \(p.answer)")
        }
        XCTAssertEqual(CountdownSolver.solve(numbers: [3, 5, 7, 8], target: 24), "3 * 8")
        XCTAssertNil(CountdownSolver.solve(numbers: [1, 1], target: 5))
    }

    func testCompletionLossCoversAnswerAndEndOnly() {
        let v = CharVocabulary(coveringTexts: ["Q: 1+2=?\nA: 3"])
        let e = EncodedExample(TextExample(prompt: "Q: 1+2=?\nA:", completion: " 3"), vocabulary: v, scope: .completion)
        XCTAssertEqual(e.tokens.first, Int32(CharVocabulary.bos))
        XCTAssertEqual(e.tokens.last, Int32(CharVocabulary.eos))
        // Predictions of " ", "3" and </s>.
        XCTAssertEqual(e.weights.reduce(0, +), 3)
        XCTAssertEqual(Array(e.weights.suffix(4)), [1, 1, 1, 0])
        let all = EncodedExample(TextExample(prompt: "Q: 1+2=?\nA:", completion: " 3"), vocabulary: v, scope: .all)
        XCTAssertEqual(all.weights.reduce(0, +), Float(all.tokens.count - 1))
    }

    func testPackingKeepsExamplesWholeAndSegmentsSeparate() throws {
        let v = CharVocabulary(coveringTexts: ["0123456789+= "])
        let examples = (0..<30).map { i in EncodedExample(TextExample(prompt: String(repeating: "1", count: i % 7), completion: "=\(i)"), vocabulary: v, scope: .completion) }
        let packer = try PackedExamples(examples: examples, rows: 3, length: 16, seed: 1)
        var placed = 0
        for _ in 0..<20 {
            let b = packer.nextBatch()
            try b.validate(vocabSize: v.count, context: 16)
            for r in 0..<3 {
                for t in 0..<16 {
                    let i = r * 16 + t
                    let start = Int(b.segmentStart[i])
                    if b.lossWeights[i] > 0 { XCTAssertEqual(b.tokens[r * 16 + start], Int32(CharVocabulary.bos), "a counted token's segment starts at <s>") }
                    if t > 0, b.segmentStart[i] != b.segmentStart[i - 1] { XCTAssertEqual(start, t) }
                    if t == start, b.tokens[i] == Int32(CharVocabulary.bos) { placed += 1 }
                }
            }
        }
        XCTAssertGreaterThan(placed, 60, "several examples per row")
        let covering = try PackedExamples.covering(examples, rows: 3, length: 16)
        let starts = covering.flatMap { b in (0..<b.tokens.count).filter { b.tokens[$0] == Int32(CharVocabulary.bos) } }
        XCTAssertEqual(starts.count, examples.count, "held-out batches hold every example once")
        XCTAssertThrowsError(try PackedExamples(examples: examples, rows: 1, length: 4, seed: 1)) { error in
            XCTAssertTrue("\(error)".contains("raise --context"), "\(error)")
        }
    }

    func testTextWindowsPredictTheNextCharacter() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("llamacl-text-\(UUID().uuidString).txt").path
        try String(repeating: "the quick brown fox jumps over the lazy dog.\n", count: 20).write(toFile: path, atomically: true, encoding: .utf8)
        let data = try TrainingData.text(path: path, rows: 2, length: 12, seed: 1)
        let b = data.source.nextBatch()
        XCTAssertEqual(b.tokens[0], Int32(CharVocabulary.bos))
        for i in 0..<11 { XCTAssertEqual(b.targets[i], b.tokens[i + 1]) }
        XCTAssertFalse(data.heldOut.isEmpty)
        XCTAssertThrowsError(try TrainingData.text(path: path + ".missing", rows: 2, length: 12, seed: 1))
    }
}
