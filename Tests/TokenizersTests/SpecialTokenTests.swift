import XCTest
@testable import Tokenizers

final class SpecialTokenTests: XCTestCase {
    func testBPEParsesControlTokensOnlyWhenAsked() throws {
        let t = try Vocabs.bpe()
        let text = "<|begin_of_text|>Hello<|eot_id|>"
        XCTAssertEqual(try t.encode(text, addSpecial: false, parseSpecial: true), [128000, 9906, 128009])
        let plain = try t.encode(text, addSpecial: false, parseSpecial: false)
        XCTAssertFalse(plain.contains(128000))
        XCTAssertFalse(plain.contains(128009))
        XCTAssertEqual(t.decode(plain), text, "as plain text it round-trips")
        XCTAssertEqual(t.decode([128000, 9906, 128009]), "Hello")
        XCTAssertEqual(t.decode([128000, 9906, 128009], renderSpecial: true), text)
    }

    func testBPEChatPromptWithHeaders() throws {
        let t = try Vocabs.bpe()
        let prompt = ChatTemplate(family: .llama3).render([ChatMessage(role: "user", content: "Hi")])
        let ids = try t.encode(prompt, addSpecial: true, parseSpecial: true)
        // <|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n
        XCTAssertEqual(ids, [128000, 128006, 882, 128007, 271, 13347, 128009, 128006, 78191, 128007, 271])
    }

    func testSentencePieceAddsPrefixSpaceAfterSpecialTokens() throws {
        let t = try Vocabs.spm()
        // llama.cpp prefixes a space to text at the start and after each special token.
        XCTAssertEqual(try t.encode("<s>Hello", addSpecial: false, parseSpecial: true), [1, 15043])
        XCTAssertEqual(try t.encode("Hello</s><s>Hello", addSpecial: false, parseSpecial: true), [15043, 2, 1, 15043])
        let plain = try t.encode("<s>Hello", addSpecial: false, parseSpecial: false)
        XCTAssertFalse(plain.contains(1))
        XCTAssertEqual(t.decode(plain), "<s>Hello")
    }

    /// User-defined tokens are matched even without parseSpecial (llama.cpp semantics), longer
    /// candidates before shorter ones.
    func testUserDefinedTokensLongestFirst() throws {
        var tokens = byteLevelAlphabet
        tokens += ["<a>", "<a><b>", "<ctl>"]
        var types = [Int](repeating: 1, count: 256)
        types += [4, 4, 3]
        var b = VocabBuilder(model: "gpt2", tokens: tokens, types: types)
        b.writer.set("tokenizer.ggml.merges", strings: [])
        b.writer.set("tokenizer.ggml.pre", "gpt2")
        let t = try b.tokenizer()
        let a = 256, ab = 257, ctl = 258
        XCTAssertEqual(try t.encode("x<a><b><a>", addSpecial: false, parseSpecial: false), [Int(UInt8(ascii: "x")), ab, a])
        let plain = try t.encode("<ctl>", addSpecial: false, parseSpecial: false)
        XCTAssertFalse(plain.contains(ctl))
        XCTAssertEqual(try t.encode("<ctl>", addSpecial: false, parseSpecial: true), [ctl])
        XCTAssertEqual(t.decode([a, ab]), "<a><a><b>", "user-defined tokens decode to their text")
    }

    /// llama.cpp extracts longer special tokens first even when a shorter one starts earlier.
    func testLongerSpecialTokenWinsOverEarlierShorterOne() throws {
        var tokens = byteLevelAlphabet
        tokens += ["xy", "yzw"]
        var b = VocabBuilder(model: "gpt2", tokens: tokens, types: [Int](repeating: 1, count: 256) + [4, 4])
        b.writer.set("tokenizer.ggml.merges", strings: [])
        let t = try b.tokenizer()
        let ids = try t.encode("xyzw", addSpecial: false, parseSpecial: false)
        XCTAssertEqual(ids, [Int(UInt8(ascii: "x")), 257])
    }
}
