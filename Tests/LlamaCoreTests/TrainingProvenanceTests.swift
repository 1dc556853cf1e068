import Foundation
import GGUF
import LlamaCore
import TestSupport
import XCTest

/// `training.*` metadata: typed on the way in and on the way out.
final class TrainingProvenanceTests: XCTestCase {
    // Floats exactly representable in float32, so the round trip is exact.
    static let sample = TrainingProvenance(data: "arithmetic(digits=3,ops=+)", steps: 1953, tokens: 1_999_872, seed: .max, items: 100_000,
                                           batch: 16, learningRate: 0.00390625, lossScope: "completion", engine: "llamacl 0.1.0",
                                           finalLoss: 0.40625, heldOutLoss: 0.375)

    func file(_ metadata: [(String, GGUFValue)]) throws -> GGUFFile {
        var w = GGUFWriter()
        w.set("general.architecture", "llama")
        for (k, v) in metadata { w.set(k, v) }
        let path = try Fixtures.temporaryDirectory().appendingPathComponent("m.gguf").path
        try w.write(to: path)
        return try GGUFFile(path: path)
    }

    func testRoundTrip() throws {
        var p = Self.sample
        XCTAssertEqual(try TrainingProvenance(gguf: file(p.metadata)), p)
        p.items = nil; p.finalLoss = nil; p.heldOutLoss = nil; p.seed = 7
        XCTAssertEqual(try TrainingProvenance(gguf: file(p.metadata)), p)
        p.provenance = #"{"source_revision":"3f2a9c1b0d4e","source_tree_dirty":true}"#
        XCTAssertEqual(p.metadata.last?.0, "training.provenance")
        XCTAssertEqual(try TrainingProvenance(gguf: file(p.metadata)), p)
    }

    /// The keys, order and types `llamacl train` has always written.
    func testKeysAndTypes() {
        let m = Self.sample.metadata
        XCTAssertEqual(m.map(\.0), ["training.data", "training.steps", "training.tokens", "training.seed", "training.items", "training.batch",
                                    "training.learning_rate", "training.loss_scope", "training.engine", "training.final_loss", "training.held_out_loss"])
        XCTAssertEqual(m.map(\.1.type), [.string, .uint32, .uint64, .uint64, .uint64, .uint32, .float32, .string, .string, .float32, .float32])
    }

    func testFileWithoutTrainingKeysIsNil() throws {
        XCTAssertNil(try TrainingProvenance(gguf: file([("llama.block_count", .uint32(2))])))
    }

    func assertError(_ edit: (inout [(String, GGUFValue)]) -> Void, _ expected: (ModelError) -> Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        var m = Self.sample.metadata
        edit(&m)
        let gguf = try self.file(m)
        XCTAssertThrowsError(try TrainingProvenance(gguf: gguf), file: file, line: line) { error in
            guard let e = error as? ModelError else { return XCTFail("\(error) is not a ModelError", file: file, line: line) }
            XCTAssertTrue(expected(e), "\(e)", file: file, line: line)
        }
    }

    func set(_ key: String, _ value: GGUFValue) -> (inout [(String, GGUFValue)]) -> Void {
        { m in m = m.map { $0.0 == key ? (key, value) : $0 } }
    }

    func testWrongTypeThrowsNamingTheKey() throws {
        try assertError(set("training.items", .string("100000"))) {
            if case let .invalidMetadata(key, reason) = $0 { return key == "training.items" && reason.contains("integer") }
            return false
        }
        try assertError(set("training.seed", .float32(1))) { if case .invalidMetadata("training.seed", _) = $0 { return true }; return false }
        try assertError(set("training.steps", .bool(true))) { if case .invalidMetadata("training.steps", _) = $0 { return true }; return false }
        try assertError(set("training.steps", .int32(-1))) { if case .invalidMetadata("training.steps", _) = $0 { return true }; return false }
        try assertError(set("training.learning_rate", .string("3e-3"))) { if case .invalidMetadata("training.learning_rate", _) = $0 { return true }; return false }
        try assertError(set("training.held_out_loss", .string("n/a"))) { if case .invalidMetadata("training.held_out_loss", _) = $0 { return true }; return false }
        try assertError(set("training.engine", .uint32(1))) { if case .invalidMetadata("training.engine", _) = $0 { return true }; return false }
        try assertError(set("training.data", .uint32(1))) { if case .invalidMetadata("training.data", _) = $0 { return true }; return false }
    }

    func testMissingRequiredKeyThrows() throws {
        try assertError({ $0.removeAll { $0.0 == "training.engine" } }) { $0 == .missingMetadata("training.engine") }
        try assertError({ $0.removeAll { $0.0 == "training.seed" } }) { $0 == .missingMetadata("training.seed") }
    }

    /// Other integer widths are the same number: uint32 items, int64 seed.
    func testAnyIntegerType() throws {
        var m = Self.sample.metadata
        m = m.map { $0.0 == "training.items" ? ($0.0, .uint32(100_000)) : $0.0 == "training.seed" ? ($0.0, .int64(42)) : $0 }
        let p = try XCTUnwrap(try TrainingProvenance(gguf: file(m)))
        XCTAssertEqual(p.items, 100_000)
        XCTAssertEqual(p.seed, 42)
    }
}
