import Foundation
import GGUF
import TestSupport
import XCTest

/// Deterministic random numbers for tests (SplitMix64), with a Gaussian helper.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func gaussian() -> Float {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self), u2 = Double.random(in: 0..<1, using: &self)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
    mutating func gaussians(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in gaussian() * scale } }
}

/// Writes bytes to a temporary file and opens them with the validating reader.
enum GGUFBytes {
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("llamacl-gguf-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    static func write(_ bytes: [UInt8]) -> String {
        let path = directory.appendingPathComponent(UUID().uuidString + ".gguf").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    /// Opens `bytes` as a GGUF file (the temporary file is removed once mapped or rejected).
    static func open(_ bytes: [UInt8]) throws -> GGUFFile {
        let path = write(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)
    }

    /// The GGUFError that opening `bytes` throws; fails the test when it opens or throws something else.
    static func error(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> GGUFError? {
        do {
            _ = try open(bytes)
            XCTFail("expected a GGUFError, but the file opened", file: file, line: line)
        } catch let e as GGUFError {
            return e
        } catch {
            XCTFail("expected a GGUFError, got \(type(of: error)): \(error)", file: file, line: line)
        }
        return nil
    }
}

extension Array where Element == UInt8 {
    /// Where a GGUF string (u64 length + UTF-8) starts, searching from `from`.
    func offset(ofGGUFString s: String, from: Int = 0) -> Int? {
        var needle: [UInt8] = []
        Swift.withUnsafeBytes(of: UInt64(s.utf8.count).littleEndian) { needle += $0 }
        needle += Array(s.utf8)
        guard count >= needle.count else { return nil }
        for i in from...(count - needle.count) where self[i] == needle[0] && Array(self[i..<i + needle.count]) == needle {
            return i
        }
        return nil
    }

    /// Offset just past a GGUF string (the key's type id, or a tensor's n_dims, starts here).
    func end(ofGGUFString s: String, from: Int = 0, file: StaticString = #filePath, line: UInt = #line) -> Int {
        guard let o = offset(ofGGUFString: s, from: from) else {
            XCTFail("string '\(s)' not found", file: file, line: line)
            return 0
        }
        return o + 8 + s.utf8.count
    }

    mutating func put<T: FixedWidthInteger>(_ v: T, at offset: Int) {
        Swift.withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { self[offset + i] = b } }
    }

    func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var v: T = 0
        Swift.withUnsafeMutableBytes(of: &v) { for i in 0..<MemoryLayout<T>.size { $0[i] = self[offset + i] } }
        return T(littleEndian: v)
    }
}

/// Relative RMS error ‖a − b‖ / ‖b‖.
func relativeRMS(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var num = 0.0, den = 0.0
    for i in 0..<a.count {
        let d = Double(a[i]) - Double(b[i])
        num += d * d
        den += Double(b[i]) * Double(b[i])
    }
    return den == 0 ? (num == 0 ? 0 : .infinity) : (num / den).squareRoot()
}

extension GGUFFile {
    /// A tensor's values as F32 through the reference dequantizer.
    func floats(_ t: TensorInfo) -> [Float] { Dequantize.toFloats(t.type, data(for: t), count: t.elementCount) }

    func bytes(_ t: TensorInfo) -> [UInt8] { Array(UnsafeRawBufferPointer(start: data(for: t), count: t.byteCount)) }

    func requireTensor(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> TensorInfo {
        guard let t = tensor(named: name) else {
            XCTFail("no tensor '\(name)'", file: file, line: line)
            throw XCTSkip("missing tensor \(name)")
        }
        return t
    }
}
