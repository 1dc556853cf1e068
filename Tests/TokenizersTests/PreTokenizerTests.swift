import XCTest
@testable import Tokenizers

/// The pre-tokenizers' word splits, checked against what their regexes match.
final class PreTokenizerTests: XCTestCase {
    func words(_ pre: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
        guard let p = PreTokenizer(name: pre) else {
            XCTFail("unknown pre-tokenizer \(pre)", file: file, line: line)
            return []
        }
        let bytes = Array(text.utf8)
        return p.split(bytes, 0..<bytes.count).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    func testLlama3() {
        XCTAssertEqual(words("llama-bpe", "Hello, y'all! How are you 😁 ?"),
                       ["Hello", ",", " y", "'all", "!", " How", " are", " you", " 😁", " ?"])
        XCTAssertEqual(words("llama-bpe", "1234567 x"), ["123", "456", "7", " x"])
        XCTAssertEqual(words("llama-bpe", "I'M we'Ve it'S"), ["I", "'M", " we", "'Ve", " it", "'S"])
        XCTAssertEqual(words("llama-bpe", "a   b"), ["a", "  ", " b"])
        XCTAssertEqual(words("llama-bpe", "a \n\n b"), ["a", " \n\n", " b"])
        XCTAssertEqual(words("llama-bpe", "x;;\n\ny  "), ["x", ";;\n\n", "y", "  "])
        XCTAssertEqual(words("llama-bpe", "\tfoo"), ["\tfoo"], "[^\\r\\n\\p{L}\\p{N}]? takes one non-letter")
        XCTAssertEqual(words("llama-bpe", "\nfoo"), ["\n", "foo"])
    }

    func testQwen2SplitsSingleDigits() {
        XCTAssertEqual(words("qwen2", "1234 ab"), ["1", "2", "3", "4", " ab"])
        XCTAssertEqual(words("qwen2", "I'M"), ["I", "'M"])
    }

    func testGPT2() {
        XCTAssertEqual(words("gpt2", "Hello, y'all! 1234567"), ["Hello", ",", " y", "'", "all", "!", " 1234567"])
        XCTAssertEqual(words("gpt2", "I'm I'M"), ["I", "'m", " I", "'", "M"], "contractions are case-sensitive")
        XCTAssertEqual(words("gpt2", "a   b  "), ["a", "  ", " b", "  "])
        XCTAssertEqual(words("gpt2", "a \n\n b"), ["a", " \n\n", " b"])
        XCTAssertEqual(words("gpt-2", "x ;;y"), ["x", " ;;", "y"])
    }

    func testDefaultSplitsPunctuationAndDigitTriples() {
        XCTAssertEqual(words("default", "Hello, world!! a 1234"), ["Hello", ",", " world", "!!", " a", " ", "123", "4"])
        XCTAssertEqual(words("default", "x ,y"), ["x", " ", ",", "y"], "punctuation runs split first")
    }

    func testFalcon() {
        XCTAssertEqual(words("falcon", "a 1234 `b`"), ["a", " ", "123", "4", " ", "`", "b", "`"])
    }

    func testStarcoderFamilyIsolatesDigits() {
        for name in ["starcoder", "refact", "smollm"] {
            XCTAssertEqual(words(name, "ab12 c3"), ["ab", "1", "2", " c", "3"], name)
        }
    }

    func testUnicodeClasses() {
        // Letters from several scripts, other-number ², and the ideographic space (White_Space).
        XCTAssertEqual(words("llama-bpe", "Ωmega²\u{3000}日本"), ["Ωmega", "²", "\u{3000}日本"])
        XCTAssertEqual(words("gpt2", "Ωmega²\u{3000}日本"), ["Ωmega", "²", "\u{3000}", "日本"])
        XCTAssertNil(PreTokenizer(name: "no-such-pre"))
    }
}
