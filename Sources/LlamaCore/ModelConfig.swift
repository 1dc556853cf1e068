import GGUF

public enum Architecture: String, Sendable { case llama, qwen2 }

/// How RoPE pairs the dimensions of a head: `normal` rotates (2i, 2i+1) — llama GGUFs store Q/K
/// permuted for this — and `neox` rotates (i, i + d/2), as qwen2 does.
public enum RopeStyle: String, Sendable { case normal, neox }

/// Hyperparameters read from GGUF metadata (keys are prefixed by the architecture name).
public struct ModelConfig: Equatable, Sendable {
    public var architecture: Architecture
    public var dim: Int            // embedding width
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ffnDim: Int
    public var vocabSize: Int
    public var contextLength: Int
    public var normEps: Float
    public var ropeBase: Float
    public var ropeDim: Int        // dimensions rotated per head (≤ headDim)
    public var ropeStyle: RopeStyle
    public var ropeScale: Float    // positions are multiplied by this (linear scaling: 1 / factor)
    /// Whether the output classifier is the token embedding, i.e. the file has no `output.weight`
    /// (Hugging Face's `tie_word_embeddings`). GGUF has no key for it: `init(gguf:)` reads it from
    /// the tensor list, and `ggufMetadata` leaves it to the writer, which adds `output.weight` or not.
    public var tiedOutput: Bool

    public var qDim: Int { heads * headDim }
    public var kvDim: Int { kvHeads * headDim }

    public init(architecture: Architecture, dim: Int, layers: Int, heads: Int, kvHeads: Int, headDim: Int? = nil,
                ffnDim: Int, vocabSize: Int, contextLength: Int, normEps: Float = 1e-5, ropeBase: Float = 10000,
                ropeDim: Int? = nil, ropeScale: Float = 1, tiedOutput: Bool = false) {
        self.architecture = architecture
        self.dim = dim; self.layers = layers; self.heads = heads; self.kvHeads = kvHeads
        self.headDim = headDim ?? (heads > 0 ? dim / heads : 0)
        self.ffnDim = ffnDim; self.vocabSize = vocabSize; self.contextLength = contextLength
        self.normEps = normEps; self.ropeBase = ropeBase
        self.ropeDim = ropeDim ?? self.headDim
        self.ropeStyle = architecture == .qwen2 ? .neox : .normal
        self.ropeScale = ropeScale
        self.tiedOutput = tiedOutput
    }

    public init(gguf: GGUFFile) throws {
        guard let archName = try gguf.string("general.architecture") else { throw ModelError.missingMetadata("general.architecture") }
        guard let arch = Architecture(rawValue: archName) else { throw ModelError.unsupportedArchitecture(archName) }
        func required(_ key: String) throws -> Int {
            guard let v = try gguf.int("\(archName).\(key)") else { throw ModelError.missingMetadata("\(archName).\(key)") }
            return v
        }
        let dim = try required("embedding_length")
        let heads = try required("attention.head_count")
        let kvHeads = try gguf.int("\(archName).attention.head_count_kv") ?? heads
        let vocab = try gguf.stringArray("tokenizer.ggml.tokens")?.count
            ?? gguf.int("\(archName).vocab_size")
            ?? gguf.tensor(named: "token_embd.weight").map { $0.dims.count == 2 ? $0.dims[1] : 0 } ?? 0
        var scale: Float = 1
        if try gguf.string("\(archName).rope.scaling.type") == "linear", let factor = try gguf.double("\(archName).rope.scaling.factor") {
            guard factor.isFinite, factor > 0 else { throw ModelError.invalidMetadata(key: "\(archName).rope.scaling.factor", reason: "\(factor) is not positive") }
            scale = Float(1 / factor)
        }
        self.init(architecture: arch, dim: dim, layers: try required("block_count"), heads: heads, kvHeads: kvHeads,
                  headDim: try gguf.int("\(archName).attention.key_length"),
                  ffnDim: try required("feed_forward_length"), vocabSize: vocab,
                  contextLength: try required("context_length"),
                  normEps: Float(try gguf.double("\(archName).attention.layer_norm_rms_epsilon") ?? 1e-5),
                  ropeBase: Float(try gguf.double("\(archName).rope.freq_base") ?? 10000),
                  ropeDim: try gguf.int("\(archName).rope.dimension_count"), ropeScale: scale,
                  tiedOutput: gguf.tensor(named: "output.weight") == nil)
        try validate(prefix: archName)
        try Self.validateSpecialTokens(in: gguf, vocabSize: vocab)
    }

    /// The special token ids a model run relies on (BOS starts prompts, EOS ends generation)
    /// must be tokens of the vocabulary: a file that says otherwise is refused at load, as the
    /// tokenizer refuses it, rather than producing an id no layer can embed. `vocabSize` nil:
    /// the length of `tokenizer.ggml.tokens` (a vocab-only file); nothing to check without one.
    public static func validateSpecialTokens(in gguf: GGUFFile, vocabSize: Int? = nil) throws {
        guard let n = try vocabSize ?? gguf.stringArray("tokenizer.ggml.tokens")?.count else { return }
        for key in ["tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"] {
            guard let id = try gguf.int(key) else { continue }
            guard id >= 0, id < n else { throw ModelError.specialTokenOutOfRange(key: key, id: id, vocabSize: n) }
        }
    }

