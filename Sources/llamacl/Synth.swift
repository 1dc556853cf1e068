import ArgumentParser
import Foundation
import GGUF
import LlamaCore

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a random-weight model of a named shape or given dimensions (no download needed).",
        discussion: "Named shapes: \(ModelSynthesizer.Shape.named.keys.sorted().joined(separator: ", ")). The weights are random: the model runs at real speed but its text is meaningless.")

    @Option(help: "A named shape.") var shape: String?
    @Option(help: "Width (with --layers, --heads, ...).") var dim: Int?
    @Option(help: "Layers.") var layers: Int?
    @Option(help: "Attention heads.") var heads: Int?
    @Option(help: "KV heads (default: --heads).") var kvHeads: Int?
    @Option(help: "Feed-forward width (default: 8/3 · width rounded up to 32).") var ffn: Int?
    @Option(help: "Vocabulary size (default: the tokenizer's, else 32000).") var vocab: Int?
    @Option(help: "Context length.") var context: Int = 2048
    @Option(help: "Architecture: llama, or qwen2 (Q/K/V biases, neox RoPE).") var arch: String = "llama"
    @Option(help: "Tensor type: \(TensorType.allCases.map(\.description).joined(separator: ", ")).") var type: String = "F32"
    @Option(help: "Copy the tokenizer from this GGUF (default: a built-in byte-level vocabulary).") var tokenizerFrom: String?
    @Option(help: "Seed for the weights.") var seed: UInt64 = 1
    @Option(name: [.short, .customLong("out")], help: "Output GGUF path.") var out: String

    /// The flag checks, here so that a mistake prints this command's usage.
    func validate() throws {
        if TensorType(name: type) == nil {
            throw ValidationError("unknown --type '\(type)' (supported: \(TensorType.allCases.map(\.description).joined(separator: ", ")))")
        }
        if let shape, ModelSynthesizer.Shape.named[shape] == nil {
            throw ValidationError("unknown --shape '\(shape)' (known: \(ModelSynthesizer.Shape.named.keys.sorted().joined(separator: ", ")))")
        }
        if shape == nil, dim == nil || layers == nil || heads == nil { throw ValidationError("give --shape, or --dim, --layers and --heads") }
    }

    func run() throws {
        guard let tensorType = TensorType(name: type) else {
            throw ValidationError("unknown --type '\(type)' (supported: \(TensorType.allCases.map(\.description).joined(separator: ", ")))")
        }
        var tokenizer: [(String, GGUFValue)]? = nil
        if let from = tokenizerFrom { tokenizer = ModelSynthesizer.tokenizerMetadata(of: try GGUFFile(path: from)) }
        let tokenizerSize = tokenizer?.first { $0.0 == "tokenizer.ggml.tokens" }?.1.arrayValue?.count

        var s: ModelSynthesizer.Shape
        if let shape {
            guard let named = ModelSynthesizer.Shape.named[shape] else {
                throw ValidationError("unknown --shape '\(shape)' (known: \(ModelSynthesizer.Shape.named.keys.sorted().joined(separator: ", ")))")
            }
            s = named
            if let v = vocab { s.vocabSize = v }
        } else {
            guard let dim, let layers, let heads else { throw ValidationError("give --shape, or --dim, --layers and --heads") }
            s = ModelSynthesizer.Shape(dim: dim, layers: layers, heads: heads, kvHeads: kvHeads ?? heads,
                                       ffnDim: ffn ?? (dim * 8 / 3 + 31) / 32 * 32, vocabSize: vocab ?? tokenizerSize ?? 32000,
                                       contextLength: context)
        }
        if let n = tokenizerSize, n != s.vocabSize {
            throw ValidationError("the tokenizer has \(n) tokens but the shape's vocabulary is \(s.vocabSize); pass --vocab \(n)")
        }
        guard s.dim > 0, s.layers > 0, s.heads > 0, s.vocabSize >= 512, s.contextLength > 0 else {
            throw ValidationError("dimensions must be positive and the vocabulary at least 512")
        }
        guard let architecture = Architecture(rawValue: arch) else { throw ValidationError("unknown --arch '\(arch)' (llama, qwen2)") }
        s.architecture = architecture
        let synth = ModelSynthesizer(shape: s, type: tensorType, seed: seed, name: shape ?? "custom")
        let writer = try synth.makeWriter(tokenizer: tokenizer ?? ModelSynthesizer.builtinByteVocabulary(size: s.vocabSize))
        try writer.write(to: out)
        let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        print("wrote \(out): \(shape ?? "custom") shape, \(s.parameterCount) parameters, \(tensorType), \(formatBytes(size)) — RANDOM WEIGHTS (not a trained model)")
    }
}
