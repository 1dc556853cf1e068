/// The shape of a model to train: the LLaMA architecture (RMSNorm, RoPE "normal" pairing, GQA
/// attention, SwiGLU), tied or untied output. Written into the checkpoint as `llama.*` metadata.
public struct TinyLlamaConfig: Equatable, Codable, Sendable {
    public var dim: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var ffnDim: Int
    public var vocabSize: Int
    public var contextLength: Int
    public var ropeBase: Float
    public var normEps: Float
    public var tiedOutput: Bool

    public init(dim: Int, layers: Int, heads: Int, kvHeads: Int? = nil, ffnDim: Int? = nil, vocabSize: Int,
                contextLength: Int, ropeBase: Float = 10000, normEps: Float = 1e-5, tiedOutput: Bool = true) {
        self.dim = dim; self.layers = layers; self.heads = heads; self.kvHeads = kvHeads ?? heads
        // LLaMA's 8/3·D hidden width (same parameter count as a 4·D GELU MLP), rounded up to 16 lanes.
        self.ffnDim = ffnDim ?? max(16, (dim * 8 / 3 + 15) / 16 * 16)
        self.vocabSize = vocabSize; self.contextLength = contextLength
        self.ropeBase = ropeBase; self.normEps = normEps; self.tiedOutput = tiedOutput
    }

    public var headDim: Int { heads > 0 ? dim / heads : 0 }
    public var qDim: Int { heads * headDim }
    public var kvDim: Int { kvHeads * headDim }

    public var parameterCount: Int {
        let perLayer = 2 * dim + 2 * dim * qDim + 2 * dim * kvDim + 3 * dim * ffnDim
        return vocabSize * dim * (tiedOutput ? 1 : 2) + layers * perLayer + dim
    }

    /// Forward FLOPs per token of the matrix products (2 per multiply-add), attention excluded.
    public var matmulFlopsPerToken: Int { 2 * (layers * (2 * dim * qDim + 2 * dim * kvDim + 3 * dim * ffnDim) + dim * vocabSize) }

    public func validate() throws {
        func bad(_ what: String) -> TrainingError { .invalidConfig(what) }
        guard dim > 0, layers > 0, heads > 0, ffnDim > 0, vocabSize > 0, contextLength > 0 else {
            throw bad("dim, layers, heads, ffn, vocabulary and context must all be positive (dim \(dim), layers \(layers), heads \(heads), ffn \(ffnDim), vocab \(vocabSize), context \(contextLength))")
        }
        guard dim % heads == 0 else { throw bad("\(heads) heads do not divide the width \(dim)") }
        guard headDim % 2 == 0 else { throw bad("head size \(headDim) (dim / heads) must be even for RoPE") }
        guard kvHeads > 0, heads % kvHeads == 0 else { throw bad("\(kvHeads) KV heads must divide \(heads) heads") }
        guard ropeBase.isFinite, ropeBase > 1 else { throw bad("RoPE base \(ropeBase) must be above 1") }
        guard normEps.isFinite, normEps > 0 else { throw bad("norm epsilon \(normEps) must be positive") }
        guard dim <= 1 << 14, ffnDim <= 1 << 16, layers <= 256, vocabSize <= 1 << 20, contextLength <= 1 << 16 else {
            throw bad("model too large for CPU training (dim \(dim), ffn \(ffnDim), layers \(layers), vocab \(vocabSize), context \(contextLength))")
        }
    }
}
