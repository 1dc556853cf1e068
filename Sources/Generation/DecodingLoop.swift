import Foundation
import LlamaCore
import Tokenizers

/// One finished (or cancelled) sample of a request.
public struct SampleOutput: Sendable {
    public var index: Int
    public var tokens: [Int] = []
    public var logprobs: [Double] = []
    public var text = ""
    public var finishReason = FinishReason.maxTokens
    /// Seconds of the request's shared prompt pass (from its first chunk to its last, which may
    /// share steps with other sequences), and of this sample's decoding after it.
    public var promptSeconds = 0.0
    public var decodeSeconds = 0.0
    public var totalLogprob: Double { logprobs.reduce(0, +) }
}

/// What a request asks the loop for: `samples` continuations of one prompt, each with the
/// sampler `makeSampler(index)` gives it and the same stop rules.
public struct DecodeRequest {
    public var prompt: [Int]
    /// Sample indices, in the order they are admitted (e.g. 0..<n).
    public var samples: [Int]
    public var stop: StopRules
    public var makeSampler: (Int) -> Sampler
    /// Text of sample `index` as it becomes safe to show (never part of a stop string).
    public var onText: ((_ index: Int, _ text: String) -> Void)?
    /// Each token sample `index` adds to its output (never the end-of-generation token), with the
    /// logits it was drawn from, so a caller can report alternatives (a server's top logprobs).
    public var onToken: ((_ index: Int, _ token: SampledToken, _ logits: [Float]) -> Void)?
    /// Called once per sample, as it finishes.
    public var onFinish: (SampleOutput) throws -> Void

    public init(prompt: [Int], samples: [Int], stop: StopRules, makeSampler: @escaping (Int) -> Sampler,
                onText: ((Int, String) -> Void)? = nil, onToken: ((Int, SampledToken, [Float]) -> Void)? = nil,
                onFinish: @escaping (SampleOutput) throws -> Void = { _ in }) {
        self.prompt = prompt; self.samples = samples; self.stop = stop; self.makeSampler = makeSampler
        self.onText = onText; self.onToken = onToken; self.onFinish = onFinish
    }
}

/// The one decoding loop: every generation in LlamaCL (generate, best-of-N, a server's requests)
/// runs through it, so stop rules and sampling are implemented once.
///
/// A request's prompt is processed once, into cells of a prompt sequence; each sample forks
/// from it (its KV cache shares the prompt's cells and owns only its own tail) and starts from
/// the prompt's last logits. Each `step` samples one token for every live sequence, retires the
/// finished ones (their cells are freed at once) and runs one batch for the rest, so every
/// weight is read once per step for all of them. Waiting samples are admitted at these token
/// boundaries, as batch slots and cache cells allow.
///
/// Chunked prefill: prompts join that same batch, at most `prefillChunk` prompt tokens per
/// step for all prompts together (oldest request first). A long prompt or a burst of requests
/// then costs the running sequences a slightly longer step each, never a stall for the whole
/// prompt, and a new request's first token waits only for the prompts queued before it. A
/// request claims one batch slot and its cells when its prefill starts; its first sample forks
/// in the step its prompt's last chunk runs (the only prompt row that asks for logits).
///
/// Reproducibility: a sample's random stream comes from its own sampler (see
/// `SeededRandom(seed:streams:)`), and every op computes a row the same way whatever else is
/// in the batch, so a sample's tokens do not depend on which other sequences run beside it
/// (tested on the CPU backend). Attention reads cells in position order, so a prompt gives the
/// same bits whether it ran in one chunk or many.
///
/// The loop owns the model's KV cache while it runs: it clears it when created.
public final class DecodingLoop {
    public let model: any LanguageModel
    public let tokenizer: any Tokenizer
    /// Sequences decoded together at most.
    public let maxBatch: Int
    /// Prompt tokens evaluated per step, all pending prompts together. It bounds how much longer
    /// a step gets while prompts arrive (running sequences still produce a token every step)
    /// and the batch's activation memory, while each weight read still serves up to 256 rows.
    public let prefillChunk: Int
    public static let defaultPrefillChunk = 256
    /// The longest prompt plus generation the model and its cache can hold.
    public var contextLimit: Int { min(model.config.contextLength, model.cacheCapacity) }

