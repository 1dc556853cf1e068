import Foundation
import Generation
import Tokenizers

/// Bounds a request must stay within (beyond those the model and its cache set).
public struct RequestLimits: Sendable {
    /// Samples per request (`n`).
    public var maxSamples = 32
    /// Stop strings per request (OpenAI allows 4).
    public var maxStops = 4
    /// Alternatives per token (`logprobs` / `top_logprobs`), as OpenAI allows.
    public var maxTopLogprobs = 20
    public init() {}
}

/// A prompt as text or as token ids (used verbatim: no BOS added).
public enum PromptInput: Equatable, Sendable {
    case text(String)
    case tokens([Int])
}

/// What completions and chat requests share.
public struct GenerationParameters: Equatable, Sendable {
    /// nil: the endpoint's default (completions: 16, as OpenAI; chat: the rest of the context).
    public var maxTokens: Int?
    public var n = 1
    /// OpenAI's defaults (temperature 1, top-p 1) with llama.cpp's extras off unless given.
    public var sampling = SamplerSettings(temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1)
    /// nil: a random seed per request.
    public var seed: UInt64?
    public var stop: [String] = []
    public var stream = false
    /// `stream_options.include_usage`: a last chunk with the usage and no choices.
    public var includeUsage = false
    /// llama.cpp's `ignore_eos`: generate until max_tokens or a stop string (benchmarks).
    public var ignoreEOS = false
    public init() {}
}

/// POST /v1/completions.
public struct CompletionRequest: Equatable, Sendable {
    public var model: String?
    public var prompt: PromptInput
    public var echo = false
    /// Alternatives to report per token; nil = no logprobs, 0 = the chosen token's only.
    public var logprobs: Int?
    public var parameters = GenerationParameters()

    public static func parse(_ body: Data, limits: RequestLimits = RequestLimits()) throws -> CompletionRequest {
        let f = Fields(object: try JSONValue.parseObject(body))
        try rejectUnsupported(f, endpoint: .completions)
        var r = CompletionRequest(model: try f.string("model"), prompt: try parsePrompt(f))
        r.echo = try f.bool("echo") ?? false
        r.logprobs = try f.int("logprobs", in: 0...limits.maxTopLogprobs)
        if r.echo && r.logprobs != nil {
            // That would need every prompt position's logits, which the decoding loop does not keep.
            throw APIError.invalid("'echo' together with 'logprobs' is not supported", param: "echo", code: "unsupported_parameter")
        }
        r.parameters = try parseParameters(f, limits: limits, maxTokensKeys: ["max_tokens"])
        return r
    }

    /// `prompt`: a string, a list of token ids, or a list holding one of those (one prompt per request).
    static func parsePrompt(_ f: Fields) throws -> PromptInput {
        guard let v = f["prompt"] else { throw APIError.invalid("'prompt' is required", param: "prompt", code: "missing_required_parameter") }
        func ids(_ a: [JSONValue]) throws -> [Int]? {
            var out: [Int] = []
            for x in a {
                guard case let .integer(i) = x else { return nil }
                out.append(i)
            }
            return out
        }
        switch v {
        case let .string(s): return .text(s)
        case let .array(a):
            if a.count == 1, case let .string(s) = a[0] { return .text(s) }
            if a.count == 1, case let .array(inner) = a[0], let t = try ids(inner) { return .tokens(t) }
            if let t = try ids(a) {
                guard !t.isEmpty else { throw APIError.invalid("'prompt' has no tokens", param: "prompt") }
                return .tokens(t)
            }
            if a.count > 1, a.allSatisfy({ if case .string = $0 { return true }; return false }) {
                throw APIError.invalid("one prompt per request: send several requests instead of a list of \(a.count) prompts", param: "prompt",
                                       code: "unsupported_parameter")
            }
        default: break
        }
        throw APIError.wrongType("prompt", expected: "a string or a list of token ids")
    }
}

/// POST /v1/chat/completions.
public struct ChatRequest: Equatable, Sendable {
    public var model: String?
    public var messages: [ChatMessage]
    public var logprobs = false
    public var topLogprobs = 0
    public var parameters = GenerationParameters()

    public static func parse(_ body: Data, limits: RequestLimits = RequestLimits()) throws -> ChatRequest {
        let f = Fields(object: try JSONValue.parseObject(body))
        try rejectUnsupported(f, endpoint: .chat)
        var r = ChatRequest(model: try f.string("model"), messages: try parseMessages(f))
        r.logprobs = try f.bool("logprobs") ?? false
        if let k = try f.int("top_logprobs", in: 0...limits.maxTopLogprobs) {
            guard r.logprobs else { throw APIError.invalid("'top_logprobs' needs 'logprobs': true", param: "top_logprobs") }
            r.topLogprobs = k
        }
        // max_completion_tokens is the newer name; it wins when both are given.
        r.parameters = try parseParameters(f, limits: limits, maxTokensKeys: ["max_completion_tokens", "max_tokens"])
        return r
    }

    static func parseMessages(_ f: Fields) throws -> [ChatMessage] {
        guard let v = f["messages"] else { throw APIError.invalid("'messages' is required", param: "messages", code: "missing_required_parameter") }
        guard case let .array(items) = v else { throw APIError.wrongType("messages", expected: "a list of messages") }
        guard !items.isEmpty else { throw APIError.invalid("'messages' must hold at least one message", param: "messages") }
        return try items.enumerated().map { i, item in
            let param = "messages[\(i)]"
            guard case let .object(o) = item else { throw APIError.wrongType(param, expected: "an object") }
            let m = Fields(object: o)
            guard let role = try? m.string("role") else { throw APIError.wrongType("\(param).role", expected: "a string") }
            switch role {
            case "system", "user", "assistant": break
            case "developer": return ChatMessage(role: "system", content: try content(m, param))  // OpenAI's new name for system
            case "tool", "function":
                throw APIError.invalid("\(param): '\(role)' messages are not supported (no tool calling)", param: "\(param).role", code: "unsupported_parameter")
            default: throw APIError.invalid("\(param): unknown role '\(role)'", param: "\(param).role")
            }
            return ChatMessage(role: role, content: try content(m, param))
        }
    }

