import Experiments
import Foundation

/// Which problems a task run holds out.
public enum HeldOutSet: String, Codable, Sendable, CaseIterable {
    /// One set per task and size: the first `--held-out` problems of a fixed seed, whatever the
    /// run's seed; training problems that fall in it are dropped from training. Every run of a
    /// sweep is scored on the same problems, all of them.
    case fixed
    /// The set before there was a choice (kept to reproduce those runs): problems from a seed
    /// derived from the run's, minus any that are training problems — so each run is scored on
    /// its own, smaller set (89 to 499 of 500 in the scaling sweep).
    case perSeed = "per-seed"
}

/// A vocabulary, a stream of training batches and a fixed held-out set, ready for `Trainer`.
public struct TrainingData {
    public let vocabulary: CharVocabulary
    public let source: BatchSource
    public let heldOut: [TokenBatch]
    /// What the data is, for logs and checkpoint metadata ("arithmetic(digits=3,ops=+-*)", a file name).
    public let name: String
    /// Training problems drawn from the training seed (tasks; best-of-n rebuilds them from this
    /// count to keep them out of its evaluation), or training tokens (text).
    public let trainingItems: Int
    public let heldOutItems: Int
    /// Files the data was read from (a text file; none for generated task problems), for the
    /// run's provenance.
    public var files: [String] = []
    /// Drawn training problems left out because they are held-out problems (`HeldOutSet.fixed`).
    public var droppedTrainingItems = 0

    /// The held-out problems come from this seed, never the training seed's.
    public static func heldOutSeed(_ seed: UInt64) -> UInt64 { seed ^ 0x4845_4C44_4F55_5421 }
    /// The seed of every task's fixed held-out set.
    public static let fixedHeldOutSeed = heldOutSeed(0)

    /// Task data: `problems` training problems (nil: enough that `tokens` training tokens never
    /// repeat one, estimated from the first problems' length) and `heldOutProblems` held-out ones,
    /// chosen as `heldOutSet` says.
    public static func task(_ task: any ExperimentTask, problems: Int?, tokens: Int, heldOutProblems: Int, seed: UInt64,
                            rows: Int, length: Int, scope: LossScope, separator: String = " ",
                            heldOutSet: HeldOutSet = .fixed) throws -> TrainingData {
        guard heldOutProblems > 0 else { throw TrainingError.invalidHyperparameter("need at least one held-out problem") }
        var count = problems ?? 0
        if problems == nil {
            let probe = try TaskExamples.examples(task: task, count: 64, seed: seed, separator: separator)
            let meanChars = Double(probe.reduce(0) { $0 + $1.prompt.unicodeScalars.count + $1.completion.unicodeScalars.count + 2 }) / Double(probe.count)
            // Rows waste some tokens on padding; 10% more problems than the mean suggests, capped.
            count = min(5_000_000, Int(Double(tokens) / meanChars * 1.1) + 64)
        }
        guard count > 0 else { throw TrainingError.invalidHyperparameter("--problems must be positive, got \(count)") }
        let (drawn, train, held) = try split(task, problems: count, heldOutProblems: heldOutProblems, seed: seed, separator: separator,
                                              heldOutSet: heldOutSet)
        let vocabulary = CharVocabulary(coveringTexts: (train + held).flatMap { [$0.prompt, $0.completion] })
        let encode = { (e: TextExample) in EncodedExample(e, vocabulary: vocabulary, scope: scope) }
        let source = try PackedExamples(examples: train.map(encode), rows: rows, length: length, seed: seed)
        let heldBatches = try PackedExamples.covering(held.map(encode), rows: rows, length: length)
        return TrainingData(vocabulary: vocabulary, source: source, heldOut: heldBatches, name: task.name,
                            trainingItems: drawn, heldOutItems: held.count, droppedTrainingItems: drawn - train.count)
    }

    /// The training and held-out examples of a task run: `problems` drawn from `seed`, and the
    /// held-out set `heldOutSet` names. `drawn` is how many training problems were drawn (the
    /// count the checkpoint records, so that best-of-n can rebuild them).
    public static func split(_ task: any ExperimentTask, problems count: Int, heldOutProblems: Int, seed: UInt64, separator: String = " ",
                             heldOutSet: HeldOutSet) throws -> (drawn: Int, train: [TextExample], held: [TextExample]) {
        let drawn = try TaskExamples.examples(task: task, count: count, seed: seed, separator: separator)
        switch heldOutSet {
        case .perSeed:
            let held = try TaskExamples.heldOut(task: task, count: heldOutProblems, seed: heldOutSeed(seed), excluding: drawn, separator: separator)
            guard !held.isEmpty else { throw TrainingError.invalidData("every held-out problem also occurs in training; use fewer --problems") }
            return (drawn.count, drawn, held)
        case .fixed:
            let held = try TaskExamples.examples(task: task, count: heldOutProblems, seed: fixedHeldOutSeed, separator: separator)
            let heldPrompts = Set(held.map(\.prompt))
            let train = drawn.filter { !heldPrompts.contains($0.prompt) }
            guard !train.isEmpty else { throw TrainingError.invalidData("every training problem is a held-out problem; use fewer --held-out problems") }
            return (drawn.count, train, held)
        }
    }

    /// Plain text: the last `heldOutFraction` of the file is held out; training rows are random
    /// windows of the rest; held-out loss covers the held-out part (at most `heldOutBatches` batches).
    public static func text(path: String, rows: Int, length: Int, seed: UInt64, heldOutFraction: Double = 0.1,
                            heldOutBatches: Int = 8) throws -> TrainingData {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TrainingError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw TrainingError.unreadableFile(path: path, reason: "not valid UTF-8") }
        guard (0.0..<1.0).contains(heldOutFraction), heldOutFraction > 0 else {
            throw TrainingError.invalidHyperparameter("held-out fraction must be in (0, 1), got \(heldOutFraction)")
        }
        let vocabulary = CharVocabulary(coveringTexts: [text])
        let stream = vocabulary.encode(text).map { Int32($0) }
        let heldCount = max(length, Int(Double(stream.count) * heldOutFraction))
        guard stream.count - heldCount >= length else {
            throw TrainingError.invalidData("\(path) has \(stream.count) tokens: too short for training and held-out rows of \(length) (use a shorter --context)")
        }
        let split = stream.count - heldCount
        let source = try TextWindows(stream: Array(stream[..<split]), rows: rows, length: length, seed: seed)
        let held = try TextWindows(stream: Array(stream[split...]), rows: rows, length: length, seed: seed)
        return TrainingData(vocabulary: vocabulary, source: source, heldOut: held.covering(limit: heldOutBatches),
                            name: URL(fileURLWithPath: path).lastPathComponent, trainingItems: split, heldOutItems: heldCount, files: [path])
    }
}
