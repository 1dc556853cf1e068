import Foundation
import Generation
import LlamaCore
import Tokenizers

/// Runs Generation's one decoding loop on a dedicated thread, never on the server's event
/// loops: handlers put jobs into a locked inbox and wait on their mailboxes; the thread admits
/// new jobs at token boundaries (continuous batching), steps, delivers, and sleeps on a
/// condition when there is nothing to do.
public final class Engine: @unchecked Sendable {
    public struct Options: Sendable {
        /// Sequences decoded together at most (the decoding loop's batch).
        public var parallel = 4
        /// Requests accepted but not finished, at most; beyond it new ones get 429.
        public var maxRequests = 64
        /// Prompt tokens evaluated per step (`DecodingLoop.prefillChunk`).
        public var prefillChunk = DecodingLoop.defaultPrefillChunk
        public init(parallel: Int = 4, maxRequests: Int = 64, prefillChunk: Int = DecodingLoop.defaultPrefillChunk) {
            self.parallel = parallel; self.maxRequests = maxRequests; self.prefillChunk = prefillChunk
        }
    }

    public let options: Options
    public let contextLimit: Int
    public let cacheCapacity: Int
    let tokenizer: any Tokenizer
    let metrics: Metrics
    /// Touched by the engine thread only (the model and its KV cache are not thread-safe).
    private let loop: DecodingLoop
    private var active: [Int: Job] = [:]
    private var generatedThisStep = 0

    // Shared with the handlers, under `condition`.
    private let condition = NSCondition()
    private var inbox: [Job] = []
    private var cancellations: [Job] = []
    private var inFlight = 0
    private var stopping = false
    private var thread: Thread?

    public init(model: any LanguageModel, tokenizer: any Tokenizer, options: Options, metrics: Metrics) throws {
        self.options = options; self.tokenizer = tokenizer; self.metrics = metrics
        loop = try DecodingLoop(model: model, tokenizer: tokenizer, maxBatch: options.parallel, prefillChunk: options.prefillChunk)
        contextLimit = loop.contextLimit
        cacheCapacity = model.cacheCapacity
        metrics.publish(generated: 0, waiting: 0, running: 0, sequences: 0, cellsInUse: 0, cellsTotal: cacheCapacity)
    }

    public func start() {
        let t = Thread { [self] in run() }
        t.name = "llamacl-engine"
        t.stackSize = 16 << 20
        thread = t
        t.start()
    }

    /// Ends the thread after the current step; unfinished requests fail.
    public func stop() {
        condition.lock(); stopping = true; condition.signal(); condition.unlock()
    }

    /// Queues a job; 429 when `maxRequests` are already in flight (the queue never grows without bound).
    func submit(_ job: Job) throws {
        condition.lock(); defer { condition.unlock() }
        guard !stopping else { throw APIError(status: 503, message: "the server is shutting down", type: "server_error") }
        guard inFlight < options.maxRequests else {
            throw APIError.overloaded("the server is busy: \(inFlight) requests in flight (at most \(options.maxRequests)); retry later")
        }
        inFlight += 1
        inbox.append(job)
        condition.signal()
    }

    /// The client gave up: the job's samples stop at the next token boundary and free their cells.
    func cancel(_ job: Job) {
        guard job.mailbox.abandon() else { return }
        condition.lock(); cancellations.append(job); condition.signal(); condition.unlock()
    }

    // MARK: the engine thread

    private func run() {
        while true {
            condition.lock()
            while inbox.isEmpty && cancellations.isEmpty && loop.isIdle && !stopping { condition.wait() }
            let arrived = inbox, cancelled = cancellations, stop = stopping
            inbox = []; cancellations = []
            condition.unlock()
            if stop {
                for job in arrived + Array(active.values) { finish(job, failure: APIError(status: 503, message: "the server is shutting down", type: "server_error")) }
                return
            }
            for job in arrived { admit(job) }
            for job in cancelled { if let id = job.loopID, active[id] != nil { loop.cancel(id); finish(job, failure: .cancelled) } }
            if !loop.isIdle {
                do { try loop.step() } catch { failAll(error) }
            }
            publish()
        }
    }

