import Foundation
import TestSupport
import XCTest

/// Result files name the source they came from: `--version` (and `engine_version`) carries the
/// git revision of the build, and says when the tree had uncommitted changes.
final class VersionTests: XCTestCase {
    func testVersionNamesTheSourceRevision() throws {
        let run = try CLI.run(["--version"])
        XCTAssertTrue(run.succeeded, "\(run)")
        let version = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotNil(version.range(of: #"^\d+\.\d+\.\d+\+([0-9a-f]{12}|unknown)(-dirty)?$"#, options: .regularExpression), version)
        // In a git checkout the revision is the checkout's HEAD (the tests run what was just built).
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", Fixtures.packageRoot.path, "rev-parse", "--short=12", "HEAD"]
        let pipe = Pipe()
        git.standardOutput = pipe
        git.standardError = FileHandle.nullDevice
        guard (try? git.run()) != nil else { return }
        git.waitUntilExit()
        let head = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if git.terminationStatus == 0, !head.isEmpty { XCTAssertTrue(version.contains("+\(head)"), "\(version) vs HEAD \(head): the binary was built from another revision (rebuild before testing)") }
    }
}
