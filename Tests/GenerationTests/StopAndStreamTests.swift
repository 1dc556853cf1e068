import Foundation
@testable import Generation
import LlamaCore
import TestSupport
import Tokenizers
import XCTest

/// Stop strings and streamed text: the output is cut before a stop string and never contains
/// it, the pieces handed out as they come concatenate to the final text, and multi-byte
/// characters split across tokens are never broken.
final class StopAndStreamTests: XCTestCase {
    var tokenizer: (any Tokenizer)!

    override func setUpWithError() throws {
        tokenizer = try GenerationFixtures.spmTokenizer()
    }

    /// Greedy generation replaying the tokens of `text` after a short prompt.
    func run(_ text: String, stops: [String], maxTokens: Int = 200) throws -> (result: GenerationResult, pieces: [String], script: [Int], prompt: [Int]) {
        let script = try tokenizer.encode(text, addSpecial: false, parseSpecial: false)
        let prompt = try tokenizer.encode("Q: what next?")
        let generator = Generator(model: ScriptedModel(vocabSize: tokenizer.vocabSize, script: script), tokenizer: tokenizer)
        let (result, pieces) = try generator.generateCollecting(prompt: prompt, stop: StopRules(maxTokens: maxTokens, stopStrings: stops, stopAtEndOfGeneration: false))
        return (result, pieces, script, prompt)
    }

    func testOutputIsCutBeforeTheStopString() throws {
        let r = try run("The answer is 42.\nUser: and what else?\nAssistant: more", stops: ["\nUser:"])
        XCTAssertEqual(r.result.text, " The answer is 42.")
        XCTAssertEqual(r.result.finishReason, .stopString)
        XCTAssertEqual(r.pieces.joined(), r.result.text)
        XCTAssertFalse(r.pieces.contains { $0.contains("User") }, "no piece of the stop string was streamed: \(r.pieces)")
        // generation stopped at the token that completed the stop string
        XCTAssertLessThan(r.result.tokens.count, r.script.count)
        let full = GenerationFixtures.continuation(tokenizer, prompt: r.prompt, tokens: r.result.tokens)
        XCTAssert(full.contains("\nUser:"), full)
    }

    func testEarliestOfSeveralStopStringsWins() throws {
        let r = try run("alpha beta gamma delta", stops: ["delta", "beta", "nope"])
        XCTAssertEqual(r.result.text, " alpha ")
        XCTAssertEqual(r.pieces.joined(), r.result.text)
        XCTAssertEqual(r.result.finishReason, .stopString)
    }

    func testStopStringAtTheVeryStartGivesEmptyText() throws {
        let r = try run("STOP and more", stops: ["STOP"])
        XCTAssertEqual(r.result.text, " ")
        XCTAssertEqual(r.pieces.joined(), r.result.text)
        let s = try run("STOP and more", stops: [" STOP"])
        XCTAssertEqual(s.result.text, "")
        XCTAssertEqual(s.pieces.joined(), "")
    }

    func testStopStringInsideOneTokenAndAcrossTokens() throws {
        // "Hello" is one token; "ello" is a stop string inside it
        let inside = try run("Hello world", stops: ["ello"])
        XCTAssertEqual(inside.result.text, " H")
        XCTAssertEqual(inside.pieces.joined(), inside.result.text)
        // across several tokens, including a newline
        let across = try run("one two\n\nthree four", stops: ["two\n\nthr"])
        XCTAssertEqual(across.result.text, " one ")
        XCTAssertEqual(across.pieces.joined(), across.result.text)
    }

    func testTextThatOnlyStartsLikeAStopStringIsReleased() throws {
        let r = try run("a Us b User c", stops: ["User:"], maxTokens: 200)
        XCTAssertEqual(r.result.finishReason, .maxTokens, "the script ends in <unk> tokens and never says 'User:'")
        XCTAssert(r.result.text.hasPrefix(" a Us b User c"), r.result.text)
        XCTAssertEqual(r.pieces.joined(), r.result.text)
        XCTAssertFalse(r.result.text.contains("User:"))
    }

