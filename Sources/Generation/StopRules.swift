import Tokenizers

/// When to stop generating.
public struct StopRules: Sendable {
    public var maxTokens: Int
    public var stopStrings: [String]
    public var stopAtEndOfGeneration: Bool

    public init(maxTokens: Int, stopStrings: [String] = [], stopAtEndOfGeneration: Bool = true) {
        self.maxTokens = maxTokens; self.stopStrings = stopStrings; self.stopAtEndOfGeneration = stopAtEndOfGeneration
    }
}

public enum FinishReason: String, Codable, Sendable { case endOfGeneration = "eos", maxTokens = "length", stopString = "stop", contextFull = "context" }

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case promptTooLong(promptTokens: Int, context: Int)
    case emptyPrompt
    case invalidMaxTokens(Int)
    case invalidBatch(Int)
    case invalidPrefillChunk(Int)
    case noSamples

    public var description: String {
        switch self {
        case let .promptTooLong(p, c): return "the prompt is \(p) tokens long but the context holds \(c) tokens"
        case .emptyPrompt: return "the prompt is empty (no tokens to condition on)"
        case let .invalidMaxTokens(n): return "the number of tokens to generate must be positive, got \(n)"
        case let .invalidBatch(n): return "the batch size must be positive, got \(n)"
        case let .invalidPrefillChunk(n): return "the prompt tokens per step (prefill chunk) must be positive, got \(n)"
        case .noSamples: return "a request must ask for at least one sample"
        }
    }
}

/// One sequence's text as it is generated: decodes tokens as the continuation of the prompt,
/// cuts the text at the first stop string, and hands out only text that can no longer turn
/// out to be the start of a stop string.
struct StopScanner {
    let stops: [String]
    private var decoder: StreamingDecoder
    /// The text handed out so far.
    private(set) var text = ""
    /// Text held back while it could still be the start of a stop string.
    private var pending = ""

    /// `continuation` has already seen the prompt (see `DecodingLoop.admit`).
    init(stops: [String], continuation: StreamingDecoder) {
        self.stops = stops.filter { !$0.isEmpty }
        decoder = continuation
    }

    /// Adds a token. Returns the text that is now safe to show and whether a stop string ended it.
    mutating func push(_ token: Int) -> (text: String, stopped: Bool) {
        pending += decoder.push(token)
        let all = text + pending
        if let cut = Self.firstStop(in: all, stops: stops) {
            let keep = String(all[..<cut])
            // What is new beyond the text already handed out, counted in bytes: characters
            // could merge across the boundary (a combining mark after a letter).
            let out = String(decoding: keep.utf8.dropFirst(text.utf8.count), as: UTF8.self)
            text = keep
            pending = ""
            return (out, true)
        }
        let safe = Self.safePrefixLength(pending, stops: stops)
        guard safe > 0 else { return ("", false) }
        let out = String(pending.prefix(safe))
        text += out
        pending = String(pending.dropFirst(safe))
        return (out, false)
    }

    /// The end of a sequence that no stop string ended: everything held back, plus any
    /// incomplete character the decoder still holds.
    mutating func finish() -> String {
        let rest = pending + decoder.flush()
        pending = ""
        text += rest
        return rest
    }

    static func firstStop(in text: String, stops: [String]) -> String.Index? {
        stops.compactMap { text.range(of: $0)?.lowerBound }.min()
    }

    /// How much of `pending` can be shown: all but a suffix that is a prefix of some stop string.
    static func safePrefixLength(_ pending: String, stops: [String]) -> Int {
        let chars = Array(pending)
        for holdBack in stride(from: min(chars.count, stops.map(\.count).max() ?? 0), to: 0, by: -1) {
            let suffix = String(chars.suffix(holdBack))
            if stops.contains(where: { $0.hasPrefix(suffix) }) { return chars.count - holdBack }
        }
        return chars.count
    }
}
