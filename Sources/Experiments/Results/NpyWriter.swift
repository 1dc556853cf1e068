import Foundation

/// Writes float32 C-order `.npy` files (format version 1.0), e.g. a model's logits of shape
/// [n_tokens, n_vocab], for NumPy and the reference scripts.
public enum NpyWriter {
    public static func write(_ rows: [[Float]], to url: URL) throws {
        let cols = rows.first?.count ?? 0
        guard rows.allSatisfy({ $0.count == cols }) else {
            throw ExperimentError.ioFailure(path: url.path, reason: "rows of different lengths cannot form one .npy array")
        }
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count), \(cols)), }"
        // Magic (6) + version (2) + header length (2) + header + newline, padded to 64 bytes.
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var data = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0])
        let n = UInt16(header.utf8.count)
        data += Data([UInt8(n & 0xFF), UInt8(n >> 8)]) + Data(header.utf8)
        data.reserveCapacity(data.count + rows.count * cols * 4)
        for row in rows { row.withUnsafeBytes { data.append(contentsOf: $0) } }
        do { try data.write(to: url) } catch { throw ExperimentError.ioFailure(path: url.path, reason: "cannot write: \(error.localizedDescription)") }
    }
}
