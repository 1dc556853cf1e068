import Foundation
import LlamaCore

/// AdamW (Loshchilov & Hutter 2019) as PyTorch implements it:
///   p ← p·(1 − lr·λ)                                  decoupled weight decay, matrices only
///   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
///   p ← p − lr · (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε)
/// Weight decay skips norm gains (they set a scale, decaying them towards 0 fights the norm)
/// and the embedding (each row sees few updates; with a tied output it is also the classifier).
public final class AdamW<S: TrainScalar> {
    public struct Settings: Equatable, Codable, Sendable {
        public var beta1: Double = 0.9
        public var beta2: Double = 0.95
        public var epsilon: Double = 1e-8
        public var weightDecay: Double = 0.1
        public init(beta1: Double = 0.9, beta2: Double = 0.95, epsilon: Double = 1e-8, weightDecay: Double = 0.1) {
            self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.weightDecay = weightDecay
        }
    }

    public let settings: Settings
    public private(set) var step = 0
    let m: ParameterSet<S>
    let v: ParameterSet<S>

    public init(config: ModelConfig, settings: Settings = Settings()) {
        self.settings = settings
        m = ParameterSet(config: config)
        v = ParameterSet(config: config)
    }

    /// One update of `params` with `grads` at learning rate `lr`.
    public func update(_ params: ParameterSet<S>, grads: ParameterSet<S>, lr: Double, threads: Int = 1) {
        step += 1
        let s = settings
        let b1 = S(s.beta1), b2 = S(s.beta2), eps = S(s.epsilon)
        let c1 = S(1 - pow(s.beta1, Double(step))), c2 = S(1 - pow(s.beta2, Double(step)))
        let rate = S(lr)
        for (i, e) in params.entries.enumerated() {
            let p = e.tensor.data, g = grads.entries[i].tensor.data
            let mt = m.entries[i].tensor.data, vt = v.entries[i].tensor.data
            let keep = e.decays ? S(1 - lr * s.weightDecay) : 1
            parallelChunks(e.tensor.count, threads: threads, minimumChunk: 1 << 14) { range in
                for j in range {
                    mt[j] = b1 * mt[j] + (1 - b1) * g[j]
                    vt[j] = b2 * vt[j] + (1 - b2) * g[j] * g[j]
                    p[j] = p[j] * keep - rate * (mt[j] / c1) / ((vt[j] / c2).squareRoot() + eps)
                }
            }
        }
    }
}

/// Scales all gradients together so their global L2 norm is at most `maxNorm`; returns the
/// norm before clipping (logged: spikes show instability).
@discardableResult
public func clipGradients<S: TrainScalar>(_ grads: ParameterSet<S>, maxNorm: Double) -> Double {
    var sum = 0.0
    for e in grads.entries {
        var part: S = 0
        for j in 0..<e.tensor.count { part += e.tensor[j] * e.tensor[j] }
        sum += Double(part)
    }
    let norm = sum.squareRoot()
    if maxNorm > 0, norm > maxNorm {
        let scale = S(maxNorm / (norm + 1e-6))
        for e in grads.entries { for j in 0..<e.tensor.count { e.tensor[j] *= scale } }
    }
    return norm
}

/// Learning rate: linear warmup from peak/warmup to the peak over `warmup` steps, then cosine
/// decay to `minRatio`·peak at the last step (GPT-3 / Chinchilla style; 10% by default).
public struct LearningRateSchedule: Equatable, Codable, Sendable {
    public var peak: Double
    public var warmup: Int
    public var total: Int
    public var minRatio: Double

    public init(peak: Double, warmup: Int, total: Int, minRatio: Double = 0.1) {
        self.peak = peak; self.warmup = warmup; self.total = total; self.minRatio = minRatio
    }

    /// The rate for step `step` (0-based).
    public func rate(at step: Int) -> Double {
        if step < warmup { return peak * Double(step + 1) / Double(warmup) }
        let span = max(1, total - 1 - warmup)
        let progress = min(1, Double(step - warmup) / Double(span))
        let floor = peak * minRatio
        return floor + (peak - floor) * 0.5 * (1 + cos(.pi * progress))
    }
}
