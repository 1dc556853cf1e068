import Foundation
import Generation

/// One generated token as logprobs report it, with its most likely alternatives.
public struct TokenLogprob: Equatable, Sendable {
    public struct Alternative: Equatable, Sendable {
        public var text: String
        public var bytes: [UInt8]
        public var logprob: Double
        public init(text: String, bytes: [UInt8], logprob: Double) { self.text = text; self.bytes = bytes; self.logprob = logprob }
    }
    public var token: Int
    public var text: String
    public var bytes: [UInt8]
    public var logprob: Double
    public var top: [Alternative]
    public init(token: Int, text: String, bytes: [UInt8], logprob: Double, top: [Alternative]) {
        self.token = token; self.text = text; self.bytes = bytes; self.logprob = logprob; self.top = top
    }
}

/// OpenAI's names for why a sample ended: the end-of-generation token and stop strings are
/// "stop"; the token limit and a full context are "length".
public func openAIFinishReason(_ reason: FinishReason) -> String {
    switch reason {
    case .endOfGeneration, .stopString: return "stop"
    case .maxTokens, .contextFull: return "length"
    }
}

public struct Usage: Equatable, Sendable, Encodable {
    public var promptTokens: Int
    public var completionTokens: Int
    public init(promptTokens: Int, completionTokens: Int) { self.promptTokens = promptTokens; self.completionTokens = completionTokens }
    enum CodingKeys: String, CodingKey { case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens" }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(promptTokens, forKey: .promptTokens)
        try c.encode(completionTokens, forKey: .completionTokens)
        try c.encode(promptTokens + completionTokens, forKey: .totalTokens)
    }
}

/// What a response (or one stream chunk) says about one sample.
public struct ChoiceContent: Equatable, Sendable {
    public var index: Int
    public var text: String
    public var tokens: [TokenLogprob]
    public var finishReason: String?
    public init(index: Int, text: String, tokens: [TokenLogprob] = [], finishReason: String? = nil) {
        self.index = index; self.text = text; self.tokens = tokens; self.finishReason = finishReason
    }
}

/// The fields every response and chunk starts with.
public struct ResponseHeader: Sendable {
    public var id: String
    public var created: Int
    public var model: String
    public var systemFingerprint: String
    public init(id: String, created: Int, model: String, systemFingerprint: String) {
        self.id = id; self.created = created; self.model = model; self.systemFingerprint = systemFingerprint
    }
}

/// Builds the JSON of OpenAI's response objects. JSON values rather than Codable structs: the
/// shapes differ in small ways between endpoints, streaming or not, and fields OpenAI sends as
/// `null` must be written as null, not left out.
public enum ResponseEncoder {
    /// /v1/completions, whole or one chunk of a stream (same object, partial text).
    /// `logprobs`: whether the request asked for them; `textOffset` is where each choice's text
    /// starts in the full completion (for `text_offset`).
    public static func completion(_ h: ResponseHeader, choices: [ChoiceContent], logprobs: Bool, textOffsets: [Int: Int] = [:], usage: Usage?) -> JSONValue {
        var root = header(h, object: "text_completion")
        root["choices"] = .array(choices.map { c in
            .object([
                "index": .integer(c.index), "text": .string(c.text),
                "logprobs": logprobs ? completionLogprobs(c.tokens, startOffset: textOffsets[c.index] ?? 0) : .null,
                "finish_reason": c.finishReason.map(JSONValue.string) ?? .null,
            ])
        })
        if let usage { root["usage"] = usageJSON(usage) }
        return .object(root)
    }

    /// /v1/chat/completions, not streamed.
    public static func chat(_ h: ResponseHeader, choices: [ChoiceContent], logprobs: Bool, usage: Usage) -> JSONValue {
        var root = header(h, object: "chat.completion")
        root["choices"] = .array(choices.map { c in
            .object([
                "index": .integer(c.index),
                "message": .object(["role": .string("assistant"), "content": .string(c.text), "refusal": .null]),
                "logprobs": logprobs ? chatLogprobs(c.tokens) : .null,
                "finish_reason": c.finishReason.map(JSONValue.string) ?? .null,
            ])
        })
        root["usage"] = usageJSON(usage)
        return .object(root)
    }

