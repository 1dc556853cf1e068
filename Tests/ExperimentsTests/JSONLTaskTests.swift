import XCTest
import TestSupport
@testable import Experiments

final class JSONLTaskTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func write(_ text: String, name: String = "tasks.jsonl") throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func assertError(_ expression: @autoclosure () throws -> Any, _ expected: ExperimentError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertEqual(error as? ExperimentError, expected, file: file, line: line)
            XCTAssertFalse("\(error)".contains("\n"), file: file, line: line)
        }
    }

    func testReadsStringAndNumberAnswers() throws {
        let path = try write("""
        {"prompt": "Q: 2+2?\\nA:", "answer": 4}
        {"prompt": "Capital of France?", "answer": "Paris"}

        {"prompt": "Half?", "answer": 0.5, "extra": true}\r
        """)
        let task = try JSONLTask(path: path)
        XCTAssertEqual(task.records.map(\.answer), ["4", "Paris", "0.5"])
        XCTAssertEqual(task.records.map(\.id), [0, 1, 2])
        XCTAssertEqual(task.records[0].prompt, "Q: 2+2?\nA:")
        XCTAssertEqual(try task.problems(count: 3, seed: 0), task.records)
        XCTAssertEqual(task.name, "jsonl(tasks.jsonl@\(task.contentHash))")
        XCTAssertEqual(task.contentHash.count, 12)
    }

    func testDefaultExtractionAndVerification() throws {
        let task = try JSONLTask(path: try write(#"{"prompt": "p", "answer": 1234}"#))
        let p = task.records[0]
        XCTAssertEqual(task.extractAnswer(from: "The total is 1,234 apples.\nMore 5"), "1,234")
        XCTAssertTrue(task.isCorrect(extracted: "1,234", problem: p))
        XCTAssertTrue(task.isCorrect(extracted: "1234.0", problem: p))
        XCTAssertTrue(task.isCorrect(extracted: "+1234", problem: p))
        XCTAssertFalse(task.isCorrect(extracted: "1235", problem: p))
        XCTAssertFalse(task.isCorrect(extracted: nil, problem: p))
        // No number: the first non-blank line.
        XCTAssertEqual(task.extractAnswer(from: "\n  Paris  \nLyon"), "Paris")
        XCTAssertNil(task.extractAnswer(from: " \n "))
        let words = Problem(id: 0, prompt: "", answer: "Paris")
        XCTAssertTrue(task.isCorrect(extracted: " Paris", problem: words))
        XCTAssertFalse(task.isCorrect(extracted: "paris!", problem: words))
    }

    func testCustomPattern() throws {
        let task = try JSONLTask(path: try write(#"{"prompt": "p", "answer": "42"}"#), answerPattern: "#### (-?[0-9]+)")
        XCTAssertEqual(task.extractAnswer(from: "7 * 6 = 42\n#### 42"), "42")
        XCTAssertNil(task.extractAnswer(from: "42"))
        let whole = try JSONLTask(path: try write(#"{"prompt": "p", "answer": "B"}"#), answerPattern: "[A-D]")
        XCTAssertEqual(whole.extractAnswer(from: "answer: B"), "B")
    }

    func testSeededSubset() throws {
        let lines = (0..<50).map { #"{"prompt": "q\#($0)", "answer": \#($0)}"# }.joined(separator: "\n")
        let task = try JSONLTask(path: try write(lines))
        let subset = try task.problems(count: 10, seed: 5)
        XCTAssertEqual(subset, try task.problems(count: 10, seed: 5))
        XCTAssertEqual(subset.map(\.id), subset.map(\.id).sorted())
        XCTAssertEqual(Set(subset.map(\.id)).count, 10)
        XCTAssertNotEqual(subset, try task.problems(count: 10, seed: 6))
        assertError(try task.problems(count: 51, seed: 0), .notEnoughProblems(task: task.name, requested: 51, available: 50))
    }

    func testFileErrors() throws {
        let missing = directory.appendingPathComponent("nope.jsonl").path
        assertError(try JSONLTask(path: missing), .fileUnreadable(path: missing, reason: "no such file"))
        let empty = try write("\n  \n", name: "empty.jsonl")
        assertError(try JSONLTask(path: empty), .emptyFile(path: empty))
        let url = directory.appendingPathComponent("bad-utf8.jsonl")
        try Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D, 0x0A]).write(to: url)
        assertError(try JSONLTask(path: url.path), .invalidUTF8(path: url.path))
        assertError(try JSONLTask(path: directory.path), .fileUnreadable(path: directory.path, reason: "unreadable"))
    }

    func testLineErrorsNameTheLine() throws {
        let good = #"{"prompt": "p", "answer": 1}"#
        let cases: [(String, String)] = [
            ("not json", "not valid JSON"),
            (#"{"prompt": "p"}"#, "missing \"answer\""),
            (#"{"answer": 3}"#, "missing \"prompt\""),
            (#"[1, 2]"#, "not a JSON object"),
            (#"{"prompt": 5, "answer": 3}"#, "\"prompt\" must be a string"),
            (#"{"prompt": "p", "answer": [3]}"#, "\"answer\" must be a string or number"),
            (#"{"prompt": "p", "answer": null}"#, "\"answer\" is null"),
        ]
        for (bad, reason) in cases {
            let path = try write(good + "\n\n" + bad + "\n" + good, name: "lines.jsonl")
            assertError(try JSONLTask(path: path), .invalidJSONLine(path: path, line: 3, reason: reason))
        }
    }

    func testBadRegex() throws {
        let path = try write(#"{"prompt": "p", "answer": 1}"#)
        assertError(try JSONLTask(path: path, answerPattern: "(unclosed"), .invalidRegex(pattern: "(unclosed", reason: "does not compile"))
        XCTAssertTrue("\(ExperimentError.invalidRegex(pattern: "(unclosed", reason: "does not compile"))".contains("(unclosed"))
    }
}
