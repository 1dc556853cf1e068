import Foundation
import TestSupport
import XCTest

/// Every bad input gets a clear one-line error and a non-zero exit: never a crash (a signal),
/// a hang, or a silent wrong answer (DESIGN.md, "Behaviour that users expect").
final class BadInputTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Runs the commands that take a model against `path`; each must fail cleanly.
    func everyCommandFails(on path: String, mentioning mentions: [String] = [], within limit: TimeInterval = 20) throws {
        try CLI.fails(["info", "-m", path], mentioning: mentions, within: limit)
        try CLI.fails(["info", "-m", path, "--json"], mentioning: mentions, within: limit)
        try CLI.fails(["tokenize", "-m", path, "--text", "hi"], mentioning: mentions, within: limit)
        try CLI.fails(["eval", "-m", path, "--tokens", "1,2", "--dump-logits", dir.appendingPathComponent("x.npy").path], mentioning: mentions, within: limit)
        try CLI.fails(["generate", "-m", path, "-p", "hi", "-n", "2"], mentioning: mentions, within: limit)
        try CLI.fails(["bench", "-m", path, "-p", "4", "-n", "2", "-r", "1"], mentioning: mentions, within: limit)
    }

    // MARK: files

    func testMissingFile() throws {
        try everyCommandFails(on: dir.appendingPathComponent("no-such-model.gguf").path, mentioning: ["no-such-model.gguf"])
    }

    func testADirectory() throws {
        try everyCommandFails(on: dir.path)
    }

    func testEmptyFile() throws {
        try everyCommandFails(on: try write([], "empty.gguf"))
    }

    func testTruncatedModel() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: try CLIFixtures.tinyModel))
        try everyCommandFails(on: try write(Array(data.prefix(1000)), "truncated.gguf"))
        // cut inside the tensor data: the header parses but the tensors do not fit
        try everyCommandFails(on: try write(Array(data.prefix(data.count / 2)), "half.gguf"))
    }

    func testGarbage() throws {
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
        try everyCommandFails(on: try write(noise, "noise.gguf"))
        // the right magic and version, then garbage
        try everyCommandFails(on: try write(Array("GGUF".utf8) + [3, 0, 0, 0] + noise, "magic-then-noise.gguf"))
        // a text file
        try everyCommandFails(on: try write(Array("this is not a model\n".utf8), "text.gguf"))
    }

    /// Headers that claim absurd sizes must be refused from the header, not by trying to
    /// allocate or loop over what they claim.
    func testHostileHeadersFailFast() throws {
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        let magic = Array("GGUF".utf8) + u32(3)
        let key = u64(4) + Array("name".utf8)
        let cases: [(String, [UInt8])] = [
            ("huge-tensor-count", magic + u64(UInt64.max / 2) + u64(0)),
            ("huge-kv-count", magic + u64(0) + u64(UInt64.max)),
            ("huge-key-length", magic + u64(0) + u64(1) + u64(UInt64(1) << 62) + Array("abc".utf8)),
            ("huge-string-value", magic + u64(0) + u64(1) + key + u32(8) + u64(UInt64(1) << 61) + Array("abc".utf8)),
            ("huge-array", magic + u64(0) + u64(1) + key + u32(9) + u32(6) + u64(UInt64(1) << 60)),
            ("nested-arrays", magic + u64(0) + u64(1) + key + Array(repeating: u32(9) + u32(9) + u64(1), count: 1000).flatMap { $0 }),
            ("tensor-with-huge-dims", magic + u64(1) + u64(0) + u64(4) + Array("w.xy".utf8) + u32(2) + u64(UInt64(1) << 40) + u64(UInt64(1) << 40) + u32(0) + u64(0)),
        ]
        for (name, bytes) in cases {
            let path = try write(bytes + Array(repeating: 0, count: 64), "\(name).gguf")
            let start = Date()
            try CLI.fails(["info", "-m", path], within: 10)
            try CLI.fails(["generate", "-m", path, "-p", "x", "-n", "1"], within: 10)
            print("hostile \(name): refused in \(String(format: "%.3f", Date().timeIntervalSince(start))) s (two commands)")
        }
    }

    /// A tensor of a type LlamaCL does not implement is named, with its type.
    func testUnsupportedTensorType() throws {
        let model = try CLIFixtures.synthesize(["--type", "Q8_0"], in: dir)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: model)))
        // the tensor info: u64 name length, name, u32 n_dims, u64 dims..., u32 type, u64 offset
        let name = Array("blk.0.attn_q.weight".utf8)
        let needle = withUnsafeBytes(of: UInt64(name.count).littleEndian, Array.init) + name
        let at = try XCTUnwrap((0...(bytes.count - needle.count)).first { bytes[$0..<$0 + needle.count].elementsEqual(needle) })
        let dims = Int(bytes[at + needle.count])
        let typeOffset = at + needle.count + 4 + 8 * dims
        XCTAssertEqual(bytes[typeOffset], 8, "Q8_0")
        for (id, label) in [(20, "IQ4_NL"), (16, "IQ2_XXS"), (99, "99")] {
            bytes[typeOffset] = UInt8(id)
            let path = try write(bytes, "type-\(id).gguf")
            try CLI.fails(["eval", "-m", path, "--tokens", "1,2", "--dump-logits", dir.appendingPathComponent("x.npy").path], mentioning: ["blk.0.attn_q.weight", label])
            try CLI.fails(["generate", "-m", path, "-p", "hi"], mentioning: ["blk.0.attn_q.weight", label])
        }
    }

    /// JSON has no NaN: `info --json` on a file with a NaN float still prints valid JSON (the
    /// model's own checks then refuse it).
    func testNonFiniteMetadata() throws {
        let model = try CLIFixtures.synthesize([], in: dir)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: model)))
        let key = Array("llama.rope.freq_base".utf8)
        let needle = withUnsafeBytes(of: UInt64(key.count).littleEndian, Array.init) + key
        let at = try XCTUnwrap((0...(bytes.count - needle.count)).first { bytes[$0..<$0 + needle.count].elementsEqual(needle) })
        let value = at + needle.count + 4   // after the u32 type (float32)
        for (label, v) in [("nan", Float.nan), ("inf", Float.infinity)] {
            withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.replaceSubrange(value..<value + 4, with: $0) }
            let path = try write(bytes, "\(label).gguf")
            let meta = try XCTUnwrap(try CLI.ok(["info", "-m", path, "--json"]).jsonObject()["metadata"] as? [String: Any])
            XCTAssertEqual((meta["llama.rope.freq_base"] as? String)?.lowercased(), label)
            try CLI.fails(["eval", "-m", path, "--tokens", "1", "--dump-logits", dir.appendingPathComponent("x.npy").path], mentioning: ["freq_base"])
        }
    }

    // MARK: flags

    func testBadFlags() throws {
        let model = try CLIFixtures.tinyModel
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--backend", "nonsense"], mentioning: ["nonsense"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "-n", "0"], mentioning: ["-n"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "-n", "-5"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--threads", "0"], mentioning: ["threads"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--temp", "-1"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--temp=-1"], mentioning: ["temperature"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--temp", "nan"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--top-p", "0"], mentioning: ["top-p"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--min-p", "1.5"], mentioning: ["min-p"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--top-k", "-1"], mentioning: ["top-k"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--repeat-penalty", "0"], mentioning: ["penalty"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--seed", "-1"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "-n", "many"])
        try CLI.fails(["generate", "-m", model])
        try CLI.fails(["generate", "-p", "hi"])
        try CLI.fails(["eval", "-m", model, "--tokens", "1,2", "--threads", "0"], mentioning: ["threads"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--cache-cells", "0"], mentioning: ["cache"])
        // a cache far larger than memory is refused, not a crash in the allocator
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--cache-cells", "1000000000000"], mentioning: ["cache", "memory"])
        try CLI.fails(["generate", "-m", model, "-p", "hi", "--cache-cells", "\(Int.max)"], mentioning: ["cache"])
        try CLI.fails(["bench", "-m", model, "-p", "0", "-n", "0"])
        try CLI.fails(["bench", "-m", model, "-r", "0"])
        try CLI.fails(["tokenize", "-m", model])
        try CLI.fails(["tokenize", "-m", model, "--text", "a", "--file", "b"])
        try CLI.fails(["nonsense-command"])
        try CLI.fails(["eval", "-m", model, "--tokens", "1", "--prompt", "hi", "--dump-logits", dir.appendingPathComponent("x.npy").path])
    }

    // MARK: requests

    func testPromptLongerThanTheContext() throws {
        let path = try CLIFixtures.synthesize(["--context", "16"], in: dir)
        let prompt = String(repeating: "a long prompt, ", count: 10)
        let ids = try XCTUnwrap(try CLI.ok(["tokenize", "-m", path, "--text", prompt, "--json"]).jsonObject()["ids"] as? [Int])
        XCTAssertGreaterThan(ids.count, 16)
        try CLI.fails(["generate", "-m", path, "-p", prompt, "-n", "4"], mentioning: ["\(ids.count)", "16"])
        try CLI.fails(["eval", "-m", path, "--prompt", prompt, "--dump-logits", dir.appendingPathComponent("x.npy").path], mentioning: ["\(ids.count)", "16"])
        try CLI.fails(["bench", "-m", path, "-p", "32", "-n", "1", "-r", "1"], mentioning: ["32", "16"])
        // a prompt that fits but a generation that does not: stops at the context, no error
        let out = try CLI.ok(["generate", "-m", path, "-p", "hi", "-n", "100", "--json"]).jsonObject()
        let prompt2 = try XCTUnwrap(out["prompt_tokens"] as? [Int]), tokens = try XCTUnwrap(out["tokens"] as? [Int])
        XCTAssertLessThanOrEqual(prompt2.count + tokens.count, 16)
        XCTAssert(["context", "eos"].contains(out["finish_reason"] as? String), "\(out)")
    }

    func testBadTokenLists() throws {
        let model = try CLIFixtures.tinyModel
        let npy = dir.appendingPathComponent("x.npy").path
        try CLI.fails(["eval", "-m", model, "--tokens", "1,abc", "--dump-logits", npy], mentioning: ["abc"])
        try CLI.fails(["eval", "-m", model, "--tokens", "99999999", "--dump-logits", npy], mentioning: ["99999999"])
        try CLI.fails(["eval", "-m", model, "--tokens", "1,-3", "--dump-logits", npy], mentioning: ["-3"])
        try CLI.fails(["eval", "-m", model, "--tokens", "", "--dump-logits", npy])
        try CLI.fails(["eval", "-m", model, "--tokens", ",,", "--dump-logits", npy])
        try CLI.fails(["eval", "-m", model, "--tokens", "1,99999999999999999999999", "--dump-logits", npy])
        XCTAssertFalse(FileManager.default.fileExists(atPath: npy), "no logits file is written for a failed eval")
        // an output path that cannot be written
        try CLI.fails(["eval", "-m", model, "--tokens", "1", "--dump-logits", dir.appendingPathComponent("no/such/dir/x.npy").path])
    }

    func testTokenizeFileErrors() throws {
        let vocab = try CLIFixtures.spmVocab
        let bad = try write([0x48, 0x69, 0xFF, 0xFE, 0xC3], "bad.txt")
        try CLI.fails(["tokenize", "-m", vocab, "--file", bad], mentioning: ["UTF-8"])
        try CLI.fails(["tokenize", "-m", vocab, "--file", dir.appendingPathComponent("missing.txt").path], mentioning: ["missing.txt"])
        try CLI.fails(["tokenize", "-m", vocab, "--file", dir.path])
        // a vocab-only file has no weights to run
        try CLI.fails(["generate", "-m", vocab, "-p", "hi", "-n", "1"])
        try CLI.fails(["eval", "-m", vocab, "--tokens", "1", "--dump-logits", dir.appendingPathComponent("x.npy").path])
    }

    func testChatWithoutATemplate() throws {
        let path = try CLIFixtures.synthesize([], in: dir)
        try CLI.fails(["generate", "-m", path, "-p", "hi", "-n", "2", "--chat"], mentioning: ["template"])
    }

    func testBadSynthRequests() throws {
        let out = dir.appendingPathComponent("x.gguf").path
        try CLI.fails(["synth", "--shape", "stories15M", "--type", "Q9_9", "-o", out], mentioning: ["Q9_9"])
        try CLI.fails(["synth", "--shape", "Nope", "-o", out], mentioning: ["Nope"])
        try CLI.fails(["synth", "-o", out])
        try CLI.fails(["synth", "--dim", "64", "--layers", "0", "--heads", "4", "-o", out])
        try CLI.fails(["synth", "--dim", "-64", "--layers", "1", "--heads", "4", "-o", out])
        try CLI.fails(["synth", "--dim", "64", "--layers", "1", "--heads", "5", "-o", out], mentioning: ["head"])
        try CLI.fails(["synth", "--dim", "64", "--layers", "1", "--heads", "4", "--kv-heads", "3", "-o", out])
        try CLI.fails(["synth", "--dim", "64", "--layers", "1", "--heads", "4", "--vocab", "10", "-o", out])
        try CLI.fails(["synth", "--dim", "64", "--layers", "1", "--heads", "4", "--context", "0", "-o", out])
        try CLI.fails(["synth", "--dim", "64", "--layers", "1", "--heads", "4", "-o", dir.appendingPathComponent("no/such/dir/x.gguf").path])
        try CLI.fails(["synth", "--dim", "64", "--layers", "1", "--heads", "4", "--tokenizer-from", dir.appendingPathComponent("nope.gguf").path, "-o", out])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
