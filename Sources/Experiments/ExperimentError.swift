import Foundation

/// Everything in `Experiments` that can go wrong with its input. Each message is one line that
/// names the offending value (a file, a line number, a regex, a parameter), so the CLI can print
/// it as is.
public enum ExperimentError: Error, CustomStringConvertible, Equatable {
    // Task set-up and problem generation
    case invalidTaskParameter(task: String, reason: String)
    case problemGenerationFailed(task: String, problem: Int, reason: String)
    case notEnoughProblems(task: String, requested: Int, available: Int)
    // JSONL task files
    case fileUnreadable(path: String, reason: String)
    case invalidUTF8(path: String)
    case emptyFile(path: String)
    case invalidJSONLine(path: String, line: Int, reason: String)
    case invalidRegex(pattern: String, reason: String)
    // Metrics
    case invalidMetricArguments(String)
    // Result files, shards, merging
    case invalidShard(text: String, reason: String)
    case corruptResults(path: String, line: Int, reason: String)
    case parametersMismatch(directory: String, fields: [String])
    case mergeConflict(String)
    case incompleteRun(String)
    case ioFailure(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidTaskParameter(task, reason):
            return "\(task): \(reason)"
        case let .problemGenerationFailed(task, problem, reason):
            return "\(task): could not generate problem \(problem): \(reason)"
        case let .notEnoughProblems(task, requested, available):
            return "\(task): asked for \(requested) problems but only \(available) are available"
        case let .fileUnreadable(path, reason):
            return "cannot read \(path): \(reason)"
        case let .invalidUTF8(path):
            return "\(path) is not valid UTF-8"
        case let .emptyFile(path):
            return "\(path) contains no problems"
        case let .invalidJSONLine(path, line, reason):
            return "\(path):\(line): \(reason)"
        case let .invalidRegex(pattern, reason):
            return "invalid answer pattern /\(pattern)/: \(reason)"
        case let .invalidMetricArguments(reason):
            return reason
        case let .invalidShard(text, reason):
            return "invalid shard '\(text)': \(reason)"
        case let .corruptResults(path, line, reason):
            return "\(path):\(line): \(reason)"
        case let .parametersMismatch(directory, fields):
            return "\(directory) holds a run with different parameters (\(fields.joined(separator: ", "))); use a new directory"
        case let .mergeConflict(reason):
            return "cannot merge: \(reason)"
        case let .incompleteRun(what):
            return "cannot merge an incomplete run: \(what) (rerun the missing shards, or pass --allow-partial to merge what there is)"
        case let .ioFailure(path, reason):
            return "\(path): \(reason)"
        }
    }
}
