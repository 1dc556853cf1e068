import XCTest
@testable import Tokenizers

/// Long inputs without spaces are one symbol list / one BPE word: the merge loops must stay
/// O(n log n). These only check that encoding finishes and round-trips (no timing assertions:
/// a slow machine must not fail them), but a quadratic loop would take hours here.
final class LongInputTests: XCTestCase {
    static let length = 60_000

    /// Deterministic pseudo-random letters (an LCG, so the test is reproducible).
    func randomLetters(_ n: Int, alphabet: [Character]) -> String {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var s = ""
        s.reserveCapacity(n)
        for _ in 0..<n {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            s.append(alphabet[Int(state >> 33) % alphabet.count])
        }
        return s
    }

    func inputs() -> [String] {
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        return [String(repeating: "a", count: Self.length),
                randomLetters(Self.length, alphabet: letters),
                randomLetters(Self.length / 3, alphabet: Array("日本語中文한국어")),
                String(repeating: "7", count: Self.length),
                String(repeating: " ", count: Self.length)]
    }

    func check(_ t: any Tokenizer) throws {
        for text in inputs() {
            let ids = try t.encode(text, addSpecial: false, parseSpecial: false)
            XCTAssertFalse(ids.isEmpty)
            XCTAssertEqual(t.decode(ids), text)
        }
    }

    func testSentencePieceLongInputs() throws {
        try check(Vocabs.spm())
    }

    func testBPELongInputs() throws {
        try check(Vocabs.bpe())
    }

    /// The Llama 3 pre-tokenizer breaks digits into groups of 3, but a synthetic gpt2 vocab keeps
    /// one long word: exercise the BPE heap on a single 60k-symbol word with real merges.
    func testSyntheticBPESingleLongWord() throws {
        var b = VocabBuilder(model: "gpt2", tokens: byteLevelAlphabet + ["aa", "aaaa", "ab"])
        b.writer.set("tokenizer.ggml.merges", strings: ["a a", "aa aa", "a b"])
        b.writer.set("tokenizer.ggml.pre", "gpt2")
        let t = try b.tokenizer()
        let ids = try t.encode(String(repeating: "a", count: Self.length + 1), addSpecial: false, parseSpecial: false)
        XCTAssertEqual(ids.count, (Self.length / 4) + 1)
        XCTAssertEqual(ids.last, Int(UInt8(ascii: "a")))
        XCTAssertEqual(Set(ids.dropLast()), [257])
    }
}
