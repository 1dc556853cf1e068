import Foundation
import GGUF
import LlamaCore
import TestSupport
import XCTest

/// `llamacl` end to end, as scripts drive it (DESIGN.md's CLI contract).
final class CommandTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try Fixtures.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    // MARK: info

    func testInfoJSONHasTheModelShape() throws {
        let r = try CLI.ok(["info", "-m", try CLIFixtures.tinyModel, "--json"])
        let info = try r.jsonObject()
        let model = try XCTUnwrap(info["model"] as? [String: Any], "\(r)")
        XCTAssertEqual(model["architecture"] as? String, "llama")
        XCTAssertEqual(model["dim"] as? Int, 128)
        XCTAssertEqual(model["layers"] as? Int, 2)
        XCTAssertEqual(model["heads"] as? Int, 4)
        XCTAssertEqual(model["kv_heads"] as? Int, 2)
        XCTAssertEqual(model["head_dim"] as? Int, 32)
        XCTAssertEqual(model["ffn_dim"] as? Int, 256)
        XCTAssertEqual(model["vocab_size"] as? Int, 32000)
        XCTAssertEqual(model["rope_base"] as? Double, 10000)
        XCTAssertEqual(info["version"] as? Int, 3)
        XCTAssertEqual(info["tensor_count"] as? Int, 2 + 2 * 9 + 1, "embeddings, output norm, 9 per layer, output")
        XCTAssertGreaterThan(info["parameters"] as? Int ?? 0, 8_000_000)
        XCTAssertNotNil(info["metadata"] as? [String: Any])
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1, "one JSON line and nothing else on stdout")
        // the human-readable form and the tensor list work too
        let text = try CLI.ok(["info", "-m", try CLIFixtures.tinyModel, "--tensors"])
        XCTAssert(text.stdout.contains("token_embd.weight"), text.stdout)
    }

    func testInfoOnAVocabOnlyFile() throws {
        let r = try CLI.ok(["info", "-m", try CLIFixtures.spmVocab, "--json"])
        let info = try r.jsonObject()
        XCTAssertEqual(info["tensor_count"] as? Int, 0)
        // llama.cpp's vocab files keep the hyperparameters of the model they came from
        if let model = info["model"] as? [String: Any] { XCTAssertEqual(model["vocab_size"] as? Int, 32000) }
        let meta = try XCTUnwrap(info["metadata"] as? [String: Any])
        XCTAssertEqual(meta["tokenizer.ggml.model"] as? String, "llama")
        XCTAssertNotNil(meta["tokenizer.ggml.tokens"])
        try CLI.ok(["info", "-m", try CLIFixtures.spmVocab])
    }

    // MARK: tokenize

    func testTokenizeJSON() throws {
        let vocab = try CLIFixtures.spmVocab
        let ids = try XCTUnwrap(try CLI.ok(["tokenize", "-m", vocab, "--text", "Hello world", "--json"]).jsonObject()["ids"] as? [Int])
        XCTAssertEqual(ids, [1, 15043, 3186])
        let noBOS = try XCTUnwrap(try CLI.ok(["tokenize", "-m", vocab, "--text", "Hello world", "--no-bos", "--json"]).jsonObject()["ids"] as? [Int])
        XCTAssertEqual(noBOS, [15043, 3186])
        // --file reads the same text; a model file's tokenizer gives the same ids
        let file = dir.appendingPathComponent("text.txt")
        try Data("Hello world".utf8).write(to: file)
        XCTAssertEqual(try CLI.ok(["tokenize", "-m", vocab, "--file", file.path, "--json"]).jsonObject()["ids"] as? [Int], [1, 15043, 3186])
        XCTAssertEqual(try CLI.ok(["tokenize", "-m", try CLIFixtures.tinyModel, "--text", "Hello world", "--json"]).jsonObject()["ids"] as? [Int], [1, 15043, 3186])
        // special tokens are text unless --special
        let literal = try XCTUnwrap(try CLI.ok(["tokenize", "-m", vocab, "--text", "</s>", "--no-bos", "--json"]).jsonObject()["ids"] as? [Int])
        XCTAssertNotEqual(literal, [2])
        XCTAssertEqual(try CLI.ok(["tokenize", "-m", vocab, "--text", "</s>", "--no-bos", "--special", "--json"]).jsonObject()["ids"] as? [Int], [2])
        // the human-readable listing
        XCTAssert(try CLI.ok(["tokenize", "-m", vocab, "--text", "Hello world"]).stdout.contains("15043"))
    }

    // MARK: eval

    func testEvalDumpsLogitsThatMatchTheExactReference() throws {
        let ref = try CLIFixtures.reference()
        let out = dir.appendingPathComponent("logits.npy").path
        try CLI.ok(["eval", "-m", try CLIFixtures.tinyModel, "--tokens", ref.prompt_tokens.map(String.init).joined(separator: ","), "--dump-logits", out])
        let ours = try NpyReader.read(out)
        XCTAssertEqual(ours.shape, [25, 32000])
        let exact = try NpyReader.read(try Fixtures.require("reference/tiny-spm-f32.exact.logits.npy"))
        XCTAssertEqual(exact.shape, ours.shape)
        let nmse = Budget.nmse(ours.values, exact.values)
        print("llamacl eval vs exact: NMSE \(nmse)")
        XCTAssertLessThanOrEqual(nmse, Budget.f32VsExact)

        // --prompt tokenizes to the same ids (BOS included) and so gives the same logits
        let viaPrompt = dir.appendingPathComponent("prompt.npy").path
        let r = try CLI.ok(["eval", "-m", try CLIFixtures.tinyModel, "--prompt", ref.prompt, "--dump-logits", viaPrompt, "--json"])
        XCTAssertEqual(try r.jsonObject()["tokens"] as? [Int], ref.prompt_tokens)
        XCTAssertEqual(try NpyReader.read(viaPrompt).values, ours.values)
        // the reference backend agrees too
        let slow = dir.appendingPathComponent("reference.npy").path
        try CLI.ok(["eval", "-m", try CLIFixtures.tinyModel, "--tokens", "1,9038,2501", "--dump-logits", slow, "--backend", "reference"])
        XCTAssertEqual(try NpyReader.read(slow).shape, [3, 32000])
    }

    // MARK: generate

    func testGenerateJSONReproducesGreedyTokens() throws {
        let ref = try CLIFixtures.reference()
        let r = try CLI.ok(["generate", "-m", try CLIFixtures.tinyModel, "-p", ref.prompt, "-n", "24", "--temp", "0", "--json"])
        let out = try r.jsonObject()
        XCTAssertEqual(out["prompt_tokens"] as? [Int], ref.prompt_tokens)
        XCTAssertEqual(out["tokens"] as? [Int], ref.greedy_tokens)
        XCTAssertNotNil(out["text"] as? String)
        XCTAssertEqual(out["finish_reason"] as? String, "length")
        let timings = try XCTUnwrap(out["timings"] as? [String: Any])
        XCTAssertNotNil(timings["prompt_seconds"] as? Double)
        XCTAssertNotNil(timings["generation_tokens_per_second"] as? Double)
        // streamed text mode prints the same text, and a summary on stderr
        let text = try CLI.ok(["generate", "-m", try CLIFixtures.tinyModel, "-p", ref.prompt, "-n", "24", "--temp", "0"])
        XCTAssertEqual(text.stdout, (out["text"] as? String ?? "") + "\n")
        XCTAssert(text.stderr.contains("generated"), text.stderr)
    }

    func testGenerateStopStrings() throws {
        let ref = try CLIFixtures.reference()
        let model = try CLIFixtures.tinyModel
        let full = try XCTUnwrap(try CLI.ok(["generate", "-m", model, "-p", ref.prompt, "-n", "24", "--temp", "0", "--json"]).jsonObject()["text"] as? String)
        // cut at the first stop string that occurs in the greedy text (a word a few tokens in)
        let words = full.split(separator: " ")
        XCTAssertGreaterThan(words.count, 3, full)
        let stop = " " + words[2]
        let expected = String(full[..<full.range(of: stop)!.lowerBound])
        let out = try CLI.ok(["generate", "-m", model, "-p", ref.prompt, "-n", "24", "--temp", "0", "--stop", "never-appears", "--stop", stop, "--json"]).jsonObject()
        XCTAssertEqual(out["text"] as? String, expected)
        XCTAssertEqual(out["finish_reason"] as? String, "stop")
        XCTAssertLessThan((out["tokens"] as? [Int])?.count ?? 99, 24)
        // streamed to stdout: the same cut text
        let text = try CLI.ok(["generate", "-m", model, "-p", ref.prompt, "-n", "24", "--temp", "0", "--stop", stop])
        XCTAssertEqual(text.stdout, expected + "\n")
    }

    func testGenerateWithSamplingIsReproducibleBySeed() throws {
        let model = try CLIFixtures.tinyModel
        func tokens(_ seed: Int) throws -> [Int] {
            try XCTUnwrap(try CLI.ok(["generate", "-m", model, "-p", "Hello", "-n", "8", "--temp", "1.0", "--top-k", "0", "--top-p", "1", "--min-p", "0",
                                      "--seed", "\(seed)", "--json"]).jsonObject()["tokens"] as? [Int])
        }
        let a = try tokens(3)
        XCTAssertEqual(a, try tokens(3))
        XCTAssertNotEqual(a, try tokens(4))
    }

    // MARK: synth, then use it

    func testSynthQ8ThenGenerate() throws {
        let path = try CLIFixtures.synthesize(["--type", "Q8_0"], in: dir)
        let info = try CLI.ok(["info", "-m", path, "--json"]).jsonObject()
        XCTAssertEqual((info["tensor_types"] as? [String: Int])?["Q8_0"], 2 * 7 + 2, "every matrix is Q8_0: \(info)")
        let r = try CLI.ok(["generate", "-m", path, "-p", "hello", "-n", "8", "--seed", "1", "--json"])
        let out = try r.jsonObject()
        let tokens = try XCTUnwrap(out["tokens"] as? [Int])
        XCTAssert((1...8).contains(tokens.count) || out["finish_reason"] as? String == "eos", "\(r)")
        XCTAssert(tokens.allSatisfy { (0..<600).contains($0) })
    }

    func testSynthOtherTypesAndANamedShape() throws {
        for type in ["F16", "Q4_K", "Q6_K"] {
            let path = try CLIFixtures.synthesize(["--type", type, "--dim", "256", "--heads", "4", "--layers", "1"], in: dir, name: "\(type).gguf")
            try CLI.ok(["eval", "-m", path, "--tokens", "1,2,3", "--dump-logits", dir.appendingPathComponent("\(type).npy").path])
        }
        // a named shape with its real vocabulary size (stories15M: 24M parameters)
        let named = dir.appendingPathComponent("stories15M.gguf").path
        let r = try CLI.ok(["synth", "--shape", "stories15M", "--type", "Q8_0", "-o", named], timeout: 120)
        XCTAssert(r.stdout.contains("RANDOM WEIGHTS"), r.stdout)
        let model = try XCTUnwrap(try CLI.ok(["info", "-m", named, "--json"]).jsonObject()["model"] as? [String: Any])
        XCTAssertEqual(model["dim"] as? Int, 288)
        XCTAssertEqual(model["layers"] as? Int, 6)
    }

    func testSynthWithARealTokenizer() throws {
        let path = try CLIFixtures.synthesize(["--vocab", "32000", "--tokenizer-from", try CLIFixtures.spmVocab], in: dir)
        XCTAssertEqual(try CLI.ok(["tokenize", "-m", path, "--text", "Hello world", "--json"]).jsonObject()["ids"] as? [Int], [1, 15043, 3186])
        try CLI.ok(["generate", "-m", path, "-p", "Hello world", "-n", "4", "--json"])
        // a vocabulary size that does not match the tokenizer is refused with the right size named
        try CLI.fails(["synth", "--dim", "64", "--layers", "1", "--heads", "4", "--vocab", "600", "--tokenizer-from", try CLIFixtures.spmVocab,
                       "-o", dir.appendingPathComponent("bad.gguf").path], mentioning: ["32000"])
    }

    // MARK: chat

    /// A synthetic model with the Llama 2 vocabulary and the given `tokenizer.chat_template`.
    func chatModel(template: String, name: String) throws -> String {
        let shape = ModelSynthesizer.Shape(dim: 64, layers: 1, heads: 4, kvHeads: 2, ffnDim: 128, vocabSize: 32000, contextLength: 256)
        let tokenizer = ModelSynthesizer.tokenizerMetadata(of: try GGUFFile(path: try CLIFixtures.spmVocab)) + [("tokenizer.chat_template", GGUFValue.string(template))]
        let path = dir.appendingPathComponent(name).path
        try ModelSynthesizer(shape: shape, type: .f32).makeWriter(tokenizer: tokenizer).write(to: path)
        return path
    }

    func testGenerateChatUsesTheModelsTemplate() throws {
        let llama2 = "{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}"
            + "{% elif message['role'] == 'system' %}{{ '<<SYS>>\\n' + message['content'] + '\\n<</SYS>>\\n\\n' }}{% endif %}{% endfor %}"
        let path = try chatModel(template: llama2, name: "chat.gguf")
        func promptTokens(_ extra: [String]) throws -> [Int] {
            try XCTUnwrap(try CLI.ok(["generate", "-m", path, "-p", "Hello world", "-n", "2", "--json"] + extra).jsonObject()["prompt_tokens"] as? [Int])
        }
        let plain = try promptTokens([]), chat = try promptTokens(["--chat"]), withSystem = try promptTokens(["--chat", "--system", "Be brief."])
        XCTAssertEqual(plain, [1, 15043, 3186])
        XCTAssertEqual(chat.first, 1)
        XCTAssertNotEqual(chat.dropFirst().first, 1, "one BOS, not two: \(chat)")
        XCTAssertGreaterThan(chat.count, plain.count + 4, "[INST] ... [/INST] around the message: \(chat)")
        XCTAssertGreaterThan(withSystem.count, chat.count + 4, "the system block: \(withSystem)")
        // a template of no family we know is a clear error, not a guess
        let unknown = try chatModel(template: "{{ messages | tojson }}", name: "unknown.gguf")
        try CLI.fails(["generate", "-m", unknown, "-p", "hi", "-n", "2", "--chat"], mentioning: ["template"])
        try CLI.ok(["generate", "-m", unknown, "-p", "hi", "-n", "2"])
    }

    // MARK: bench

    func testBenchJSON() throws {
        let path = try CLIFixtures.synthesize(["--type", "Q8_0"], in: dir)
        let r = try CLI.ok(["bench", "-m", path, "-p", "16", "-n", "4", "-r", "1", "--json"])
        let rows = try XCTUnwrap(try r.json() as? [[String: Any]], "\(r)")
        XCTAssertEqual(rows.compactMap { $0["test"] as? String }, ["pp16", "tg4"])
        for row in rows {
            for key in ["test", "n_prompt", "n_gen", "batch", "threads", "backend", "tokens_per_second", "stddev", "peak_rss_bytes", "kv_bytes"] {
                XCTAssertNotNil(row[key], "\(key) missing in \(row)")
            }
            // the mapped weights are resident once read, so the peak covers at least the file
            XCTAssertGreaterThanOrEqual(row["peak_rss_bytes"] as? Int ?? 0, (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
            XCTAssertGreaterThan(row["tokens_per_second"] as? Double ?? 0, 0)
            XCTAssertEqual(row["backend"] as? String, "cpu")
        }
        XCTAssertEqual(rows[0]["n_prompt"] as? Int, 16)
        XCTAssertEqual(rows[1]["n_gen"] as? Int, 4)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1, "JSON mode prints only the array")

        // after D tokens of context: llama-bench's names and its n_depth field
        let deep = try CLI.ok(["bench", "-m", path, "-p", "4", "-n", "2", "-d", "8", "-r", "1", "--json"])
        let deepRows = try XCTUnwrap(try deep.json() as? [[String: Any]], "\(deep)")
        XCTAssertEqual(deepRows.compactMap { $0["test"] as? String }, ["pp4 @ d8", "tg2 @ d8"])
        XCTAssertEqual(deepRows.compactMap { $0["n_depth"] as? Int }, [8, 8])
        try CLI.fails(["bench", "-m", path, "-d", "-1"], mentioning: ["-d"])
    }

    // MARK: machine, perf-report

    func testMachineAndPerfReport() throws {
        let machine = try CLI.ok(["machine", "-t", "1", "--size-mib", "64", "--json"])
        let limits = try XCTUnwrap(try machine.json() as? [String: Any], "\(machine)")
        for key in ["readGBPerSecond", "f32GFLOPs", "int8GOPs"] { XCTAssertGreaterThan(limits[key] as? Double ?? 0, 0, key) }
        let machinePath = dir.appendingPathComponent("machine.json").path
        try machine.stdout.write(toFile: machinePath, atomically: true, encoding: .utf8)

        let model = try CLIFixtures.synthesize(["--type", "Q4_0"], in: dir)
        let ours = dir.appendingPathComponent("ours.json").path
        try CLI.ok(["bench", "-m", model, "-p", "8", "-n", "2", "-r", "1", "--json"]).stdout.write(toFile: ours, atomically: true, encoding: .utf8)
        // llama-bench's field names, as its `-o json` writes them
        // two rounds of an alternating run: llama.cpp at 100 then 50 t/s
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: model)[.size] as? Int)
        let theirs = try [100, 50].map { speed in
            let path = dir.appendingPathComponent("theirs-\(speed).json").path
            let reference = #"[{"model_filename": "MODEL", "n_prompt": 8, "n_gen": 0, "avg_ts": SPEED, "stddev_ts": 1.0, "model_size": SIZE, "model_n_params": 1000}]"#
            try reference.replacingOccurrences(of: "MODEL", with: model).replacingOccurrences(of: "SIZE", with: "\(size)")
                .replacingOccurrences(of: "SPEED", with: "\(speed)").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let out = dir.appendingPathComponent("report").path
        // a test after 16 tokens of context, as llama-bench -d writes it: its own row
        let deepOurs = dir.appendingPathComponent("ours-deep.json").path
        try CLI.ok(["bench", "-m", model, "-p", "0", "-n", "2", "-d", "16", "-r", "1", "--json"]).stdout.write(toFile: deepOurs, atomically: true, encoding: .utf8)
        let deepTheirs = dir.appendingPathComponent("theirs-deep.json").path
        try #"[{"model_filename": "MODEL", "n_prompt": 0, "n_gen": 2, "n_depth": 16, "avg_ts": 40, "stddev_ts": 1.0, "model_size": SIZE, "model_n_params": 1000}]"#
            .replacingOccurrences(of: "MODEL", with: model).replacingOccurrences(of: "SIZE", with: "\(size)").write(toFile: deepTheirs, atomically: true, encoding: .utf8)
        let report = try CLI.ok(["perf-report", "--machine", machinePath, "--ours", ours, ours, deepOurs, "--llamacpp"] + theirs + [deepTheirs, "--out", out])
        XCTAssertTrue(report.stdout.contains("| synth.gguf | tg2 @ d16 | 1 |"), "the deep test's own row: \(report)")
        XCTAssertTrue(report.stdout.contains("| 40.00 |"), "paired with llama.cpp's deep row: \(report)")
        XCTAssertTrue(report.stdout.contains("| synth.gguf | pp8 | 2 |"), "two rounds: \(report)")
        XCTAssertTrue(report.stdout.contains("| 75.00 |"), "llama.cpp's median beside ours: \(report)")
        // the same figure of ours against 100 and 50: ratios r and 2r, median 1.5r, range shown
        let ourSpeed = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ours))) as? [[String: Any]])?.first?["tokens_per_second"] as? Double)
        let r = ourSpeed / 100
        XCTAssertTrue(report.stdout.contains(String(format: "%.2f× (%.2f–%.2f)", 1.5 * r, r, 2 * r)), "paired ratio: \(report)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/roofline.svg"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/table.md"))

        try CLI.fails(["machine", "--size-mib", "1"], mentioning: ["size-mib"])
        try CLI.fails(["perf-report", "--machine", machinePath, "--ours", dir.appendingPathComponent("missing.json").path, "--out", out])
        try CLI.fails(["perf-report", "--machine", machinePath, "--ours", machinePath, "--out", out], mentioning: ["array"])
    }
}
