import Experiments
import Foundation

/// A vocabulary, a stream of training batches and a fixed held-out set, ready for `Trainer`.
public struct TrainingData {
    public let vocabulary: CharVocabulary
    public let source: BatchSource
    public let heldOut: [TokenBatch]
    /// What the data is, for logs and checkpoint metadata ("arithmetic(digits=3,ops=+-*)", a file name).
    public let name: String
    /// Distinct training examples (tasks), or training tokens (text).
    public let trainingItems: Int
    public let heldOutItems: Int
    /// Files the data was read from (a text file; none for generated task problems), for the
    /// run's provenance.
    public var files: [String] = []

    /// The held-out problems come from this seed, never the training seed's.
    public static func heldOutSeed(_ seed: UInt64) -> UInt64 { seed ^ 0x4845_4C44_4F55_5421 }

    /// Task data: `problems` training problems (nil: enough that `tokens` training tokens never
    /// repeat one, estimated from the first problems' length) and `heldOutProblems` held-out ones.
    public static func task(_ task: any ExperimentTask, problems: Int?, tokens: Int, heldOutProblems: Int, seed: UInt64,
                            rows: Int, length: Int, scope: LossScope, separator: String = " ") throws -> TrainingData {
        guard heldOutProblems > 0 else { throw TrainingError.invalidHyperparameter("need at least one held-out problem") }
        var count = problems ?? 0
        if problems == nil {
            let probe = try TaskExamples.examples(task: task, count: 64, seed: seed, separator: separator)
            let meanChars = Double(probe.reduce(0) { $0 + $1.prompt.unicodeScalars.count + $1.completion.unicodeScalars.count + 2 }) / Double(probe.count)
            // Rows waste some tokens on padding; 10% more problems than the mean suggests, capped.
            count = min(5_000_000, Int(Double(tokens) / meanChars * 1.1) + 64)
        }
        guard count > 0 else { throw TrainingError.invalidHyperparameter("--problems must be positive, got \(count)") }
        let train = try TaskExamples.examples(task: task, count: count, seed: seed, separator: separator)
        let held = try TaskExamples.heldOut(task: task, count: heldOutProblems, seed: heldOutSeed(seed), excluding: train, separator: separator)
        guard !held.isEmpty else { throw TrainingError.invalidData("every held-out problem also occurs in training; use fewer --problems") }
        let vocabulary = CharVocabulary(coveringTexts: (train + held).flatMap { [$0.prompt, $0.completion] })
        let encode = { (e: TextExample) in EncodedExample(e, vocabulary: vocabulary, scope: scope) }
        let source = try PackedExamples(examples: train.map(encode), rows: rows, length: length, seed: seed)
        let heldBatches = try PackedExamples.covering(held.map(encode), rows: rows, length: length)
        return TrainingData(vocabulary: vocabulary, source: source, heldOut: heldBatches, name: task.name,
                            trainingItems: train.count, heldOutItems: held.count)
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
