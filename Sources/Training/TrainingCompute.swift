import LlamaCore

/// What a run's batches hold, summed over the batches: the quantities training compute and
/// "tokens seen" are counted from.
public struct TrainingWork: Equatable, Codable, Sendable {
    /// Positions processed: rows × length per batch, padding included (it costs the same).
    public var tokens = 0
    /// Positions holding no example.
    public var paddingTokens = 0
    /// Predictions with loss weight (for `--loss completion`: the answer and its </s>).
    public var lossTokens = 0
    /// (query, key) pairs attention computes: Σ over positions of the positions it attends to
    /// (its segment's start through itself).
    public var attentionPairs = 0
    public var batches = 0

    public init() {}

    public init(batch: TokenBatch) {
        tokens = batch.rows * batch.length
        paddingTokens = batch.paddingTokens
        lossTokens = batch.lossWeights.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        var pairs = 0
        for i in 0..<tokens { pairs += i % batch.length - Int(batch.segmentStart[i]) + 1 }
        attentionPairs = pairs
        batches = 1
    }

    public static func + (a: TrainingWork, b: TrainingWork) -> TrainingWork {
        var s = a
        s.tokens += b.tokens; s.paddingTokens += b.paddingTokens; s.lossTokens += b.lossTokens
        s.attentionPairs += b.attentionPairs; s.batches += b.batches
        return s
    }

    enum CodingKeys: String, CodingKey {
        case tokens, batches
        case paddingTokens = "padding_tokens", lossTokens = "loss_tokens", attentionPairs = "attention_pairs"
    }
}

/// FLOPs of training counted from the model's shape and the batches' contents — the products
/// `TinyLlama` computes, one multiply-add = 2 FLOPs:
///
///     forward  = 2 · W · tokens  +  4 · layers · qDim · attentionPairs
///     training = 3 · forward
///
/// W is every weight a token is multiplied by: per layer Q, K, V, O, gate, up and down, plus the
/// output head (dim × vocab, counted even when tied to the embedding: the product is computed;
/// the embedding lookup itself is not a product). Attention does, per layer and per (query, key)
/// pair, a dot product of qDim for the score and an axpy of qDim for the value. The backward
/// pass computes both the input and the weight gradient of every matrix product (2×), and four
/// products of the forward's size in attention (dP, dV, dQ, dK: 2×), hence 3 × forward.
/// Not counted: element-wise work (norms, RoPE, SwiGLU, softmax, cross-entropy, AdamW), O(tokens ×
/// (dim + ffn + vocab)) — a few per cent at these sizes.
///
/// `sixND` is the usual approximation 6·N·D with N the non-embedding parameters (total minus the
/// vocab × dim input embedding) and D all processed tokens; for small models it leaves out the
/// output head and attention.
public struct TrainingFLOPs: Sendable {
    public let config: ModelConfig
    public init(config: ModelConfig) { self.config = config }

    /// Weights a token is multiplied by (see above).
    public var matmulWeights: Int {
        let c = config
        let perLayer = c.dim * c.qDim + 2 * c.dim * c.kvDim + c.qDim * c.dim + 3 * c.dim * c.ffnDim
        return c.layers * perLayer + c.dim * c.vocabSize
    }

    /// All parameters but the input embedding (what the scaling sweep calls N).
    public var nonEmbeddingParameters: Int { config.parameterCount - config.vocabSize * config.dim }

    public func forward(_ work: TrainingWork) -> Double {
        2 * Double(matmulWeights) * Double(work.tokens) + 4 * Double(config.layers) * Double(config.qDim) * Double(work.attentionPairs)
    }

    /// Forward and backward of every step.
    public func training(_ work: TrainingWork) -> Double { 3 * forward(work) }

    /// 6 · N_non-embedding · D_all-tokens.
    public func sixND(_ work: TrainingWork) -> Double { 6 * Double(nonEmbeddingParameters) * Double(work.tokens) }
}
