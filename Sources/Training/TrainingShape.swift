import LlamaCore

/// The shape of a model to train is LlamaCore's `ModelConfig` with architecture `llama`
/// (RMSNorm, RoPE "normal" pairing, GQA attention, SwiGLU), tied or untied output; the
/// checkpoint writes it with `ModelConfig.ggufMetadata`. Here: training's defaults and limits.
extension ModelConfig {
    /// LLaMA's 8/3·D SwiGLU hidden width (the parameter count of a 4·D GELU MLP), rounded up to
    /// 16 lanes, at least 16: the feed-forward width a trained model gets unless one is given.
    public static func trainingFFNWidth(dim: Int) -> Int { max(16, (dim * 8 / 3 + 15) / 16 * 16) }

    /// A `llama` model to train, with training's defaults: as many KV heads as heads, the
    /// feed-forward width `trainingFFNWidth(dim:)`, and an output tied to the embedding.
    public static func training(dim: Int, layers: Int, heads: Int, kvHeads: Int? = nil, ffnDim: Int? = nil, vocabSize: Int,
                                contextLength: Int, ropeBase: Float = 10000, normEps: Float = 1e-5, tiedOutput: Bool = true) -> ModelConfig {
        ModelConfig(architecture: .llama, dim: dim, layers: layers, heads: heads, kvHeads: kvHeads ?? heads,
                    ffnDim: ffnDim ?? trainingFFNWidth(dim: dim), vocabSize: vocabSize, contextLength: contextLength,
                    normEps: normEps, ropeBase: ropeBase, tiedOutput: tiedOutput)
    }

    /// What CPU training supports: a `llama` model whose head size is dim / heads and whose RoPE
    /// rotates every head dimension, unscaled, within sizes that train on a CPU. Throws
    /// `TrainingError.invalidConfig`.
    public func validateForTraining() throws {
        func bad(_ what: String) -> TrainingError { .invalidConfig(what) }
        guard dim > 0, layers > 0, heads > 0, ffnDim > 0, vocabSize > 0, contextLength > 0 else {
            throw bad("dim, layers, heads, ffn, vocabulary and context must all be positive (dim \(dim), layers \(layers), heads \(heads), ffn \(ffnDim), vocab \(vocabSize), context \(contextLength))")
        }
        guard dim % heads == 0 else { throw bad("\(heads) heads do not divide the width \(dim)") }
        guard headDim * heads == dim else { throw bad("head size \(headDim) must be the width / heads (\(dim / heads))") }
        guard headDim % 2 == 0 else { throw bad("head size \(headDim) (dim / heads) must be even for RoPE") }
        guard kvHeads > 0, heads % kvHeads == 0 else { throw bad("\(kvHeads) KV heads must divide \(heads) heads") }
        guard ropeBase.isFinite, ropeBase > 1 else { throw bad("RoPE base \(ropeBase) must be above 1") }
        guard normEps.isFinite, normEps > 0 else { throw bad("norm epsilon \(normEps) must be positive") }
        guard architecture == .llama, ropeStyle == .normal else { throw bad("training builds llama models, not \(architecture.rawValue)") }
        guard ropeDim == headDim, ropeScale == 1 else {
            throw bad("training rotates all \(headDim) dimensions of a head, unscaled (RoPE dimensions \(ropeDim), scale \(ropeScale))")
        }
        guard dim <= 1 << 14, ffnDim <= 1 << 16, layers <= 256, vocabSize <= 1 << 20, contextLength <= 1 << 16 else {
            throw bad("model too large for CPU training (dim \(dim), ffn \(ffnDim), layers \(layers), vocab \(vocabSize), context \(contextLength))")
        }
    }
}
