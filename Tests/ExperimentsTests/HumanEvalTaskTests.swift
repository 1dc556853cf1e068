import CPUBackend
import Foundation
import Generation
import GGUF
import LlamaCore
import TestSupport
import Tokenizers
import XCTest
@testable import Experiments

final class HumanEvalTaskTests: XCTestCase {
    /// Two HumanEval-shaped records (the first is HumanEval/0 verbatim).
    static let records: [[String: String]] = [
        ["task_id": "HumanEval/0",
         "prompt": "from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    \"\"\" Check if in given list of numbers, are any two numbers closer to each other than\n    given threshold.\n    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n    False\n    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)\n    True\n    \"\"\"\n",
         "entry_point": "has_close_elements",
         "canonical_solution": "    for idx, elem in enumerate(numbers):\n        for idx2, elem2 in enumerate(numbers):\n            if idx != idx2:\n                distance = abs(elem - elem2)\n                if distance < threshold:\n                    return True\n\n    return False\n",
         "test": "\n\nMETADATA = {\n    'author': 'jt',\n    'dataset': 'test'\n}\n\n\ndef check(candidate):\n    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True\n    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05) == False\n    assert candidate([1.0, 2.0, 5.9, 4.0, 5.0], 0.95) == True\n\n"],
        ["task_id": "HumanEval/1",
         "prompt": "def add(x: int, y: int):\n    \"\"\"Add two numbers.\n    add(2, 3) == 5\n    Example: add(len('a)b'), 7) ➞ 8, not my_add(1, 1)\n    \"\"\"\n",
         "entry_point": "add",
         "canonical_solution": "    return x + y\n",
         "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n"],
    ]

    func writeData(gzip: Bool = false) throws -> String {
        let dir = try Fixtures.temporaryDirectory()
        let lines = try Self.records.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        let path = dir.appendingPathComponent("HumanEval.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        guard gzip else { return path }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-k", path]
        try p.run()
        p.waitUntilExit()
        return path + ".gz"
    }

    func testLoadsPlainAndGzippedData() throws {
        let plain = try HumanEvalTask(path: writeData())
        let gz = try HumanEvalTask(path: writeData(gzip: true))
        XCTAssertEqual(plain.records.map(\.taskId), ["HumanEval/0", "HumanEval/1"])
        XCTAssertEqual(gz.records.map(\.prompt), plain.records.map(\.prompt))
        XCTAssertTrue(plain.name.hasPrefix("humaneval(HumanEval.jsonl@"), plain.name)
        XCTAssertTrue(plain.name.hasSuffix(",prompt=evalplus)"), plain.name)
        let all = try plain.problems(count: 2, seed: 0)
        XCTAssertEqual(all.map(\.id), [0, 1])
        XCTAssertEqual(all[0].answer, "HumanEval/0")
        XCTAssertThrowsError(try plain.problems(count: 3, seed: 0))
        XCTAssertThrowsError(try HumanEvalTask(path: "/nonexistent/HumanEval.jsonl.gz")) { error in
            XCTAssertTrue("\(error)".contains("fetch-models.sh humaneval"), "\(error)")
        }
    }

    func testEvalPlusPromptThroughTheChatTemplate() throws {
        let task = try HumanEvalTask(path: writeData())
        let template = try ChatTemplate(recognizing: QwenTemplate.text)
        let problem = try task.problems(count: 2, seed: 0)[1]
        let prompt = task.prompt(for: problem, template: template)
        XCTAssertTrue(prompt.parseSpecial)
        XCTAssertEqual(prompt.text, """
            <|im_start|>system
            You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>
            <|im_start|>user
            Please provide a self-contained Python script that solves the following problem in a markdown code block:
            ```
            def add(x: int, y: int):
                \"\"\"Add two numbers.
                add(2, 3) == 5
                Example: add(len('a)b'), 7) ➞ 8, not my_add(1, 1)
                \"\"\"
            ```
            <|im_end|>
            <|im_start|>assistant
            Below is a Python script with a self-contained function that solves the problem and passes corresponding tests:
            ```python

            """)
        let bare = try HumanEvalTask(path: writeData(), format: .noResponsePrefix)
        XCTAssertTrue(bare.prompt(for: problem, template: template).text.hasSuffix("<|im_end|>\n<|im_start|>assistant\n"))
        XCTAssertEqual(task.defaultStop, HumanEvalTask.evalPlusStop)
        XCTAssertEqual(task.defaultMaxTokens, 768)
    }

