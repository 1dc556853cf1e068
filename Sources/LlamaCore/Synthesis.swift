import Dispatch
import Foundation
import GGUF

/// Writes random-weight models of real shapes, so benchmarks, tests and scaling runs need no
/// download. Weights ~ U(±√(3/fan_in)) (variance 1/fan_in), norms 1 ± 0.1, embeddings
/// variance 1: activations stay realistic, text is gibberish by design.
public struct ModelSynthesizer {
    public struct Shape: Equatable {
        public var dim, layers, heads, kvHeads, ffnDim, vocabSize, contextLength: Int
        public var ropeBase: Float = 10000
        public var tiedOutput = false
        public var llama3RopeFactors = false
        /// `qwen2` adds Q/K/V biases and uses neox RoPE pairing (see ModelConfig).
        public var architecture = Architecture.llama

        public init(dim: Int, layers: Int, heads: Int, kvHeads: Int, ffnDim: Int, vocabSize: Int, contextLength: Int,
                    ropeBase: Float = 10000, tiedOutput: Bool = false, llama3RopeFactors: Bool = false) {
            self.dim = dim; self.layers = layers; self.heads = heads; self.kvHeads = kvHeads; self.ffnDim = ffnDim
            self.vocabSize = vocabSize; self.contextLength = contextLength; self.ropeBase = ropeBase
            self.tiedOutput = tiedOutput; self.llama3RopeFactors = llama3RopeFactors
        }

        /// Shapes of public models, by the names people use for them.
        public static let named: [String: Shape] = [
            "stories15M": Shape(dim: 288, layers: 6, heads: 6, kvHeads: 6, ffnDim: 768, vocabSize: 32000, contextLength: 256),
            "stories110M": Shape(dim: 768, layers: 12, heads: 12, kvHeads: 12, ffnDim: 2048, vocabSize: 32000, contextLength: 1024),
            "TinyLlama-1.1B": Shape(dim: 2048, layers: 22, heads: 32, kvHeads: 4, ffnDim: 5632, vocabSize: 32000, contextLength: 2048),
            "Llama-3.2-1B": Shape(dim: 2048, layers: 16, heads: 32, kvHeads: 8, ffnDim: 8192, vocabSize: 128256, contextLength: 131072,
                                  ropeBase: 500000, tiedOutput: true, llama3RopeFactors: true),
        ]

        /// The hyperparameters of this shape (head size dim / heads, norm epsilon 1e-5).
        public var config: ModelConfig {
            ModelConfig(architecture: architecture, dim: dim, layers: layers, heads: heads, kvHeads: kvHeads, ffnDim: ffnDim,
                        vocabSize: vocabSize, contextLength: contextLength, ropeBase: ropeBase, tiedOutput: tiedOutput)
        }

        public var parameterCount: Int { config.parameterCount }
    }

    public var shape: Shape
    public var type: TensorType
    public var seed: UInt64
    public var name: String

    public init(shape: Shape, type: TensorType, seed: UInt64 = 1, name: String = "synthetic") {
        self.shape = shape; self.type = type; self.seed = seed; self.name = name
    }

    /// Builds the writer; `tokenizer` holds the `tokenizer.*` metadata (see `builtinByteVocabulary`).
    public func makeWriter(tokenizer: [(String, GGUFValue)]) throws -> GGUFWriter {
        let s = shape
        guard s.heads > 0, s.dim % s.heads == 0, s.kvHeads > 0, s.heads % s.kvHeads == 0 else {
            throw ModelError.invalidMetadata(key: "shape", reason: "heads \(s.heads) / kv heads \(s.kvHeads) must divide width \(s.dim)")
        }
        let headDim = s.dim / s.heads, kvDim = s.kvHeads * headDim
        var w = GGUFWriter()
        let arch = s.architecture.rawValue
        w.set("general.architecture", arch)
        w.set("general.name", "\(name) (random weights)")
        w.set("general.description", "LlamaCL synthetic model: random weights, not trained; output text is meaningless")
        for (k, v) in s.config.ggufMetadata { w.set(k, v) }
        for (k, v) in tokenizer { w.set(k, v) }

        // Row lengths that are not whole blocks of `type` (small test shapes) fall back to F32,
        // as llama-quantize does for tensors it cannot quantize.
        func matrixType(_ cols: Int) -> TensorType { type.rowBytes(cols) == nil ? .f32 : type }
        var index: UInt64 = 0
        func add(_ name: String, _ dims: [Int], kind: Init) throws {
            index += 1
            let t: TensorType = dims.count == 1 ? .f32 : matrixType(dims[0])
            let tensorSeed = seed &* 0x9E37_79B9 &+ index
            try w.addTensor(name: name, dims: dims, type: t) { Self.generate(dims: dims, type: t, kind: kind, seed: tensorSeed) }
        }
        try add("token_embd.weight", [s.dim, s.vocabSize], kind: .embedding)
        for l in 0..<s.layers {
            let p = "blk.\(l)."
            try add(p + "attn_norm.weight", [s.dim], kind: .norm)
            try add(p + "attn_q.weight", [s.dim, s.dim], kind: .linear(fanIn: s.dim))
            try add(p + "attn_k.weight", [s.dim, kvDim], kind: .linear(fanIn: s.dim))
            try add(p + "attn_v.weight", [s.dim, kvDim], kind: .linear(fanIn: s.dim))
            if s.architecture == .qwen2 {
                try add(p + "attn_q.bias", [s.dim], kind: .bias)
                try add(p + "attn_k.bias", [kvDim], kind: .bias)
                try add(p + "attn_v.bias", [kvDim], kind: .bias)
            }
            try add(p + "attn_output.weight", [s.dim, s.dim], kind: .linear(fanIn: s.dim))
            try add(p + "ffn_norm.weight", [s.dim], kind: .norm)
            try add(p + "ffn_gate.weight", [s.dim, s.ffnDim], kind: .linear(fanIn: s.dim))
            try add(p + "ffn_up.weight", [s.dim, s.ffnDim], kind: .linear(fanIn: s.dim))
            try add(p + "ffn_down.weight", [s.ffnDim, s.dim], kind: .linear(fanIn: s.ffnDim))
        }
        try add("output_norm.weight", [s.dim], kind: .norm)
        if !s.tiedOutput { try add("output.weight", [s.dim, s.vocabSize], kind: .linear(fanIn: s.dim)) }
        if s.llama3RopeFactors {
            // Llama 3.1 scaling (factor 32, low/high frequency factors 1 and 4, original context 8192).
            let factors = Self.llama3FrequencyFactors(headDim: headDim, base: s.ropeBase)
            try w.addTensor(name: "rope_freqs.weight", dims: [headDim / 2], type: .f32, values: factors)
        }
        return w
    }

