/// Bounds-checked little-endian reads from a mapped file. Every read says what it was for,
/// so a truncated or hostile file produces an error that names the field.
struct ByteCursor {
    let base: UnsafeRawPointer
    let size: Int
    var offset: Int = 0

    var remaining: Int { size - offset }

    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        guard n >= 0, n <= remaining else {
            throw GGUFError.truncated(what: what(), offset: offset, needed: n, fileSize: size)
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// A count that must fit in the rest of the file, given the minimum bytes per item.
    mutating func readCount(_ what: String, minimumItemSize: Int) throws -> Int {
        let n = try read(UInt64.self, what)
        let limit = UInt64(remaining / max(1, minimumItemSize))
        guard n <= limit else { throw GGUFError.implausibleCount(what: what, count: n, limit: limit) }
        return Int(n)
    }

    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let start = offset
        let n = try read(UInt64.self, what())
        guard n <= UInt64(remaining) else {
            throw GGUFError.truncated(what: what(), offset: offset, needed: Int(clamping: n), fileSize: size)
        }
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: Int(n))
        guard let s = Self.validUTF8(bytes) else { throw GGUFError.invalidString(what: what(), offset: start) }
        offset += Int(n)
        return s
    }

    /// Strict UTF-8 decoding (no overlongs, surrogates or truncated sequences), nil if invalid.
    /// String(validating:as:) needs macOS 15; the package supports macOS 13.
    static func validUTF8(_ bytes: UnsafeRawBufferPointer) -> String? {
        if #available(macOS 15, iOS 18, tvOS 18, watchOS 11, visionOS 2, *) {
            return String(validating: bytes, as: UTF8.self)
        }
        var parser = Unicode.UTF8.ForwardParser()
        var it = bytes.makeIterator()
        while true {
            switch parser.parseScalar(from: &it) {
            case .valid: continue
            case .emptyInput: return String(decoding: bytes, as: UTF8.self)
            case .error: return nil
            }
        }
    }
}