    func testCodeExtraction() throws {
        let task = try HumanEvalTask(path: writeData())
        XCTAssertEqual(task.extractCode(from: "def f():\n\treturn 1\n```\nExplanation"), "def f():\n    return 1")
        XCTAssertEqual(task.extractCode(from: "def f():\n    return 1\n\n# Test cases"), "def f():\n    return 1\n\n# Test cases")
        let bare = try HumanEvalTask(path: writeData(), format: .noResponsePrefix)
        XCTAssertEqual(bare.extractCode(from: "Sure:\n```python\ndef f():\n    return 1\n```\nDone."), "def f():\n    return 1")
        // What the model does without the response prefix: a bare fence, then a `python` line.
        XCTAssertEqual(bare.extractCode(from: "```\npython\ndef f():\n    return 1\n```"), "python\ndef f():\n    return 1")
        XCTAssertEqual(bare.extractCode(from: "def f():\n    return 1"), "def f():\n    return 1")
    }

    func testExampleCallsFromTheDocstring() {
        let r = Self.records
        XCTAssertEqual(HumanEvalTask.exampleCalls(prompt: r[0]["prompt"]!, entryPoint: "has_close_elements"),
                       ["has_close_elements([1.0, 2.0, 3.0], 0.5)", "has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)"])
        XCTAssertEqual(HumanEvalTask.exampleCalls(prompt: r[1]["prompt"]!, entryPoint: "add"), ["add(2, 3)", "add(len('a)b'), 7)"])
        XCTAssertEqual(HumanEvalTask.exampleCalls(prompt: "def g(x):\n    pass\n", entryPoint: "g"), [])
    }

    func testConcurrentGradingRecordsCodeFailureAndBehaviour() throws {
        let task = try HumanEvalTask(path: writeData(), limits: SandboxLimits(wallSeconds: 3, cpuSeconds: 3), workers: 2)
        let problems = try task.problems(count: 2, seed: 0)
        guard let grader = try task.makeConcurrentGrader() else { return XCTFail("a code task grades concurrently") }
        final class Box: @unchecked Sendable { let lock = NSLock(); var grades: [Int: Grade] = [:] }
        let box = Box()
        let replies = [
            (0, "from typing import List\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
                + Self.records[0]["canonical_solution"]! + "```\n"),
            (1, "def add(x, y):\n    return x - y\n```"),
            (2, "def add(x, y):\n    return x +\n"),
            (3, "def add(x, y):\n    raise ValueError('no')\n"),
        ]
        for (i, text) in replies {
            grader.submit(text, problem: problems[i == 0 ? 0 : 1]) { g in box.lock.withLock { box.grades[i] = g } }
        }
        grader.waitUntilIdle()
        let g = box.grades
        XCTAssertEqual(g[0]?.correct, true, "\(String(describing: g[0]))")
        XCTAssertEqual(g[0]?.answer, "[\"False\",\"True\"]")
        XCTAssertTrue(g[0]?.code?.hasSuffix("return False") == true)
        XCTAssertEqual(g[1]?.failure, .assertion)
        XCTAssertEqual(g[1]?.behaviour, ["-1", "-4"])
        XCTAssertEqual(g[2]?.failure, .syntax)
        XCTAssertNil(g[2]?.answer, "a program that never ran has no behaviour")
        XCTAssertEqual(g[3]?.failure, .exception)
        XCTAssertNil(g[3]?.answer, "raising on every example is no behaviour to vote for")
        // The synchronous verifier agrees.
        XCTAssertTrue(task.isCorrect(extracted: g[0]?.code, problem: problems[0]))
        XCTAssertFalse(task.isCorrect(extracted: g[1]?.code, problem: problems[1]))
    }

