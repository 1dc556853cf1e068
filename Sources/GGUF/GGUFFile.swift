/// One tensor's description and where its bytes are in the mapped file.
public struct TensorInfo: Equatable {
    public let name: String
    /// ggml order: dims[0] is the contiguous (innermost) dimension.
    public let dims: [Int]
    public let type: TensorType
    /// Offset from the start of the data section.
    public let offset: Int
    public let byteCount: Int

    public var elementCount: Int { dims.reduce(1, *) }
    /// Rows as ggml sees them: everything but the innermost dimension.
    public var rowCount: Int { elementCount / dims[0] }
}

/// A validated, memory-mapped GGUF v2/v3 file. Everything is checked before use: a file that
/// opens without throwing has in-bounds, aligned tensors of known types and sane dimensions.
public final class GGUFFile {
    public let file: MappedFile
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order (for `info` and for round-tripping).
    public let metadataKeys: [String]
    public let tensors: [TensorInfo]
    public let alignment: Int
    public let dataOffset: Int
    private let tensorIndex: [String: Int]

    public static let magic: UInt32 = 0x4655_4747 // "GGUF" little-endian
    static let maxArrayNesting = 2
    static let maxDims = 4

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        var cur = ByteCursor(base: file.base, size: file.size)
        let magic = try cur.read(UInt32.self, "magic")
        guard magic == Self.magic else { throw GGUFError.badMagic(found: magic) }
        version = try cur.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        // A tensor info takes at least 8 (name) + 4 (n_dims) + 8 (one dim) + 4 + 8 bytes.
        let tensorCount = try cur.readCount("tensor count", minimumItemSize: 32)
        let kvCount = try cur.readCount("metadata count", minimumItemSize: 8 + 4 + 1)

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for i in 0..<kvCount {
            let key = try cur.readString("metadata key #\(i)")
            let typeId = try cur.read(UInt32.self, "type of '\(key)'")
            guard let type = GGUFValueType(rawValue: typeId) else { throw GGUFError.unknownValueType(key: key, typeId: typeId) }
            let value = try Self.readValue(&cur, type: type, key: key, depth: 0)
            guard metadata[key] == nil else { throw GGUFError.duplicateKey(key) }
            metadata[key] = value
            keys.append(key)
        }
        self.metadata = metadata
        metadataKeys = keys

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard case let .uint32(v) = a else {
                throw GGUFError.wrongValueType(key: "general.alignment", expected: "uint32", found: a.type.description)
            }
            guard v > 0, v <= 65536, v & (v - 1) == 0 else { throw GGUFError.badAlignment(UInt64(v)) }
            alignment = Int(v)
        }
        self.alignment = alignment

        var raw: [(name: String, dims: [Int], type: TensorType, offset: UInt64)] = []
        var seen = Set<String>()
        for i in 0..<tensorCount {
            let name = try cur.readString("tensor name #\(i)")
            guard seen.insert(name).inserted else { throw GGUFError.duplicateTensor(name) }
            let nDims = try cur.read(UInt32.self, "dimension count of '\(name)'")
            guard nDims >= 1, nDims <= Self.maxDims else {
                throw GGUFError.badDimensions(tensor: name, dims: [], reason: "\(nDims) dimensions (1 to \(Self.maxDims) allowed)")
            }
            var dims64: [UInt64] = []
            for d in 0..<Int(nDims) { dims64.append(try cur.read(UInt64.self, "dimension \(d) of '\(name)'")) }
            let typeId = try cur.read(UInt32.self, "type of '\(name)'")
            let offset = try cur.read(UInt64.self, "offset of '\(name)'")
            guard let type = TensorType(rawValue: typeId) else {
                if let known = TensorType.knownName(typeId) { throw GGUFError.unsupportedTensorType(tensor: name, type: known) }
                throw GGUFError.unknownTensorType(tensor: name, typeId: typeId)
            }
            raw.append((name, try Self.checkedDims(dims64, name: name), type, offset))
        }

        let headerEnd = cur.offset
        let dataOffset = (headerEnd + alignment - 1) / alignment * alignment
        self.dataOffset = dataOffset
        let dataSize = max(0, file.size - dataOffset)

        var tensors: [TensorInfo] = []
        for t in raw {
            guard let rowBytes = t.type.rowBytes(t.dims[0]) else {
                throw GGUFError.badDimensions(tensor: t.name, dims: t.dims.map(UInt64.init),
                                              reason: "row length \(t.dims[0]) is not a multiple of the \(t.type) block size \(t.type.blockSize)")
            }
            let (bytes, overflow) = rowBytes.multipliedReportingOverflow(by: t.dims.dropFirst().reduce(1, *))
            guard !overflow else { throw GGUFError.badDimensions(tensor: t.name, dims: t.dims.map(UInt64.init), reason: "byte size overflows") }
            guard t.offset % UInt64(alignment) == 0 else { throw GGUFError.misalignedTensor(tensor: t.name, offset: t.offset, alignment: alignment) }
            guard t.offset <= UInt64(dataSize), UInt64(bytes) <= UInt64(dataSize) - t.offset else {
                throw GGUFError.tensorOutOfBounds(tensor: t.name, offset: t.offset, size: UInt64(bytes), dataSize: dataSize)
            }
            tensors.append(TensorInfo(name: t.name, dims: t.dims, type: t.type, offset: Int(t.offset), byteCount: bytes))
        }
        self.tensors = tensors
        tensorIndex = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    /// Dimensions must be positive and their product must not overflow.
    static func checkedDims(_ dims: [UInt64], name: String) throws -> [Int] {
        var product: UInt64 = 1
        for d in dims {
            guard d >= 1 else { throw GGUFError.badDimensions(tensor: name, dims: dims, reason: "a dimension is zero") }
            let (p, overflow) = product.multipliedReportingOverflow(by: d)
            guard !overflow, p <= UInt64(1) << 48 else {
                throw GGUFError.badDimensions(tensor: name, dims: dims, reason: "element count overflows")
            }
            product = p
        }
        return dims.map { Int($0) }
    }

    static func readValue(_ cur: inout ByteCursor, type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try cur.read(UInt8.self, key))
        case .int8: return .int8(try cur.read(Int8.self, key))
        case .uint16: return .uint16(try cur.read(UInt16.self, key))
        case .int16: return .int16(try cur.read(Int16.self, key))
        case .uint32: return .uint32(try cur.read(UInt32.self, key))
        case .int32: return .int32(try cur.read(Int32.self, key))
        case .uint64: return .uint64(try cur.read(UInt64.self, key))
        case .int64: return .int64(try cur.read(Int64.self, key))
        case .float32: return .float32(try cur.readFloat(key))
        case .float64: return .float64(try cur.readDouble(key))
        case .bool:
            let b = try cur.read(UInt8.self, key)
            guard b <= 1 else { throw GGUFError.wrongValueType(key: key, expected: "bool (0 or 1)", found: "byte \(b)") }
            return .bool(b == 1)
        case .string: return .string(try cur.readString("value of '\(key)'"))
        case .array:
            let elemId = try cur.read(UInt32.self, "array type of '\(key)'")
            guard let elem = GGUFValueType(rawValue: elemId) else { throw GGUFError.unknownValueType(key: key, typeId: elemId) }
            guard elem != .array || depth < maxArrayNesting else {
                throw GGUFError.wrongValueType(key: key, expected: "at most \(maxArrayNesting) nested arrays", found: "deeper nesting")
            }
            let n = try cur.readCount("array length of '\(key)'", minimumItemSize: elem.minimumSize)
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try readValue(&cur, type: elem, key: key, depth: depth + 1)) }
            return .array(elem, items)
        }
    }

    // MARK: - Lookup

    public func tensor(named name: String) -> TensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// Pointer to a tensor's bytes inside the map (valid while this file lives).
    public func data(for tensor: TensorInfo) -> UnsafeRawPointer { file.base + dataOffset + tensor.offset }

    public func string(_ key: String) throws -> String? {
        guard let v = metadata[key] else { return nil }
        guard let s = v.stringValue else { throw GGUFError.wrongValueType(key: key, expected: "string", found: v.type.description) }
        return s
    }

    public func int(_ key: String) throws -> Int? {
        guard let v = metadata[key] else { return nil }
        guard let i = v.intValue else { throw GGUFError.wrongValueType(key: key, expected: "integer", found: v.type.description) }
        return i
    }

    public func double(_ key: String) throws -> Double? {
        guard let v = metadata[key] else { return nil }
        guard let d = v.doubleValue else { throw GGUFError.wrongValueType(key: key, expected: "number", found: v.type.description) }
        return d
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let v = metadata[key] else { return nil }
        guard let b = v.boolValue else { throw GGUFError.wrongValueType(key: key, expected: "bool", found: v.type.description) }
        return b
    }

    public func stringArray(_ key: String) throws -> [String]? {
        guard let v = metadata[key] else { return nil }
        guard case let .array(.string, items) = v else { throw GGUFError.wrongValueType(key: key, expected: "array of strings", found: v.type.description) }
        return items.map { $0.stringValue! }
    }

    public func floatArray(_ key: String) throws -> [Float]? {
        guard let v = metadata[key] else { return nil }
        guard case let .array(_, items) = v, let out = Optional(items.compactMap { $0.doubleValue.map(Float.init) }), out.count == items.count else {
            throw GGUFError.wrongValueType(key: key, expected: "array of numbers", found: v.type.description)
        }
        return out
    }

    public func intArray(_ key: String) throws -> [Int]? {
        guard let v = metadata[key] else { return nil }
        guard case let .array(_, items) = v, let out = Optional(items.compactMap { $0.intValue }), out.count == items.count else {
            throw GGUFError.wrongValueType(key: key, expected: "array of integers", found: v.type.description)
        }
        return out
    }
}
