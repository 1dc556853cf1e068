import GGUF

/// The LLaMA forward pass, written once against `Backend`. A call takes a batch of
/// (token, position, sequences) entries and returns the logits of the entries that ask for them.
public final class Transformer<B: Backend> {
    public let config: ModelConfig
    public let backend: B
    public let weights: ModelWeights<B.Weight>
    public private(set) var cells: KVCells
    /// K and V of every layer, in the backend's memory; `cells` says what each cell holds.
    let cache: B.KVCache
    /// Called with (layer, hidden state [T, D]) after each layer when set: `verify` compares these.
    public var layerObserver: ((Int, [Float]) -> Void)?

    private var scratch: Scratch?
    /// Backend op calls since the last `resetProfile()` (the part of the profile every backend has).
    private var opsIssued = 0

    /// Run state: every activation buffer, sized for `capacity` rows and reused across calls.
    struct Scratch {
        let capacity: Int
        let x, xb, q, k, v, att, proj, gate, up, logits: B.Tensor
    }

    public init(config: ModelConfig, weights: ModelWeights<B.Weight>, backend: B, cacheCells: Int? = nil) throws {
        self.config = config
        self.backend = backend
        self.weights = weights
        let cellCount = cacheCells ?? config.contextLength
        // A cache size is a request, not something we created: refuse a meaningless one here.
        // Whether it fits is the backend's question (host memory for the CPU, device memory for
        // a GPU), answered in makeKVCache.
        guard cellCount >= 1 else { throw ModelError.backend("the KV cache needs at least 1 cell, got \(cellCount)") }
        // The backend's check first: the host-side bookkeeping is sized by the same request.
        cache = try backend.makeKVCache(layers: config.layers, cells: cellCount, kvDim: config.kvDim)
        cells = KVCells(capacity: cellCount)
    }

    /// Loads config and weights from a GGUF file onto `backend`.
    public convenience init(gguf: GGUFFile, backend: B, cacheCells: Int? = nil) throws {
        let config = try ModelConfig(gguf: gguf)
        let weights = try ModelWeights<B.Weight>.load(from: gguf, config: config, backend: backend)
        try self.init(config: config, weights: weights, backend: backend, cacheCells: cacheCells ?? min(config.contextLength, 4096))
    }

    public var cacheCapacity: Int { cells.capacity }

    /// Logits of the entries with `wantsLogits`, in batch order, each row `vocabSize` long.
    public func forward(_ batch: [BatchEntry]) throws -> [[Float]] {
        let (wanted, s) = try run(batch)
        guard wanted > 0 else { return [] }
        let vocab = config.vocabSize
        let flat = try op { try backend.read(s.logits, rows: wanted) }
        return (0..<wanted).map { Array(flat[$0 * vocab..<($0 + 1) * vocab]) }
    }

    /// Greedy decoding: the argmax of each row that wants logits, found by the backend (on a
    /// device, only these ids come back to the host).
    public func forwardArgmax(_ batch: [BatchEntry]) throws -> [Int] {
        let (wanted, s) = try run(batch)
        guard wanted > 0 else { return [] }
        return try op { try backend.argmaxRows(s.logits, rows: wanted) }
    }

    /// The forward pass up to the logits of the rows that want them (in `logits`' first rows).
    private func run(_ batch: [BatchEntry]) throws -> (wanted: Int, scratch: Scratch) {
        let c = config
        guard !batch.isEmpty else { throw ModelError.invalidBatch("empty batch") }
        for e in batch {
            guard e.token >= 0, e.token < c.vocabSize else { throw ModelError.invalidToken(id: e.token, vocabSize: c.vocabSize) }
            guard e.position >= 0, e.position < c.contextLength else { throw ModelError.contextOverflow(needed: e.position + 1, context: c.contextLength) }
            guard !e.sequences.isEmpty else { throw ModelError.invalidBatch("entry without a sequence") }
        }
        let plan = try makePlan(batch)
        let s = try scratch(for: batch.count)
        let T = batch.count
        let rope = RopeParams(base: c.ropeBase, dims: c.ropeDim, style: c.ropeStyle, positionScale: c.ropeScale)

        // token embeddings
        try op { try backend.embed(s.x, table: weights.tokenEmbedding, plan: plan) }
        for (l, w) in weights.layers.enumerated() {
            // attention: x += Wo · attend(rope(Wq·n), rope(Wk·n), Wv·n), n = rmsnorm(x)
            try op {
                try backend.attentionInput(q: s.q, x: s.x, norm: w.attnNorm, eps: c.normEps, wq: w.wq, wk: w.wk, wv: w.wv,
                                           bq: w.bq, bk: w.bk, bv: w.bv, rope: rope, freqFactors: weights.ropeFreqFactors,
                                           cache: cache, layer: l, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim,
                                           plan: plan, scratch: (s.xb, s.k, s.v))
            }
            try op { try backend.attention(s.att, q: s.q, cache: cache, layer: l, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, plan: plan) }
            try op { try backend.matmulAdd(s.x, s.att, w.wo, scratch: s.proj, rows: T) }
            // feed-forward: x += W2 · (silu(W1·n) ⊙ W3·n), n = rmsnorm(x)
            try op { try backend.feedForwardInput(s.gate, x: s.x, norm: w.ffnNorm, eps: c.normEps, gate: w.gate, up: w.up, scratch: (s.xb, s.up), rows: T) }
            try op { try backend.matmulAdd(s.x, s.gate, w.down, scratch: s.proj, rows: T) }
            if let observe = layerObserver { observe(l, try backend.read(s.x, rows: T)) }
        }

        // final norm and classifier, only for the rows that want logits (gathered first unless
        // they are already the leading rows, as in a decode step)
        let wanted = batch.indices.filter { batch[$0].wantsLogits }
        guard !wanted.isEmpty else { return (0, s) }
        var source = s.x
        if wanted != Array(0..<wanted.count) {
            try op { try backend.gatherRows(s.xb, s.x, rows: wanted) }
            source = s.xb
        }
        try op { try backend.rmsNormMatmul(s.logits, source, norm: weights.outputNorm, eps: c.normEps, weights.output, scratch: s.proj, rows: wanted.count) }
        return (wanted.count, s)
    }

