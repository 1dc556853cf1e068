import Foundation
import XCTest

/// Real models and data sets fetched by `scripts/fetch-models.sh` into `$LLAMACL_MODELS`
/// (default `~/.cache/llamacl/models`). Tests that need one call `Models.require(name)` and are
/// skipped by name when it is absent; CI sets `LLAMACL_REQUIRE_MODELS=1` once it fetches them,
/// which turns a missing file into a failure.
public enum Models {
    public static let environmentKey = "LLAMACL_MODELS"
    public static let qwenCoder05B = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    public static let qwenCoder15B = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    public static let humanEval = "HumanEval.jsonl.gz"

    public static var directory: URL {
        if let env = ProcessInfo.processInfo.environment[environmentKey], !env.isEmpty { return URL(fileURLWithPath: env) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/llamacl/models")
    }

    /// The path of `name` in the models directory, or a skip (a failure when required) naming it.
    public static func require(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let url = directory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: url.path) { return url.path }
        let message = "model file \(name) not found under \(directory.path) (scripts/fetch-models.sh; set \(environmentKey))"
        if ProcessInfo.processInfo.environment["LLAMACL_REQUIRE_MODELS"] == "1" { XCTFail(message, file: file, line: line) }
        throw XCTSkip(message)
    }
}
