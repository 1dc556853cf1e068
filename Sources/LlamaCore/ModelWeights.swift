import GGUF

/// Every weight of a LLaMA-family model, uploaded to a backend. Shapes in ggml order
/// (innermost first) as GGUF stores them; as matrices, [out, in].
public struct LayerWeights<W> {
    public var attnNorm: W       // (D)
    public var wq: W             // (D, H·Dh)
    public var wk: W             // (D, Hkv·Dh)
    public var wv: W             // (D, Hkv·Dh)
    public var wo: W             // (H·Dh, D)
    public var bq: W?, bk: W?, bv: W?   // qwen2 biases
    public var ffnNorm: W        // (D)
    public var gate: W           // (D, F)
    public var up: W             // (D, F)
    public var down: W           // (F, D)
}

public struct ModelWeights<W> {
    public var tokenEmbedding: W       // (D, V)
    public var layers: [LayerWeights<W>]
    public var outputNorm: W           // (D)
    public var output: W               // (D, V): token_embd when tied
    public var ropeFreqFactors: W?     // (Dh/2) Llama 3.1+ frequency factors
    public var outputIsTied: Bool

    /// Checks every tensor's presence and shape against the config, then uploads it.
    public static func load<B: Backend>(from gguf: GGUFFile, config c: ModelConfig, backend: B) throws -> ModelWeights<B.Weight> where B.Weight == W {
        func find(_ name: String, _ shape: [Int]) throws -> WeightSource {
            guard let t = gguf.tensor(named: name) else { throw ModelError.missingTensor(name) }
            var dims = t.dims
            while dims.count > shape.count, dims.last == 1 { dims.removeLast() }
            guard dims == shape else { throw ModelError.shapeMismatch(tensor: name, expected: shape, found: t.dims) }
            return WeightSource(name: name, type: t.type, rows: t.rowCount, cols: t.dims[0], data: gguf.data(for: t), owner: gguf)
        }
        func load(_ name: String, _ shape: [Int]) throws -> W { try backend.upload(find(name, shape)) }
        func optional(_ name: String, _ shape: [Int]) throws -> W? {
            gguf.tensor(named: name) == nil ? nil : try load(name, shape)
        }

        let layers = try (0..<c.layers).map { i -> LayerWeights<W> in
            let p = "blk.\(i)."
            return LayerWeights(
                attnNorm: try load(p + "attn_norm.weight", [c.dim]),
                wq: try load(p + "attn_q.weight", [c.dim, c.qDim]),
                wk: try load(p + "attn_k.weight", [c.dim, c.kvDim]),
                wv: try load(p + "attn_v.weight", [c.dim, c.kvDim]),
                wo: try load(p + "attn_output.weight", [c.qDim, c.dim]),
                bq: try optional(p + "attn_q.bias", [c.qDim]),
                bk: try optional(p + "attn_k.bias", [c.kvDim]),
                bv: try optional(p + "attn_v.bias", [c.kvDim]),
                ffnNorm: try load(p + "ffn_norm.weight", [c.dim]),
                gate: try load(p + "ffn_gate.weight", [c.dim, c.ffnDim]),
                up: try load(p + "ffn_up.weight", [c.dim, c.ffnDim]),
                down: try load(p + "ffn_down.weight", [c.ffnDim, c.dim]))
        }
        let embedding = try load("token_embd.weight", [c.dim, c.vocabSize])
        let tied = gguf.tensor(named: "output.weight") == nil
        return ModelWeights(
            tokenEmbedding: embedding,
            layers: layers,
            outputNorm: try load("output_norm.weight", [c.dim]),
            output: tied ? embedding : try load("output.weight", [c.dim, c.vocabSize]),
            ropeFreqFactors: try optional("rope_freqs.weight", [c.ropeDim / 2]),
            outputIsTied: tied)
    }
}
