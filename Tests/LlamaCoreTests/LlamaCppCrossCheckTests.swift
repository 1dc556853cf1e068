import CPUBackend
import Foundation
import GGUF
import LlamaCore
import XCTest

/// qwen2 (neox RoPE, Q/K/V biases) and K-quant models against logits from llama.cpp
/// (see Fixtures/README.md): the architectures and types the shared fixtures lack.
final class LlamaCppCrossCheckTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func promptIds() throws -> [Int] {
        let line = try String(contentsOf: Self.fixtures.appendingPathComponent("prompt-ids.txt"), encoding: .utf8)
        return line.replacingOccurrences(of: "ids:", with: "").split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func check(_ name: String, budget: Double, mode: CPUBackend.Mode = .fast, file: StaticString = #filePath, line: UInt = #line) throws {
        let gguf = try GGUFFile(path: Self.fixtures.appendingPathComponent("\(name).gguf").path)
        let model = try Transformer(gguf: gguf, backend: CPUBackend(mode: mode), cacheCells: 64)
        let ids = try promptIds()
        XCTAssertEqual(ids.count, 41)
        let ours = try model.forward(.prompt(ids, allLogits: true)).flatMap { $0 }
        let data = try Data(contentsOf: Self.fixtures.appendingPathComponent("\(name).llamacpp.logits.f32"))
        let reference = data.withUnsafeBytes { raw in
            (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        XCTAssertEqual(ours.count, reference.count, file: file, line: line)
        let nmse = Budget.nmse(ours, reference)
        print("\(name) [\(mode)]: NMSE vs llama.cpp \(nmse)")
        XCTAssertLessThanOrEqual(nmse, budget, name, file: file, line: line)
    }

    func testQwen2F32MatchesLlamaCpp() throws {
        let config = try ModelConfig(gguf: GGUFFile(path: Self.fixtures.appendingPathComponent("qwen2-tiny-f32.gguf").path))
        XCTAssertEqual(config.ropeStyle, .neox)
        try check("qwen2-tiny-f32", budget: Budget.f32VsExact)
    }

    func testQwen2Q8_0() throws { try check("qwen2-tiny-q8_0", budget: Budget.quantizedVsOther) }
    func testQ4_K() throws { try check("llama-tiny-q4_K", budget: Budget.quantizedVsOther) }
    func testQ6_K() throws { try check("llama-tiny-q6_K", budget: Budget.quantizedVsOther) }

    /// With 8-bit activations our math is llama.cpp's: the tight budget applies.
    func testQuantizedModeFollowsLlamaCpp() throws {
        for name in ["qwen2-tiny-q8_0", "llama-tiny-q4_K", "llama-tiny-q6_K"] {
            try check(name, budget: Budget.quantizedVsFollowed, mode: .quantized)
        }
    }
}
