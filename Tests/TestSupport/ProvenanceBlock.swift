import Foundation
import XCTest

/// Checks the "provenance" block of a result file as JSON (see Experiments' `Provenance`): every
/// key present, the revision and dirty flag consistent with the engine version, a command line,
/// a UTC timestamp, and each input file named with a SHA-256. Returns the block for further
/// checks (nil after a failure). Works on parsed JSON so that any test target can use it.
public func assertProvenanceBlock(_ value: Any?, _ what: String, file: StaticString = #filePath, line: UInt = #line) -> [String: Any]? {
    guard let block = value as? [String: Any] else {
        XCTFail("\(what): no provenance block (got \(String(describing: value)))", file: file, line: line)
        return nil
    }
    let keys = ["engine_version", "source_revision", "source_tree_dirty", "command", "seeds", "threads", "backend", "device",
                "hyper_parameters", "inputs", "host", "created"]
    XCTAssertEqual(Set(block.keys), Set(keys), "\(what): provenance keys", file: file, line: line)
    let revision = block["source_revision"] as? String ?? ""
    XCTAssertNotNil(revision.range(of: #"^([0-9a-f]{12}|unknown)$"#, options: .regularExpression), "\(what): revision \(revision)", file: file, line: line)
    let dirty = block["source_tree_dirty"] as? Bool
    XCTAssertNotNil(dirty, "\(what): source_tree_dirty", file: file, line: line)
    let version = block["engine_version"] as? String ?? ""
    XCTAssertTrue(version.contains("+\(revision)"), "\(what): \(version) names \(revision)", file: file, line: line)
    XCTAssertEqual(version.hasSuffix("-dirty"), dirty ?? false, "\(what): a dirty build shows in \(version)", file: file, line: line)
    XCTAssertFalse((block["command"] as? [String] ?? []).isEmpty, "\(what): command line", file: file, line: line)
    XCTAssertNotNil(block["seeds"] as? [String: Any], "\(what): seeds", file: file, line: line)
    XCTAssertNotNil(block["hyper_parameters"] as? [String: Any], "\(what): hyper_parameters", file: file, line: line)
    let created = block["created"] as? String ?? ""
    XCTAssertNotNil(ISO8601DateFormatter().date(from: created), "\(what): created \(created)", file: file, line: line)
    XCTAssertTrue(created.hasSuffix("Z"), "\(what): created in UTC: \(created)", file: file, line: line)
    for input in block["inputs"] as? [[String: Any]] ?? [] {
        let sha = input["sha256"] as? String ?? ""
        XCTAssertNotNil(sha.range(of: "^[0-9a-f]{64}$", options: .regularExpression), "\(what): input \(input)", file: file, line: line)
        XCTAssertNotNil(input["role"] as? String, "\(what): input role", file: file, line: line)
        XCTAssertNotNil(input["path"] as? String, "\(what): input path", file: file, line: line)
    }
    return block
}

/// The parsed JSON object in the file at `url`.
public func jsonObject(at url: URL, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any], url.path, file: file, line: line)
}
