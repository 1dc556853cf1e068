import ArgumentParser
import Foundation
import GGUF
import LlamaCore

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a GGUF file's metadata, model shape and tensors.")

    @OptionGroup var model: ModelOption
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "List every tensor.") var tensors = false

    func run() throws {
        let f = try GGUFFile(path: model.model)
        // Vocab-only files have no model config, but special ids outside the vocabulary are refused.
        try ModelConfig.validateSpecialTokens(in: f)
        let config = try? ModelConfig(gguf: f)
        var typeCounts: [String: Int] = [:]
        for t in f.tensors { typeCounts[t.type.description, default: 0] += 1 }
        let params = f.tensors.reduce(0) { $0 + $1.elementCount }
        if json {
            var meta: [String: Any] = [:]
            for k in f.metadataKeys {
                let v = f.metadata[k]!
                if case let .array(_, items) = v {
                    meta[k] = ["array_length": items.count]
                } else if let d = v.doubleValue, d.isFinite {
                    meta[k] = d
                } else {
                    // JSON has no NaN or infinity: such a value (a broken file's) is shown as text
                    meta[k] = v.stringValue ?? v.description
                }
            }
            var out: [String: Any] = ["path": model.model, "version": f.version, "tensor_count": f.tensors.count,
                                      "parameters": params, "file_size": f.file.size, "tensor_types": typeCounts, "metadata": meta]
            if let c = config {
                out["model"] = ["architecture": c.architecture.rawValue, "dim": c.dim, "layers": c.layers, "heads": c.heads,
                                "kv_heads": c.kvHeads, "head_dim": c.headDim, "ffn_dim": c.ffnDim, "vocab_size": c.vocabSize,
                                "context_length": c.contextLength, "rope_base": c.ropeBase, "rope_style": c.ropeStyle.rawValue,
                                "norm_eps": c.normEps]
            }
            if tensors { out["tensors"] = f.tensors.map { ["name": $0.name, "type": $0.type.description, "dims": $0.dims, "bytes": $0.byteCount] } }
            print(try jsonLine(out))
            return
        }
        print("file:        \(model.model) (GGUF v\(f.version), \(formatBytes(f.file.size)))")
        if let c = config {
            print("model:       \(c.architecture.rawValue), \(c.layers) layers, width \(c.dim), \(c.heads) heads / \(c.kvHeads) KV heads of \(c.headDim), FFN \(c.ffnDim)")
            print("vocabulary:  \(c.vocabSize) tokens, context \(c.contextLength), RoPE \(c.ropeStyle.rawValue) base \(c.ropeBase), eps \(c.normEps)")
        }
        print("tensors:     \(f.tensors.count) (\(params) parameters): " + typeCounts.sorted { $0.key < $1.key }.map { "\($0.key) × \($0.value)" }.joined(separator: ", "))
        print("metadata:")
        for k in f.metadataKeys { print("  \(k) = \(f.metadata[k]!)") }
        if tensors {
            print("tensor list:")
            for t in f.tensors { print("  \(t.name)  \(t.type)  \(t.dims)  \(formatBytes(t.byteCount))") }
        }
    }
}
