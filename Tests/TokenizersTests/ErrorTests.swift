import GGUF
import TestSupport
import XCTest
@testable import Tokenizers

final class ErrorTests: XCTestCase {
    func assertThrows(_ expected: TokenizerError, _ builder: VocabBuilder,
                      file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try builder.tokenizer(), file: file, line: line) { error in
            XCTAssertEqual(error as? TokenizerError, expected, file: file, line: line)
            XCTAssertFalse(String(describing: error).isEmpty)
        }
    }

    func bpe(pre: String? = "gpt2") -> VocabBuilder {
        var b = VocabBuilder(model: "gpt2", tokens: byteLevelAlphabet + ["ab"])
        b.writer.set("tokenizer.ggml.merges", strings: ["a b"])
        if let pre { b.writer.set("tokenizer.ggml.pre", pre) }
        return b
    }

    func testUnknownModel() {
        assertThrows(.unknownModel("bert"), VocabBuilder(model: "bert", tokens: ["a"]))
        XCTAssertTrue(TokenizerError.unknownModel("bert").description.contains("gpt2"))
    }

    func testMissingModelAndTokens() throws {
        var w = GGUFWriter()
        w.set("general.architecture", "llama")
        let dir = try Fixtures.temporaryDirectory().path
        try w.write(to: dir + "/a.gguf")
        XCTAssertThrowsError(try loadTokenizer(from: GGUFFile(path: dir + "/a.gguf"))) {
            XCTAssertEqual($0 as? TokenizerError, .missingModel)
        }
        w.set("tokenizer.ggml.model", "llama")
        try w.write(to: dir + "/b.gguf")
        XCTAssertThrowsError(try loadTokenizer(from: GGUFFile(path: dir + "/b.gguf"))) {
            XCTAssertEqual($0 as? TokenizerError, .missingTokens)
        }
    }

    func testUnknownPreTokenizerListsSupportedOnes() {
        XCTAssertThrowsError(try bpe(pre: "mystery").tokenizer()) { error in
            guard case let .unknownPreTokenizer(name, supported) = error as? TokenizerError else {
                return XCTFail("wrong error \(error)")
            }
            XCTAssertEqual(name, "mystery")
            XCTAssertTrue(supported.contains("llama-bpe") && supported.contains("qwen2") && supported.contains("gpt2"))
            XCTAssertTrue(String(describing: error).contains("llama-bpe"))
        }
    }

    func testSpecialTokenOutOfRange() {
        var b = bpe()
        b.writer.set("tokenizer.ggml.eos_token_id", uint32: 999)
        assertThrows(.specialTokenOutOfRange(key: "tokenizer.ggml.eos_token_id", id: 999, vocabSize: 257), b)
    }

    func testLengthMismatches() {
        assertThrows(.lengthMismatch(key: "tokenizer.ggml.scores", count: 1, tokens: 2),
                     VocabBuilder(model: "llama", tokens: ["a", "b"], scores: [0]))
        assertThrows(.lengthMismatch(key: "tokenizer.ggml.token_type", count: 3, tokens: 2),
                     VocabBuilder(model: "llama", tokens: ["a", "b"], types: [1, 1, 1]))
        assertThrows(.badTokenType(id: 1, type: 9), VocabBuilder(model: "llama", tokens: ["a", "b"], types: [1, 9]))
    }

    func testBadMerges() {
        var b = bpe()
        b.writer.set("tokenizer.ggml.merges", strings: ["a b", "a zz"])
        assertThrows(.badMerge(index: 1, merge: "a zz", reason: "right part is not a token"), b)
        b.writer.set("tokenizer.ggml.merges", strings: ["ab"])
        assertThrows(.badMerge(index: 0, merge: "ab", reason: "expected two tokens separated by a space"), b)
        b.writer.set("tokenizer.ggml.merges", strings: ["b a"])
        assertThrows(.badMerge(index: 0, merge: "b a", reason: "the merged text is not a token"), b)
        var noMerges = VocabBuilder(model: "gpt2", tokens: byteLevelAlphabet)
        noMerges.writer.set("tokenizer.ggml.pre", "gpt2")
        assertThrows(.missingMerges, noMerges)
    }

    func testSentencePieceWithoutByteTokensFailsOnlyWhenNeeded() throws {
        let t = try VocabBuilder(model: "llama", tokens: ["<unk>", "<s>", "</s>", "▁", "a"],
                                 types: [2, 3, 3, 1, 1], scores: [0, 0, 0, -1, -2]).tokenizer()
        XCTAssertEqual(try t.encode("a", addSpecial: true, parseSpecial: false), [1, 3, 4])
        XCTAssertThrowsError(try t.encode("z", addSpecial: false, parseSpecial: false)) {
            XCTAssertEqual($0 as? TokenizerError, .missingByteToken(UInt8(ascii: "z")))
        }
    }
}
