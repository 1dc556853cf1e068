import XCTest
@testable import Tokenizers

/// A tiny byte-level vocab built in the test, to see each pre-tokenizer's effect on the ids.
final class SyntheticBPETests: XCTestCase {
    static let extra = ["12", "123", "45", "Ġ1", "Ġ12"]
    static let merges = ["1 2", "12 3", "4 5", "Ġ 1", "Ġ1 2"]

    func tokenizer(pre: String?) throws -> any Tokenizer {
        var b = VocabBuilder(model: "gpt2", tokens: byteLevelAlphabet + Self.extra)
        b.writer.set("tokenizer.ggml.merges", strings: Self.merges)
        if let pre { b.writer.set("tokenizer.ggml.pre", pre) }
        return try b.tokenizer()
    }

    func id(_ text: String) -> Int {
        if let i = Self.extra.firstIndex(of: text) { return 256 + i }
        return Int(Array(text.utf8)[0])
    }

    func testDigitSplittingDependsOnPreTokenizer() throws {
        let gpt2 = try tokenizer(pre: "gpt2")
        XCTAssertEqual(try gpt2.encode("12345", addSpecial: false, parseSpecial: false), [id("123"), id("45")])
        // Lowest rank first: "1 2" (rank 0) beats "Ġ 1" (rank 3), so the space stays alone.
        XCTAssertEqual(try gpt2.encode(" 12345", addSpecial: false, parseSpecial: false), [id(" "), id("123"), id("45")])
        XCTAssertEqual(try gpt2.encode(" 1", addSpecial: false, parseSpecial: false), [id("Ġ1")])

        let qwen2 = try tokenizer(pre: "qwen2")
        XCTAssertEqual(try qwen2.encode("12345", addSpecial: false, parseSpecial: false), ["1", "2", "3", "4", "5"].map(id))
        XCTAssertEqual(try qwen2.encode(" 12345", addSpecial: false, parseSpecial: false), [" ", "1", "2", "3", "4", "5"].map(id))

        let llama3 = try tokenizer(pre: "llama-bpe")
        XCTAssertEqual(try llama3.encode("1234512", addSpecial: false, parseSpecial: false), ["123", "45", "1", "2"].map(id), "words 123|451|2")
        let def = try tokenizer(pre: nil)
        XCTAssertEqual(try def.encode(" 12345", addSpecial: false, parseSpecial: false), [id(" "), id("123"), id("45")])
        for t in [gpt2, qwen2, llama3, def] {
            XCTAssertEqual(t.decode(try t.encode(" 12345 x", addSpecial: false, parseSpecial: false)), " 12345 x")
        }
    }

    func testAddBOSDefaults() throws {
        var b = VocabBuilder(model: "gpt2", tokens: byteLevelAlphabet + Self.extra)
        b.writer.set("tokenizer.ggml.merges", strings: Self.merges)
        b.writer.set("tokenizer.ggml.pre", "qwen2")
        b.writer.set("tokenizer.ggml.bos_token_id", uint32: 0)
        XCTAssertFalse(try b.tokenizer().addsBOS, "gpt2 BPE adds BOS only when told (or for Llama 3)")
        XCTAssertEqual(try b.tokenizer().encode("1", addSpecial: true, parseSpecial: false), [id("1")])
        b.writer.set("tokenizer.ggml.add_bos_token", .bool(true))
        XCTAssertEqual(try b.tokenizer().encode("1", addSpecial: true, parseSpecial: false), [0, id("1")])
        XCTAssertTrue(try tokenizer(pre: "llama-bpe").addsBOS)
    }

    func testMergeRankOrderAndLeftmostTies() throws {
        // "ab" outranks "bc": in "abc" a+b merges first; in "bcab" the two pairs are disjoint.
        var b = VocabBuilder(model: "gpt2", tokens: byteLevelAlphabet + ["ab", "bc", "abc"])
        b.writer.set("tokenizer.ggml.merges", strings: ["a b", "b c", "ab c"])
        b.writer.set("tokenizer.ggml.pre", "gpt2")
        let t = try b.tokenizer()
        XCTAssertEqual(try t.encode("abc", addSpecial: false, parseSpecial: false), [258])
        XCTAssertEqual(try t.encode("bcab", addSpecial: false, parseSpecial: false), [257, 256])
        XCTAssertEqual(try t.encode("bbc", addSpecial: false, parseSpecial: false), [Int(UInt8(ascii: "b")), 257])
    }
}
