import Foundation
import XCTest

/// Where the shared reference data lives: `$LLAMACL_FIXTURES`, else `../shared/fixtures`
/// beside the package. Tests that need it call `Fixtures.require()`; on a clone without it they
/// are skipped by name, except in CI (CI=true), where a missing fixture is a failure.
public enum Fixtures {
    public static let environmentKey = "LLAMACL_FIXTURES"

    public static var packageRoot: URL {
        // Tests/TestSupport/Fixtures.swift → package root
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static var root: URL {
        if let env = ProcessInfo.processInfo.environment[environmentKey], !env.isEmpty { return URL(fileURLWithPath: env) }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

    /// The path of a fixture file, or a skip (a failure in CI) that names it.
    public static func require(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let url = root.appendingPathComponent(relative)
        if FileManager.default.fileExists(atPath: url.path) { return url.path }
        let message = "fixture \(relative) not found under \(root.path) (set \(environmentKey))"
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            XCTFail(message, file: file, line: line)
        }
        throw XCTSkip(message)
    }

    /// A fresh temporary directory for one test.
    public static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("llamacl-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
