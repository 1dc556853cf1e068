import Foundation
import GGUF
import TestSupport
import XCTest

/// GGUFWriter → GGUFFile: everything written comes back, bit for bit.
final class RoundTripTests: XCTestCase {
    /// One value of every metadata type, including the awkward ones.
    static let metadata: [(String, GGUFValue)] = [
        ("general.architecture", .string("llama")),
        ("u8.min", .uint8(0)), ("u8.max", .uint8(255)),
        ("i8.min", .int8(-128)), ("i8.max", .int8(127)),
        ("u16.max", .uint16(.max)), ("i16.min", .int16(.min)),
        ("u32.max", .uint32(.max)), ("i32.min", .int32(.min)),
        ("u64.max", .uint64(.max)), ("i64.min", .int64(.min)), ("i64.max", .int64(.max)),
        ("f32.neg_zero", .float32(-0.0)), ("f32.inf", .float32(-.infinity)),
        ("f32.subnormal", .float32(.leastNonzeroMagnitude)), ("f32.pi", .float32(.pi)),
        ("f64.max", .float64(.greatestFiniteMagnitude)), ("f64.e", .float64(M_E)),
        ("bool.true", .bool(true)), ("bool.false", .bool(false)),
        ("string.empty", .string("")),
        ("string.unicode", .string("héllo wörld — 日本語 🦙 \u{0301}e")),
        ("string.nul", .string("a\u{0}b")),
        ("string.long", .string(String(repeating: "xyz", count: 1000))),
        ("key with spaces and ünïcödé 🦙", .string("value")),
        ("", .string("empty key")),
        ("array.empty.u8", .array(.uint8, [])),
        ("array.empty.string", .array(.string, [])),
        ("array.empty.array", .array(.array, [])),
        ("array.u8", .array(.uint8, [.uint8(0), .uint8(1), .uint8(255)])),
        ("array.i8", .array(.int8, [.int8(-1), .int8(0)])),
        ("array.u16", .array(.uint16, [.uint16(65535)])),
        ("array.i16", .array(.int16, [.int16(-32768), .int16(7)])),
        ("array.u32", .array(.uint32, [.uint32(1), .uint32(2), .uint32(3)])),
        ("array.i32", .array(.int32, (0..<100).map { .int32(Int32($0) - 50) })),
        ("array.u64", .array(.uint64, [.uint64(.max), .uint64(0)])),
        ("array.i64", .array(.int64, [.int64(.min)])),
        ("array.f32", .array(.float32, [.float32(1.5), .float32(-0.25), .float32(.infinity)])),
        ("array.f64", .array(.float64, [.float64(1e300), .float64(-1e-300)])),
        ("array.bool", .array(.bool, [.bool(true), .bool(false), .bool(true)])),
        ("array.string", .array(.string, [.string(""), .string("a"), .string("🦙🦙"), .string(""), .string("\n\t")])),
        ("array.nested", .array(.array, [
            .array(.int32, [.int32(1), .int32(2)]),
            .array(.int32, []),
            .array(.string, [.string("x"), .string("")]),
        ])),
        ("array.nested3", .array(.array, [.array(.array, [.array(.uint8, [.uint8(9)]), .array(.bool, [])])])),
    ]

    func makeWriter(version: UInt32 = 3, alignment: UInt32? = nil) throws -> GGUFWriter {
        var w = GGUFWriter()
        w.version = version
        for (k, v) in Self.metadata { w.set(k, v) }
        if let alignment { w.set("general.alignment", .uint32(alignment)) }
        return w
    }

    func testMetadataOfEveryTypeRoundTrips() throws {
        for version: UInt32 in [2, 3] {
            let f = try GGUFBytes.open(try makeWriter(version: version).bytes())
            XCTAssertEqual(f.version, version)
            XCTAssertEqual(f.metadataKeys, Self.metadata.map(\.0), "keys keep file order")
            XCTAssertEqual(f.metadata.count, Self.metadata.count)
            for (k, v) in Self.metadata { XCTAssertEqual(f.metadata[k], v, "key '\(k)'") }
            XCTAssertTrue(f.tensors.isEmpty)
            XCTAssertEqual(f.alignment, 32)
            XCTAssertEqual(f.dataOffset % 32, 0)
        }
    }

    func testNaNMetadataKeepsItsBits() throws {
        var w = GGUFWriter()
        let f32 = Float(bitPattern: 0x7FC0_1234), f64 = Double(bitPattern: 0xFFF8_0000_0000_0042)
        w.set("nan32", .float32(f32)); w.set("nan64", .float64(f64))
        w.set("nans", .array(.float32, [.float32(.nan)]))
        let f = try GGUFBytes.open(w.bytes())
        guard case let .float32(a)? = f.metadata["nan32"], case let .float64(b)? = f.metadata["nan64"],
              case let .array(.float32, items)? = f.metadata["nans"], case let .float32(c) = items[0] else {
            return XCTFail("wrong types: \(f.metadata)")
        }
        XCTAssertEqual(a.bitPattern, f32.bitPattern)
        XCTAssertEqual(b.bitPattern, f64.bitPattern)
        XCTAssertTrue(c.isNaN)
    }