    func testSampleLinesStayCompatible() throws {
        let old = #"{"answer":"4","correct":true,"logprob":-1,"problem":0,"prompt_tokens":3,"sample":1,"seconds":0.5,"text":"4","tokens":[1]}"#
        let s = try JSONDecoder().decode(Sample.self, from: Data(old.utf8))
        XCTAssertNil(s.code); XCTAssertNil(s.failure); XCTAssertNil(s.behaviour)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        XCTAssertEqual(String(decoding: try encoder.encode(s), as: UTF8.self), old.replacingOccurrences(of: "-1", with: "-1"),
                       "a sample without code fields is written as before")
        var code = s
        code.code = "x = 1"; code.failure = .timeout; code.behaviour = ["1"]
        let back = try JSONDecoder().decode(Sample.self, from: encoder.encode(code))
        XCTAssertEqual(back, code)
    }

    /// The whole run on a random-weight model carrying Qwen's chat template: prompts through
    /// the template, generation, grading in the sandbox beside it, resume, and the batch
    /// (several problems decoding together) changing nothing.
    func testBestOfNRunWithTheSandboxedGrader() throws {
        let shape = ModelSynthesizer.Shape(dim: 64, layers: 1, heads: 2, kvHeads: 1, ffnDim: 96, vocabSize: 600, contextLength: 2048)
        var writer = try ModelSynthesizer(shape: shape, type: .q8_0, seed: 3).makeWriter(tokenizer: ModelSynthesizer.builtinByteVocabulary(size: 600))
        writer.set("tokenizer.chat_template", .string(QwenTemplate.text))
        let model = try Fixtures.temporaryDirectory().appendingPathComponent("qwenish.gguf").path
        try writer.write(to: model)
        let load: BestOfN.ModelLoader = { path, cells in
            try Transformer(gguf: GGUFFile(path: path), backend: CPUBackend(mode: .quantized, threads: 2), cacheCells: max(cells, 64))
        }
        let task = try HumanEvalTask(path: writeData(), limits: SandboxLimits(wallSeconds: 3, cpuSeconds: 3), workers: 2)
        let dir = try Fixtures.temporaryDirectory()
        var runs: [[Sample]] = []
        for batch in [1, 4] {
            let options = BestOfNOptions(problems: 2, n: 2, maxTokens: 8, seed: 1, batch: batch, stop: task.defaultStop, quiet: true)
            let out = dir.appendingPathComponent("b\(batch)")
            let summary = try BestOfN.run(modelPath: model, load: load, task: task, options: options, engineVersion: "test", out: out)
            XCTAssertEqual(summary.samples, 4)
            let samples = try ResultStore.loadSamples(path: out.appendingPathComponent("samples.jsonl").path).samples
            XCTAssertTrue(samples.allSatisfy { $0.code != nil && !$0.correct && $0.failure != nil }, "random weights write no working code")
            runs.append(samples.sorted { $0.key < $1.key })
            // Resuming a finished run adds nothing.
            _ = try BestOfN.run(modelPath: model, load: load, task: task, options: options, engineVersion: "test", out: out)
            XCTAssertEqual(try ResultStore.loadSamples(path: out.appendingPathComponent("samples.jsonl").path).samples.count, 4)
        }
        XCTAssertEqual(runs[0].map(\.tokens), runs[1].map(\.tokens))
        XCTAssertEqual(runs[0].map(\.failure), runs[1].map(\.failure))
    }
}

/// Qwen 2.5's chat template (the part without tools), as its GGUF files carry it.
enum QwenTemplate {
    static let text = """
        {%- if messages[0]['role'] == 'system' %}
            {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
        {%- else %}
            {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
        {%- endif %}
        {%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}
        {%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
        """
}
