import Foundation
import Generation
import HTTPTypes
import Hummingbird
import LlamaCore
import Tokenizers

/// How the server is reached and what it accepts.
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (reported through `onListening`).
    public var port = 8080
    /// When set, /v1/ endpoints require `Authorization: Bearer <apiKey>`.
    public var apiKey: String?
    /// The model's name in /v1/models and in responses.
    public var modelID = "model"
    /// Request bodies larger than this get 413.
    public var maxBodyBytes = 1 << 20
    public var limits = RequestLimits()
    /// `system_fingerprint` of every response: engine version and backend.
    public var systemFingerprint = "llamacl"
    public init() {}
}

/// The OpenAI-compatible server: Hummingbird handles HTTP on its event loops; generation runs
/// on the engine's own thread. `serve` runs until SIGINT/SIGTERM.
public final class OpenAIServer: @unchecked Sendable {
    let engine: Engine
    let tokenizer: any Tokenizer
    /// Tokenizers keep caches (BPE merges): one encode at a time across handlers.
    private let tokenizerLock = NSLock()
    let chatTemplate: ChatTemplate?
    let options: ServerOptions
    public let metrics: Metrics
    let created = Int(Date().timeIntervalSince1970)

    /// `chatTemplate` nil: /v1/chat/completions answers that the model has no chat template.
    public init(model: any LanguageModel, tokenizer: any Tokenizer, chatTemplate: ChatTemplate?,
                engine engineOptions: Engine.Options, options: ServerOptions) throws {
        metrics = Metrics()
        engine = try Engine(model: model, tokenizer: tokenizer, options: engineOptions, metrics: metrics)
        self.tokenizer = tokenizer; self.chatTemplate = chatTemplate; self.options = options
    }