    /// A message's content: a string, null (an assistant turn without text), or a list of text parts.
    static func content(_ m: Fields, _ param: String) throws -> String {
        guard let v = m["content"] else { return "" }
        switch v {
        case let .string(s): return s
        case let .array(parts):
            return try parts.enumerated().map { j, part in
                let p = "\(param).content[\(j)]"
                guard case let .object(o) = part, let type = try? Fields(object: o).string("type") else { throw APIError.wrongType(p, expected: "a content part object") }
                guard type == "text" else { throw APIError.invalid("\(p): content of type '\(type)' is not supported (text only)", param: p, code: "unsupported_parameter") }
                guard let text = try? Fields(object: o).string("text") else { throw APIError.wrongType("\(p).text", expected: "a string") }
                return text
            }.joined()
        default: throw APIError.wrongType("\(param).content", expected: "a string or a list of text parts")
        }
    }
}

enum Endpoint { case completions, chat }

/// Fields that would change the answer and that LlamaCL does not implement: refused rather than
/// ignored, so a client never gets a silently different answer. Other unknown fields (`user`,
/// `metadata`, ...) do not change the tokens and are ignored.
func rejectUnsupported(_ f: Fields, endpoint: Endpoint) throws {
    func refuse(_ key: String, _ why: String = "is not supported") throws -> Never {
        throw APIError.invalid("'\(key)' \(why)", param: key, code: "unsupported_parameter")
    }
    if case let .object(o)? = f["logit_bias"], !o.isEmpty { try refuse("logit_bias") }
    if let s = f["suffix"], s != .string("") { try refuse("suffix") }
    if let b = f["best_of"], b != .integer(1) { try refuse("best_of", "is not supported: request n samples and choose among them") }
    for key in ["presence_penalty", "frequency_penalty"] {
        if let v = f[key], v != .integer(0), v != .number(0) { try refuse(key, "is not supported (llama.cpp's 'repeat_penalty' is)") }
    }
    for key in ["tools", "functions"] {
        if case let .array(a)? = f[key], a.isEmpty { continue }
        if f[key] != nil { try refuse(key, "is not supported (no tool calling)") }
    }
    for key in ["tool_choice", "function_call"] {
        if let v = f[key], v != .string("none"), v != .string("auto") { try refuse(key, "is not supported (no tool calling)") }
    }
    if let rf = f["response_format"] {
        guard case let .object(o) = rf, o["type"] == .string("text") else { try refuse("response_format", "is not supported (text only)") }
    }
    for key in ["grammar", "json_schema", "audio", "prediction"] where f[key] != nil { try refuse(key) }
    if let m = f["modalities"], m != .array([.string("text")]) { try refuse("modalities", "is not supported (text only)") }
    if endpoint == .completions, f["messages"] != nil { try refuse("messages", "belongs to /v1/chat/completions") }
    if endpoint == .chat, f["prompt"] != nil { try refuse("prompt", "belongs to /v1/completions") }
}

/// The sampling, length, stop and streaming fields both endpoints share.
func parseParameters(_ f: Fields, limits: RequestLimits, maxTokensKeys: [String]) throws -> GenerationParameters {
    var p = GenerationParameters()
    for key in maxTokensKeys.reversed() {
        if let m = try f.int(key, in: 1...1_000_000_000) { p.maxTokens = m }
    }
    p.n = try f.int("n", in: 1...limits.maxSamples) ?? 1
    var s = p.sampling
    if let t = try f.double("temperature", in: 0...2) { s.temperature = Float(t) }
    if let tp = try f.double("top_p", in: 0...1) {
        // top_p 0 keeps only the most likely token: greedy.
        if tp == 0 { s.temperature = 0 } else { s.topP = Float(tp) }
    }
    if let k = try f.int("top_k", in: 0...1_000_000) { s.topK = k }
    if let mp = try f.double("min_p", in: 0...0.999_999) { s.minP = Float(mp) }
    if let rp = try f.double("repeat_penalty", in: 0.01...100) { s.repeatPenalty = Float(rp) }
    if let n = try f.int("repeat_last_n", in: 0...1_000_000) { s.repeatLastN = n }
    p.sampling = s
    // Any JSON integer; negative seeds keep their bits.
    if let seed = try f.int("seed", in: Int.min...Int.max) { p.seed = UInt64(bitPattern: Int64(seed)) }
    if let stop = f["stop"] {
        switch stop {
        case let .string(x): p.stop = [x]
        case let .array(a):
            p.stop = try a.map { guard case let .string(x) = $0 else { throw APIError.wrongType("stop", expected: "a string or a list of strings") }; return x }
        default: throw APIError.wrongType("stop", expected: "a string or a list of strings")
        }
        guard p.stop.count <= limits.maxStops else { throw APIError.invalid("'stop' holds at most \(limits.maxStops) strings, got \(p.stop.count)", param: "stop") }
    }
    p.ignoreEOS = try f.bool("ignore_eos") ?? false
    p.stream = try f.bool("stream") ?? false
    if let options = try f.object("stream_options") {
        p.includeUsage = try options.bool("include_usage") ?? false
    }
    return p
}
