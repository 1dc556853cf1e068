import Foundation
import Generation
import LlamaCore

/// A validated request, ready for the engine: what to decode and where its output goes.
final class Job: @unchecked Sendable {
    let prompt: [Int]
    let samples: Int
    let stop: StopRules
    let settings: SamplerSettings
    let seed: UInt64
    /// Alternatives per token to report; nil = no logprobs.
    let topLogprobs: Int?
    let mailbox = Mailbox()
    let accepted = Date()

    // Engine thread only.
    var loopID: Int?
    var finishedSamples = 0
    var started = false

    init(prompt: [Int], samples: Int, stop: StopRules, settings: SamplerSettings, seed: UInt64, topLogprobs: Int?) {
        self.prompt = prompt; self.samples = samples; self.stop = stop; self.settings = settings; self.seed = seed
        self.topLogprobs = topLogprobs
    }

    /// Sample i's sampler: its stream depends only on (seed, i), never on what else is running,
    /// which is what makes a seeded request reproducible under load.
    func sampler(_ index: Int) -> Sampler {
        Sampler(settings: settings, rng: SeededRandom(seed: seed, streams: [0, UInt64(index)]))
    }
}

/// What a sample produced since the handler last looked.
struct SampleDelta: Equatable {
    var text = ""
    var tokens: [TokenLogprob] = []
    var finishReason: FinishReason?
    /// Tokens generated in all (set when the sample finishes).
    var completionTokens = 0
}

/// The one channel from the engine thread to a request's handler. The engine appends and rings;
/// it never waits. What accumulates is coalesced, so a slow client receives bigger pieces and
/// holds no more than its own request's output (at most n × max_tokens tokens, bounded by
/// validation), and the engine is never blocked on a socket.
final class Mailbox: @unchecked Sendable {
    struct Delivery {
        var samples: [Int: SampleDelta] = [:]
        /// Set when the request is over: every sample finished, or `failure`.
        var done = false
        var failure: APIError?
    }

    private let lock = NSLock()
    private var pending = Delivery()
    private var closed = false
    private var abandoned = false
    private let rings: AsyncStream<Void>
    private let bell: AsyncStream<Void>.Continuation

    init() {
        // One pending ring is enough: the handler drains everything on each.
        (rings, bell) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: engine side

    func token(_ index: Int, _ t: TokenLogprob) { update { $0.samples[index, default: SampleDelta()].tokens.append(t) } }
    func text(_ index: Int, _ s: String) { update { $0.samples[index, default: SampleDelta()].text += s } }
    func finish(_ index: Int, reason: FinishReason, completionTokens: Int) {
        update {
            $0.samples[index, default: SampleDelta()].finishReason = reason
            $0.samples[index, default: SampleDelta()].completionTokens = completionTokens
        }
    }
    /// The request is over (normally, or with `failure`). Later calls are ignored.
    func close(failure: APIError? = nil) {
        lock.lock()
        if !closed {
            closed = true
            pending.done = true
            pending.failure = failure
        }
        lock.unlock()
        bell.yield()
        bell.finish()
    }

    private func update(_ change: (inout Delivery) -> Void) {
        lock.lock()
        guard !closed else { lock.unlock(); return }
        change(&pending)
        lock.unlock()
        bell.yield()
    }

    // MARK: handler side

    /// Marks the request as given up by its client; true the first time.
    func abandon() -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard !abandoned else { return false }
        abandoned = true
        return true
    }

    var isAbandoned: Bool { lock.lock(); defer { lock.unlock() }; return abandoned }

    /// Everything since the last call; waits until there is something. After a delivery with
    /// `done`, further calls return an empty done delivery. Nil when the task is cancelled.
    func next() async -> Delivery? {
        var iterator = rings.makeAsyncIterator()
        while true {
            let taken: Delivery? = lock.withLock {
                guard pending.done || !pending.samples.isEmpty else { return nil }
                defer { pending.samples = [:] }
                return pending
            }
            if let taken { return taken }
            if await iterator.next() == nil {
                // The bell finished: everything is in `pending` now (or the task was cancelled).
                if Task.isCancelled { return nil }
                continue
            }
        }
    }
}