    /// A request's shared state: its prompt sequence (from the start of its prefill until every
    /// sample has forked from it).
    private final class Group {
        let id: Int
        let request: DecodeRequest
        var waiting: ArraySlice<Int>
        var promptSequence: Int?
        /// Prompt tokens in the cache so far; the prompt is done when this reaches its length.
        var prefilled = 0
        var prefillStarted = Date()
        var promptLogits: [Float] = []
        var promptSeconds = 0.0
        /// Samples forked so far.
        var forked = 0
        /// The prompt's decoder state, copied into every sample (see `Live`).
        var continuation: StreamingDecoder
        var live = 0
        var cancelled = false
        /// Cells one sample may claim: its token limit, or the room the context leaves.
        let cellsPerSample: Int
        init(id: Int, request: DecodeRequest, tokenizer: any Tokenizer, contextLimit: Int) {
            self.id = id; self.request = request; waiting = request.samples[...]
            continuation = StreamingDecoder(tokenizer: tokenizer)
            cellsPerSample = min(request.stop.maxTokens, contextLimit - request.prompt.count)
        }
        var started: Bool { promptSequence != nil || forked > 0 }
        var prefilling: Bool { promptSequence != nil && prefilled < request.prompt.count }
        /// Prefill started, no sample yet: it holds a batch slot and the cells of its remaining
        /// prompt and first sample (see `admit`).
        var holdsClaim: Bool { started && forked == 0 }
    }

    /// A sample being decoded.
    private struct Live {
        let group: Group
        let sequence: Int
        var output: SampleOutput
        var sampler: Sampler
        var scanner: StopScanner
        var logits: [Float]
        let started: Date
    }

    private var groups: [Group] = []
    private var live: [Live] = []
    private var nextSequence = 0
    private var nextGroup = 0

    public init(model: any LanguageModel, tokenizer: any Tokenizer, maxBatch: Int, prefillChunk: Int = DecodingLoop.defaultPrefillChunk) throws {
        guard maxBatch > 0 else { throw GenerationError.invalidBatch(maxBatch) }
        guard prefillChunk > 0 else { throw GenerationError.invalidPrefillChunk(prefillChunk) }
        self.model = model; self.tokenizer = tokenizer; self.maxBatch = maxBatch; self.prefillChunk = prefillChunk
        model.resetCache()
    }

    /// KV cells a request needs at most: its prompt and `batch` samples of `maxTokens` each.
    public static func cellsNeeded(promptTokens: Int, batch: Int, maxTokens: Int) -> Int { promptTokens + batch * maxTokens }

    /// True when nothing is running or waiting.
    public var isIdle: Bool { groups.isEmpty }
    /// Sequences decoding now.
    public var liveCount: Int { live.count }
    /// Samples waiting to be admitted.
    public var waitingCount: Int { groups.reduce(0) { $0 + $1.waiting.count } }
    /// Requests whose prompts are being evaluated, chunk by chunk.
    public var prefillingCount: Int { groups.filter(\.prefilling).count }

