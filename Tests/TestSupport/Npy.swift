import Foundation

/// Reads a float32 little-endian C-order `.npy` file (the fixtures' logits).
public enum NpyReader {
    public struct ArrayF32 { public let shape: [Int]; public let values: [Float] }

    public enum Failure: Error { case badFile(String) }

    public static func read(_ path: String) throws -> ArrayF32 {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count > 10, data.prefix(6) == Data([0x93]) + Data("NUMPY".utf8) else { throw Failure.badFile("not an npy file: \(path)") }
        let major = data[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(data[8]) | Int(data[9]) << 8; headerStart = 10
        } else {
            headerLength = Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24; headerStart = 12
        }
        let header = String(decoding: data[headerStart..<headerStart + headerLength], as: UTF8.self)
        guard header.contains("'<f4'"), header.contains("'fortran_order': False") else { throw Failure.badFile("expected <f4 C-order: \(header)") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw Failure.badFile("no shape in \(header)")
        }
        let shape = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let count = shape.reduce(1, *)
        let body = data.subdata(in: headerStart + headerLength..<data.count)
        guard body.count == 4 * count else { throw Failure.badFile("expected \(count) floats, found \(body.count / 4)") }
        let values = body.withUnsafeBytes { raw in (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
        return ArrayF32(shape: shape, values: values)
    }
}
