import XCTest
@testable import Tokenizers

/// llama.cpp's own tokenizer test cases (test-tokenizer-0): exact ids, and text round trips.
final class FixtureTests: XCTestCase {
    func check(_ name: String, _ tokenizer: any Tokenizer, file: StaticString = #filePath, line: UInt = #line) throws {
        let cases = try Vocabs.cases(name)
        XCTAssertGreaterThan(cases.count, 40, file: file, line: line)
        for (input, expected) in cases {
            let ids = try tokenizer.encode(input, addSpecial: false, parseSpecial: false)
            XCTAssertEqual(ids, expected, "encoding \(input.debugDescription)", file: file, line: line)
            XCTAssertEqual(tokenizer.decode(ids), input, "round trip of \(input.debugDescription)", file: file, line: line)
        }
    }

    func testSentencePieceFixtureCases() throws {
        try check("ggml-vocab-llama-spm.gguf", Vocabs.spm())
    }

    func testBPEFixtureCases() throws {
        try check("ggml-vocab-llama-bpe.gguf", Vocabs.bpe())
    }

    func testSentencePieceMetadata() throws {
        let t = try Vocabs.spm()
        XCTAssertEqual(t.vocabSize, 32000)
        XCTAssertEqual(t.bos, 1)
        XCTAssertEqual(t.eos, 2)
        XCTAssertTrue(t.addsBOS)
        XCTAssertFalse(t.addsEOS)
        XCTAssertTrue(t.isEndOfGeneration(2))
        XCTAssertFalse(t.isEndOfGeneration(1))
        XCTAssertEqual(t.tokenText(1), "<s>")
        XCTAssertEqual(t.tokenType(1), .control)
        XCTAssertEqual(t.tokenType(3), .byte)
        XCTAssertEqual(t.pieceBytes(3 + 0x41), [0x41], "<0x41> is the byte 'A'")
        XCTAssertEqual(t.pieceBytes(1), [], "control tokens decode to nothing")
        XCTAssertEqual(t.pieceBytes(1, renderSpecial: true), Array("<s>".utf8))
        XCTAssertEqual(t.pieceBytes(-1), [])
        XCTAssertEqual(t.pieceBytes(32000), [])
    }

    func testBPEMetadata() throws {
        let t = try Vocabs.bpe()
        XCTAssertEqual(t.vocabSize, 128256)
        XCTAssertEqual(t.bos, 128000)
        XCTAssertEqual(t.eos, 128001)
        XCTAssertEqual(t.eot, 128009, "<|eot_id|> found by text")
        XCTAssertTrue(t.addsBOS, "llama-bpe adds BOS by default, as in llama.cpp")
        XCTAssertFalse(t.addsEOS)
        XCTAssertTrue(t.isEndOfGeneration(128001))
        XCTAssertTrue(t.isEndOfGeneration(128009))
        XCTAssertFalse(t.isEndOfGeneration(128000))
        XCTAssertEqual(t.tokenText(128009), "<|eot_id|>")
        XCTAssertEqual(t.pieceBytes(220), [0x20], "'Ġ' is a space")
    }

    func testAddSpecialAddsBOS() throws {
        let spm = try Vocabs.spm()
        XCTAssertEqual(try spm.encode("Hello world", addSpecial: true, parseSpecial: false), [1, 15043, 3186])
        XCTAssertEqual(try spm.encode("", addSpecial: true, parseSpecial: false), [1])
        XCTAssertEqual(try spm.encode("", addSpecial: false, parseSpecial: false), [])
        XCTAssertEqual(spm.decode([1, 15043, 3186]), "Hello world", "BOS and the prefix space are dropped")
        let bpe = try Vocabs.bpe()
        XCTAssertEqual(try bpe.encode("Hello world", addSpecial: true, parseSpecial: false), [128000, 9906, 1917])
        XCTAssertEqual(bpe.decode([128000, 9906, 1917]), "Hello world")
        XCTAssertEqual(bpe.decode([128000, 9906, 1917], renderSpecial: true), "<|begin_of_text|>Hello world")
    }

    func testRoundTripOfAssortedText() throws {
        let texts = ["  leading spaces", "tabs\tand\nnewlines\r\n", "emoji 🦙🏳️‍🌈 and CJK 你好世界", "e\u{301} vs é",
                     "<s> not special", "mixed123numbers4567", "Ünïcödé ÀÉÎÕÜ ß", "\u{0}\u{1}\u{7F}", "a  b   c    "]
        for t in [try Vocabs.spm(), try Vocabs.bpe()] {
            for text in texts {
                let ids = try t.encode(text, addSpecial: true, parseSpecial: false)
                XCTAssertEqual(t.decode(ids), text)
                // Byte-exact, not just canonically equivalent.
                XCTAssertEqual(Array(t.decode(ids).utf8), Array(text.utf8))
            }
        }
    }
}