    /// Queues a request; its samples are admitted at the next token boundaries. Returns its id.
    @discardableResult
    public func submit(_ request: DecodeRequest) throws -> Int {
        let prompt = request.prompt
        guard !prompt.isEmpty else { throw GenerationError.emptyPrompt }
        guard !request.samples.isEmpty else { throw GenerationError.noSamples }
        guard request.stop.maxTokens > 0 else { throw GenerationError.invalidMaxTokens(request.stop.maxTokens) }
        guard prompt.count < contextLimit else { throw GenerationError.promptTooLong(promptTokens: prompt.count, context: contextLimit) }
        // Even alone in the cache, the prompt and one batch of its samples must fit.
        let needed = Self.cellsNeeded(promptTokens: prompt.count, batch: min(maxBatch, request.samples.count),
                                      maxTokens: min(request.stop.maxTokens, contextLimit - prompt.count))
        guard needed <= model.cacheCapacity else { throw ModelError.cacheFull(needed: needed, free: model.cacheCapacity) }
        let group = Group(id: nextGroup, request: request, tokenizer: tokenizer, contextLimit: contextLimit)
        nextGroup += 1
        groups.append(group)
        return group.id
    }

    /// Stops a request: its live samples finish now (their cells are freed), waiting ones are
    /// dropped, and a prefill in progress ends (its prompt's cells are freed).
    public func cancel(_ id: Int) {
        guard let group = groups.first(where: { $0.id == id }) else { return }
        group.cancelled = true
        group.waiting = []
        for l in live where l.group === group { model.removeSequence(l.sequence) }
        live.removeAll { $0.group === group }
        group.live = 0
        retireIfDone(group)
    }

    /// Runs steps until every request has finished.
    public func run() throws {
        while !isIdle { try step() }
    }

    /// One token boundary: admit what fits, sample one token for every live sample, retire the
    /// finished ones, and run one batch for the rest with the next chunk of the pending prompts.
    public func step() throws {
        admit()
        var stepping: [Int] = []
        var finished: [Int] = []
        for i in live.indices {
            if try advance(&live[i]) { finished.append(i) } else { stepping.append(i) }
        }
        for i in finished {
            let l = live[i]
            model.removeSequence(l.sequence)
            l.group.live -= 1
            var output = l.output
            output.promptSeconds = l.group.promptSeconds
            output.decodeSeconds = Date().timeIntervalSince(l.started)
            try l.group.request.onFinish(output)
            retireIfDone(l.group)
        }
        live = stepping.map { live[$0] }
        // Decoding rows first: they want logits, and leading rows need no gather.
        var entries = live.map { l in
            BatchEntry(token: l.output.tokens.last!, position: l.group.request.prompt.count + l.output.tokens.count - 1,
                       sequence: l.sequence, wantsLogits: true)
        }
        let chunks = nextPromptChunks()
        for (group, range) in chunks {
            let prompt = group.request.prompt
            for p in range {
                entries.append(BatchEntry(token: prompt[p], position: p, sequence: group.promptSequence!, wantsLogits: p == prompt.count - 1))
            }
        }
        guard !entries.isEmpty else { return }
        let logits = try model.forward(entries)
        for row in live.indices { live[row].logits = logits[row] }
        var row = live.count
        for (group, range) in chunks {
            group.prefilled = range.upperBound
            guard group.prefilled == group.request.prompt.count else { continue }
            group.promptLogits = logits[row]
            row += 1
            finishPrefill(group)
        }
    }

    /// The prompt positions each prefilling request evaluates this step: `prefillChunk` tokens
    /// in all, oldest request first (it then gets its first token soonest).
    private func nextPromptChunks() -> [(Group, Range<Int>)] {
        var budget = prefillChunk
        var chunks: [(Group, Range<Int>)] = []
        for group in groups where group.prefilling && budget > 0 {
            let n = min(budget, group.request.prompt.count - group.prefilled)
            chunks.append((group, group.prefilled..<group.prefilled + n))
            budget -= n
        }
        return chunks
    }