    func testTypedAccessors() throws {
        var w = try makeWriter()
        w.set("f.list", floats: [1, 2.5, -3])
        w.set("i.list", int32s: [4, -5])
        w.set("s.list", strings: ["a", "", "ü"])
        let f = try GGUFBytes.open(w.bytes())
        XCTAssertEqual(try f.string("general.architecture"), "llama")
        XCTAssertEqual(try f.string("string.empty"), "")
        XCTAssertEqual(try f.int("u32.max"), Int(UInt32.max))
        XCTAssertEqual(try f.int("i64.min"), Int(Int64.min))
        XCTAssertEqual(try f.double("f64.e"), M_E)
        XCTAssertEqual(try f.double("u8.max"), 255)
        XCTAssertEqual(try f.bool("bool.true"), true)
        XCTAssertEqual(try f.bool("bool.false"), false)
        XCTAssertEqual(try f.stringArray("s.list"), ["a", "", "ü"])
        XCTAssertEqual(try f.stringArray("array.empty.string"), [])
        XCTAssertEqual(try f.floatArray("f.list"), [1, 2.5, -3])
        XCTAssertEqual(try f.floatArray("array.i32")?.count, 100)
        XCTAssertEqual(try f.intArray("i.list"), [4, -5])
        XCTAssertEqual(try f.intArray("array.u8"), [0, 1, 255])
        // Missing keys are nil; wrong types throw wrongValueType naming the key.
        XCTAssertNil(try f.string("no.such.key"))
        XCTAssertNil(try f.intArray("no.such.key"))
        // u64.max does not fit an Int: that is a type error, not a silent wrap.
        let cases: [(String, () throws -> Any?)] = [
            ("general.architecture", { try f.int("general.architecture") }),
            ("u32.max", { try f.string("u32.max") }),
            ("u64.max", { try f.int("u64.max") }),
            ("string.empty", { try f.double("string.empty") }),
            ("u8.max", { try f.bool("u8.max") }),
            ("array.u32", { try f.stringArray("array.u32") }),
            ("array.string", { try f.floatArray("array.string") }),
            ("array.f32", { try f.intArray("array.f32") }),
            ("general.architecture", { try f.intArray("general.architecture") }),
        ]
        for (key, call) in cases {
            XCTAssertThrowsError(try call(), key) { error in
                guard case let .wrongValueType(k, _, _)? = error as? GGUFError else { return XCTFail("\(error)") }
                XCTAssertEqual(k, key)
            }
        }
    }

    /// Every tensor type, several shapes (1 to 4 dimensions), at several alignments, v2 and v3.
    func testTensorsOfEveryTypeRoundTrip() throws {
        var rng = SeededRNG(seed: 1)
        let shapes: [[Int]] = [[256], [512, 3], [256, 2, 3], [256, 1, 2, 2], [768, 1]]
        for (version, alignment) in [(UInt32(3), UInt32?.none), (2, 64), (3, 1), (3, 8), (2, 4096)] {
            var w = try makeWriter(version: version, alignment: alignment)
            var expected: [String: (dims: [Int], type: TensorType, bytes: [UInt8])] = [:]
            for type in TensorType.allCases {
                for (i, dims) in shapes.enumerated() {
                    let values = rng.gaussians(dims.reduce(1, *))
                    let bytes = Quantize.run(type, values)
                    let name = "\(type).\(i)"
                    try w.addTensor(name: name, dims: dims, type: type) { bytes }
                    expected[name] = (dims, type, bytes)
                }
            }
            let image = w.bytes()
            let f = try GGUFBytes.open(image)
            let a = Int(alignment ?? 32)
            XCTAssertEqual(f.version, version)
            XCTAssertEqual(f.alignment, a)
            XCTAssertEqual(f.dataOffset % a, 0)
            XCTAssertEqual(f.tensors.count, expected.count)
            XCTAssertEqual(f.tensors.map(\.name), w.tensors.map(\.name), "tensors keep file order")
            for t in f.tensors {
                let e = try XCTUnwrap(expected[t.name])
                XCTAssertEqual(t.dims, e.dims, t.name)
                XCTAssertEqual(t.type, e.type, t.name)
                XCTAssertEqual(t.elementCount, e.dims.reduce(1, *))
                XCTAssertEqual(t.rowCount, t.elementCount / e.dims[0])
                XCTAssertEqual(t.byteCount, e.bytes.count, t.name)
                XCTAssertEqual(t.offset % a, 0, "\(t.name) aligned to \(a)")
                XCTAssertLessThanOrEqual(f.dataOffset + t.offset + t.byteCount, image.count)
                XCTAssertEqual(f.bytes(t), e.bytes, t.name)
                XCTAssertEqual(f.tensor(named: t.name), t)
            }
            XCTAssertNil(f.tensor(named: "nope"))
            for (k, v) in Self.metadata { XCTAssertEqual(f.metadata[k], v, k) }
        }
    }

