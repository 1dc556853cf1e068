import BuildInfo
import Foundation
import Generation
import GGUF
import LlamaCore
import Tokenizers

/// The settings of a best-of-N run (everything but the task and the model).
public struct BestOfNOptions: Sendable {
    /// Problems in the whole run (before sharding).
    public var problems: Int
    /// Samples per problem.
    public var n: Int
    /// The k values metrics are reported at (default: powers of 2 up to n).
    public var ks: [Int]
    /// Tokens per sample at most.
    public var maxTokens: Int
    public var seed: UInt64
    /// Samples decoded together (default: min(n, 16)).
    public var batch: Int
    public var stop: [String]
    public var sampler: SamplerSettings
    /// One slice of the problems, for spreading a run over machines.
    public var shard: ShardSpec?
    /// Keep problems a `llamacl train` checkpoint was trained on (by default it is evaluated on held-out problems only).
    public var includeTrainingProblems: Bool
    /// Samples re-decoded alone after the run to measure batch invariance (0: none).
    public var invarianceChecks: Int
    /// No progress bar.
    public var quiet: Bool

    public init(problems: Int = 100, n: Int = 16, ks: [Int]? = nil, maxTokens: Int = 16, seed: UInt64 = 0, batch: Int? = nil,
                stop: [String] = ["\n"], sampler: SamplerSettings = SamplerSettings(temperature: 1, topK: 0, topP: 1, minP: 0),
                shard: ShardSpec? = nil, includeTrainingProblems: Bool = false, invarianceChecks: Int = 4, quiet: Bool = false) {
        self.problems = problems; self.n = n; self.ks = ks ?? RunParameters.defaultKs(n: n); self.maxTokens = maxTokens
        self.seed = seed; self.batch = batch ?? min(n, 16); self.stop = stop; self.sampler = sampler; self.shard = shard
        self.includeTrainingProblems = includeTrainingProblems; self.invarianceChecks = invarianceChecks; self.quiet = quiet
    }

    /// Rejects settings that cannot make a run, before any model is loaded.
    public func validate() throws {
        func bad(_ reason: String) -> ExperimentError { .invalidTaskParameter(task: "best-of-n", reason: reason) }
        guard n >= 1 else { throw bad("n must be at least 1, got \(n)") }
        guard problems >= 1 else { throw bad("the run needs at least one problem, got \(problems)") }
        guard maxTokens >= 1 else { throw bad("max tokens must be at least 1, got \(maxTokens)") }
        guard batch >= 1 else { throw bad("the batch must be at least 1, got \(batch)") }
        guard invarianceChecks >= 0 else { throw bad("invariance checks must not be negative, got \(invarianceChecks)") }
        guard !ks.isEmpty else { throw bad("ks must not be empty") }
        if let k = ks.first(where: { $0 < 1 || $0 > n }) { throw bad("every k must be between 1 and n = \(n), got \(k)") }
        try sampler.validate()
    }

    /// The sampler settings as a run's parameters record them. Whether a sample's tokens depend
    /// on the batch is measured, not stated (`Summary.batchInvariance`).
    var recordedSampler: [String: Double] {
        ["temperature": Double(sampler.temperature), "top_k": Double(sampler.topK), "top_p": Double(sampler.topP),
         "min_p": Double(sampler.minP)]
    }

    /// Every setting of the run for its provenance block, including those run.json leaves out
    /// because they must not change the results (batch) or are folded into the task's name.
    func hyperParameters(task: any ExperimentTask) -> [String: ParameterValue] {
        var p: [String: ParameterValue] = [
            "task": .string(task.name), "problems": .integer(problems), "n": .integer(n), "ks": .list(ks.map { .integer($0) }),
            "max_tokens": .integer(maxTokens), "batch": .integer(batch), "stop": .list(stop.map { .string($0) }),
            "temperature": .number(Double(sampler.temperature)), "top_k": .integer(sampler.topK), "top_p": .number(Double(sampler.topP)),
            "min_p": .number(Double(sampler.minP)), "include_training_problems": .bool(includeTrainingProblems),
            "invariance_checks": .integer(invarianceChecks),
        ]
        if let shard { p["shard"] = .string(shard.description) }
        return p
    }

    /// The stop rules of every sample.
    var stopRules: StopRules { StopRules(maxTokens: maxTokens, stopStrings: stop) }

    /// The samplers of `problem`'s samples: sample i draws from the stream (seed, problem, i),
    /// whatever decodes beside it. The run and its batch-invariance check both make them here.
    func sampler(problem: Int) -> (Int) -> Sampler {
        let settings = sampler, seed = seed
        return { Sampler(settings: settings, rng: SeededRandom(seed: seed, streams: [UInt64(problem), UInt64($0)])) }
    }
}