    /// Samples the next token of `l`; returns true when the sample has finished.
    private func advance(_ l: inout Live) throws -> Bool {
        let request = l.group.request
        let stop = request.stop
        let next = try l.sampler.sample(l.logits, history: request.prompt + l.output.tokens)
        var reason: FinishReason?
        if stop.stopAtEndOfGeneration && tokenizer.isEndOfGeneration(next.token) {
            reason = .endOfGeneration
        } else {
            l.output.tokens.append(next.token)
            l.output.logprobs.append(next.logprob)
            request.onToken?(l.output.index, next, l.logits)
            let (text, stopped) = l.scanner.push(next.token)
            if !text.isEmpty { request.onText?(l.output.index, text) }
            if stopped {
                reason = .stopString
            } else if l.output.tokens.count >= stop.maxTokens {
                reason = .maxTokens
            } else if request.prompt.count + l.output.tokens.count >= contextLimit {
                reason = .contextFull
            }
        }
        guard let reason else { return false }
        if reason != .stopString {
            let rest = l.scanner.finish()
            if !rest.isEmpty { request.onText?(l.output.index, rest) }
        }
        l.output.text = l.scanner.text
        l.output.finishReason = reason
        return true
    }

    /// Fills free batch slots, oldest request first: its waiting samples fork from its finished
    /// prompt, or its prefill starts. Both wait until a slot and enough cells remain after what
    /// live samples and started prefills may still claim (or until nothing else runs: then the
    /// request's own check in `submit` guarantees the fit), so a step never runs out of cells.
    private func admit() {
        for group in groups where !group.cancelled {
            if !group.started {
                guard hasRoom(for: group.request.prompt.count + group.cellsPerSample) else { return }
                group.promptSequence = takeSequence()
                group.prefillStarted = Date()
                continue
            }
            if group.prefilling { continue }
            while !group.waiting.isEmpty {
                guard hasRoom(for: group.cellsPerSample) else { return }
                fork(group)
            }
        }
    }

    /// True when a batch slot is free and `cells` fit beside what is already promised.
    private func hasRoom(for cells: Int) -> Bool {
        let claims = groups.filter(\.holdsClaim)
        if live.isEmpty && claims.isEmpty { return true }
        return live.count + claims.count < maxBatch && model.freeCells >= reservedCells(claims) + cells
    }

    /// Cells that live samples may still claim before their token limits, and started prefills
    /// for the rest of their prompts and their first samples.
    private func reservedCells(_ claims: [Group]) -> Int {
        live.reduce(0) { $0 + max(0, $1.group.cellsPerSample - $1.output.tokens.count) }
            + claims.reduce(0) { $0 + $1.request.prompt.count - $1.prefilled + $1.cellsPerSample }
    }

    /// Starts the next waiting sample of `group` from its prompt's cells and last logits.
    private func fork(_ group: Group) {
        let index = group.waiting.removeFirst(), prompt = group.promptSequence!
        let sequence = takeSequence()
        model.copySequence(prompt, to: sequence)
        group.live += 1
        group.forked += 1
        live.append(Live(group: group, sequence: sequence, output: SampleOutput(index: index),
                         sampler: group.request.makeSampler(index),
                         scanner: StopScanner(stops: group.request.stop.stopStrings, continuation: group.continuation),
                         logits: group.promptLogits, started: Date()))
        if group.waiting.isEmpty {
            // Every sample has forked: the prompt's cells now belong to them alone.
            model.removeSequence(prompt)
            group.promptSequence = nil
        }
    }

    /// The prompt's last chunk has run: its first sample forks into the slot claimed for it,
    /// so it samples its first token at the next step.
    private func finishPrefill(_ group: Group) {
        group.promptSeconds = Date().timeIntervalSince(group.prefillStarted)
        // Samples' text continues the prompt: a fresh SentencePiece decoder would drop the
        // leading space of the first generated word ("▁there" after "Once upon a time").
        _ = group.continuation.push(contentsOf: group.request.prompt)
        _ = group.continuation.flush()
        fork(group)
    }

    private func retireIfDone(_ group: Group) {
        guard group.live == 0, group.waiting.isEmpty else { return }
        if let p = group.promptSequence { model.removeSequence(p); group.promptSequence = nil }
        groups.removeAll { $0 === group }
    }

    private func takeSequence() -> Int {
        defer { nextSequence += 1 }
        return nextSequence
    }
}