    private func admit(_ job: Job) {
        // Given up before it started: nothing to free.
        guard !job.mailbox.isAbandoned else { finish(job, failure: .cancelled); return }
        let request = DecodeRequest(
            prompt: job.prompt, samples: Array(0..<job.samples), stop: job.stop, makeSampler: job.sampler,
            onText: { index, text in job.mailbox.text(index, text) },
            onToken: { [unowned self] index, token, logits in self.delivered(job, index, token, logits) },
            onFinish: { [unowned self] output in
                job.mailbox.finish(output.index, reason: output.finishReason, completionTokens: output.tokens.count)
                job.finishedSamples += 1
                if job.finishedSamples == job.samples { self.finish(job, failure: nil) }
            })
        do {
            let id = try loop.submit(request)
            job.loopID = id
            active[id] = job
            metrics.addPromptTokens(job.prompt.count)
        } catch {
            // The handler checks these limits first; this is the loop's own word on them.
            finish(job, failure: .invalid("\(error)"))
        }
    }

    private func delivered(_ job: Job, _ index: Int, _ token: SampledToken, _ logits: [Float]) {
        generatedThisStep += 1
        if !job.started {
            job.started = true
            metrics.observeTTFT(Date().timeIntervalSince(job.accepted))
        }
        if let k = job.topLogprobs {
            job.mailbox.token(index, TokenLogprobs.describe(token, logits: logits, top: k, tokenizer: tokenizer))
        }
    }

    private func finish(_ job: Job, failure: APIError?) {
        if let id = job.loopID { active[id] = nil }
        job.mailbox.close(failure: failure)
        condition.lock(); inFlight -= 1; condition.unlock()
    }

    /// A step failed (e.g. the model produced NaN): the loop's state cannot be trusted for the
    /// requests in it, so they all end with a server error and their cells are freed.
    private func failAll(_ error: any Error) {
        for (id, job) in active {
            loop.cancel(id)
            finish(job, failure: .server("generation failed: \(error)"))
        }
    }

    private func publish() {
        let running = active.values.filter(\.started).count
        condition.lock(); let waiting = inFlight - running; condition.unlock()
        metrics.publish(generated: generatedThisStep, waiting: waiting, running: running, sequences: loop.liveCount,
                        cellsInUse: cacheCapacity - loop.model.freeCells, cellsTotal: cacheCapacity)
        generatedThisStep = 0
    }
}

extension APIError {
    /// A job whose client went away (never sent: there is no one to read it).
    static let cancelled = APIError(status: 499, message: "the client closed the request", type: "cancelled")
}

/// Log-probabilities of a sampled token and its likeliest alternatives, from the raw logits.
enum TokenLogprobs {
    static func describe(_ token: SampledToken, logits: [Float], top k: Int, tokenizer: any Tokenizer) -> TokenLogprob {
        func piece(_ id: Int) -> (String, [UInt8]) {
            let bytes = tokenizer.pieceBytes(id)
            return (String(decoding: bytes, as: UTF8.self), bytes)
        }
        let (text, bytes) = piece(token.token)
        var alternatives: [TokenLogprob.Alternative] = []
        if k > 0 {
            let m = Double(logits.max() ?? 0)
            var sum = 0.0
            for v in logits { sum += exp(Double(v) - m) }
            let logZ = m + log(sum)
            for id in topIndices(logits, k) {
                let (t, b) = piece(id)
                alternatives.append(.init(text: t, bytes: b, logprob: Double(logits[id]) - logZ))
            }
        }
        return TokenLogprob(token: token.token, text: text, bytes: bytes, logprob: token.logprob, top: alternatives)
    }

    /// Indices of the k largest values, largest first (ties by lower id), in one pass.
    static func topIndices(_ x: [Float], _ k: Int) -> [Int] {
        var best: [Int] = []
        best.reserveCapacity(k + 1)
        func better(_ a: Int, _ b: Int) -> Bool { x[a] != x[b] ? x[a] > x[b] : a < b }
        for i in x.indices {
            if best.count == k, let last = best.last, !better(i, last) { continue }
            let at = best.firstIndex { better(i, $0) } ?? best.count
            best.insert(i, at: at)
            if best.count > k { best.removeLast() }
        }
        return best
    }
}
