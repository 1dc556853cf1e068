import LlamaCore

/// The tensors of one layer, each a flat row-major array: matrices are [out, in] (ggml [in, out]).
public struct LayerTensors<S: TrainScalar> {
    public let attnNorm, wq, wk, wv, wo, ffnNorm, gate, up, down: Tensor<S>
}

/// Every trainable tensor of the model, under its GGUF name. Used for the parameters, their
/// gradients and the optimizer's two moment estimates, which all share this layout.
public final class ParameterSet<S: TrainScalar> {
    public struct Entry {
        public let name: String
        /// ggml order: innermost (contiguous) first, as GGUF stores it.
        public let dims: [Int]
        public let tensor: Tensor<S>
        /// Matrices get weight decay; norm gains and embeddings do not (see `AdamW`).
        public let decays: Bool
    }

    public let config: ModelConfig
    public let entries: [Entry]
    public let embedding: Tensor<S>
    public let layers: [LayerTensors<S>]
    public let outputNorm: Tensor<S>
    /// nil when the output is tied to the embedding.
    public let output: Tensor<S>?

    public init(config c: ModelConfig) {
        config = c
        var entries: [Entry] = []
        func make(_ name: String, _ dims: [Int], decays: Bool) -> Tensor<S> {
            let t = Tensor<S>(count: dims.reduce(1, *))
            entries.append(Entry(name: name, dims: dims, tensor: t, decays: decays))
            return t
        }
        embedding = make("token_embd.weight", [c.dim, c.vocabSize], decays: false)
        layers = (0..<c.layers).map { l in
            let p = "blk.\(l)."
            return LayerTensors(
                attnNorm: make(p + "attn_norm.weight", [c.dim], decays: false),
                wq: make(p + "attn_q.weight", [c.dim, c.qDim], decays: true),
                wk: make(p + "attn_k.weight", [c.dim, c.kvDim], decays: true),
                wv: make(p + "attn_v.weight", [c.dim, c.kvDim], decays: true),
                wo: make(p + "attn_output.weight", [c.qDim, c.dim], decays: true),
                ffnNorm: make(p + "ffn_norm.weight", [c.dim], decays: false),
                gate: make(p + "ffn_gate.weight", [c.dim, c.ffnDim], decays: true),
                up: make(p + "ffn_up.weight", [c.dim, c.ffnDim], decays: true),
                down: make(p + "ffn_down.weight", [c.ffnDim, c.dim], decays: true))
        }
        outputNorm = make("output_norm.weight", [c.dim], decays: false)
        output = c.tiedOutput ? nil : make("output.weight", [c.dim, c.vocabSize], decays: true)
        self.entries = entries
    }

    /// The output classifier's weight (V, D): the embedding when tied.
    public var classifier: Tensor<S> { output ?? embedding }

    public var count: Int { entries.reduce(0) { $0 + $1.tensor.count } }

    public func zero() { for e in entries { e.tensor.zero() } }

    /// Seeded initialisation (GPT-2 / nanoGPT style): norm gains 1; every matrix and the
    /// embedding N(0, std²); the two projections that write into the residual stream (attention
    /// output, FFN down) N(0, (std/√(2·layers))²), so the residual's variance does not grow
    /// with depth. Each tensor has its own stream keyed by its index, so the values do not
    /// depend on anything but the seed and the shape.
    public func initialize(seed: UInt64, std: Double = 0.02) {
        let residualStd = std / (2 * Double(config.layers)).squareRoot()
        for (index, e) in entries.enumerated() {
            if e.dims.count == 1 {
                e.tensor.data.update(repeating: 1, count: e.tensor.count)
                continue
            }
            let sigma = e.name.hasSuffix("attn_output.weight") || e.name.hasSuffix("ffn_down.weight") ? residualStd : std
            var rng = TrainingRandom(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index + 1))
            for i in 0..<e.tensor.count { e.tensor[i] = S(rng.nextNormal() * sigma) }
        }
    }

    /// Copies values from a set of the same shape in another number type (Float ⇄ Double).
    public func copy<T: TrainScalar>(from other: ParameterSet<T>) {
        for (a, b) in zip(entries, other.entries) {
            for i in 0..<a.tensor.count { a.tensor[i] = S(b.tensor[i]) }
        }
    }
}
