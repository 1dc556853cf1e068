import Foundation

/// Builds a GGUF v3 file: metadata in insertion order, tensors laid out at the alignment.
/// Tensor bytes come from closures so that large models are written without holding them all.
public struct GGUFWriter {
    public struct PendingTensor {
        public var name: String
        public var dims: [Int]
        public var type: TensorType
        public var byteCount: Int
        public var bytes: () -> [UInt8]
    }

    public var version: UInt32 = 3
    public var alignment = 32
    public private(set) var metadata: [(String, GGUFValue)] = []
    public private(set) var tensors: [PendingTensor] = []

    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = metadata.firstIndex(where: { $0.0 == key }) { metadata[i].1 = value } else { metadata.append((key, value)) }
        // Only a usable alignment changes the layout; a bad one is written as given (the reader rejects it).
        if key == "general.alignment", case let .uint32(a) = value, a > 0, a & (a - 1) == 0 { alignment = Int(a) }
    }

    public mutating func set(_ key: String, _ s: String) { set(key, .string(s)) }
    public mutating func set(_ key: String, uint32 v: Int) { set(key, .uint32(UInt32(v))) }
    public mutating func set(_ key: String, float32 v: Double) { set(key, .float32(Float(v))) }
    public mutating func set(_ key: String, strings: [String]) { set(key, .array(.string, strings.map { .string($0) })) }
    public mutating func set(_ key: String, floats: [Float]) { set(key, .array(.float32, floats.map { .float32($0) })) }
    public mutating func set(_ key: String, int32s: [Int]) { set(key, .array(.int32, int32s.map { .int32(Int32($0)) })) }

    /// Adds a tensor whose row length `dims[0]` must be whole blocks of `type`.
    public mutating func addTensor(name: String, dims: [Int], type: TensorType, bytes: @escaping () -> [UInt8]) throws {
        guard (1...4).contains(dims.count), dims.allSatisfy({ $0 > 0 }) else {
            throw GGUFError.badDimensions(tensor: name, dims: dims.map { UInt64(clamping: $0) }, reason: "need 1 to 4 positive dimensions")
        }
        guard let row = type.rowBytes(dims[0]) else {
            throw GGUFError.badDimensions(tensor: name, dims: dims.map(UInt64.init), reason: "row length is not whole \(type) blocks")
        }
        tensors.append(PendingTensor(name: name, dims: dims, type: type, byteCount: row * dims.dropFirst().reduce(1, *), bytes: bytes))
    }

    /// Quantizes `values` (ggml order, dims[0] contiguous) into `type`.
    public mutating func addTensor(name: String, dims: [Int], type: TensorType, values: [Float]) throws {
        precondition(values.count == dims.reduce(1, *), "values must match dims")
        try addTensor(name: name, dims: dims, type: type) { Quantize.run(type, values) }
    }

    static func align(_ n: Int, _ a: Int) -> Int { (n + a - 1) / a * a }

    /// The header (everything before the data section, padding included).
    public func header() -> [UInt8] {
        var out = ByteSink()
        out.u32(GGUFFile.magic); out.u32(version)
        out.u64(UInt64(tensors.count)); out.u64(UInt64(metadata.count))
        for (key, value) in metadata {
            out.string(key); out.u32(value.type.rawValue); out.value(value)
        }
        var offset = 0
        for t in tensors {
            out.string(t.name); out.u32(UInt32(t.dims.count))
            for d in t.dims { out.u64(UInt64(d)) }
            out.u32(t.type.rawValue); out.u64(UInt64(offset))
            offset = Self.align(offset + t.byteCount, alignment)
        }
        out.bytes.append(contentsOf: [UInt8](repeating: 0, count: Self.align(out.bytes.count, alignment) - out.bytes.count))
        return out.bytes
    }

    public func write(to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw GGUFError.writeFailed(path: path, reason: "cannot create file")
        }
        defer { try? h.close() }
        do {
            try h.write(contentsOf: header())
            for t in tensors {
                var data = t.bytes()
                guard data.count == t.byteCount else {
                    throw GGUFError.writeFailed(path: path, reason: "tensor '\(t.name)' produced \(data.count) bytes, expected \(t.byteCount)")
                }
                data.append(contentsOf: [UInt8](repeating: 0, count: Self.align(data.count, alignment) - data.count))
                try h.write(contentsOf: data)
            }
        } catch let e as GGUFError {
            throw e
        } catch {
            throw GGUFError.writeFailed(path: path, reason: error.localizedDescription)
        }
    }

    /// The whole file in memory (for tests that corrupt it byte by byte).
    public func bytes() -> [UInt8] {
        var out = header()
        for t in tensors {
            out += t.bytes()
            out += [UInt8](repeating: 0, count: Self.align(out.count, alignment) - out.count)
        }
        return out
    }
}

/// Little-endian serialisation of GGUF primitives.
struct ByteSink {
    var bytes: [UInt8] = []
    mutating func raw<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { raw(v) }
    mutating func u64(_ v: UInt64) { raw(v) }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes.append(contentsOf: s.utf8) }
    mutating func value(_ v: GGUFValue) {
        switch v {
        case let .uint8(x): raw(x)
        case let .int8(x): raw(x)
        case let .uint16(x): raw(x)
        case let .int16(x): raw(x)
        case let .uint32(x): raw(x)
        case let .int32(x): raw(x)
        case let .uint64(x): raw(x)
        case let .int64(x): raw(x)
        case let .float32(x): raw(x.bitPattern)
        case let .float64(x): raw(x.bitPattern)
        case let .bool(x): raw(UInt8(x ? 1 : 0))
        case let .string(s): string(s)
        case let .array(t, items):
            u32(t.rawValue); u64(UInt64(items.count))
            for i in items { value(i) }
        }
    }
}
