import LlamaCore

/// A LLaMA-architecture model that trains: the forward pass saves what the backward pass needs,
/// and `backward()` fills `grads` with the gradient of the mean cross-entropy of the last
/// forward batch. Generic over the number type so the gradient checks can run it in Double.
public final class TinyLlama<S: TrainScalar> {
    public let config: ModelConfig
    public let params: ParameterSet<S>
    public let grads: ParameterSet<S>
    public var threads: Int
    let rope: RopeTable<S>
    private var workspace: Workspace<S>?
    private var hasForward = false

    public init(config: ModelConfig, threads: Int = 1) throws {
        try config.validateForTraining()
        self.config = config
        self.threads = max(1, threads)
        params = ParameterSet(config: config)
        grads = ParameterSet(config: config)
        rope = RopeTable(headDim: config.headDim, positions: config.contextLength, base: config.ropeBase)
    }

    private func workspace(rows: Int, length: Int) -> Workspace<S> {
        if let w = workspace, w.rows == rows, w.length == length { return w }
        let w = Workspace(config: config, params: params, rows: rows, length: length)
        workspace = w
        return w
    }

    /// Logits (rows·length, vocab) of the last forward pass.
    public var logits: [S] { workspace.map { Array(UnsafeBufferPointer(start: $0.logits.data, count: $0.n * config.vocabSize)) } ?? [] }

    /// Runs the batch and returns its mean cross-entropy over the tokens with loss weight.
    @discardableResult
    public func forward(_ batch: TokenBatch) throws -> Double {
        try batch.validate(vocabSize: config.vocabSize, context: config.contextLength)
        let c = config, p = params, th = threads
        let ws = workspace(rows: batch.rows, length: batch.length)
        let n = ws.n
        ws.tokens.load(batch.tokens); ws.targets.load(batch.targets)
        ws.segmentStart.load(batch.segmentStart); ws.positions.load(batch.positions)
        for i in 0..<n { ws.lossWeights[i] = S(batch.lossWeights[i]) }
        for e in p.entries where e.dims.count == 2 {
            Gemm.transpose(ws.weightT[ObjectIdentifier(e.tensor)]!.data, e.tensor.data, rows: e.dims[1], cols: e.dims[0], threads: th)
        }
        func wT(_ w: Tensor<S>) -> UnsafePointer<S> { UnsafePointer(ws.weightT[ObjectIdentifier(w)]!.data) }
        let shape = AttentionShape(batch: batch.rows, length: batch.length, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim)
        let eps = S(c.normEps)

        Ops.embedForward(ws.layers.first?.input.data ?? ws.final.data, table: p.embedding.data, tokens: ws.tokens.data, rows: n, dim: c.dim)
        for (l, w) in p.layers.enumerated() {
            let a = ws.layers[l]
            let next = l + 1 < c.layers ? ws.layers[l + 1].input : ws.final
            // x_mid = x + Wo · attention(rope(Wq·h), rope(Wk·h), Wv·h),  h = rmsnorm(x)
            Ops.rmsNormForward(a.attnIn.data, rstd: a.attnRstd.data, a.input.data, weight: w.attnNorm.data, rows: n, dim: c.dim, eps: eps, threads: th)
            LinearOp.forward(a.q.data, a.attnIn.data, wT: wT(w.wq), rows: n, inDim: c.dim, outDim: c.qDim, threads: th)
            LinearOp.forward(a.k.data, a.attnIn.data, wT: wT(w.wk), rows: n, inDim: c.dim, outDim: c.kvDim, threads: th)
            LinearOp.forward(a.v.data, a.attnIn.data, wT: wT(w.wv), rows: n, inDim: c.dim, outDim: c.kvDim, threads: th)
            Ops.ropeForward(a.q.data, table: rope, positions: ws.positions.data, rows: n, heads: c.heads)
            Ops.ropeForward(a.k.data, table: rope, positions: ws.positions.data, rows: n, heads: c.kvHeads)
            AttentionOp.forward(a.attn.data, probs: a.probs.data, q: a.q.data, k: a.k.data, v: a.v.data,
                                segmentStart: ws.segmentStart.data, shape: shape, threads: th)
            a.mid.copy(from: a.input)
            LinearOp.forward(a.mid.data, a.attn.data, wT: wT(w.wo), rows: n, inDim: c.qDim, outDim: c.dim, accumulate: true, threads: th)
            // x_next = x_mid + W2 · (silu(W1·h) ⊙ W3·h),  h = rmsnorm(x_mid)
            Ops.rmsNormForward(a.ffnIn.data, rstd: a.ffnRstd.data, a.mid.data, weight: w.ffnNorm.data, rows: n, dim: c.dim, eps: eps, threads: th)
            LinearOp.forward(a.gate.data, a.ffnIn.data, wT: wT(w.gate), rows: n, inDim: c.dim, outDim: c.ffnDim, threads: th)
            LinearOp.forward(a.up.data, a.ffnIn.data, wT: wT(w.up), rows: n, inDim: c.dim, outDim: c.ffnDim, threads: th)
            Ops.swigluForward(a.act.data, gate: a.gate.data, up: a.up.data, count: n * c.ffnDim, threads: th)
            next.copy(from: a.mid)
            LinearOp.forward(next.data, a.act.data, wT: wT(w.down), rows: n, inDim: c.ffnDim, outDim: c.dim, accumulate: true, threads: th)
        }
        Ops.rmsNormForward(ws.finalNormed.data, rstd: ws.finalRstd.data, ws.final.data, weight: p.outputNorm.data, rows: n, dim: c.dim, eps: eps, threads: th)
        LinearOp.forward(ws.logits.data, ws.finalNormed.data, wT: wT(p.classifier), rows: n, inDim: c.dim, outDim: c.vocabSize, threads: th)
        hasForward = true
        return Ops.crossEntropy(dLogits: ws.dLogits.data, logits: ws.logits.data, targets: ws.targets.data, weights: ws.lossWeights.data,
                                rows: n, vocab: c.vocabSize, threads: th)
    }

