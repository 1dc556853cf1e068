import Foundation

/// The model dimensions that set the cost of a token.
public struct ModelShape: Codable, Equatable, Sendable {
    /// Total parameter count (all weight matrices, embeddings included).
    public var parameters: Int
    public var layers: Int
    /// Width of the attention queries: heads × head dimension (usually the embedding width).
    public var attentionWidth: Int

    public init(parameters: Int, layers: Int, attentionWidth: Int) {
        self.parameters = parameters
        self.layers = layers
        self.attentionWidth = attentionWidth
    }

    /// Forward-pass FLOPs for one token that attends to `context` positions (itself included):
    ///
    ///     2·P  +  2 · layers · context · attentionWidth · 2
    ///
    /// 2·P is one multiply-add per weight (Kaplan et al. 2020, "Scaling Laws", C_forward ≈ 2N);
    /// the second term is attention's QKᵀ and A·V products, each a multiply-add per
    /// (layer, attended position, query dimension). With grouped-query attention the K/V heads
    /// are shared but every query head still does this work, so the query width is the right one.
    public func flopsPerToken(context: Int) -> Double {
        2 * Double(parameters) + 4 * Double(layers) * Double(context) * Double(attentionWidth)
    }

    /// FLOPs for tokens at positions start..<start+count (token at position p attends to p + 1
    /// positions), summed in closed form.
    public func flops(positions start: Int, count: Int) -> Double {
        guard count > 0 else { return 0 }
        // Σ_{p=start}^{start+count−1} (p + 1) = count·start + count·(count+1)/2
        let contexts = Double(count) * Double(start) + Double(count) * Double(count + 1) / 2
        return 2 * Double(parameters) * Double(count) + 4 * Double(layers) * Double(attentionWidth) * contexts
    }
}

/// Work done by a run (or part of one).
public struct ComputeCost: Codable, Equatable, Sendable {
    /// Prompt tokens, counted once per problem: best-of-N decodes the prompt once and every
    /// sample shares its KV cache.
    public var promptTokens: Int
    /// Generated tokens summed over all samples.
    public var generatedTokens: Int
    /// Estimated forward FLOPs (prompt once per problem + every sample's tokens after it); nil
    /// when the model shape is unknown.
    public var flops: Double?
    public var seconds: Double
    /// Generated tokens per wall-clock second (0 when no time was recorded).
    public var tokensPerSecond: Double

    public init(promptTokens: Int = 0, generatedTokens: Int = 0, flops: Double? = nil, seconds: Double = 0) {
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
        self.flops = flops
        self.seconds = seconds
        self.tokensPerSecond = seconds > 0 ? Double(generatedTokens) / seconds : 0
    }

    /// The cost of one problem: its prompt once, then each sample's tokens continuing from the
    /// end of the prompt.
    public static func forProblem(promptTokens: Int, sampleLengths: [Int], seconds: Double = 0, model: ModelShape?) -> ComputeCost {
        let flops = model.map { m in
            m.flops(positions: 0, count: promptTokens) + sampleLengths.reduce(0) { $0 + m.flops(positions: promptTokens, count: $1) }
        }
        return ComputeCost(promptTokens: promptTokens, generatedTokens: sampleLengths.reduce(0, +), flops: flops, seconds: seconds)
    }

    /// Sum of two costs (throughput recomputed from the totals).
    public static func + (a: ComputeCost, b: ComputeCost) -> ComputeCost {
        let flops: Double? = (a.flops == nil && b.flops == nil) ? nil : (a.flops ?? 0) + (b.flops ?? 0)
        return ComputeCost(promptTokens: a.promptTokens + b.promptTokens, generatedTokens: a.generatedTokens + b.generatedTokens,
                           flops: flops, seconds: a.seconds + b.seconds)
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", generatedTokens = "generated_tokens", flops, seconds
        case tokensPerSecond = "tokens_per_second"
    }
}
