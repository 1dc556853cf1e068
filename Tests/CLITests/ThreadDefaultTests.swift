import Foundation
import TestSupport
import XCTest

/// Threads default to the CPUs this process may run on, never the machine's total: a batch
/// job given one core of a large node must not start a spinning thread per core.
final class ThreadDefaultTests: XCTestCase {
    func threads(_ run: CLIRun) throws -> Int {
        let rows = try XCTUnwrap(try run.json() as? [[String: Any]], "\(run)")
        return try XCTUnwrap(rows.first?["threads"] as? Int, "\(run)")
    }

    func bench(launcher: [String] = [], environment: [String: String] = [:]) throws -> CLIRun {
        let model = try Fixtures.require("models/tiny-spm-q8_0.gguf")
        return try CLI.run(["bench", "-m", model, "-p", "0", "-n", "2", "-r", "1", "--json"], launcher: launcher, environment: environment)
    }

    func testTheAffinityMaskSetsTheDefault() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset") else { throw XCTSkip("skipped: taskset (util-linux) is not installed") }
        let run = try bench(launcher: ["/usr/bin/taskset", "-c", "0"])
        XCTAssertTrue(run.succeeded, "\(run)")
        XCTAssertEqual(try threads(run), 1, "under taskset -c 0 the default is one thread")
    }

    func testSlurmsGrantSetsTheDefault() throws {
        let run = try bench(environment: ["SLURM_CPUS_PER_TASK": "1"])
        XCTAssertTrue(run.succeeded, "\(run)")
        XCTAssertEqual(try threads(run), 1)
    }

    func testAnExplicitCountWins() throws {
        let model = try Fixtures.require("models/tiny-spm-q8_0.gguf")
        let run = try CLI.run(["bench", "-m", model, "-p", "0", "-n", "2", "-r", "1", "--json", "--threads", "3"], environment: ["SLURM_CPUS_PER_TASK": "1"])
        XCTAssertEqual(try threads(run), 3)
    }
}