    /// Loss only, for held-out evaluation (the gradient the forward pass prepares is simply unused).
    public func loss(_ batch: TokenBatch) throws -> Double { try forward(batch) }

    /// Gradients of the last forward pass's loss into `grads` (overwritten).
    public func backward() throws {
        guard hasForward, let ws = workspace else { throw TrainingError.invalidData("backward() needs a forward pass first") }
        let c = config, p = params, g = grads, th = threads, n = ws.n
        let shape = AttentionShape(batch: ws.rows, length: ws.length, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim)
        g.zero()
        func linearBack(dx: Tensor<S>, accumulate: Bool, dW: Tensor<S>, dy: Tensor<S>, x: Tensor<S>, w: Tensor<S>, inDim: Int, outDim: Int) {
            LinearOp.backward(dx: dx.data, accumulateInput: accumulate, dWeight: dW.data, dy: dy.data, x.data, weight: w.data,
                              rows: n, inDim: inDim, outDim: outDim, threads: th)
        }

        // Classifier and final norm. With a tied output the classifier's gradient lands in the
        // embedding's gradient, and the embedding lookup adds its own at the end.
        linearBack(dx: ws.dh, accumulate: false, dW: g.classifier, dy: ws.dLogits, x: ws.finalNormed, w: p.classifier, inDim: c.dim, outDim: c.vocabSize)
        ws.dx.zero()
        Ops.rmsNormBackward(dx: ws.dx.data, dWeight: g.outputNorm.data, dy: ws.dh.data, ws.final.data, weight: p.outputNorm.data,
                            rstd: ws.finalRstd.data, rows: n, dim: c.dim, threads: th)
        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            let a = ws.layers[l], w = p.layers[l], gw = g.layers[l]
            // Feed-forward branch; dx holds dL/dx_next and becomes dL/dx_mid.
            linearBack(dx: ws.dAct, accumulate: false, dW: gw.down, dy: ws.dx, x: a.act, w: w.down, inDim: c.ffnDim, outDim: c.dim)
            Ops.swigluBackward(dGate: ws.dGate.data, dUp: ws.dUp.data, dOut: ws.dAct.data, gate: a.gate.data, up: a.up.data, count: n * c.ffnDim, threads: th)
            linearBack(dx: ws.dh, accumulate: false, dW: gw.gate, dy: ws.dGate, x: a.ffnIn, w: w.gate, inDim: c.dim, outDim: c.ffnDim)
            linearBack(dx: ws.dh, accumulate: true, dW: gw.up, dy: ws.dUp, x: a.ffnIn, w: w.up, inDim: c.dim, outDim: c.ffnDim)
            Ops.rmsNormBackward(dx: ws.dx.data, dWeight: gw.ffnNorm.data, dy: ws.dh.data, a.mid.data, weight: w.ffnNorm.data,
                                rstd: a.ffnRstd.data, rows: n, dim: c.dim, threads: th)
            // Attention branch; dx becomes dL/dx (the layer's input).
            linearBack(dx: ws.dAttn, accumulate: false, dW: gw.wo, dy: ws.dx, x: a.attn, w: w.wo, inDim: c.qDim, outDim: c.dim)
            AttentionOp.backward(dq: ws.dq.data, dk: ws.dk.data, dv: ws.dv.data, dOut: ws.dAttn.data, probs: a.probs.data,
                                 q: a.q.data, k: a.k.data, v: a.v.data, segmentStart: ws.segmentStart.data, shape: shape, threads: th)
            Ops.ropeBackward(ws.dq.data, table: rope, positions: ws.positions.data, rows: n, heads: c.heads)
            Ops.ropeBackward(ws.dk.data, table: rope, positions: ws.positions.data, rows: n, heads: c.kvHeads)
            linearBack(dx: ws.dh, accumulate: false, dW: gw.wq, dy: ws.dq, x: a.attnIn, w: w.wq, inDim: c.dim, outDim: c.qDim)
            linearBack(dx: ws.dh, accumulate: true, dW: gw.wk, dy: ws.dk, x: a.attnIn, w: w.wk, inDim: c.dim, outDim: c.kvDim)
            linearBack(dx: ws.dh, accumulate: true, dW: gw.wv, dy: ws.dv, x: a.attnIn, w: w.wv, inDim: c.dim, outDim: c.kvDim)
            Ops.rmsNormBackward(dx: ws.dx.data, dWeight: gw.attnNorm.data, dy: ws.dh.data, a.input.data, weight: w.attnNorm.data,
                                rstd: a.attnRstd.data, rows: n, dim: c.dim, threads: th)
        }
        // Tied or not, the lookup's gradient adds to what the classifier left (zero when untied).
        Ops.embedBackward(g.embedding.data, dx: ws.dx.data, tokens: ws.tokens.data, rows: n, dim: c.dim)
    }
}