    /// One chunk of a streamed chat: `delta` holds the role in a choice's first chunk, then text.
    public static func chatChunk(_ h: ResponseHeader, choices: [ChoiceContent], firstChunk: Set<Int> = [], logprobs: Bool) -> JSONValue {
        var root = header(h, object: "chat.completion.chunk")
        root["choices"] = .array(choices.map { c in
            var delta: [String: JSONValue] = [:]
            if firstChunk.contains(c.index) { delta["role"] = .string("assistant") }
            if !c.text.isEmpty || firstChunk.contains(c.index) { delta["content"] = .string(c.text) }
            return .object([
                "index": .integer(c.index), "delta": .object(delta),
                "logprobs": logprobs && !c.tokens.isEmpty ? chatLogprobs(c.tokens) : .null,
                "finish_reason": c.finishReason.map(JSONValue.string) ?? .null,
            ])
        })
        return .object(root)
    }

    /// The last chunk of a stream with `include_usage`: no choices, the usage.
    public static func usageChunk(_ h: ResponseHeader, object: String, usage: Usage) -> JSONValue {
        var root = header(h, object: object)
        root["choices"] = .array([])
        root["usage"] = usageJSON(usage)
        return .object(root)
    }

    public static func models(id: String, created: Int) -> JSONValue {
        .object(["object": .string("list"), "data": .array([
            .object(["id": .string(id), "object": .string("model"), "created": .integer(created), "owned_by": .string("llamacl")]),
        ])])
    }

    /// Compact JSON with sorted keys (stable output for tests and diffs).
    public static func data(_ value: JSONValue) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    static func header(_ h: ResponseHeader, object: String) -> [String: JSONValue] {
        ["id": .string(h.id), "object": .string(object), "created": .integer(h.created), "model": .string(h.model),
         "system_fingerprint": .string(h.systemFingerprint)]
    }

    static func usageJSON(_ u: Usage) -> JSONValue {
        .object(["prompt_tokens": .integer(u.promptTokens), "completion_tokens": .integer(u.completionTokens),
                 "total_tokens": .integer(u.promptTokens + u.completionTokens)])
    }

    /// The legacy completions shape: parallel lists per token.
    static func completionLogprobs(_ tokens: [TokenLogprob], startOffset: Int) -> JSONValue {
        var offsets: [JSONValue] = []
        var offset = startOffset
        for t in tokens { offsets.append(.integer(offset)); offset += t.text.count }
        return .object([
            "tokens": .array(tokens.map { .string($0.text) }),
            "token_logprobs": .array(tokens.map { .number($0.logprob) }),
            "top_logprobs": .array(tokens.map { t in
                // Two alternatives can print alike (byte pieces); keep the likelier one.
                var top: [String: JSONValue] = [:]
                for a in t.top where top[a.text] == nil { top[a.text] = .number(a.logprob) }
                return .object(top)
            }),
            "text_offset": .array(offsets),
        ])
    }

    /// The chat shape: one object per token with its bytes and alternatives.
    static func chatLogprobs(_ tokens: [TokenLogprob]) -> JSONValue {
        func bytes(_ b: [UInt8]) -> JSONValue { .array(b.map { .integer(Int($0)) }) }
        return .object(["content": .array(tokens.map { t in
            .object([
                "token": .string(t.text), "logprob": .number(t.logprob), "bytes": bytes(t.bytes),
                "top_logprobs": .array(t.top.map { .object(["token": .string($0.text), "logprob": .number($0.logprob), "bytes": bytes($0.bytes)]) }),
            ])
        }), "refusal": .null])
    }
}