/// Best-of-N as a library call: N samples per problem, decoded together over a shared prompt,
/// graded by the task's exact verifier; results appended to a resumable `ResultStore`, then
/// pass@k and selection-rule accuracy vs k with compute totals (`Summary`) and plots.
public enum BestOfN {
    /// A loaded model as the run needs it: the caller picks the backend.
    public typealias ModelLoader = (_ path: String, _ minimumCells: Int) throws -> any LanguageModel

    /// Runs (or resumes) a best-of-N experiment on the model at `modelPath` and writes its
    /// results, summary and plots into `out`. `threads` is what the loader gives a CPU backend
    /// (nil on a device), for the provenance block. `log` receives one-line notes for the user.
    public static func run(modelPath: String, load: ModelLoader, task: any ExperimentTask, options: BestOfNOptions,
                           engineVersion: String = BuildInfo.engineVersion, threads: Int? = nil, out: URL,
                           log: (String) -> Void = { _ in }) throws -> Summary {
        try options.validate()
        let gguf = try GGUFFile(path: modelPath)
        let tokenizer = try loadTokenizer(from: gguf)
        let all = try problems(task: task, options: options, model: gguf, log: log)
        let mine = options.shard?.select(all) ?? all
        let prompts = try mine.map { problem -> [Int] in
            let prompt = try task.prompt(for: problem, model: gguf)
            return try tokenizer.encode(prompt.text, addSpecial: true, parseSpecial: prompt.parseSpecial)
        }
        // Several problems decode together when a problem has fewer samples than the batch
        // (greedy runs): room for their prompts (and the next one's) besides the samples' tails.
        let longestPrompt = prompts.map(\.count).max() ?? 0
        let concurrentProblems = options.n >= options.batch ? 1 : min(mine.count, (options.batch + options.n - 1) / options.n + 1)
        let cells = longestPrompt * concurrentProblems + min(options.batch, options.n * max(1, mine.count)) * options.maxTokens
        let model = try load(modelPath, cells)
        let c = model.config
        let shape = ModelShape(parameters: gguf.tensors.reduce(0) { $0 + $1.elementCount }, layers: c.layers, attentionWidth: c.qDim)
        let modelFile = try InputFile(role: "model", path: modelPath)
        let provenance = Provenance.current(
            seeds: ["run": options.seed], threads: threads, backend: model.backendName, device: model.deviceName,
            hyperParameters: options.hyperParameters(task: task),
            inputs: [modelFile] + (try task.dataFiles.map { try InputFile(role: "task", path: $0) }))
        let parameters = RunParameters(
            task: task.name, problems: options.problems, n: options.n, ks: options.ks, maxTokens: options.maxTokens, seed: options.seed,
            sampler: options.recordedSampler, model: ModelIdentity(path: modelPath, sha256: modelFile.sha256, shape: shape),
            engineVersion: engineVersion, backend: model.backendName, device: model.deviceName, shard: options.shard, provenance: provenance)
        try parameters.validate()
        let store = try ResultStore(directory: out, parameters: parameters)
        if store.truncatedBytes > 0 { log("resumed: dropped \(store.truncatedBytes) bytes of a sample cut short") }
        let grader = try task.makeConcurrentGrader()
        if let grader { log("grading: \(grader.description)") }
        let work = Array(zip(mine, prompts))
        try sample(model: model, tokenizer: tokenizer, task: task, problems: work, options: options, store: store, grader: grader)
        let invariance = try checkBatchInvariance(model: model, tokenizer: tokenizer, problems: work, options: options, store: store)
        if invariance.identical < invariance.checked {
            log("batch invariance: only \(invariance.identical) of \(invariance.checked) samples re-decoded alone gave their batched tokens")
        }
        let summary = try store.writeSummary(batchInvariance: invariance)
        try Plots.write(summary, to: out)
        return summary
    }

