import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A model-written program and what to run it against.
public struct CodeProgram: Sendable, Equatable {
    /// The program itself (definitions; executed with `__name__` not `"__main__"`).
    public var code: String
    /// Test code defining `check(candidate)` (HumanEval's format); run after `code`.
    public var test: String
    /// The function `check` is called with.
    public var entryPoint: String
    /// Python expressions (e.g. `f(3)`) evaluated after `code` and before the tests; their
    /// outputs are the program's behaviour (`ExecutionResult.behaviour`). Empty: none.
    public var examples: [String]

    public init(code: String, test: String, entryPoint: String, examples: [String] = []) {
        self.code = code; self.test = test; self.entryPoint = entryPoint; self.examples = examples
    }
}

/// Why a program failed.
public enum CodeFailure: String, Codable, Sendable, CaseIterable {
    /// The program does not compile.
    case syntax
    /// A test's assertion failed.
    case assertion
    /// Any other exception, or the program exited by itself before the tests finished.
    case exception
    /// The memory limit was reached (MemoryError).
    case memory
    /// The wall-clock or CPU limit was reached.
    case timeout
    /// Ended by a signal: a crash (abort, segmentation fault) or the file-size limit.
    case killed
}

/// The outcome of running one program.
public struct ExecutionResult: Sendable, Equatable {
    public var passed: Bool
    /// nil when passed.
    public var failure: CodeFailure?
    /// One line on the failure (the exception, the signal, the limit).
    public var detail: String?
    /// The example calls' outputs (`repr`, or `!ExceptionName`, or `!timeout`), one per
    /// `CodeProgram.examples` entry; nil when the program did not get that far or had none.
    public var behaviour: [String]?
    public var seconds: Double

    public init(passed: Bool, failure: CodeFailure?, detail: String? = nil, behaviour: [String]? = nil, seconds: Double = 0) {
        self.passed = passed; self.failure = failure; self.detail = detail; self.behaviour = behaviour; self.seconds = seconds
    }
}

/// Limits on one program run.
public struct SandboxLimits: Codable, Sendable, Equatable {
    /// Wall-clock limit; the whole process tree is killed when it is reached.
    public var wallSeconds: Double
    /// RLIMIT_CPU, per process.
    public var cpuSeconds: Int
    /// RLIMIT_AS: address space per process.
    public var memoryBytes: Int
    /// RLIMIT_FSIZE: largest file a process may write (its output included).
    public var fileSizeBytes: Int
    /// RLIMIT_NPROC: processes of the sandbox's uid.
    public var processes: Int
    /// Time limit of each example call.
    public var exampleSeconds: Double

    public init(wallSeconds: Double = 10, cpuSeconds: Int = 10, memoryBytes: Int = 2 << 30, fileSizeBytes: Int = 16 << 20,
                processes: Int = 32, exampleSeconds: Double = 1) {
        self.wallSeconds = wallSeconds; self.cpuSeconds = cpuSeconds; self.memoryBytes = memoryBytes
        self.fileSizeBytes = fileSizeBytes; self.processes = processes; self.exampleSeconds = exampleSeconds
    }

    enum CodingKeys: String, CodingKey {
        case wallSeconds = "wall_seconds", cpuSeconds = "cpu_seconds", memoryBytes = "memory_bytes"
        case fileSizeBytes = "file_size_bytes", processes, exampleSeconds = "example_seconds"
    }
}

/// What the sandbox could set up on this system (it is best effort; see `SandboxScripts`).
public struct SandboxIsolation: Codable, Sendable, Equatable, CustomStringConvertible {
    /// A network namespace of its own: no connection can be made.
    public var network: Bool
    /// A PID namespace: the program's processes die with it.
    public var pid: Bool
    /// Everything read-only but the program's own folder.
    public var filesystem: Bool
    /// Who the program runs as ("uid N" as root, else the engine's own user).
    public var user: String?
    /// The interpreter, and its version.
    public var python: String?

    public var description: String {
        "network \(network ? "isolated" : "NOT isolated"), PID namespace \(pid ? "yes" : "no"), filesystem \(filesystem ? "read-only but its folder" : "NOT isolated"), user \(user ?? "?"), \(python ?? "python3")"
    }
}

/// Runs model-written Python programs out of process, each in a fresh temporary folder removed
/// afterwards, with time, CPU, memory, file-size and process limits, no network and, as root, an
/// unprivileged uid of its own per slot (`uidBase + slot`: no passwd entry, no groups, no
/// capabilities), so concurrent runs cannot count against each other's process limit or signal
/// each other. The engine never executes model code itself: a supervisor process (Python,
/// `SandboxScripts.supervisor`) builds the sandbox and runs the program.
public final class CodeSandbox: @unchecked Sendable {
    public let limits: SandboxLimits
    public let python: String
    /// What the sandbox achieved when it was probed at creation.
    public private(set) var isolation: SandboxIsolation
    /// As root, slot i runs as uid `uidBase + i` (default 2,000,000,000; `LLAMACL_SANDBOX_UID_BASE`).
    public let uidBase: Int?
    /// The sandbox's own folder (the scripts, and one subfolder per run); removed on deinit.
    public let directory: URL

