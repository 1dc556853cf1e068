import Foundation
import GGUF
import LlamaCore
import Tokenizers

/// File names inside a model's sample directory: its tallies and its verifier scores, one
/// file per temperature.
public enum ExchangeRateFiles {
    public static func answers(temperature t: Double) -> String { "answers-T\(formatTemperature(t)).jsonl" }
    public static func scores(temperature t: Double) -> String { "verifier-T\(formatTemperature(t)).jsonl" }
    public static func formatTemperature(_ t: Double) -> String { String(format: "%g", t) }
}

/// One distinct answer text among a problem's n samples.
public struct AnswerTally: Codable, Equatable, Sendable {
    /// The generated text (stop token excluded).
    public var text: String
    /// The integer extracted from it, nil if none.
    public var answer: String?
    public var correct: Bool
    /// How many of the n samples gave this text.
    public var count: Int
    /// Generated tokens per sample, the stop token included (what decoding it costs).
    public var tokens: Int
    /// Its exact probability under the sampling distribution.
    public var probability: Double
}

/// A problem's n samples at one temperature, as `answers.jsonl` stores them (one line each).
public struct ProblemTally: Codable, Equatable, Sendable {
    public var problem: Int
    public var difficulty: String?
    public var promptTokens: Int
    public var n: Int
    /// Forward steps the sampling tree took (for the record; compute is accounted as n samples).
    public var nodes: Int
    public var answers: [AnswerTally]

    /// Samples whose answer is correct.
    public var correctCount: Int { answers.reduce(0) { $0 + ($1.correct ? $1.count : 0) } }

    enum CodingKeys: String, CodingKey {
        case problem, difficulty, n, nodes, answers
        case promptTokens = "prompt_tokens"
    }
}

/// The exchange-rate experiment's sampling step: n samples per problem at one temperature,
/// tallied per distinct answer and appended to a JSON-lines file as each problem finishes.
/// Re-running with the same file resumes after the last complete line.
public enum AnswerSampling {
    /// The evaluation problems: the first `count` of `seed` with duplicate prompts dropped
    /// (short operands repeat), so every problem is counted once.
    public static func problems(task: GradedArithmeticTask, count: Int, seed: UInt64) throws -> [Problem] {
        var seen = Set<String>()
        return try task.problems(count: count, seed: seed).filter { seen.insert($0.prompt).inserted }
    }

    /// Refuses a checkpoint trained on `task` whose training did not keep the first `problems`
    /// evaluation problems out: one trained with fewer held-out problems, or with a per-seed
    /// held-out set. Checkpoints of other data, and those without a provenance block, pass.
    public static func checkHeldOut(_ gguf: GGUFFile, task: GradedArithmeticTask, problems: Int) throws {
        guard let training = try TrainingProvenance(gguf: gguf), training.data == task.name,
              let text = training.provenance, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return }
        let command = object["command"] as? [String] ?? []
        if let i = command.firstIndex(of: "--held-out-set"), i + 1 < command.count, command[i + 1] != "fixed" {
            throw ExperimentError.invalidTaskParameter(task: task.name,
                reason: "the checkpoint was trained with --held-out-set \(command[i + 1]); the evaluation problems are the fixed held-out set, so it may have trained on them")
        }
        if let held = ((object["hyper_parameters"] as? [String: Any])?["held_out_items"] as? NSNumber)?.intValue, held < problems {
            throw ExperimentError.invalidTaskParameter(task: task.name,
                reason: "the checkpoint held out only \(held) problems in training, fewer than the \(problems) evaluated here (train with --held-out \(problems) or more, or evaluate fewer)")
        }
    }

    /// Samples every problem of `problems` not yet in `file` and appends its tally.
    public static func run(model: any LanguageModel, tokenizer: any Tokenizer, task: GradedArithmeticTask, problems: [Problem],
                           n: Int, temperature: Double, seed: UInt64, file: URL, progress: (Int, Int) -> Void = { _, _ in }) throws {
        let done = try completedProblems(in: file)
        let sampler = TreeSampler(model: model, tokenizer: tokenizer, maxTokens: task.defaultMaxTokens)
        if !FileManager.default.fileExists(atPath: file.path) && !FileManager.default.createFile(atPath: file.path, contents: nil) {
            throw ExperimentError.invalidTaskParameter(task: "exchange-rate", reason: "cannot create \(file.path)")
        }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.seekToEnd()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for (i, problem) in problems.enumerated() where !done.contains(problem.id) {
            let prompt = try tokenizer.encode(problem.prompt, addSpecial: true, parseSpecial: false)
            let tally = try self.tally(problem: problem, prompt: prompt, sampler: sampler, task: task, n: n, temperature: temperature, seed: seed)
            try handle.write(contentsOf: try encoder.encode(tally) + Data("\n".utf8))
            progress(i + 1, problems.count)
        }
    }

    /// One problem's samples, tallied by text.
    static func tally(problem: Problem, prompt: [Int], sampler: TreeSampler, task: GradedArithmeticTask, n: Int, temperature: Double,
                      seed: UInt64) throws -> ProblemTally {
        let (leaves, nodes) = try sampler.sample(prompt: prompt, n: n, temperature: temperature, seed: seed, problem: problem.id)
        var byText: [String: AnswerTally] = [:]
        for leaf in leaves {
            let body = leaf.tokens.filter { !sampler.stopTokens.contains($0) }
            let text = sampler.tokenizer.decode(body)
            if var seen = byText[text] {
                // Two token paths with one text (rare with a character vocabulary): one answer.
                seen.count += leaf.count; seen.probability += leaf.probability; seen.tokens = max(seen.tokens, leaf.tokens.count)
                byText[text] = seen
            } else {
                let grade = task.grade(text, problem: problem)
                byText[text] = AnswerTally(text: text, answer: grade.answer, correct: grade.correct, count: leaf.count,
                                           tokens: leaf.tokens.count, probability: leaf.probability)
            }
        }
        let answers = byText.values.sorted { $0.count != $1.count ? $0.count > $1.count : $0.text < $1.text }
        return ProblemTally(problem: problem.id, difficulty: GradedArithmeticTask.difficulty(of: problem.prompt), promptTokens: prompt.count,
                            n: n, nodes: nodes, answers: answers)
    }

    /// Problem ids with a complete line in `file`; a last line cut short is removed.
    static func completedProblems(in file: URL) throws -> Set<Int> {
        guard let data = FileManager.default.contents(atPath: file.path), !data.isEmpty else { return [] }
        var ids = Set<Int>()
        var keep = 0
        var start = data.startIndex
        while let newline = data[start...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = data[start..<newline]
            guard let tally = try? JSONDecoder().decode(ProblemTally.self, from: line) else { break }
            ids.insert(tally.problem)
            keep = newline + 1 - data.startIndex
            start = newline + 1
        }
        if keep < data.count { try data.prefix(keep).write(to: file) }
        return ids
    }

    /// Every tally in a file written by `run`.
    public static func read(_ file: URL) throws -> [ProblemTally] {
        let text = try String(contentsOf: file, encoding: .utf8)
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").map { try decoder.decode(ProblemTally.self, from: Data($0.utf8)) }
    }
}
