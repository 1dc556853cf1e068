import Foundation
import GGUF
import LlamaCore

/// Trained weights as a GGUF file that llamacl and llama.cpp load as an ordinary `llama` model:
/// the same tensor names and shapes (ggml order [in, out]) as `ModelSynthesizer.makeWriter`, the
/// `llama.*` keys of `ModelConfig.ggufMetadata`, the character vocabulary as an SPM tokenizer,
/// and what the run was under `training.*` (`TrainingProvenance.metadata`; ignored by loaders).
/// A tied output has no `output.weight`.
public enum Checkpoint {
    /// Types a checkpoint may be written in; norms stay F32 whatever is chosen, as in llama.cpp.
    public static let supportedTypes: [TensorType] = [.f32, .f16, .bf16]

    public static func makeWriter(params: ParameterSet<Float>, vocabulary: CharVocabulary, type: TensorType = .f32,
                                  name: String = "llamacl-trained", training: [(String, GGUFValue)] = []) throws -> GGUFWriter {
        let c = params.config
        guard supportedTypes.contains(type) else {
            throw TrainingError.invalidHyperparameter("checkpoint type \(type) (supported: \(supportedTypes.map(\.description).joined(separator: ", ")))")
        }
        guard vocabulary.count == c.vocabSize else {
            throw TrainingError.invalidConfig("vocabulary of \(vocabulary.count) tokens for a model with \(c.vocabSize)")
        }
        var w = GGUFWriter()
        w.set("general.architecture", c.architecture.rawValue)
        w.set("general.name", name)
        w.set("general.description", "Trained by llamacl train (character-level vocabulary)")
        w.set("general.file_type", uint32: type == .f32 ? 0 : type == .f16 ? 1 : 32)
        for (k, v) in c.ggufMetadata { w.set(k, v) }
        for (k, v) in vocabulary.ggufMetadata { w.set(k, v) }
        for (k, v) in training { w.set(k, v) }
        for e in params.entries {
            let tensorType: TensorType = e.dims.count == 1 ? .f32 : type
            let t = e.tensor
            try w.addTensor(name: e.name, dims: e.dims, type: tensorType) { Quantize.run(tensorType, UnsafePointer(t.data), count: t.count) }
        }
        return w
    }

    public static func write(params: ParameterSet<Float>, vocabulary: CharVocabulary, type: TensorType = .f32, name: String = "llamacl-trained",
                             training: [(String, GGUFValue)] = [], to path: String) throws {
        let writer = try makeWriter(params: params, vocabulary: vocabulary, type: type, name: name, training: training)
        // Write next to the target and rename, so an interrupted save never leaves a torn checkpoint.
        let temporary = path + ".partial"
        do {
            try writer.write(to: temporary)
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw TrainingError.writeFailed(path: path, reason: "\(error)")
        }
    }

    /// Reads a checkpoint's weights back (F32/F16/BF16) into a parameter set, e.g. to resume or
    /// to compare. The shape comes from the file's `llama.*` keys and tensor list.
    public static func load(_ gguf: GGUFFile, into params: ParameterSet<Float>) throws {
        for e in params.entries {
            guard let t = gguf.tensor(named: e.name) else { throw TrainingError.invalidData("checkpoint has no tensor \(e.name)") }
            guard t.dims == e.dims else { throw TrainingError.invalidData("\(e.name) has shape \(t.dims), expected \(e.dims)") }
            let values = Dequantize.toFloats(t.type, gguf.data(for: t), count: e.tensor.count)
            values.withUnsafeBufferPointer { e.tensor.data.update(from: $0.baseAddress!, count: e.tensor.count) }
        }
    }
}