    /// `python`: the interpreter (default: `$LLAMACL_PYTHON`, else the `python3` on PATH, else
    /// /usr/bin/python3), which must be usable by the sandbox's user. Throws if no program can run.
    public init(limits: SandboxLimits = SandboxLimits(), python: String? = nil) throws {
        self.limits = limits
        let env = ProcessInfo.processInfo.environment
        let isRoot = geteuid() == 0
        uidBase = isRoot ? Int(env["LLAMACL_SANDBOX_UID_BASE"] ?? "") ?? 2_000_000_000 : nil
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("llamacl-sandbox-\(getpid())-\(UUID().uuidString.prefix(8))")
        do {
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
            try Data(SandboxScripts.supervisor.utf8).write(to: base.appendingPathComponent("supervisor.py"))
            try Data(SandboxScripts.harness.utf8).write(to: base.appendingPathComponent("harness.py"))
            _ = chmod(base.appendingPathComponent("harness.py").path, 0o644)
            _ = chmod(base.path, 0o711)
        } catch {
            throw ExperimentError.ioFailure(path: base.path, reason: "cannot create the sandbox folder")
        }
        directory = base
        isolation = SandboxIsolation(network: false, pid: false, filesystem: false)
        var candidates: [String] = []
        if let python { candidates = [python] } else {
            if let p = env["LLAMACL_PYTHON"], !p.isEmpty { candidates.append(p) }
            if let resolved = Self.resolveInterpreter("python3") { candidates.append(resolved) }
            candidates += ["/usr/bin/python3", "/usr/local/bin/python3"]
        }
        var chosen: String?
        var reasons: [String] = []
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            let probe = try Self.launch(program: CodeProgram(code: "import sys\nV = sys.version.split()[0]", test: "def check(c):\n    pass",
                                                              entryPoint: "V", examples: ["V"]),
                                        slot: 0, python: candidate, limits: limits, uidBase: uidBase, directory: base)
            if probe.result.passed {
                chosen = candidate
                isolation = probe.isolation
                isolation.python = "\(candidate) \(probe.result.behaviour?.first?.replacingOccurrences(of: "'", with: "") ?? "")"
                break
            }
            reasons.append("\(candidate): \(probe.result.detail ?? probe.result.failure?.rawValue ?? "failed")")
        }
        guard let chosen else {
            try? FileManager.default.removeItem(at: base)
            throw ExperimentError.invalidTaskParameter(task: "code sandbox", reason: "no Python interpreter could run in the sandbox ("
                + (reasons.isEmpty ? "none found: install python3" : reasons.joined(separator: "; "))
                + "); set LLAMACL_PYTHON to one the sandbox user can execute, e.g. /usr/bin/python3")
        }
        self.python = chosen
    }

    deinit { Self.removeTree(directory) }

    /// Runs `program` in slot `slot` (concurrent runs must use different slots). Blocks until it
    /// has finished and its folder is removed.
    public func run(_ program: CodeProgram, slot: Int = 0) -> ExecutionResult {
        do {
            return try Self.launch(program: program, slot: slot, python: python, limits: limits, uidBase: uidBase, directory: directory).result
        } catch {
            return ExecutionResult(passed: false, failure: .exception, detail: "sandbox: \(error)")
        }
    }

    /// The real executable behind a command on PATH (pyenv-style shims are scripts that the
    /// sandbox user could not run): asks the interpreter itself.
    static func resolveInterpreter(_ command: String) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [command, "-c", "import sys; print(sys.executable)"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return path.isEmpty ? nil : path
    }

    private struct SupervisorReport: Decodable {
        var timed_out: Bool
        var isolation: SandboxIsolation
        var exit: Int?
        var signal: Int?
    }

    private static func launch(program: CodeProgram, slot: Int, python: String, limits: SandboxLimits, uidBase: Int?,
                               directory: URL) throws -> (result: ExecutionResult, isolation: SandboxIsolation) {
        let start = Date()
        let fm = FileManager.default
        let runDir = directory.appendingPathComponent("run-\(slot)-\(UUID().uuidString.prefix(12))")
        let work = runDir.appendingPathComponent("work")
        defer { removeTree(runDir) }
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        _ = chmod(runDir.path, 0o711)
        _ = chmod(work.path, 0o700)
        let uid = uidBase.map { $0 + slot }
        let spec: [String: Any] = ["code": program.code, "test": program.test, "entry_point": program.entryPoint,
                                   "examples": program.examples, "example_seconds": limits.exampleSeconds]
        let specPath = work.appendingPathComponent("program.json")
        try JSONSerialization.data(withJSONObject: spec).write(to: specPath)
        if let uid {
            _ = chown(work.path, uid_t(uid), gid_t(uid))
            _ = chown(specPath.path, uid_t(uid), gid_t(uid))
        }
        let outputPath = runDir.appendingPathComponent("output")
        guard fm.createFile(atPath: outputPath.path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let output = FileHandle(forWritingAtPath: outputPath.path) else {
            throw ExperimentError.ioFailure(path: outputPath.path, reason: "cannot create the output file")
        }
        let nonce = UUID().uuidString
        var config: [String: Any] = ["work": work.path, "cpu": limits.cpuSeconds, "memory": limits.memoryBytes,
                                     "fsize": limits.fileSizeBytes, "nproc": limits.processes, "timeout": limits.wallSeconds,
                                     "python": python, "harness": directory.appendingPathComponent("harness.py").path, "nonce": nonce]
        if let uid { config["uid"] = uid; config["gid"] = uid }
        let configText = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-I", "-B", directory.appendingPathComponent("supervisor.py").path, configText]
        process.environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"]
        process.currentDirectoryURL = runDir
        let report = Pipe()
        process.standardOutput = report
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? output.close()
        // Backstop: the supervisor enforces the wall-clock limit itself; should it hang, it is
        // killed here, and its PID 1 child (and so the namespace) dies with it.
        let pid = process.processIdentifier
        let backstop = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + limits.wallSeconds + 10, execute: backstop)
        let reportData = report.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        backstop.cancel()
        let seconds = Date().timeIntervalSince(start)
        let outputText = (try? String(contentsOf: outputPath, encoding: .utf8)) ?? String(decoding: (try? Data(contentsOf: outputPath)) ?? Data(), as: UTF8.self)

        guard let line = String(decoding: reportData, as: UTF8.self).split(separator: "\n").last,
              let parsed = try? JSONDecoder().decode(SupervisorReport.self, from: Data(line.utf8)) else {
            let tail = outputText.split(separator: "\n").last.map(String.init) ?? "no output"
            return (ExecutionResult(passed: false, failure: .killed, detail: "sandbox supervisor failed: \(tail)", seconds: seconds),
                    SandboxIsolation(network: false, pid: false, filesystem: false))
        }
        var behaviour: [String]?
        var lastLine: String?
        for raw in outputText.split(separator: "\n", omittingEmptySubsequences: true) {
            if behaviour == nil, raw.hasPrefix(nonce + " ") {
                behaviour = try? JSONDecoder().decode([String].self, from: Data(raw.dropFirst(nonce.count + 1).utf8))
            } else if !raw.hasPrefix(nonce) {
                lastLine = String(raw)
            }
        }
        let detail = lastLine.map { String($0.prefix(300)) }
        var result = ExecutionResult(passed: false, failure: nil, detail: detail, behaviour: behaviour, seconds: seconds)
        if parsed.timed_out {
            result.failure = .timeout
            result.detail = "wall-clock limit of \(limits.wallSeconds) s"
        } else if let code = parsed.exit {
            switch code {
            case 100: result.passed = true; result.detail = nil
            case 101: result.failure = .syntax
            case 102: result.failure = .assertion
            case 104: result.failure = .memory
            case 103: result.failure = .exception
            case 127 where detail?.hasPrefix("sandbox:") == true: result.failure = .killed
            default:
                result.failure = .exception
                result.detail = "exited with code \(code) before the tests finished" + (detail.map { ": \($0)" } ?? "")
            }
        } else if let sig = parsed.signal {
            if sig == SIGXCPU || sig == SIGKILL && seconds >= Double(limits.cpuSeconds) * 0.9 {
                result.failure = .timeout
                result.detail = "CPU limit of \(limits.cpuSeconds) s"
            } else {
                result.failure = .killed
                result.detail = "killed by signal \(sig)" + (sig == SIGXFSZ ? " (file-size limit)" : sig == SIGABRT ? " (abort)" : sig == SIGSEGV ? " (segmentation fault)" : "")
            }
        } else {
            result.failure = .killed
            result.detail = "no status from the program"
        }
        return (result, parsed.isolation)
    }

    /// Removes a run's folder whatever the program did to its permissions.
    static func removeTree(_ url: URL) {
        let fm = FileManager.default
        if let walker = fm.enumerator(atPath: url.path) {
            for case let relative as String in walker {
                _ = chmod(url.appendingPathComponent(relative).path, 0o700)
            }
        }
        try? fm.removeItem(at: url)
        if fm.fileExists(atPath: url.path) {
            // A subfolder made unreadable before it was listed: chmod and retry once more.
            _ = chmod(url.path, 0o700)
            try? fm.removeItem(at: url)
        }
    }
}
