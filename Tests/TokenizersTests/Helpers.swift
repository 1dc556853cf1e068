import Foundation
import GGUF
import TestSupport
import XCTest
@testable import Tokenizers

/// The fixture vocabularies, loaded once per test process (the Llama 3 one has 128k tokens
/// and 280k merges, which takes a moment in a debug build).
enum Vocabs {
    private static var cache: [String: any Tokenizer] = [:]
    private static let lock = NSLock()

    static func load(_ name: String) throws -> any Tokenizer {
        let path = try Fixtures.require("tokenizer/\(name)")
        lock.lock(); defer { lock.unlock() }
        if let t = cache[name] { return t }
        let t = try loadTokenizer(from: GGUFFile(path: path))
        cache[name] = t
        return t
    }

    static func spm() throws -> any Tokenizer { try load("ggml-vocab-llama-spm.gguf") }
    static func bpe() throws -> any Tokenizer { try load("ggml-vocab-llama-bpe.gguf") }

    /// The llama.cpp test cases for a vocabulary: inputs (each terminated by a line
    /// `__ggml_vocab_test__`) and expected ids, one line of space-separated ids per input.
    static func cases(_ name: String) throws -> [(input: String, ids: [Int])] {
        let inp = try String(contentsOfFile: Fixtures.require("tokenizer/\(name).inp"), encoding: .utf8)
        let out = try String(contentsOfFile: Fixtures.require("tokenizer/\(name).out"), encoding: .utf8)
        var inputs = inp.components(separatedBy: "\n__ggml_vocab_test__\n")
        if inputs.last == "" { inputs.removeLast() }
        var lines = out.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        guard inputs.count == lines.count else {
            throw NSError(domain: "fixtures", code: 1, userInfo: [NSLocalizedDescriptionKey:
                "\(name): \(inputs.count) inputs but \(lines.count) expected outputs"])
        }
        return zip(inputs, lines).map { ($0, $1.split(separator: " ").map { Int($0)! }) }
    }
}

/// Builds small vocab-only GGUF files for synthetic tests.
struct VocabBuilder {
    var writer = GGUFWriter()

    init(model: String, tokens: [String], types: [Int]? = nil, scores: [Float]? = nil) {
        writer.set("general.architecture", "llama")
        writer.set("tokenizer.ggml.model", model)
        writer.set("tokenizer.ggml.tokens", strings: tokens)
        if let types { writer.set("tokenizer.ggml.token_type", int32s: types) }
        if let scores { writer.set("tokenizer.ggml.scores", floats: scores) }
    }

    mutating func set(_ key: String, _ value: GGUFValue) { writer.set(key, value) }

    func file() throws -> GGUFFile {
        let dir = try Fixtures.temporaryDirectory()
        let path = dir.appendingPathComponent("vocab.gguf").path
        try writer.write(to: path)
        return try GGUFFile(path: path)
    }

    func tokenizer() throws -> any Tokenizer { try loadTokenizer(from: file()) }
}

/// Every printable character of GPT-2's byte-level alphabet, in byte order: a complete base
/// vocabulary of 256 single-byte tokens.
let byteLevelAlphabet: [String] = (0...255).map { ByteLevel.encode([UInt8($0)]) }
