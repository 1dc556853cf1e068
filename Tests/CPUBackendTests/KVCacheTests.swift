@testable import CPUBackend
import Foundation
import GGUF
import LlamaCore
import XCTest

/// The CPU backend's KV cache: a value the backend makes (after checking host memory) and the
/// model owns; every op that indexes it checks the layer, width and cells first.
final class KVCacheTests: XCTestCase {
    func testCacheLargerThanHostMemoryIsATypedError() {
        let backend = CPUBackend(mode: .reference, threads: 1)
        let memory = ProcessInfo.processInfo.physicalMemory
        // 10^12 cells of 22 layers × 256: fits in an Int, not in any machine
        XCTAssertThrowsError(try backend.makeKVCache(layers: 22, cells: 1_000_000_000_000, kvDim: 256)) { error in
            XCTAssertEqual(error as? CPUBackendError,
                           .kvCacheTooLarge(cells: 1_000_000_000_000, layers: 22, kvDim: 256, bytes: 45_056_000_000_000_000, memory: memory))
            for word in ["cache cells", "memory", "45056000000000000 bytes"] { XCTAssertTrue("\(error)".contains(word), "\(error)") }
        }
        // a size that overflows Int is refused the same way, not trapped
        XCTAssertThrowsError(try backend.makeKVCache(layers: 22, cells: Int.max, kvDim: 256)) { error in
            XCTAssertEqual(error as? CPUBackendError, .kvCacheTooLarge(cells: Int.max, layers: 22, kvDim: 256, bytes: nil, memory: memory))
            XCTAssertTrue("\(error)".contains("more than 2^63 bytes"), "\(error)")
        }
        XCTAssertNoThrow(try backend.makeKVCache(layers: 2, cells: 16, kvDim: 8))
    }

    /// storeKV then readKV through the protocol is `ReferenceOps.storeKV` on that layer alone.
    func testStoreKVThroughTheBackendWritesOneLayer() throws {
        let backend = CPUBackend(mode: .reference, threads: 1)
        let cache = try backend.makeKVCache(layers: 3, cells: 6, kvDim: 4)
        let k = try tensor(backend, randomValues(8, seed: 1), cols: 4), v = try tensor(backend, randomValues(8, seed: 2), cols: 4)
        try backend.storeKV(cache, layer: 1, k: k, v: v, plan: plan(cells: [5, 2]))
        var expectedK = [Float](repeating: 0, count: 24), expectedV = expectedK
        ReferenceOps.storeKV(kCache: &expectedK, vCache: &expectedV, k: k.data, v: v.data, cells: [5, 2], kvDim: 4)
        let layer1 = try backend.readKV(cache, layer: 1)
        XCTAssertEqual(layer1.keys, expectedK)
        XCTAssertEqual(layer1.values, expectedV)
        for layer in [0, 2] {
            let other = try backend.readKV(cache, layer: layer)
            XCTAssertTrue((other.keys + other.values).allSatisfy { $0 == 0 }, "layer \(layer) untouched")
        }
    }

    func testOutOfRangeLayerCellOrWidthIsAnError() throws {
        let backend = CPUBackend(mode: .fast, threads: 1)
        let cache = try backend.makeKVCache(layers: 2, cells: 4, kvDim: 4)
        let k = try tensor(backend, randomValues(4, seed: 3), cols: 4), wide = try tensor(backend, randomValues(8, seed: 4), cols: 8)
        XCTAssertThrowsError(try backend.storeKV(cache, layer: 2, k: k, v: k, plan: plan(cells: [0])))
        XCTAssertThrowsError(try backend.storeKV(cache, layer: 0, k: k, v: k, plan: plan(cells: [4])))
        XCTAssertThrowsError(try backend.storeKV(cache, layer: 0, k: wide, v: wide, plan: plan(cells: [0])))
        let out = try backend.makeTensor(rows: 1, cols: 4)
        XCTAssertThrowsError(try backend.attention(out, q: k, cache: cache, layer: 0, heads: 1, kvHeads: 1, headDim: 4,
                                                   plan: plan(cells: [0], visible: [0, 7])))
        XCTAssertThrowsError(try backend.readKV(cache, layer: -1))
    }

    /// Two models on one backend each own their cache: interleaving their calls changes nothing.
    func testTwoModelsOnOneBackendKeepTheirOwnCaches() throws {
        let backend = CPUBackend(mode: .fast, threads: 1)
        let a = try smallModel(backend, seed: 1), b = try smallModel(backend, seed: 2)
        let aloneA = try smallModel(CPUBackend(mode: .fast, threads: 1), seed: 1)
        _ = try a.forward(.prompt([1, 2, 3]))
        _ = try b.forward(.prompt([4, 5, 6, 7, 8]))
        _ = try aloneA.forward(.prompt([1, 2, 3]))
        let next = try a.forward([BatchEntry(token: 9, position: 3, wantsLogits: true)])
        let expected = try aloneA.forward([BatchEntry(token: 9, position: 3, wantsLogits: true)])
        XCTAssertEqual(next[0].map(\.bitPattern), expected[0].map(\.bitPattern))
    }

    // MARK: helpers

    func tensor(_ backend: CPUBackend, _ values: [Float], cols: Int) throws -> CPUTensor {
        let t = try backend.makeTensor(rows: values.count / cols, cols: cols)
        t.data.update(from: values, count: values.count)
        return t
    }

    func plan(cells: [Int32], visible: [Int32] = []) -> BatchPlan {
        BatchPlan(tokens: cells.map { _ in 0 }, positions: cells.indices.map { Int32($0) }, cells: cells,
                  visibleOffsets: [0] + cells.indices.map { $0 == cells.count - 1 ? Int32(visible.count) : 0 }, visibleCells: visible)
    }

    func smallModel(_ backend: CPUBackend, seed: UInt64) throws -> Transformer<CPUBackend> {
        let shape = ModelSynthesizer.Shape(dim: 32, layers: 2, heads: 4, kvHeads: 2, ffnDim: 48, vocabSize: 50, contextLength: 16)
        let writer = try ModelSynthesizer(shape: shape, type: .f32, seed: seed).makeWriter(tokenizer: ModelSynthesizer.builtinByteVocabulary(size: 50))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kvcache-\(seed)-\(UUID().uuidString).gguf").path
        try writer.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Transformer(gguf: GGUFFile(path: path), backend: backend, cacheCells: 16)
    }
}