    /// Samples what `store` still lacks for `problems` (each with its prompt's tokens) and
    /// appends each graded sample as it finishes. With a `grader` (code tasks), texts are graded
    /// beside generation and stored as their grades arrive (on this thread, between tokens).
    public static func sample(model: any LanguageModel, tokenizer: any Tokenizer, task: any ExperimentTask,
                              problems: [(Problem, [Int])], options: BestOfNOptions, store: ResultStore,
                              grader: (any ConcurrentGrader)? = nil) throws {
        let todo = store.remaining(problems: problems.map(\.0.id), n: options.n)
        let total = problems.count * options.n
        let progress = ProgressPrinter(total: total, unit: "samples", quiet: options.quiet)
        var done = total - todo.reduce(0) { $0 + $1.samples.count }
        var generated = 0
        let start = Date()
        let graded = GradedQueue()
        func save(_ sample: Sample) throws {
            try store.append(sample)
            done += 1
            progress.update(done: done, tokensPerSecond: Double(generated) / max(1e-9, Date().timeIntervalSince(start)))
        }
        func drain() throws { for s in graded.takeAll() { try save(s) } }
        // One decoding loop for the whole run: a problem's samples share its prompt's cells,
        // and when a problem has fewer samples than the batch the next problems' samples fill
        // the free slots. Sample i of problem p draws from the stream (seed, p, i), and a
        // sample's tokens do not depend on what decodes beside it, so the batch changes nothing.
        let loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: options.batch)
        let byId = Dictionary(uniqueKeysWithValues: problems.map { ($0.0.id, $0) })
        var last = Date()
        for (problemId, indices) in todo where !indices.isEmpty {
            let (problem, prompt) = byId[problemId]!
            try loop.submit(DecodeRequest(
                prompt: prompt, samples: indices, stop: options.stopRules, makeSampler: options.sampler(problem: problemId),
                onFinish: { output in
                    // Wall time between finishing samples, so the samples' seconds add up to the run's.
                    let now = Date()
                    let sample = Sample(problem: problemId, index: output.index, tokens: output.tokens, text: output.text,
                                        answer: nil, correct: false, logprob: output.totalLogprob,
                                        promptTokens: prompt.count, seconds: now.timeIntervalSince(last))
                    last = now
                    generated += output.tokens.count
                    if let grader {
                        grader.submit(output.text, problem: problem) { grade in graded.add(sample.with(grade)) }
                        try drain()
                    } else {
                        let grade = task.grade(output.text, problem: problem)
                        try save(sample.with(Grade(answer: grade.answer, correct: grade.correct)))
                    }
                }))
        }
        try loop.run()
        grader?.waitUntilIdle()
        try drain()
        progress.finish()
    }

    /// The run's problems: the first `options.problems` of the seed, leaving out those the
    /// model was trained on when it is a `llamacl train` checkpoint of this task.
    public static func problems(task: any ExperimentTask, options: BestOfNOptions, model gguf: GGUFFile, log: (String) -> Void = { _ in }) throws -> [Problem] {
        guard !options.includeTrainingProblems, let training = try TrainingProvenance(gguf: gguf), training.data == task.name else {
            return try task.problems(count: options.problems, seed: options.seed)
        }
        guard let items = training.items else {
            // Checkpoints written before `training.items` existed cannot say which problems they saw.
            log("note: the checkpoint does not record how many problems it was trained on (no training.items); evaluating on the seed's problems as they come")
            return try task.problems(count: options.problems, seed: options.seed)
        }
        let held = try heldOutProblems(task: task, count: options.problems, seed: options.seed, trainingItems: items, trainingSeed: training.seed)
        log("held out: \(held.problems.count) problems the model never saw in training (\(held.skipped) of the first \(held.problems.count + held.skipped) were training problems)")
        return held.problems
    }

    /// The first `count` problems of `seed` whose prompts are not among the training problems.
    /// The task generators are deterministic (problem i depends only on seed and i), so the
    /// training set is rebuilt from the checkpoint's recorded seed and item count.
    public static func heldOutProblems(task: any ExperimentTask, count: Int, seed: UInt64, trainingItems: Int, trainingSeed: UInt64) throws -> (problems: [Problem], skipped: Int) {
        let trained = Set(try task.problems(count: trainingItems, seed: trainingSeed).map(\.prompt))
        var candidates = count
        while true {
            let drawn = try task.problems(count: candidates, seed: seed)
            let held = drawn.filter { !trained.contains($0.prompt) }
            if held.count >= count {
                let kept = Array(held.prefix(count))
                let lastId = kept.last!.id
                return (kept, drawn.filter { $0.id <= lastId }.count - kept.count)
            }
            guard candidates < count * 64 else {
                throw ExperimentError.notEnoughProblems(task: task.name + " (outside the model's training set)", requested: count, available: held.count)
            }
            candidates *= 2
        }
    }
}

/// Graded samples waiting to be stored (grades arrive on the grader's threads).
private final class GradedQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Sample] = []
    func add(_ s: Sample) { lock.withLock { items.append(s) } }
    func takeAll() -> [Sample] { lock.withLock { defer { items = [] }; return items } }
}

extension Sample {
    /// This sample with `grade`'s verdict.
    func with(_ grade: Grade) -> Sample {
        var s = self
        s.answer = grade.answer; s.correct = grade.correct; s.code = grade.code; s.failure = grade.failure
        s.detail = grade.detail; s.behaviour = grade.behaviour
        return s
    }
}
