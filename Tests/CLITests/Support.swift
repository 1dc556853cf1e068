import Foundation
import TestSupport
import XCTest

/// One finished run of the `llamacl` binary.
struct CLIRun {
    let arguments: [String]
    let status: Int32
    let reason: Process.TerminationReason
    let stdout: String
    let stderr: String
    let seconds: Double

    var succeeded: Bool { reason == .exit && status == 0 }
    /// The last non-empty line of stdout (where `--json` output goes).
    var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }

    func json(file: StaticString = #filePath, line: UInt = #line) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: Data(lastLine.utf8))
        } catch {
            XCTFail("not JSON: \(lastLine.prefix(500))\n\(self)", file: file, line: line)
            throw error
        }
    }

    func jsonObject(file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try XCTUnwrap(try json(file: file, line: line) as? [String: Any], "\(self)", file: file, line: line)
    }
}

extension CLIRun: CustomStringConvertible {
    var description: String {
        "llamacl \(arguments.joined(separator: " ")) → \(reason == .exit ? "exit" : "SIGNAL") \(status) in \(String(format: "%.2f", seconds)) s\n"
            + "stdout: \(stdout.prefix(2000))\nstderr: \(stderr.prefix(2000))"
    }
}

/// Runs the built `llamacl` as a subprocess: stdout and stderr captured (through files, so a
/// large output cannot fill a pipe and stall it), and killed if it runs past a timeout.
enum CLI {
    /// `$LLAMACL_BINARY`, else `.build/debug/llamacl` in the package (built by `swift build --build-tests`).
    static var binary: URL {
        if let env = ProcessInfo.processInfo.environment["LLAMACL_BINARY"], !env.isEmpty { return URL(fileURLWithPath: env) }
        return Fixtures.packageRoot.appendingPathComponent(".build/debug/llamacl")
    }

    struct Missing: Error, CustomStringConvertible { let description: String }

    @discardableResult
    /// `launcher` runs the binary through another program (e.g. `taskset -c 0`); `environment`
    /// adds variables to this process's.
    static func run(_ arguments: [String], timeout: TimeInterval = 60, launcher: [String] = [], environment: [String: String] = [:],
                    file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            let message = "llamacl binary not found at \(binary.path): run `swift build --build-tests` (or set LLAMACL_BINARY)"
            XCTFail(message, file: file, line: line)
            throw Missing(description: message)
        }
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)

        let process = Process()
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        let start = Date()
        try process.run()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            if done.wait(timeout: .now() + 5) == .timedOut { kill(process.processIdentifier, SIGKILL); done.wait() }
            XCTFail("llamacl \(arguments.joined(separator: " ")) did not finish within \(timeout) s (killed)", file: file, line: line)
        }
        let seconds = Date().timeIntervalSince(start)
        try out.close(); try err.close()
        return CLIRun(arguments: arguments, status: process.terminationStatus, reason: process.terminationReason,
                      stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                      stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self), seconds: seconds)
    }

    /// Runs a command that must succeed.
    @discardableResult
    static func ok(_ arguments: [String], timeout: TimeInterval = 60, file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
        let r = try run(arguments, timeout: timeout, file: file, line: line)
        XCTAssertTrue(r.succeeded, "\(r)", file: file, line: line)
        return r
    }

    /// Runs a command that must fail cleanly: a normal non-zero exit (not a signal), an
    /// `Error:` line on stderr that contains each of `mentions`, no crash report, and quickly.
    @discardableResult
    static func fails(_ arguments: [String], mentioning mentions: [String] = [], within limit: TimeInterval = 20,
                      file: StaticString = #filePath, line: UInt = #line) throws -> CLIRun {
        let r = try run(arguments, timeout: 60, file: file, line: line)
        XCTAssertEqual(r.reason, .exit, "terminated by a signal: \(r)", file: file, line: line)
        XCTAssertNotEqual(r.status, 0, "should have failed: \(r)", file: file, line: line)
        let errorLines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        XCTAssertEqual(errorLines.count, 1, "expected one 'Error:' line on stderr: \(r)", file: file, line: line)
        if let message = errorLines.first {
            XCTAssertGreaterThan(message.count, "Error: ".count + 5, "an empty error message: \(r)", file: file, line: line)
            for m in mentions { XCTAssert(message.localizedCaseInsensitiveContains(m), "the error should mention '\(m)': \(message)", file: file, line: line) }
        }
        for crash in ["Fatal error", "Stack dump", "Current stack trace", "Illegal instruction", "Segmentation"] {
            XCTAssertFalse(r.stderr.contains(crash), "crash report on stderr: \(r)", file: file, line: line)
        }
        XCTAssertLessThan(r.seconds, limit, "took \(r.seconds) s: \(r)", file: file, line: line)
        return r
    }
}

enum CLIFixtures {
    struct Reference: Decodable {
        let prompt: String
        let prompt_tokens: [Int]
        let greedy_tokens: [Int]
    }

    static var tinyModel: String { get throws { try Fixtures.require("models/tiny-spm-f32.gguf") } }
    static var spmVocab: String { get throws { try Fixtures.require("tokenizer/ggml-vocab-llama-spm.gguf") } }

    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: try Fixtures.require("reference/tiny-spm-f32.json"))))
    }

    /// A small random-weight model written by `llamacl synth` (byte-level vocabulary of 600).
    static func synthesize(_ extra: [String] = [], in dir: URL, name: String = "synth.gguf") throws -> String {
        let path = dir.appendingPathComponent(name).path
        try CLI.ok(["synth", "--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--vocab", "600", "-o", path] + extra)
        return path
    }
}
