/// Everything that can go wrong with training input. Each message is one line naming the
/// offending value, so the CLI prints it as is.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case invalidHyperparameter(String)
    case invalidData(String)
    case exampleTooLong(index: Int, tokens: Int, context: Int)
    case unreadableFile(path: String, reason: String)
    case diverged(step: Int, loss: Double)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidConfig(s): return "invalid model shape: \(s)"
        case let .invalidHyperparameter(s): return "invalid training setting: \(s)"
        case let .invalidData(s): return "invalid training data: \(s)"
        case let .exampleTooLong(index, tokens, context):
            return "example \(index) is \(tokens) tokens long but the context is \(context); raise --context"
        case let .unreadableFile(path, reason): return "cannot read \(path): \(reason)"
        case let .diverged(step, loss): return "training diverged at step \(step) (loss \(loss)); lower --lr"
        case let .writeFailed(path, reason): return "cannot write \(path): \(reason)"
        }
    }
}