    /// Starts the engine thread and serves until a shutdown signal; `onListening` gets the bound port.
    public func serve(onListening: @escaping @Sendable (_ port: Int) -> Void = { _ in }) async throws {
        engine.start()
        defer { engine.stop() }
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "llamacl"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) })
        try await app.runService()
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: OpenAIMiddleware(apiKey: options.apiKey, metrics: metrics))
        router.get("/health") { _, _ in jsonResponse(ResponseEncoder.data(.object(["status": .string("ok")]))) }
        router.get("/metrics") { [metrics] _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.get("/v1/models") { [self] _, _ in jsonResponse(ResponseEncoder.data(ResponseEncoder.models(id: options.modelID, created: created))) }
        router.post("/v1/completions") { [self] request, _ in try await completions(request) }
        router.post("/v1/chat/completions") { [self] request, _ in try await chat(request) }
        return router
    }

    // MARK: endpoints

    func completions(_ request: Request) async throws -> Response {
        try await cancellingOnDisconnect(request) { body, registration in try await completions(body, registration) }
    }

    func chat(_ request: Request) async throws -> Response {
        try await cancellingOnDisconnect(request) { body, registration in try await chat(body, registration) }
    }

    func completions(_ requestBody: RequestBody, _ registration: Registration) async throws -> Response {
        let r = try CompletionRequest.parse(try await body(of: requestBody), limits: options.limits)
        let prompt: [Int]
        let promptText: String
        switch r.prompt {
        case let .text(text):
            prompt = try encode(text, parseSpecial: false)
            promptText = text
        case let .tokens(ids):
            guard let bad = ids.first(where: { $0 < 0 || $0 >= tokenizer.vocabSize }) else {
                prompt = ids; promptText = tokenizer.decode(ids); break
            }
            throw APIError.invalid("token id \(bad) in 'prompt' is outside the vocabulary (0..<\(tokenizer.vocabSize))", param: "prompt")
        }
        let job = try makeJob(prompt: prompt, promptParam: "prompt", r.parameters, defaultMaxTokens: 16, topLogprobs: r.logprobs)
        try engine.submit(job)
        registration.register(job)
        let header = ResponseHeader(id: "cmpl-\(randomID())", created: Int(Date().timeIntervalSince1970), model: options.modelID,
                                    systemFingerprint: options.systemFingerprint)
        let echo = r.echo ? promptText : ""
        if r.parameters.stream {
            return sse(job, header: header, usageObject: "text_completion", promptTokens: prompt.count, includeUsage: r.parameters.includeUsage) { writer in
                var offsets: [Int: Int] = [:]
                if !echo.isEmpty {
                    for i in 0..<job.samples {
                        offsets[i] = echo.count
                        try await writer.event(ResponseEncoder.completion(header, choices: [ChoiceContent(index: i, text: echo)], logprobs: false, usage: nil))
                    }
                }
                return { index, delta in
                    let choice = ChoiceContent(index: index, text: delta.text, tokens: delta.tokens, finishReason: delta.finishReason.map(openAIFinishReason))
                    let chunk = ResponseEncoder.completion(header, choices: [choice], logprobs: r.logprobs != nil, textOffsets: offsets, usage: nil)
                    offsets[index, default: 0] += delta.text.count
                    return [chunk]
                }
            }
        }
        let (choices, usage) = try await collect(job, promptTokens: prompt.count)
        let withEcho = choices.map { c in var c = c; c.text = echo + c.text; return c }
        let offsets = Dictionary(uniqueKeysWithValues: choices.map { ($0.index, echo.count) })
        return jsonResponse(ResponseEncoder.data(ResponseEncoder.completion(header, choices: withEcho, logprobs: r.logprobs != nil, textOffsets: offsets, usage: usage)))
    }

    func chat(_ requestBody: RequestBody, _ registration: Registration) async throws -> Response {
        let r = try ChatRequest.parse(try await body(of: requestBody), limits: options.limits)
        guard let chatTemplate else {
            throw APIError.invalid("this model has no chat template (start the server with --chat-template NAME); use /v1/completions", param: "messages",
                                   code: "no_chat_template")
        }
        let prompt = try encodeChat(r.messages, with: chatTemplate)
        let job = try makeJob(prompt: prompt, promptParam: "messages", r.parameters, defaultMaxTokens: nil, topLogprobs: r.logprobs ? r.topLogprobs : nil)
        try engine.submit(job)
        registration.register(job)
        let header = ResponseHeader(id: "chatcmpl-\(randomID())", created: Int(Date().timeIntervalSince1970), model: options.modelID,
                                    systemFingerprint: options.systemFingerprint)
        if r.parameters.stream {
            return sse(job, header: header, usageObject: "chat.completion.chunk", promptTokens: prompt.count, includeUsage: r.parameters.includeUsage) { writer in
                for i in 0..<job.samples {
                    try await writer.event(ResponseEncoder.chatChunk(header, choices: [ChoiceContent(index: i, text: "")], firstChunk: [i], logprobs: false))
                }
                return { index, delta in
                    var chunks: [JSONValue] = []
                    if !delta.text.isEmpty || !delta.tokens.isEmpty {
                        chunks.append(ResponseEncoder.chatChunk(header, choices: [ChoiceContent(index: index, text: delta.text, tokens: delta.tokens)], logprobs: r.logprobs))
                    }
                    if let reason = delta.finishReason {
                        chunks.append(ResponseEncoder.chatChunk(header, choices: [ChoiceContent(index: index, text: "", finishReason: openAIFinishReason(reason))], logprobs: false))
                    }
                    return chunks
                }
            }
        }
        let (choices, usage) = try await collect(job, promptTokens: prompt.count)
        return jsonResponse(ResponseEncoder.data(ResponseEncoder.chat(header, choices: choices, logprobs: r.logprobs, usage: usage)))
    }

    // MARK: shared steps

    /// Runs `handle` with the request's body. If the client closes the connection before the
    /// answer is complete (a non-streamed request still generating), its job is cancelled.
    /// Streamed answers notice a closed connection when a write fails (see `sse`).
    func cancellingOnDisconnect(_ request: Request, _ handle: (RequestBody, Registration) async throws -> Response) async throws -> Response {
        let registration = Registration(engine: engine)
        return try await request.body.consumeWithInboundCloseHandler { body in
            let response = try await handle(body, registration)
            // From here a streamed body is being written: a closed connection shows as a failed write.
            registration.answered()
            return response
        } onInboundClosed: {
            registration.clientClosed()
        }
    }

    func body(of requestBody: RequestBody) async throws -> Data {
        do {
            let buffer = try await requestBody.collect(upTo: options.maxBodyBytes)
            return Data(buffer.readableBytesView)
        } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            throw APIError.tooLarge(limit: options.maxBodyBytes)
        }
    }

    /// A conversation as prompt tokens, as `generate --chat` makes them (`ChatTemplate.encode`).
    func encodeChat(_ messages: [ChatMessage], with template: ChatTemplate) throws -> [Int] {
        tokenizerLock.lock(); defer { tokenizerLock.unlock() }
        do { return try template.encode(messages, with: tokenizer) } catch {
            throw APIError.invalid("the conversation could not be tokenized: \(error)", param: "messages")
        }
    }

    func encode(_ text: String, parseSpecial: Bool) throws -> [Int] {
        tokenizerLock.lock(); defer { tokenizerLock.unlock() }
        do { return try tokenizer.encode(text, addSpecial: true, parseSpecial: parseSpecial) } catch {
            throw APIError.invalid("the prompt could not be tokenized: \(error)", param: "prompt")
        }
    }

    /// Checks the request against the context and the KV cache, and makes the engine's job.
    func makeJob(prompt: [Int], promptParam: String, _ p: GenerationParameters, defaultMaxTokens: Int?, topLogprobs: Int?) throws -> Job {
        guard !prompt.isEmpty else { throw APIError.invalid("the prompt is empty (no tokens to condition on)", param: promptParam) }
        let limit = engine.contextLimit
        guard prompt.count < limit else {
            throw APIError.invalid("the prompt is \(prompt.count) tokens long but the context holds \(limit) tokens", param: promptParam,
                                   code: "context_length_exceeded")
        }
        let room = limit - prompt.count
        let maxTokens = p.maxTokens ?? min(defaultMaxTokens ?? room, room)
        guard maxTokens <= room else {
            throw APIError.invalid("the context holds \(limit) tokens: \(prompt.count) in the prompt leave \(room) to generate, but \(maxTokens) were asked for",
                                   param: p.maxTokens == nil ? promptParam : "max_tokens", code: "context_length_exceeded")
        }
        // The loop runs min(parallel, n) samples of a request at once; they and the prompt must fit.
        let needed = DecodingLoop.cellsNeeded(promptTokens: prompt.count, batch: min(engine.options.parallel, p.n), maxTokens: maxTokens)
        guard needed <= engine.cacheCapacity else {
            throw APIError.invalid("\(p.n) samples of \(maxTokens) tokens after a \(prompt.count)-token prompt need \(needed) KV cells; the cache holds \(engine.cacheCapacity): lower n or max_tokens",
                                   param: "n")
        }
        return Job(prompt: prompt, samples: p.n, stop: StopRules(maxTokens: maxTokens, stopStrings: p.stop, stopAtEndOfGeneration: !p.ignoreEOS), settings: p.sampling,
                   seed: p.seed ?? UInt64.random(in: 0...UInt64.max), topLogprobs: topLogprobs)
    }

    /// Waits for a whole (non-streamed) answer. If the handler's task is cancelled (the client
    /// went away), the job is cancelled too.
    func collect(_ job: Job, promptTokens: Int) async throws -> ([ChoiceContent], Usage) {
        var choices = (0..<job.samples).map { ChoiceContent(index: $0, text: "") }
        var completionTokens = 0
        while true {
            guard let d = await job.mailbox.next() else { engine.cancel(job); throw CancellationError() }
            for (i, s) in d.samples {
                choices[i].text += s.text
                choices[i].tokens += s.tokens
                if let reason = s.finishReason { choices[i].finishReason = openAIFinishReason(reason); completionTokens += s.completionTokens }
            }
            if let failure = d.failure { throw failure }
            if d.done { return (choices, Usage(promptTokens: promptTokens, completionTokens: completionTokens)) }
        }
    }

    /// A streamed answer as server-sent events ending in `data: [DONE]`. `start` writes the
    /// opening events and returns how each sample's delta becomes chunks. A failed write means
    /// the client has gone: the job is cancelled at once and its cells freed.
    func sse(_ job: Job, header: ResponseHeader, usageObject: String, promptTokens: Int, includeUsage: Bool,
             start: @escaping @Sendable (inout SSEWriter) async throws -> (Int, SampleDelta) -> [JSONValue]) -> Response {
        let body = ResponseBody { [engine] writer in
            var sse = SSEWriter(writer: writer)
            do {
                let chunks = try await start(&sse)
                var completionTokens = 0
                while true {
                    guard let d = await job.mailbox.next() else { throw CancellationError() }
                    for (i, s) in d.samples.sorted(by: { $0.key < $1.key }) {
                        if s.finishReason != nil { completionTokens += s.completionTokens }
                        for chunk in chunks(i, s) { try await sse.event(chunk) }
                    }
                    if let failure = d.failure {
                        // Headers are sent: the error travels as an event (OpenAI's clients raise it).
                        try await sse.event(.object(["error": .object(["message": .string(failure.message), "type": .string(failure.type),
                                                                       "param": failure.param.map(JSONValue.string) ?? .null,
                                                                       "code": failure.code.map(JSONValue.string) ?? .null])]))
                        break
                    }
                    if d.done { break }
                }
                if includeUsage {
                    try await sse.event(ResponseEncoder.usageChunk(header, object: usageObject, usage: Usage(promptTokens: promptTokens, completionTokens: completionTokens)))
                }
                try await sse.done()
            } catch {
                engine.cancel(job)
                throw error
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}

/// The job a handler has submitted, for the connection-close callback (which can come first).
final class Registration: @unchecked Sendable {
    private let engine: Engine
    private let lock = NSLock()
    private var job: Job?
    private var closed = false
    init(engine: Engine) { self.engine = engine }

    func register(_ job: Job) {
        let cancelNow = lock.withLock { self.job = job; return closed }
        if cancelNow { engine.cancel(job) }
    }

    func clientClosed() {
        let job = lock.withLock { closed = true; return self.job }
        if let job { engine.cancel(job) }
    }

    /// The handler has returned its response: later close signals are not about this job.
    func answered() {
        lock.withLock { job = nil }
    }
}

/// Writes server-sent events: `data: <json>\n\n`, and `data: [DONE]\n\n` at the end.
struct SSEWriter {
    var writer: any ResponseBodyWriter
    mutating func event(_ value: JSONValue) async throws {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(ResponseEncoder.data(value))
        buffer.writeString("\n\n")
        try await writer.write(buffer)
    }
    mutating func done() async throws {
        try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
        try await writer.finish(nil)
    }
}

func jsonResponse(_ data: Data, status: Int = 200) -> Response {
    Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

func randomID() -> String {
    String((0..<24).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
}

/// Checks the API key and turns every error into OpenAI's shape, for all routes (unknown ones too).
struct OpenAIMiddleware<Context: RequestContext>: RouterMiddleware {
    let apiKey: String?
    let metrics: Metrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let endpoint = Self.label(request.uri.path)
        var response: Response
        do {
            if let apiKey, request.uri.path.hasPrefix("/v1/") { try Self.authorize(request.headers[.authorization], key: apiKey) }
            response = try await next(request, context)
        } catch {
            let e = Self.apiError(error, request: request)
            response = jsonResponse(e.jsonBody, status: e.status)
        }
        metrics.countHTTP(endpoint: endpoint, status: response.status.code)
        if Self.generating.contains(request.uri.path) {
            // Watching for a client's disconnect reads the connection past the request
            // (`cancellingOnDisconnect`), so it cannot carry another: say so, or a keep-alive
            // client would race the close with its next request.
            response.headers[.connection] = "close"
        }
        return response
    }

    static func authorize(_ header: String?, key: String) throws {
        guard let header else { throw APIError.unauthorized("no API key given: send 'Authorization: Bearer <key>'") }
        let given = Array(header.utf8), expected = Array("Bearer \(key)".utf8)
        // Compare every byte whatever the first difference, so timing does not reveal the key.
        var diff = given.count ^ expected.count
        for i in 0..<max(given.count, expected.count) {
            diff |= Int((i < given.count ? given[i] : 0) ^ (i < expected.count ? expected[i] : 0))
        }
        guard diff == 0 else { throw APIError.unauthorized("the API key is not valid") }
    }

    static func apiError(_ error: any Error, request: Request) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as any HTTPResponseError:
            switch e.status.code {
            case 404: return .notFound("no such endpoint: \(request.method) \(request.uri.path)")
            case 413: return APIError(status: 413, message: "the request body is too large", type: "invalid_request_error", code: "request_too_large")
            default: return APIError(status: e.status.code, message: e.status.reasonPhrase, type: e.status.code < 500 ? "invalid_request_error" : "server_error")
            }
        default: return .server("\(error)")
        }
    }

    static var generating: Set<String> { ["/v1/completions", "/v1/chat/completions"] }

    /// Endpoint label for metrics: known routes by name, anything else as "other".
    static func label(_ path: String) -> String {
        ["/v1/completions", "/v1/chat/completions", "/v1/models", "/health", "/metrics"].contains(path) ? path : "other"
    }
}