    func testEmptyStopStringsAreIgnored() throws {
        let r = try run("x y z", stops: [""], maxTokens: 3)
        XCTAssertEqual(r.result.finishReason, .maxTokens)
        XCTAssertEqual(r.pieces.joined(), r.result.text)
    }

    /// Characters that the SentencePiece vocabulary spells as byte-fallback tokens (3 or 4
    /// tokens per character) stream as whole characters, never as U+FFFD halves.
    func testMultibyteCharactersSplitAcrossTokensStreamWhole() throws {
        let text = "naïve café 日本語 🦙🦙 ok"
        let r = try run(text, stops: [], maxTokens: 200)
        XCTAssert(r.result.text.hasPrefix(" " + text), r.result.text)
        XCTAssertEqual(r.pieces.joined(), r.result.text)
        XCTAssert(r.script.contains { tokenizer.tokenType($0) == .byte }, "the test needs byte-fallback tokens")
        for piece in r.pieces { XCTAssertFalse(piece.contains("\u{FFFD}"), "a broken character was streamed: \(piece.unicodeScalars.map { $0.value })") }
        // a stop string made of multi-byte characters
        let s = try run(text, stops: ["🦙🦙"])
        XCTAssertEqual(s.result.text, " naïve café 日本語 ")
        XCTAssertEqual(s.pieces.joined(), s.result.text)
        let t = try run(text, stops: ["本"])
        XCTAssertEqual(t.result.text, " naïve café 日")
    }

    /// On the real model with a multi-byte prompt and several seeds: the streamed pieces are
    /// valid UTF-8, concatenate to the result, and match decoding all the ids at once.
    func testSampledRunsWithAMultibytePromptStreamValidUTF8() throws {
        let (model, tokenizer) = try GenerationFixtures.tinyModel()
        let generator = Generator(model: model, tokenizer: tokenizer)
        let prompt = try tokenizer.encode("Ünïcödé: 日本語のテキスト, emoji 🦙🚀 и кириллица")
        XCTAssert(prompt.contains { tokenizer.tokenType($0) == .byte })
        let settings = SamplerSettings(temperature: 1.5, topK: 0, topP: 1, minP: 0)
        for seed: UInt64 in 1...4 {
            let (result, pieces) = try generator.generateCollecting(prompt: prompt, settings: settings, seed: seed, stop: StopRules(maxTokens: 16, stopAtEndOfGeneration: false))
            XCTAssertEqual(result.tokens.count, 16)
            XCTAssertEqual(pieces.joined(), result.text)
            XCTAssertEqual(Array(result.text.utf8), Array(String(decoding: Array(result.text.utf8), as: UTF8.self).utf8))
            XCTAssertEqual(result.text, GenerationFixtures.continuation(tokenizer, prompt: prompt, tokens: result.tokens), "seed \(seed)")
        }
    }

    /// Best-of-N samples are continuations too: the first word keeps its space.
    func testParallelSamplerTextContinuesThePrompt() throws {
        let script = try tokenizer.encode("Hello there", addSpecial: false, parseSpecial: false)
        let model = ScriptedModel(vocabSize: tokenizer.vocabSize, script: script)
        let out = try Generator(model: model, tokenizer: tokenizer).sample(prompt: try tokenizer.encode("Say hi:"), indices: [0], batch: 1, settings: .greedy, seed: 1, problem: 0,
                    stop: StopRules(maxTokens: script.count, stopAtEndOfGeneration: false))
        XCTAssertEqual(out.map(\.tokens), [script])
        XCTAssertEqual(out.first?.text, " Hello there")
    }

    func testSafePrefixHoldsBackOnlyAPossibleStopStart() {
        XCTAssertEqual(StopScanner.safePrefixLength("hello Us", stops: ["User:"]), 6)
        XCTAssertEqual(StopScanner.safePrefixLength("hello", stops: ["User:"]), 5)
        XCTAssertEqual(StopScanner.safePrefixLength("hello", stops: []), 5)
        XCTAssertEqual(StopScanner.safePrefixLength("ab", stops: ["abc"]), 0)
        XCTAssertEqual(StopScanner.safePrefixLength("", stops: ["abc"]), 0)
        XCTAssertEqual(StopScanner.safePrefixLength("xa", stops: ["b", "ab"]), 1)
    }
}
