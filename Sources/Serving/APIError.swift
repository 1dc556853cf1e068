import Foundation

/// An error answered in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with
/// its HTTP status. Every request the server refuses ends up as one of these.
public struct APIError: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?

    public init(status: Int, message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status; self.message = message; self.type = type; self.param = param; self.code = code
    }

    public var description: String { "\(status) \(type): \(message)" }

    /// 400: the request is malformed or asks for something out of range.
    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// 400 with `code: "invalid_type"`: a field of the wrong JSON type.
    public static func wrongType(_ param: String, expected: String) -> APIError {
        .invalid("'\(param)' must be \(expected)", param: param, code: "invalid_type")
    }

    public static func unauthorized(_ message: String) -> APIError {
        APIError(status: 401, message: message, type: "authentication_error", code: "invalid_api_key")
    }

    public static func notFound(_ message: String) -> APIError {
        APIError(status: 404, message: message, type: "invalid_request_error", code: "not_found")
    }

    public static func tooLarge(limit: Int) -> APIError {
        APIError(status: 413, message: "the request body is larger than \(limit) bytes", type: "invalid_request_error",
                 code: "request_too_large")
    }

    /// 429: the queue is full; the client should retry later.
    public static func overloaded(_ message: String) -> APIError {
        APIError(status: 429, message: message, type: "rate_limit_error", code: "queue_full")
    }

    public static func server(_ message: String) -> APIError {
        APIError(status: 500, message: message, type: "server_error")
    }

    /// The JSON body: `{"error": {...}}`, with null param and code when absent (as OpenAI sends them).
    public var jsonBody: Data {
        let object: [String: Any] = ["error": [
            "message": message, "type": type,
            "param": param as Any? ?? NSNull(), "code": code as Any? ?? NSNull(),
        ]]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }
}
