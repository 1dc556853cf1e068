/// Everything that can be wrong with a GGUF file, each case naming what and where.
public enum GGUFError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case badMagic(found: UInt32)
    case unsupportedVersion(UInt32)
    case truncated(what: String, offset: Int, needed: Int, fileSize: Int)
    case implausibleCount(what: String, count: UInt64, limit: UInt64)
    case invalidString(what: String, offset: Int)
    case unknownValueType(key: String, typeId: UInt32)
    case duplicateKey(String)
    case duplicateTensor(String)
    case badAlignment(UInt64)
    case unknownTensorType(tensor: String, typeId: UInt32)
    case unsupportedTensorType(tensor: String, type: String)
    case badDimensions(tensor: String, dims: [UInt64], reason: String)
    case misalignedTensor(tensor: String, offset: UInt64, alignment: Int)
    case tensorOutOfBounds(tensor: String, offset: UInt64, size: UInt64, dataSize: Int)
    case wrongValueType(key: String, expected: String, found: String)
    case missingKey(String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "cannot open '\(path)': \(reason)"
        case let .badMagic(found): return "not a GGUF file (magic 0x\(String(found, radix: 16)), expected 'GGUF')"
        case let .unsupportedVersion(v): return "unsupported GGUF version \(v) (supported: 2, 3)"
        case let .truncated(what, offset, needed, size):
            return "file truncated: \(what) needs \(needed) bytes at offset \(offset), file has \(size)"
        case let .implausibleCount(what, count, limit): return "implausible \(what): \(count) (at most \(limit) fit in the file)"
        case let .invalidString(what, offset): return "invalid UTF-8 in \(what) at offset \(offset)"
        case let .unknownValueType(key, id): return "metadata key '\(key)' has unknown value type \(id)"
        case let .duplicateKey(key): return "duplicate metadata key '\(key)'"
        case let .duplicateTensor(name): return "duplicate tensor name '\(name)'"
        case let .badAlignment(a): return "general.alignment \(a) is not a power of two between 1 and 65536"
        case let .unknownTensorType(name, id): return "tensor '\(name)' has unknown type id \(id)"
        case let .unsupportedTensorType(name, type): return "tensor '\(name)' has type \(type), which LlamaCL does not support"
        case let .badDimensions(name, dims, reason): return "tensor '\(name)' has bad dimensions \(dims): \(reason)"
        case let .misalignedTensor(name, offset, alignment): return "tensor '\(name)' offset \(offset) is not a multiple of the alignment \(alignment)"
        case let .tensorOutOfBounds(name, offset, size, dataSize):
            return "tensor '\(name)' (offset \(offset), \(size) bytes) lies outside the data section (\(dataSize) bytes)"
        case let .wrongValueType(key, expected, found): return "metadata key '\(key)' should be \(expected) but is \(found)"
        case let .missingKey(key): return "missing metadata key '\(key)'"
        case let .writeFailed(path, reason): return "cannot write '\(path)': \(reason)"
        }
    }
}
