import Foundation
import GGUF
import XCTest

/// Corrupt and hostile files: every one is rejected with the right GGUFError, quickly, without a
/// crash, a hang or a huge allocation. Each starts from GGUFWriter.bytes() and patches it.
final class HostileFileTests: XCTestCase {
    /// A small valid file with a bit of everything the tests patch.
    static func baseWriter() -> GGUFWriter {
        var w = GGUFWriter()
        w.set("general.architecture", "llama")
        w.set("general.alignment", .uint32(32))
        w.set("k.string", "hello")
        w.set("k.array", .array(.uint32, [.uint32(1), .uint32(2), .uint32(3)]))
        w.set("k.bool", .bool(true))
        w.set("dup.aa", .uint8(1))
        w.set("dup.bb", .uint8(2))
        w.set("k.nested", .array(.array, [.array(.int8, [.int8(1)])]))
        try! w.addTensor(name: "tensor.a", dims: [8, 2], type: .f32, values: (0..<16).map(Float.init))
        try! w.addTensor(name: "tensor.b", dims: [32], type: .q8_0, values: (0..<32).map { Float($0) / 8 })
        return w
    }

    static let base = baseWriter().bytes()

    /// Offsets inside `base`: where a key's value type id is, and a tensor's fields.
    struct TensorFields { let nDims, dims, type, offset: Int }
    func keyTypeOffset(_ key: String) -> Int { Self.base.end(ofGGUFString: key) }
    func tensorFields(_ name: String) -> TensorFields {
        let nd = Self.base.end(ofGGUFString: name)
        let n = Int(Self.base.load(UInt32.self, at: nd))
        return TensorFields(nDims: nd, dims: nd + 4, type: nd + 4 + 8 * n, offset: nd + 8 + 8 * n)
    }

    func patched(_ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var b = Self.base
        edit(&b)
        return b
    }

    /// Opens the bytes, expects an error, checks its description is one line containing `mentions`.
    func reject(_ bytes: [UInt8], mentions: [String] = [], file: StaticString = #filePath, line: UInt = #line,
                _ check: (GGUFError) -> Bool) {
        guard let e = GGUFBytes.error(bytes, file: file, line: line) else { return }
        XCTAssertTrue(check(e), "unexpected error: \(e)", file: file, line: line)
        let d = e.description
        XCTAssertFalse(d.contains("\n"), "multi-line description: \(d)", file: file, line: line)
        XCTAssertFalse(d.isEmpty, file: file, line: line)
        for m in mentions { XCTAssertTrue(d.contains(m), "'\(d)' should mention '\(m)'", file: file, line: line) }
    }

    // MARK: - The valid base

    func testBaseFileOpens() throws {
        let f = try GGUFBytes.open(Self.base)
        XCTAssertEqual(f.tensors.map(\.name), ["tensor.a", "tensor.b"])
        XCTAssertEqual(f.metadata.count, 8)
        XCTAssertEqual(f.floats(f.tensors[0]), (0..<16).map(Float.init))
    }

    // MARK: - Header

    func testBadMagic() {
        reject(patched { $0[0] = UInt8(ascii: "X") }, mentions: ["GGUF"]) { if case .badMagic = $0 { return true }; return false }
        reject(patched { $0.put(UInt32(0x4C4C_5547), at: 0) }) { $0 == .badMagic(found: 0x4C4C_5547) }
        reject(Array("not a gguf file at all".utf8)) { if case .badMagic = $0 { return true }; return false }
    }

    func testUnsupportedVersions() {
        for v: UInt32 in [0, 1, 4, .max] {
            reject(patched { $0.put(v, at: 4) }, mentions: ["version \(v)"]) { $0 == .unsupportedVersion(v) }
        }
    }

    func testHugeTensorCount() {
        for n: UInt64 in [.max, 1 << 40, 1000] {
            reject(patched { $0.put(n, at: 8) }, mentions: ["tensor count", "\(n)"]) {
                if case let .implausibleCount(what, count, _) = $0 { return what == "tensor count" && count == n }
                return false
            }
        }
    }

    func testHugeMetadataCount() {
        for n: UInt64 in [.max, 1 << 40, 1000] {
            reject(patched { $0.put(n, at: 16) }, mentions: ["metadata count"]) {
                if case let .implausibleCount(what, count, _) = $0 { return what == "metadata count" && count == n }
                return false
            }
        }
    }

