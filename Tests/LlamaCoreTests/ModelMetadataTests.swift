import Foundation
import GGUF
import LlamaCore
import TestSupport
import XCTest

/// The one `<arch>.*` schema (`ModelConfig.ggufMetadata`): what it writes, that `ModelConfig(gguf:)`
/// reads back the same config, and that the synthesizer writes exactly it.
final class ModelMetadataTests: XCTestCase {
    func roundTrip(_ config: ModelConfig, outputWeight: Bool = false) throws -> ModelConfig {
        var w = GGUFWriter()
        w.set("general.architecture", config.architecture.rawValue)
        for (k, v) in config.ggufMetadata { w.set(k, v) }
        if outputWeight { try w.addTensor(name: "output.weight", dims: [config.dim, config.vocabSize], type: .f32, values: [Float](repeating: 0, count: config.dim * config.vocabSize)) }
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("m.gguf").path
        try w.write(to: path)
        return try ModelConfig(gguf: GGUFFile(path: path))
    }

    func testConfigRoundTripsThroughMetadata() throws {
        let configs = [
            ModelConfig(architecture: .llama, dim: 64, layers: 2, heads: 4, kvHeads: 2, ffnDim: 96, vocabSize: 600, contextLength: 128, tiedOutput: true),
            ModelConfig(architecture: .llama, dim: 48, layers: 3, heads: 3, kvHeads: 3, ffnDim: 128, vocabSize: 277, contextLength: 64,
                        normEps: 1e-6, ropeBase: 500000, tiedOutput: true),
            ModelConfig(architecture: .qwen2, dim: 64, layers: 1, heads: 8, kvHeads: 2, ffnDim: 160, vocabSize: 1000, contextLength: 4096,
                        ropeBase: 1_000_000, tiedOutput: true),
            // Head size other than dim / heads (attention.key_length) and linear RoPE scaling.
            ModelConfig(architecture: .llama, dim: 64, layers: 1, heads: 4, kvHeads: 1, headDim: 32, ffnDim: 96, vocabSize: 300, contextLength: 256,
                        ropeDim: 16, ropeScale: 0.25, tiedOutput: true),
        ]
        for c in configs {
            XCTAssertEqual(try roundTrip(c), c)
        }
        var untied = configs[0]
        untied.tiedOutput = false
        XCTAssertEqual(try roundTrip(untied, outputWeight: true), untied, "tiedOutput comes from output.weight")
    }

    /// The keys, their order and GGUF types, as checkpoints and synthetic models have always had
    /// them (files written before the schema moved here are byte-identical).
    func testSchemaKeysAndTypes() {
        let c = ModelConfig(architecture: .llama, dim: 128, layers: 4, heads: 4, kvHeads: 4, ffnDim: 352, vocabSize: 276, contextLength: 64)
        let m = c.ggufMetadata
        XCTAssertEqual(m.map(\.0), ["llama.context_length", "llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
                                    "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.dimension_count",
                                    "llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon", "llama.vocab_size"])
        XCTAssertEqual(m.map(\.1), [.uint32(64), .uint32(128), .uint32(4), .uint32(352), .uint32(4), .uint32(4), .uint32(32),
                                    .float32(10000), .float32(1e-5), .uint32(276)])
        let qwen = ModelConfig(architecture: .qwen2, dim: 64, layers: 1, heads: 4, kvHeads: 4, ffnDim: 96, vocabSize: 10, contextLength: 8)
        XCTAssertTrue(qwen.ggufMetadata.allSatisfy { $0.0.hasPrefix("qwen2.") })
    }

    func testSynthesizerWritesTheSchema() throws {
        var shape = ModelSynthesizer.Shape(dim: 64, layers: 2, heads: 4, kvHeads: 2, ffnDim: 96, vocabSize: 600, contextLength: 64, ropeBase: 20000)
        for arch in [Architecture.llama, .qwen2] {
            shape.architecture = arch
            let w = try ModelSynthesizer(shape: shape, type: .f32).makeWriter(tokenizer: [])
            let written = w.metadata.filter { $0.0.hasPrefix(arch.rawValue + ".") }
            XCTAssertEqual(written.map(\.0), shape.config.ggufMetadata.map(\.0))
            XCTAssertEqual(written.map(\.1), shape.config.ggufMetadata.map(\.1))
        }
    }

    /// `parameterCount` is every tensor's elements (rope_freqs aside), tied or not, llama or qwen2.
    func testParameterCountMatchesTheTensors() throws {
        for (arch, tied) in [(Architecture.llama, false), (.llama, true), (.qwen2, false)] {
            var shape = ModelSynthesizer.Shape(dim: 64, layers: 2, heads: 4, kvHeads: 2, ffnDim: 96, vocabSize: 600, contextLength: 64, tiedOutput: tied)
            shape.architecture = arch
            let w = try ModelSynthesizer(shape: shape, type: .f32).makeWriter(tokenizer: [])
            XCTAssertEqual(shape.parameterCount, w.tensors.reduce(0) { $0 + $1.dims.reduce(1, *) }, "\(arch) tied \(tied)")
            XCTAssertEqual(shape.config.tiedOutput, tied)
        }
    }
}