    public static func llama3FrequencyFactors(headDim: Int, base: Float, factor: Double = 32, low: Double = 1, high: Double = 4, original: Double = 8192) -> [Float] {
        (0..<headDim / 2).map { i in
            let freq = 1 / pow(Double(base), 2 * Double(i) / Double(headDim))
            let wavelength = 2 * Double.pi / freq
            if wavelength < original / high { return 1 }
            if wavelength > original / low { return Float(factor) }
            let smooth = (original / wavelength - low) / (high - low)
            return Float(1 / ((1 - smooth) / factor + smooth))
        }
    }

    enum Init { case embedding, norm, bias, linear(fanIn: Int) }

    /// One tensor's values, generated and encoded in parallel row chunks; each chunk has its own
    /// seeded stream so the result does not depend on the thread count.
    static func generate(dims: [Int], type: TensorType, kind: Init, seed: UInt64) -> [UInt8] {
        let cols = dims[0], rows = dims.dropFirst().reduce(1, *)
        let rowBytes = type.rowBytes(cols)!
        let chunkRows = max(1, 65536 / cols)
        let chunks = (rows + chunkRows - 1) / chunkRows
        var out = [UInt8](repeating: 0, count: rows * rowBytes)
        out.withUnsafeMutableBytes { raw in
            let base = raw.baseAddress!
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let r0 = c * chunkRows, r1 = min(rows, r0 + chunkRows)
                var rng = SeededRandom(seed: seed, label: "synthetic-weights", UInt64(c))
                let values: [Float] = (0..<(r1 - r0) * cols).map { _ in
                    let u = rng.nextSigned()   // U(-1, 1), variance 1/3
                    switch kind {
                    case .embedding: return u * Float(3.0).squareRoot()
                    case .norm: return 1 + 0.1 * u
                    case .bias: return 0.5 * u
                    case let .linear(fanIn): return u * Float((3.0 / Double(fanIn)).squareRoot())
                    }
                }
                let bytes = Quantize.run(type, values)
                bytes.withUnsafeBytes { (base + r0 * rowBytes).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            }
        }
        return out
    }

    /// A byte-level SentencePiece vocabulary: <unk>, <s>, </s>, the 256 byte tokens, the
    /// printable ASCII characters, letters with "▁", letter pairs and triples, padded with unused tokens to `size`.
    /// Any text encodes (byte fallback), and llama.cpp reads it as an ordinary `llama` tokenizer.
    public static func builtinByteVocabulary(size: Int) -> [(String, GGUFValue)] {
        var tokens = ["<unk>", "<s>", "</s>"], types = [2, 3, 3]
        for b in 0..<256 { tokens.append(String(format: "<0x%02X>", b)); types.append(6) }
        for c in 33..<127 { tokens.append(String(UnicodeScalar(UInt8(c)))); types.append(1) }
        tokens.append("\u{2581}"); types.append(1)
        for c in Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") { tokens.append("\u{2581}\(c)"); types.append(1) }
        // Letter pairs and triples, bare and word-initial, so a random model's output looks like text.
        let letters = Array("abcdefghijklmnopqrstuvwxyz").map(String.init)
        let pairs = letters.flatMap { a in letters.map { a + $0 } }
        let triples = pairs.flatMap { ab in letters.map { ab + $0 } }
        for piece in pairs + triples {
            for word in [piece, "\u{2581}" + piece] where tokens.count < size { tokens.append(word); types.append(1) }
        }
        while tokens.count < size { tokens.append("<unused\(tokens.count)>"); types.append(5) }
        let n = min(size, tokens.count)
        let scores = (0..<n).map { i -> Float in types[i] == 1 ? -Float(i) : 0 }
        return [
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", .array(.string, tokens.prefix(n).map { .string($0) })),
            ("tokenizer.ggml.scores", .array(.float32, scores.map { .float32($0) })),
            ("tokenizer.ggml.token_type", .array(.int32, types.prefix(n).map { .int32(Int32($0)) })),
            ("tokenizer.ggml.bos_token_id", .uint32(1)),
            ("tokenizer.ggml.eos_token_id", .uint32(2)),
            ("tokenizer.ggml.unknown_token_id", .uint32(0)),
            ("tokenizer.ggml.add_bos_token", .bool(true)),
        ]
    }

    /// The `tokenizer.*` metadata of another GGUF, to give a synthetic model a real vocabulary.
    public static func tokenizerMetadata(of gguf: GGUFFile) -> [(String, GGUFValue)] {
        gguf.metadataKeys.filter { $0.hasPrefix("tokenizer.") }.map { ($0, gguf.metadata[$0]!) }
    }
}
