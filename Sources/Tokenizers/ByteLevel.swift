/// GPT-2's byte ↔ unicode mapping. Byte-level BPE vocabularies store each token's bytes as
/// printable characters: bytes that are already printable Latin-1 ('!'...'~', '¡'...'¬',
/// '®'...'ÿ') stand for themselves and the other 68 bytes map, in order, to U+0100, U+0101, ...
/// (so a space is 'Ġ' U+0120 and a newline 'Ċ' U+010A).
enum ByteLevel {
    /// Scalar value for each byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var extra: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = extra
                extra += 1
            }
        }
        return table
    }()

    /// Byte for each scalar value below 324, or -1.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, s) in scalarForByte.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// The raw bytes a byte-level token text stands for, or nil if it has a character outside
    /// the mapping (such texts, e.g. some added tokens, are taken literally by the caller).
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            guard Int(s.value) < byteForScalar.count, byteForScalar[Int(s.value)] >= 0 else { return nil }
            out.append(UInt8(byteForScalar[Int(s.value)]))
        }
        return out
    }

    /// Byte-level text for raw bytes (used to look merges up and in tests).
    static func encode(_ bytes: [UInt8]) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(scalarForByte[Int(b)])!) }
        return String(s)
    }
}