    /// Every backend call of the forward pass goes through here, so `profile.ops` counts them.
    @inline(__always) private func op<T>(_ body: () throws -> T) rethrows -> T {
        opsIssued += 1
        return try body()
    }

    /// The backend's counters with this model's op count.
    public var profile: BackendProfile {
        var p = backend.profile
        p.ops = opsIssued
        return p
    }

    public func resetProfile() {
        backend.resetProfile()
        opsIssued = 0
    }

    /// Places the batch in the cache and works out what each row may attend to.
    func makePlan(_ batch: [BatchEntry]) throws -> BatchPlan {
        let placed = try cells.place(batch)
        var offsets: [Int32] = [0], visible: [Int32] = []
        for e in batch {
            visible += cells.visible(to: e)
            offsets.append(Int32(visible.count))
        }
        return BatchPlan(tokens: batch.map { Int32($0.token) }, positions: batch.map { Int32($0.position) },
                         cells: placed, visibleOffsets: offsets, visibleCells: visible)
    }

    private func scratch(for rows: Int) throws -> Scratch {
        if let s = scratch, s.capacity >= rows { return s }
        let c = config
        let n = max(rows, 1)
        let s = Scratch(capacity: n,
                        x: try backend.makeTensor(rows: n, cols: c.dim), xb: try backend.makeTensor(rows: n, cols: c.dim),
                        q: try backend.makeTensor(rows: n, cols: c.qDim), k: try backend.makeTensor(rows: n, cols: c.kvDim),
                        v: try backend.makeTensor(rows: n, cols: c.kvDim), att: try backend.makeTensor(rows: n, cols: c.qDim),
                        proj: try backend.makeTensor(rows: n, cols: c.dim),
                        gate: try backend.makeTensor(rows: n, cols: c.ffnDim), up: try backend.makeTensor(rows: n, cols: c.ffnDim),
                        logits: try backend.makeTensor(rows: n, cols: c.vocabSize))
        scratch = s
        return s
    }

    // MARK: - Sequences

    public func copySequence(_ source: Int, to destination: Int) { cells.copySequence(source, to: destination) }
    public func removeSequence(_ seq: Int) { cells.removeSequence(seq) }
    public func resetCache() { cells.clear() }
    public var freeCells: Int { cells.freeCount }
}

/// A loaded model with its backend hidden: what generation, experiments and the CLI use.
public protocol LanguageModel: AnyObject {
    var config: ModelConfig { get }
    var backendName: String { get }
    var deviceName: String { get }
    var cacheCapacity: Int { get }
    var freeCells: Int { get }
    var layerObserver: ((Int, [Float]) -> Void)? { get set }
    func forward(_ batch: [BatchEntry]) throws -> [[Float]]
    /// Greedy decoding's forward: the argmax (`LlamaCore.argmax`, first index on ties) of each
    /// row that wants logits, in batch order. A backend with a device argmax returns only these
    /// ids to the host, not the logits.
    func forwardArgmax(_ batch: [BatchEntry]) throws -> [Int]
    /// What the backend did since the last `resetProfile()` (bench --profile).
    var profile: BackendProfile { get }
    func resetProfile()
    func copySequence(_ source: Int, to destination: Int)
    func removeSequence(_ seq: Int)
    func resetCache()
}

extension LanguageModel {
    public func forwardArgmax(_ batch: [BatchEntry]) throws -> [Int] { try forward(batch).map { argmax($0) } }
    public var profile: BackendProfile { BackendProfile() }
    public func resetProfile() {}
}

extension Transformer: LanguageModel {
    public var backendName: String { backend.name }
    public var deviceName: String { backend.deviceName }
}