    func testF32TensorValuesAreExact() throws {
        var w = GGUFWriter()
        let values: [Float] = [0, -0.0, 1, -1, .pi, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .infinity, -.infinity] +
            (0..<23).map { Float($0) * 0.1 }
        try w.addTensor(name: "x", dims: [values.count], type: .f32, values: values)
        let f = try GGUFBytes.open(w.bytes())
        let got = f.floats(try f.requireTensor("x"))
        XCTAssertEqual(got.map(\.bitPattern), values.map(\.bitPattern))
    }

    /// With general.alignment 1 an F32 tensor can start at any byte: it still reads exactly.
    func testUnalignedF32Tensor() throws {
        var w = GGUFWriter()
        w.set("general.alignment", .uint32(1))
        w.set("odd", "x") // makes the header length odd
        try w.addTensor(name: "q", dims: [32], type: .q8_0, values: [Float](repeating: 1, count: 32))
        let values: [Float] = (0..<37).map { Float($0) * 1.25 - 7 }
        try w.addTensor(name: "f", dims: [values.count], type: .f32, values: values)
        let f = try GGUFBytes.open(w.bytes())
        let t = try f.requireTensor("f")
        XCTAssertEqual(t.offset, 34)
        XCTAssertNotEqual((f.dataOffset + t.offset) % 4, 0, "the test needs a misaligned tensor")
        XCTAssertEqual(f.floats(t), values)
    }

    func testWriteToFileMatchesBytes() throws {
        var w = try makeWriter(alignment: 64)
        var rng = SeededRNG(seed: 2)
        try w.addTensor(name: "a", dims: [256, 2], type: .q4_K, values: rng.gaussians(512))
        try w.addTensor(name: "b", dims: [3], type: .f32, values: [1, 2, 3])
        try w.addTensor(name: "c", dims: [64], type: .q8_0, values: rng.gaussians(64))
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("w.gguf").path
        try w.write(to: path)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), w.bytes())
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.tensors.map(\.name), ["a", "b", "c"])
        XCTAssertEqual(f.tensors.map(\.offset), [0, 320, 384])
        XCTAssertEqual(f.alignment, 64)
        XCTAssertEqual(w.header().count, f.dataOffset)
    }

    func testWriterRejectsPartialBlocks() {
        var w = GGUFWriter()
        XCTAssertThrowsError(try w.addTensor(name: "odd", dims: [100], type: .q4_K) { [] }) { error in
            guard case let .badDimensions(name, _, _)? = error as? GGUFError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "odd")
        }
        XCTAssertThrowsError(try w.addTensor(name: "odd2", dims: [48, 2], type: .q8_0) { [] })
        XCTAssertTrue(w.tensors.isEmpty)
    }

    func testWriterRejectsBadDimensions() {
        var w = GGUFWriter()
        for dims in [[], [0], [32, 0], [-32], [32, -1], [32, 1, 1, 1, 1]] {
            XCTAssertThrowsError(try w.addTensor(name: "bad", dims: dims, type: .f32) { [] }, "\(dims)") { error in
                guard case .badDimensions? = error as? GGUFError else { return XCTFail("\(error)") }
            }
        }
        XCTAssertTrue(w.tensors.isEmpty)
    }

    /// A bad alignment given to the writer does not crash it; the reader rejects the file.
    func testWriterWithBadAlignmentValue() throws {
        for a: UInt32 in [0, 3] {
            var w = GGUFWriter()
            w.set("general.alignment", .uint32(a))
            try w.addTensor(name: "t", dims: [4], type: .f32, values: [1, 2, 3, 4])
            XCTAssertEqual(GGUFBytes.error(w.bytes()), .badAlignment(UInt64(a)))
        }
    }

    func testWriterReportsWrongByteCount() throws {
        var w = GGUFWriter()
        try w.addTensor(name: "short", dims: [32], type: .q8_0) { [1, 2, 3] }
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try w.write(to: dir.appendingPathComponent("x.gguf").path)) { error in
            guard case let .writeFailed(_, reason)? = error as? GGUFError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("short"), reason)
        }
    }

    func testSetReplacesExistingKeyInPlace() throws {
        var w = GGUFWriter()
        w.set("a", "1"); w.set("b", "2"); w.set("a", uint32: 3)
        let f = try GGUFBytes.open(w.bytes())
        XCTAssertEqual(f.metadataKeys, ["a", "b"])
        XCTAssertEqual(f.metadata["a"], .uint32(3))
    }
}
