import ArgumentParser
import Foundation
import Generation
import Serving
import Tokenizers

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the model over an OpenAI-compatible HTTP API (completions, chat, streaming), batching requests continuously.")

    @OptionGroup var model: ModelOption
    @OptionGroup var backend: BackendOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port, printed at start).") var port = 8080
    @Option(help: "Sequences decoded together at most (all requests' samples together).") var parallel = 4
    @Option(help: "Requests accepted at once (running and queued); more get HTTP 429.") var maxQueue = 64
    @Option(help: "Prompt tokens evaluated per step, all new requests together; running requests keep producing a token every step.")
    var prefillChunk = DecodingLoop.defaultPrefillChunk
    @Option(help: "Require this key as 'Authorization: Bearer KEY' on /v1/ endpoints (default: $LLAMACL_API_KEY, else none).") var apiKey: String?
    @Option(help: "Chat template when the model has none, or to override it: llama2, llama3, chatml, zephyr, phi3.") var chatTemplate: String?
    @Option(help: "Largest request body accepted, in bytes (larger: HTTP 413).") var maxBodyBytes = 1 << 20
    @Option(help: "Name of the model in /v1/models and responses (default: the file name without .gguf).") var alias: String?

    func validate() throws {
        guard (1...1024).contains(parallel) else { throw ValidationError("--parallel must be between 1 and 1024, got \(parallel)") }
        guard prefillChunk >= 1 else { throw ValidationError("--prefill-chunk must be at least 1, got \(prefillChunk)") }
        guard maxQueue >= 1 else { throw ValidationError("--max-queue must be at least 1, got \(maxQueue)") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535, got \(port)") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be at least 1024, got \(maxBodyBytes)") }
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
    }

    func run() throws {
        let (gguf, lm) = try backend.load(model.model)
        let tokenizer = try loadTokenizer(from: gguf)
        let template: ChatTemplate?
        if let chatTemplate {
            template = try ChatTemplate(named: chatTemplate)
        } else {
            do { template = try ChatTemplate(gguf: gguf) } catch TokenizerError.missingChatTemplate { template = nil }
        }
        var options = ServerOptions()
        options.host = host; options.port = port
        options.apiKey = apiKey ?? ProcessInfo.processInfo.environment["LLAMACL_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        options.modelID = alias ?? URL(fileURLWithPath: model.model).deletingPathExtension().lastPathComponent
        options.maxBodyBytes = maxBodyBytes
        options.systemFingerprint = "llamacl-\(LlamaCL.version)-\(lm.backendName)"
        let server = try OpenAIServer(model: lm, tokenizer: tokenizer, chatTemplate: template,
                                      engine: .init(parallel: parallel, maxRequests: maxQueue, prefillChunk: prefillChunk), options: options)
        let (host, modelID, parallel, cells) = (host, options.modelID, parallel, lm.cacheCapacity)
        let chat = template.map { "chat template \($0.family.rawValue)" } ?? "no chat template"
        // The server runs on Swift concurrency's threads; this one waits for it to end (SIGINT/SIGTERM).
        let finished = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        Task {
            do {
                try await server.serve { port in
                    print("llamacl serve: listening on http://\(host):\(port) (model \(modelID), \(chat), parallel \(parallel), \(cells) KV cells)", to: &standardError)
                }
            } catch { outcome.error = error }
            finished.signal()
        }
        finished.wait()
        if let error = outcome.error { throw error }
    }
}

/// The server task's error, handed to the waiting thread.
private final class Outcome: @unchecked Sendable { var error: (any Error)? }
