import Foundation

/// Any JSON value. Requests are decoded into this first and read field by field, so a field of
/// the wrong type is reported by name (`param`) rather than as a decoder's coding path.
public enum JSONValue: Equatable, Sendable, Codable {
    case null
    case bool(Bool)
    /// Integers keep their exact value; other numbers are `.number`.
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .integer(i): try c.encode(i)
        case let .number(d): try c.encode(d)
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }

    /// Parses a request body: valid UTF-8, valid JSON, an object at the top.
    public static func parseObject(_ body: Data) throws -> [String: JSONValue] {
        // Checked first so the client learns what is wrong, not just "invalid JSON".
        guard String(bytes: body, encoding: .utf8) != nil else {
            throw APIError.invalid("the request body is not valid UTF-8", code: "invalid_utf8")
        }
        let value: JSONValue
        do { value = try JSONDecoder().decode(JSONValue.self, from: body) } catch {
            throw APIError.invalid("the request body is not valid JSON", code: "invalid_json")
        }
        guard case let .object(object) = value else { throw APIError.invalid("the request body must be a JSON object", code: "invalid_json") }
        return object
    }
}

/// Typed, range-checked reads of a request object's fields. Absent and `null` fields read as nil
/// (OpenAI's clients send `null` for "not given").
struct Fields {
    let object: [String: JSONValue]

    /// The field, unless absent or null.
    subscript(_ key: String) -> JSONValue? {
        guard let v = object[key], v != .null else { return nil }
        return v
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let v = self[key] else { return nil }
        let i: Int
        switch v {
        case let .integer(x): i = x
        // 2.0 is an integer to JavaScript clients; 2.5 is not.
        case let .number(d) where d.rounded() == d && abs(d) < 9e15: i = Int(d)
        default: throw APIError.wrongType(key, expected: "an integer")
        }
        guard range.contains(i) else { throw APIError.invalid("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(i)", param: key) }
        return i
    }

    func double(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let v = self[key] else { return nil }
        let d: Double
        switch v {
        case let .integer(x): d = Double(x)
        case let .number(x): d = x
        default: throw APIError.wrongType(key, expected: "a number")
        }
        guard range.contains(d) else { throw APIError.invalid("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(d)", param: key) }
        return d
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = self[key] else { return nil }
        guard case let .bool(b) = v else { throw APIError.wrongType(key, expected: "a boolean") }
        return b
    }

    func string(_ key: String) throws -> String? {
        guard let v = self[key] else { return nil }
        guard case let .string(s) = v else { throw APIError.wrongType(key, expected: "a string") }
        return s
    }

    func object(_ key: String) throws -> Fields? {
        guard let v = self[key] else { return nil }
        guard case let .object(o) = v else { throw APIError.wrongType(key, expected: "an object") }
        return Fields(object: o)
    }
}