    /// One more key or tensor than the file has: the reader runs into the next section and fails cleanly.
    func testCountsOneTooLarge() {
        reject(patched { $0.put(UInt64(9), at: 16) }) { _ in true }
        reject(patched { $0.put(UInt64(3), at: 8) }) { _ in true }
    }

    func testEmptyAndTinyFiles() {
        reject([]) { if case .truncated = $0 { return true }; return false }
        reject([0x47]) { if case .truncated = $0 { return true }; return false }
        reject(Array(Self.base.prefix(4)), mentions: ["version"]) { if case .truncated = $0 { return true }; return false }
    }

    func testCannotOpen() throws {
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/dir/model.gguf")) { e in
            guard case let .cannotOpen(path, _)? = e as? GGUFError else { return XCTFail("\(e)") }
            XCTAssertEqual(path, "/nonexistent/dir/model.gguf")
        }
        XCTAssertThrowsError(try GGUFFile(path: GGUFBytes.directory.path)) { e in
            guard case .cannotOpen? = e as? GGUFError else { return XCTFail("\(e)") }
        }
    }

    // MARK: - Metadata

    func testHugeKeyLength() {
        for n: UInt64 in [.max, 1 << 40, UInt64(Self.base.count)] {
            reject(patched { $0.put(n, at: 24) }, mentions: ["metadata key #0"]) {
                if case let .truncated(what, _, _, _) = $0 { return what == "metadata key #0" }
                return false
            }
        }
    }

    func testHugeStringValueLength() {
        let at = keyTypeOffset("k.string") + 4
        for n: UInt64 in [.max, 1 << 40, UInt64(Self.base.count)] {
            reject(patched { $0.put(n, at: at) }, mentions: ["k.string"]) {
                if case let .truncated(what, _, _, _) = $0 { return what.contains("k.string") }
                return false
            }
        }
    }

    func testHugeArrayLength() {
        let at = keyTypeOffset("k.array") + 8
        for n: UInt64 in [.max, 1 << 40, 1 << 20] {
            reject(patched { $0.put(n, at: at) }, mentions: ["k.array"]) {
                if case let .implausibleCount(what, count, _) = $0 { return what.contains("k.array") && count == n }
                return false
            }
        }
        // An array of strings claims many more elements than fit: same, no giant allocation.
        var w = GGUFWriter()
        w.set("tokens", strings: ["a", "b"])
        var b = w.bytes()
        b.put(UInt64(1) << 40, at: b.end(ofGGUFString: "tokens") + 8)
        reject(b, mentions: ["tokens"]) { if case .implausibleCount = $0 { return true }; return false }
        // Nested arrays: the inner length is checked too.
        let inner = keyTypeOffset("k.nested") + 4 + 4 + 8 + 4
        reject(patched { $0.put(UInt64.max, at: inner) }, mentions: ["k.nested"]) {
            if case .implausibleCount = $0 { return true }; return false
        }
    }

    func testUnknownValueType() {
        for id: UInt32 in [13, 99, .max] {
            reject(patched { $0.put(id, at: keyTypeOffset("k.string")) }, mentions: ["k.string", "\(id)"]) {
                $0 == .unknownValueType(key: "k.string", typeId: id)
            }
            // ...and as an array's element type.
            reject(patched { $0.put(id, at: keyTypeOffset("k.array") + 4) }, mentions: ["k.array"]) {
                $0 == .unknownValueType(key: "k.array", typeId: id)
            }
        }
    }

    func testBoolMustBeZeroOrOne() {
        for byte: UInt8 in [2, 7, 255] {
            reject(patched { $0[keyTypeOffset("k.bool") + 4] = byte }, mentions: ["k.bool", "\(byte)"]) {
                if case let .wrongValueType(key, _, _) = $0 { return key == "k.bool" }
                return false
            }
        }
        var w = GGUFWriter()
        w.set("flags", .array(.bool, [.bool(false), .bool(true)]))
        var b = w.bytes()
        b[b.end(ofGGUFString: "flags") + 4 + 4 + 8 + 1] = 7
        reject(b, mentions: ["flags"]) { if case .wrongValueType = $0 { return true }; return false }
    }

    func testInvalidUTF8() {
        let keyStart = Self.base.offset(ofGGUFString: "k.string")! + 8
        for bad: [UInt8] in [[0xFF], [0xC3], [0xED, 0xA0, 0x80] /* surrogate */, [0xC0, 0xAF] /* overlong */] {
            var b = Self.base
            for (i, x) in bad.enumerated() { b[keyStart + i] = x }
            reject(b, mentions: ["metadata key #2"]) {
                if case let .invalidString(what, offset) = $0 { return what == "metadata key #2" && offset == keyStart - 8 }
                return false
            }
        }
        // In a string value and in a tensor name.
        let valueStart = keyTypeOffset("k.string") + 4 + 8
        reject(patched { $0[valueStart] = 0xFE }, mentions: ["k.string"]) { if case .invalidString = $0 { return true }; return false }
        let nameStart = Self.base.offset(ofGGUFString: "tensor.b")! + 8
        reject(patched { $0[nameStart] = 0x80 }, mentions: ["tensor name #1"]) { if case .invalidString = $0 { return true }; return false }
    }

    func testDuplicateKey() {
        let at = Self.base.offset(ofGGUFString: "dup.bb")! + 8
        reject(patched { $0.replaceSubrange(at..<at + 6, with: Array("dup.aa".utf8)) }, mentions: ["dup.aa"]) {
            $0 == .duplicateKey("dup.aa")
        }
    }

    func testDeeplyNestedArrays() {
        // Four levels through the writer: one more than the reader allows.
        var w = GGUFWriter()
        w.set("deep", .array(.array, [.array(.array, [.array(.array, [.array(.uint8, [.uint8(1)])])])]))
        reject(w.bytes(), mentions: ["deep"]) {
            if case let .wrongValueType(key, _, _) = $0 { return key == "deep" }
            return false
        }
        // A hundred thousand levels, hand-made: rejected at once, no stack overflow.
        var b: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        u32(GGUFFile.magic); u32(3); u64(0); u64(1)
        u64(4); b += Array("abyss".utf8.prefix(4)); u32(9)
        for _ in 0..<100_000 { u32(9); u64(1) }
        u32(0); u64(0)
        reject(b, mentions: ["abys"]) { if case .wrongValueType = $0 { return true }; return false }
    }

    // MARK: - Alignment

    func testBadAlignment() {
        let at = keyTypeOffset("general.alignment") + 4
        for a: UInt32 in [0, 3, 48, 1 << 17, .max] {
            reject(patched { $0.put(a, at: at) }, mentions: ["general.alignment", "\(a)"]) { $0 == .badAlignment(UInt64(a)) }
        }
    }

    func testAlignmentOfWrongType() {
        let at = keyTypeOffset("general.alignment")
        for (id, name) in [(UInt32(5), "int32"), (6, "float32")] {
            reject(patched { $0.put(id, at: at) }, mentions: ["general.alignment", name]) {
                $0 == .wrongValueType(key: "general.alignment", expected: "uint32", found: name)
            }
        }
        var w = GGUFWriter()
        w.set("general.alignment", .uint64(32))
        reject(w.bytes(), mentions: ["general.alignment", "uint64"]) { if case .wrongValueType = $0 { return true }; return false }
    }

    // MARK: - Tensor infos

    func testDuplicateTensorName() {
        let at = Self.base.offset(ofGGUFString: "tensor.b")! + 8
        reject(patched { $0[at + 7] = UInt8(ascii: "a") }, mentions: ["tensor.a"]) { $0 == .duplicateTensor("tensor.a") }
    }

    func testDimensionCount() {
        let f = tensorFields("tensor.a")
        for n: UInt32 in [0, 5, 1000, .max] {
            reject(patched { $0.put(n, at: f.nDims) }, mentions: ["tensor.a", "\(n) dimensions"]) {
                if case let .badDimensions(name, _, _) = $0 { return name == "tensor.a" }
                return false
            }
        }
    }

    func testZeroDimension() {
        let f = tensorFields("tensor.a")
        for i in 0..<2 {
            reject(patched { $0.put(UInt64(0), at: f.dims + 8 * i) }, mentions: ["tensor.a", "zero"]) {
                if case let .badDimensions(name, _, reason) = $0 { return name == "tensor.a" && reason.contains("zero") }
                return false
            }
        }
    }

    func testDimensionProductOverflow() {
        let f = tensorFields("tensor.a")
        for (d0, d1): (UInt64, UInt64) in [(1 << 32, 1 << 32), (.max, 2), (3, .max), (1 << 40, 1 << 9), (.max, .max)] {
            reject(patched { $0.put(d0, at: f.dims); $0.put(d1, at: f.dims + 8) }, mentions: ["tensor.a", "overflows"]) {
                if case let .badDimensions(name, dims, _) = $0 { return name == "tensor.a" && dims == [d0, d1] }
                return false
            }
        }
        // Plausible element count, but a byte size far beyond the file: out of bounds, not a crash.
        reject(patched { $0.put(UInt64(1) << 24, at: f.dims); $0.put(UInt64(1) << 23, at: f.dims + 8) }, mentions: ["tensor.a"]) {
            if case .tensorOutOfBounds = $0 { return true }; return false
        }
    }

    func testRowNotWholeBlocks() {
        let f = tensorFields("tensor.b")
        reject(patched { $0.put(UInt64(16), at: f.dims) }, mentions: ["tensor.b", "Q8_0", "32"]) {
            if case let .badDimensions(name, _, _) = $0 { return name == "tensor.b" }
            return false
        }
    }

    func testUnknownTensorType() {
        let f = tensorFields("tensor.b")
        for id: UInt32 in [99, 31, 1000, .max] {
            reject(patched { $0.put(id, at: f.type) }, mentions: ["tensor.b", "\(id)"]) {
                $0 == .unknownTensorType(tensor: "tensor.b", typeId: id)
            }
        }
    }

    func testKnownButUnsupportedTensorType() {
        let f = tensorFields("tensor.b")
        for (id, name) in [(UInt32(20), "IQ4_NL"), (16, "IQ2_XXS"), (23, "IQ4_XS"), (28, "F64"), (9, "Q8_1"), (26, "I32")] {
            reject(patched { $0.put(id, at: f.type) }, mentions: ["tensor.b", name]) {
                $0 == .unsupportedTensorType(tensor: "tensor.b", type: name)
            }
        }
    }

    func testTensorOffsetOutsideFile() {
        let f = tensorFields("tensor.b")
        for off: UInt64 in [1 << 40, UInt64.max & ~31, 4096, 96] {
            reject(patched { $0.put(off, at: f.offset) }, mentions: ["tensor.b", "\(off)"]) {
                if case let .tensorOutOfBounds(name, o, size, _) = $0 { return name == "tensor.b" && o == off && size == 34 }
                return false
            }
        }
    }

    func testMisalignedTensorOffset() {
        let f = tensorFields("tensor.b")
        for off: UInt64 in [1, 33, 65, 80, .max] {
            reject(patched { $0.put(off, at: f.offset) }, mentions: ["tensor.b", "\(off)", "32"]) {
                $0 == .misalignedTensor(tensor: "tensor.b", offset: off, alignment: 32)
            }
        }
    }

    // MARK: - Truncation and fuzzing

    /// Cutting the file anywhere before the end of the last tensor's bytes is an error.
    func testTruncatedAtEveryOffset() throws {
        let f = try GGUFBytes.open(Self.base)
        let last = f.tensors.map { f.dataOffset + $0.offset + $0.byteCount }.max()!
        XCTAssertLessThan(last, Self.base.count, "the base file has trailing padding")
        var kinds: [String: Int] = [:]
        for n in 0..<last {
            guard let e = GGUFBytes.error(Array(Self.base.prefix(n))) else { continue }
            XCTAssertFalse(e.description.contains("\n"))
            switch e {
            case .truncated: kinds["truncated", default: 0] += 1
            case .implausibleCount: kinds["implausibleCount", default: 0] += 1
            case .tensorOutOfBounds: kinds["tensorOutOfBounds", default: 0] += 1
            default: XCTFail("cut at \(n): unexpected \(e)")
            }
        }
        XCTAssertEqual(kinds.values.reduce(0, +), last)
        // Only trailing padding missing: still a valid file.
        for n in last..<Self.base.count { XCTAssertNoThrow(try GGUFBytes.open(Array(Self.base.prefix(n))), "cut at \(n)") }
    }

    /// Random byte corruption in the header: every result either opens (and then every tensor is
    /// readable within the file) or throws a GGUFError.
    func testRandomHeaderCorruption() throws {
        let f = try GGUFBytes.open(Self.base)
        var rng = SeededRNG(seed: 99)
        var opened = 0, rejected = 0
        for _ in 0..<600 {
            var b = Self.base
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 0..<f.dataOffset, using: &rng)
                b[i] = Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng) : b[i] ^ (1 << UInt8.random(in: 0..<8, using: &rng))
            }
            do {
                let g = try GGUFBytes.open(b)
                opened += 1
                for t in g.tensors {
                    XCTAssertLessThanOrEqual(g.dataOffset + t.offset + t.byteCount, b.count)
                    XCTAssertEqual(g.floats(t).count, t.elementCount)
                }
            } catch is GGUFError {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 0)
        print("random corruption: \(opened) opened, \(rejected) rejected")
    }
}
