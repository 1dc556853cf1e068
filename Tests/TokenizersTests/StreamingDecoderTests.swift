import XCTest
@testable import Tokenizers

final class StreamingDecoderTests: XCTestCase {
    let samples = ["emoji 🦙🏳️‍🌈 done", "中文字符 和 日本語のテキスト", "mixed: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ÅÉÎ 👩‍👩‍👧‍👦!", " leading space"]

    func stream(_ t: any Tokenizer, _ ids: [Int]) -> (pieces: [String], held: Int) {
        var d = StreamingDecoder(tokenizer: t)
        var pieces: [String] = []
        var held = 0
        for id in ids {
            pieces.append(d.push(id))
            if d.pendingByteCount > 0 { held += 1 }
        }
        pieces.append(d.flush())
        return (pieces, held)
    }

    func checkStreaming(_ t: any Tokenizer, name: String) throws {
        var heldSomewhere = false
        for text in samples {
            for addSpecial in [false, true] {
                let ids = try t.encode(text, addSpecial: addSpecial, parseSpecial: false)
                let (pieces, held) = stream(t, ids)
                XCTAssertEqual(pieces.joined(), text, "\(name): streamed \(text.debugDescription)")
                XCTAssertEqual(pieces.joined(), t.decode(ids))
                XCTAssertFalse(pieces.joined().contains("\u{FFFD}"), "no partial character is ever emitted")
                if held > 0 { heldSomewhere = true }
            }
        }
        XCTAssertTrue(heldSomewhere, "\(name): some character spans several tokens")
    }

    func testSentencePieceStreaming() throws {
        try checkStreaming(Vocabs.spm(), name: "spm")
    }

    func testBPEStreaming() throws {
        try checkStreaming(Vocabs.bpe(), name: "bpe")
    }

    func testSentencePieceByteFallbackIsHeldBack() throws {
        let t = try Vocabs.spm()
        let ids = try t.encode("🦙", addSpecial: false, parseSpecial: false)
        // "▁" then the four <0xXX> byte tokens of U+1F999.
        XCTAssertEqual(ids.count, 5)
        var d = StreamingDecoder(tokenizer: t)
        XCTAssertEqual(d.push(ids[0]), "", "the prefix space is stripped")
        XCTAssertEqual(d.push(ids[1]), "")
        XCTAssertEqual(d.push(ids[2]), "")
        XCTAssertEqual(d.pendingByteCount, 2)
        XCTAssertEqual(d.push(ids[3]), "")
        XCTAssertEqual(d.push(ids[4]), "🦙")
        XCTAssertEqual(d.flush(), "")
    }

    func testFlushReplacesUnfinishedCharacter() throws {
        let t = try Vocabs.spm()
        let ids = try t.encode("é🦙", addSpecial: false, parseSpecial: false)
        var d = StreamingDecoder(tokenizer: t)
        let text = d.push(contentsOf: ids.dropLast())
        XCTAssertEqual(text, "é")
        XCTAssertEqual(d.flush(), "\u{FFFD}")
        XCTAssertEqual(d.flush(), "")
    }

    func testControlTokensRenderOnlyWhenAsked() throws {
        let t = try Vocabs.bpe()
        var quiet = StreamingDecoder(tokenizer: t)
        XCTAssertEqual(quiet.push(contentsOf: [128000, 9906, 128009]), "Hello")
        var loud = StreamingDecoder(tokenizer: t, renderSpecial: true)
        XCTAssertEqual(loud.push(contentsOf: [128000, 9906, 128009]), "<|begin_of_text|>Hello<|eot_id|>")
    }

    func testCompletePrefixLength() {
        typealias D = StreamingDecoder
        XCTAssertEqual(D.completePrefixLength([]), 0)
        XCTAssertEqual(D.completePrefixLength([0x41, 0xE4]), 1)
        XCTAssertEqual(D.completePrefixLength([0x41, 0xE4, 0xB8]), 1)
        XCTAssertEqual(D.completePrefixLength([0x41, 0xE4, 0xB8, 0xAD]), 4)
        XCTAssertEqual(D.completePrefixLength([0xF0, 0x9F, 0xA6]), 0)
        XCTAssertEqual(D.completePrefixLength([0x80, 0x80]), 2, "stray continuation bytes are invalid: emit")
        XCTAssertEqual(D.completePrefixLength([0x41, 0xC0]), 2, "0xC0 can never start a valid character")
        XCTAssertEqual(D.completePrefixLength([0xE0, 0x80]), 2, "overlong form is invalid: emit")
    }
}
