import Foundation
import XCTest
@testable import Experiments
#if canImport(Glibc)
import Glibc
#endif

/// Containment: hostile or broken programs are each graded as a failure of their kind, leave no
/// process and no file behind, and the programs after them are graded as usual.
final class CodeSandboxTests: XCTestCase {
    static let test = "def check(candidate):\n    assert candidate(2) == 3\n"
    static let limits = SandboxLimits(wallSeconds: 3, cpuSeconds: 3, memoryBytes: 1 << 30, fileSizeBytes: 1 << 20, processes: 16)

    func program(_ code: String, examples: [String] = []) -> CodeProgram {
        CodeProgram(code: code, test: Self.test, entryPoint: "f", examples: examples)
    }

    /// Processes still running the sandbox's harness or supervisor (found by their command line).
    func leftoverProcesses(_ sandbox: CodeSandbox) -> [String] {
        let fm = FileManager.default
        var found: [String] = []
        for entry in (try? fm.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.allSatisfy(\.isNumber) {
            guard let data = fm.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let cmdline = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            if cmdline.contains(sandbox.directory.path) { found.append("\(entry): \(cmdline)") }
        }
        return found
    }

    func runDirectories(_ sandbox: CodeSandbox) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: sandbox.directory.path)) ?? []).filter { $0.hasPrefix("run-") }
    }

    func testOrdinaryVerdicts() throws {
        let sandbox = try CodeSandbox(limits: Self.limits)
        let pass = sandbox.run(program("def f(x):\n    return x + 1\n", examples: ["f(1)", "f('a')", "g(1)"]))
        XCTAssertTrue(pass.passed, "\(pass)")
        XCTAssertNil(pass.failure)
        XCTAssertEqual(pass.behaviour, ["2", "!TypeError", "!NameError"])
        XCTAssertEqual(sandbox.run(program("def f(x):\n    return x\n")).failure, .assertion)
        XCTAssertEqual(sandbox.run(program("def f(x)\n    return x\n")).failure, .syntax)
        let raised = sandbox.run(program("def f(x):\n    raise ValueError('nope')\n"))
        XCTAssertEqual(raised.failure, .exception)
        XCTAssertEqual(raised.detail, "ValueError: nope")
        XCTAssertEqual(sandbox.run(program("import os\nos._exit(0)\n")).failure, .exception, "exiting early is not passing")
        XCTAssertEqual(sandbox.run(program("if __name__ == '__main__':\n    raise SystemExit(3)\ndef f(x):\n    return x + 1\n")).passed, true,
                       "the program does not run as __main__")
        XCTAssertEqual(runDirectories(sandbox), [])
    }

    func testInfiniteLoopTimesOut() throws {
        let sandbox = try CodeSandbox(limits: Self.limits)
        let start = Date()
        let r = sandbox.run(program("while True:\n    pass\n"))
        XCTAssertEqual(r.failure, .timeout)
        XCTAssertLessThan(Date().timeIntervalSince(start), 8)
        XCTAssertEqual(leftoverProcesses(sandbox), [])
        XCTAssertEqual(runDirectories(sandbox), [])
    }

    func testForkBombIsContained() throws {
        let sandbox = try CodeSandbox(limits: Self.limits)
        let r = sandbox.run(program("import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)\n"))
        XCTAssertEqual(r.failure, .timeout, "\(r)")
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertEqual(leftoverProcesses(sandbox), [])
        // A child that detaches into a session of its own and outlives the program.
        let detached = sandbox.run(program("import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\ndef f(x):\n    return x + 1\n"))
        XCTAssertTrue(detached.passed, "\(detached)")
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertEqual(leftoverProcesses(sandbox), [])
    }

    func testHugeAllocationIsAMemoryFailure() throws {
        let sandbox = try CodeSandbox(limits: Self.limits)
        let r = sandbox.run(program("x = bytearray(8 * 1024 ** 3)\ndef f(x):\n    return x + 1\n"))
        XCTAssertEqual(r.failure, .memory, "\(r)")
    }

    func testWriteOutsideItsFolderFails() throws {
        let sandbox = try CodeSandbox(limits: Self.limits)
        guard sandbox.isolation.filesystem else { throw XCTSkip("filesystem isolation is unavailable here: \(sandbox.isolation)") }
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("llamacl-escape-\(UUID().uuidString)").path
        let r = sandbox.run(program("open('\(outside)', 'w').write('x')\ndef f(x):\n    return x + 1\n"))
        XCTAssertEqual(r.failure, .exception, "\(r)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: outside))
        // Its own folder is writable.
        XCTAssertTrue(sandbox.run(program("open('scratch.txt', 'w').write('x')\ndef f(x):\n    return x + 1\n")).passed)
        XCTAssertEqual(runDirectories(sandbox), [])
    }

    func testNoNetwork() throws {
        let sandbox = try CodeSandbox(limits: Self.limits)
        guard sandbox.isolation.network else { throw XCTSkip("network isolation is unavailable here: \(sandbox.isolation)") }
        // A server on this machine's loopback, which an unisolated program could reach.
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(server, 0)
        defer { close(server) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { s in
                XCTAssertEqual(bind(server, s, length), 0)
                XCTAssertEqual(getsockname(server, s, &length), 0)
            }
        }
        XCTAssertEqual(listen(server, 4), 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let code = "import socket\nsocket.create_connection(('127.0.0.1', \(port)), timeout=2).close()\ndef f(x):\n    return x + 1\n"
        let r = sandbox.run(program(code))
        XCTAssertEqual(r.failure, .exception, "\(r)")
    }

    func testHardCrashesAreKilled() throws {
        let sandbox = try CodeSandbox(limits: Self.limits)
        let abort = sandbox.run(program("import os\nos.abort()\n"))
        XCTAssertEqual(abort.failure, .killed, "\(abort)")
        let segfault = sandbox.run(program("import ctypes\nctypes.string_at(0)\n"))
        XCTAssertEqual(segfault.failure, .killed, "\(segfault)")
        XCTAssertEqual(runDirectories(sandbox), [])
    }

    /// All of the above at once through a pool, between ordinary programs: each gets its own
    /// verdict, the good ones still pass, and nothing is left behind.
    func testThePoolKeepsGoing() throws {
        let sandbox = try CodeSandbox(limits: Self.limits)
        let good = program("def f(x):\n    return x + 1\n")
        let programs: [(CodeProgram, CodeFailure?)] = [
            (good, nil),
            (program("while True:\n    pass\n"), .timeout),
            (program("import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)\n"), .timeout),
            (good, nil),
            (program("x = bytearray(8 * 1024 ** 3)\n"), .memory),
            (program("import os\nos.abort()\n"), .killed),
            (program("import ctypes\nctypes.string_at(0)\n"), .killed),
            (good, nil),
        ]
        let pool = GraderPool(sandbox: sandbox, workers: 2)
        let results = pool.runAll(programs.map(\.0))
        for (i, (r, want)) in zip(results, programs.map(\.1)).enumerated() {
            XCTAssertEqual(r.failure, want, "program \(i): \(r)")
            XCTAssertEqual(r.passed, want == nil, "program \(i)")
        }
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertEqual(leftoverProcesses(sandbox), [])
        XCTAssertEqual(runDirectories(sandbox), [])
    }

    func testTheSandboxFolderIsRemoved() throws {
        var sandbox: CodeSandbox? = try CodeSandbox(limits: Self.limits)
        let directory = sandbox!.directory
        XCTAssertTrue(sandbox!.run(program("def f(x):\n    return x + 1\n")).passed)
        sandbox = nil
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path))
    }
}