    /// Weights in the model's tensors: the embedding; per layer the two norm gains, Q, K, V, O
    /// (and qwen2's Q/K/V biases), gate, up and down; the final norm; and the output matrix
    /// unless it is tied. Llama-3 `rope_freqs` (fixed, not weights) are not counted.
    public var parameterCount: Int {
        let biases = architecture == .qwen2 ? qDim + 2 * kvDim : 0
        let perLayer = 2 * dim + 2 * dim * qDim + 2 * dim * kvDim + 3 * dim * ffnDim + biases
        return vocabSize * dim * (tiedOutput ? 1 : 2) + layers * perLayer + dim
    }

    /// Rejects metadata that cannot describe a working model, before any tensor is touched.
    public func validate(prefix: String = "model") throws {
        func bad(_ key: String, _ reason: String) -> ModelError { .invalidMetadata(key: "\(prefix).\(key)", reason: reason) }
        let limit = 1 << 24
        guard dim > 0, dim <= limit else { throw bad("embedding_length", "\(dim) is not a positive width") }
        guard layers > 0, layers <= 4096 else { throw bad("block_count", "\(layers) layers") }
        guard heads > 0, heads <= dim else { throw bad("attention.head_count", "\(heads) heads") }
        guard dim % heads == 0 else { throw bad("attention.head_count", "\(heads) heads do not divide the width \(dim)") }
        guard kvHeads > 0, kvHeads <= heads, heads % kvHeads == 0 else {
            throw bad("attention.head_count_kv", "\(kvHeads) KV heads must be positive and divide \(heads) heads")
        }
        guard headDim > 0, headDim % 2 == 0, headDim <= 4096 else { throw bad("attention.key_length", "head size \(headDim) must be positive and even") }
        guard ffnDim > 0, ffnDim <= limit else { throw bad("feed_forward_length", "\(ffnDim)") }
        guard vocabSize > 0, vocabSize <= limit else { throw bad("vocab_size", "vocabulary size \(vocabSize)") }
        guard contextLength > 0 else { throw bad("context_length", "context length must be positive, found \(contextLength)") }
        guard normEps.isFinite, normEps > 0, normEps < 1 else { throw bad("attention.layer_norm_rms_epsilon", "\(normEps)") }
        guard ropeBase.isFinite, ropeBase > 1 else { throw bad("rope.freq_base", "\(ropeBase) must be a finite number above 1") }
        guard ropeDim > 0, ropeDim <= headDim, ropeDim % 2 == 0 else { throw bad("rope.dimension_count", "\(ropeDim) for head size \(headDim)") }
    }
}

extension ModelConfig {
    /// The `<architecture>.*` keys that `init(gguf:)` reads, as GGUF metadata: the one schema that
    /// synthetic models (`ModelSynthesizer`) and training checkpoints are written with. The
    /// writer adds `general.architecture` (= `architecture.rawValue`) and the tokenizer.
    ///
    /// Always written, in this order: context_length, embedding_length, block_count,
    /// feed_forward_length, attention.head_count, attention.head_count_kv,
    /// rope.dimension_count, rope.freq_base, attention.layer_norm_rms_epsilon, vocab_size
    /// (integers uint32, floats float32, as llama.cpp writes them). Only when they differ from
    /// the defaults: attention.key_length / value_length (head size other than dim / heads) and
    /// rope.scaling.type "linear" with rope.scaling.factor 1 / ropeScale. `ropeStyle` follows
    /// from the architecture and `tiedOutput` from the tensors, so neither is a key.
    public var ggufMetadata: [(String, GGUFValue)] {
        let a = architecture.rawValue
        func u32(_ v: Int) -> GGUFValue { .uint32(UInt32(v)) }
        var m: [(String, GGUFValue)] = [
            ("\(a).context_length", u32(contextLength)),
            ("\(a).embedding_length", u32(dim)),
            ("\(a).block_count", u32(layers)),
            ("\(a).feed_forward_length", u32(ffnDim)),
            ("\(a).attention.head_count", u32(heads)),
            ("\(a).attention.head_count_kv", u32(kvHeads)),
        ]
        if heads * headDim != dim {
            m.append(("\(a).attention.key_length", u32(headDim)))
            m.append(("\(a).attention.value_length", u32(headDim)))
        }
        m.append(("\(a).rope.dimension_count", u32(ropeDim)))
        m.append(("\(a).rope.freq_base", .float32(ropeBase)))
        if ropeScale != 1 {
            m.append(("\(a).rope.scaling.type", .string("linear")))
            m.append(("\(a).rope.scaling.factor", .float32(1 / ropeScale)))
        }
        m.append(("\(a).attention.layer_norm_rms_epsilon", .float32(normEps)))
        m.append(("\(a).vocab_size", u32(vocabSize)))
        return m
    }
}
