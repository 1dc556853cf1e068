import CPUBackend
import Foundation
import Generation
import GGUF
import LlamaCore
import TestSupport
import Tokenizers
import XCTest
@testable import Experiments

/// HumanEval with the real Qwen2.5-Coder-0.5B-Instruct GGUF and data from `$LLAMACL_MODELS`
/// (`scripts/fetch-models.sh qwen2.5-coder-0.5b humaneval`); skipped by name without them.
final class HumanEvalModelTests: XCTestCase {
    func testEveryPromptTokenizesWithItsSpecialTokens() throws {
        let gguf = try GGUFFile(path: Models.require(Models.qwenCoder05B))
        let task = try HumanEvalTask(path: Models.require(Models.humanEval))
        XCTAssertEqual(task.records.count, 164)
        let tokenizer = try loadTokenizer(from: gguf)
        let imStart = try tokenizer.encode("<|im_start|>", addSpecial: false, parseSpecial: true)
        let imEnd = try tokenizer.encode("<|im_end|>", addSpecial: false, parseSpecial: true)
        XCTAssertEqual(imStart, [151644])
        XCTAssertEqual(imEnd, [151645])
        var lengths: [Int] = []
        for problem in try task.problems(count: 164, seed: 0) {
            let prompt = try task.prompt(for: problem, model: gguf)
            let ids = try tokenizer.encode(prompt.text, addSpecial: true, parseSpecial: prompt.parseSpecial)
            XCTAssertEqual(ids.first, 151644, "no BOS for Qwen: the prompt opens with <|im_start|> (problem \(problem.id))")
            XCTAssertEqual(ids.filter { $0 == 151644 }.count, 3, "system, user, assistant (problem \(problem.id))")
            XCTAssertEqual(ids.filter { $0 == 151645 }.count, 2, "problem \(problem.id)")
            XCTAssertEqual(tokenizer.decode(ids, renderSpecial: true), prompt.text, "problem \(problem.id)")
            lengths.append(ids.count)
        }
        XCTAssertEqual(lengths[0], 191, "HumanEval/0's prompt, as the committed greedy run records it")
        XCTAssertLessThan(lengths.max()!, 1024)
    }

    /// The first greedy tokens of HumanEval/0 are those of the committed run
    /// (experiments/humaneval/runs/0.5b-greedy, decoded with the release build).
    func testGreedyStartOfHumanEval0() throws {
        let path = try Models.require(Models.qwenCoder05B)
        let gguf = try GGUFFile(path: path)
        let task = try HumanEvalTask(path: Models.require(Models.humanEval))
        let tokenizer = try loadTokenizer(from: gguf)
        let prompt = try task.prompt(for: task.problems(count: 164, seed: 0)[0], model: gguf)
        let ids = try tokenizer.encode(prompt.text, addSpecial: true, parseSpecial: true)
        let model = try Transformer(gguf: gguf, backend: CPUBackend(mode: .quantized), cacheCells: ids.count + 16)
        let result = try Generator(model: model, tokenizer: tokenizer)
            .generate(prompt: ids, sampler: Sampler(settings: .greedy, rng: SeededRandom(seed: 0)), stop: StopRules(maxTokens: 8))
        XCTAssertEqual(result.tokens, [1499, 19496, 1159, 1759, 1406, 750, 702, 12704])
        XCTAssertEqual(result.text, "from typing import List\n\n\ndef has_close")
    }
}
