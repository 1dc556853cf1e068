import LlamaCore

/// Every activation the backward pass needs, plus gradient scratch, sized for one batch shape
/// and reused across steps (no allocation in the training loop).
final class Workspace<S: TrainScalar> {
    struct Layer {
        let input: Tensor<S>        // residual stream entering the layer (N, D)
        let attnRstd: Tensor<S>     // (N)
        let attnIn: Tensor<S>       // rmsnorm output (N, D)
        let q, k, v: Tensor<S>      // after RoPE for q, k: (N, H·Dh), (N, Hkv·Dh)
        let probs: Tensor<S>        // (B, H, T, T)
        let attn: Tensor<S>         // (N, H·Dh)
        let mid: Tensor<S>          // residual after attention (N, D)
        let ffnRstd: Tensor<S>
        let ffnIn: Tensor<S>        // (N, D)
        let gate, up, act: Tensor<S> // (N, F)
    }

    let rows: Int, length: Int
    var n: Int { rows * length }
    let tokens, targets, segmentStart, positions: IndexBuffer
    let lossWeights: Tensor<S>
    let layers: [Layer]
    let final: Tensor<S>, finalRstd: Tensor<S>, finalNormed: Tensor<S>, logits: Tensor<S>
    // Gradient scratch.
    let dx, dh: Tensor<S>
    let dq, dk, dv, dAttn: Tensor<S>
    let dGate, dUp, dAct: Tensor<S>
    let dLogits: Tensor<S>
    // Wᵀ of every matrix, refreshed at the start of each forward pass.
    let weightT: [ObjectIdentifier: Tensor<S>]

    init(config c: ModelConfig, params: ParameterSet<S>, rows: Int, length: Int) {
        self.rows = rows; self.length = length
        let n = rows * length
        func t(_ count: Int) -> Tensor<S> { Tensor<S>(count: count) }
        tokens = IndexBuffer(count: n); targets = IndexBuffer(count: n)
        segmentStart = IndexBuffer(count: n); positions = IndexBuffer(count: n)
        lossWeights = t(n)
        let shape = AttentionShape(batch: rows, length: length, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim)
        layers = (0..<c.layers).map { _ in
            Layer(input: t(n * c.dim), attnRstd: t(n), attnIn: t(n * c.dim),
                  q: t(n * c.qDim), k: t(n * c.kvDim), v: t(n * c.kvDim), probs: t(shape.probsCount), attn: t(n * c.qDim),
                  mid: t(n * c.dim), ffnRstd: t(n), ffnIn: t(n * c.dim),
                  gate: t(n * c.ffnDim), up: t(n * c.ffnDim), act: t(n * c.ffnDim))
        }
        final = t(n * c.dim); finalRstd = t(n); finalNormed = t(n * c.dim); logits = t(n * c.vocabSize)
        dx = t(n * c.dim); dh = t(n * c.dim)
        dq = t(n * c.qDim); dk = t(n * c.kvDim); dv = t(n * c.kvDim); dAttn = t(n * c.qDim)
        dGate = t(n * c.ffnDim); dUp = t(n * c.ffnDim); dAct = t(n * c.ffnDim)
        dLogits = t(n * c.vocabSize)
        var wt: [ObjectIdentifier: Tensor<S>] = [:]
        for e in params.entries where e.dims.count == 2 { wt[ObjectIdentifier(e.tensor)] = t(e.tensor.count) }
        weightT = wt
    }
}
