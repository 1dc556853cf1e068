import LlamaCore
import ArgumentParser
import CPUBackend
import Foundation
import GGUF
import OpenCLBackend
import OpenCLVerification
import Tokenizers

/// OpenCL against the CPU: every op against the reference op, then (unless --ops) the whole
/// model on a prompt. Formatting only; the checks live in OpenCLVerification.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the OpenCL backend against the CPU reference, op by op and model-wide; exit 1 if any check fails.")

    @OptionGroup var model: ModelOption
    @Flag(help: "Only the op checks, not the whole model.") var ops = false
    @Flag(help: "Print one JSON object: {checks: [{name, metric, value, budget, pass}], pass, device}.") var json = false
    @Option(help: "OpenCL device: an index or a name substring from `llamacl devices` (default: $LLAMACL_DEVICE, else the first GPU).")
    var device: String?
    @Option(help: "Prompt for the model comparison (tokenized as the model's metadata says).")
    var prompt = "Once upon a time, a small llama read 3 books about RoPE, SwiGLU and attention."
    @Option(name: [.short, .customLong("n-gen")], help: "Greedy tokens that must agree.") var n = 16
    @Option(name: [.short, .customLong("threads")], help: "CPU threads for the reference run (default: the CPUs this process may use).") var threads: Int?

    func validate() throws {
        guard n >= 0 else { throw ValidationError("-n must be ≥ 0") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1, got \(t)") }
    }

    func run() throws {
        let gguf = try GGUFFile(path: model.model)
        let openCL = try OpenCLBackend(options: .init(device: device))
        let showProgress = !json && stderrIsTerminal
        let progress: (String) -> Void = { if showProgress { print("\r\u{1B}[K… \($0)", terminator: "", to: &standardError) } }

        var checks = try OpChecks.run(on: openCL, progress: progress)
        if !ops {
            let tokens = try promptTokens(gguf)
            let cpu = CPUBackend(mode: .fast, threads: threads ?? AvailableCPUs.count)
            checks += try ModelComparison.run(gguf: gguf, openCL: openCL, prompt: tokens, generate: n, cpu: cpu, progress: progress)
        }
        if showProgress { print("\r\u{1B}[K", terminator: "", to: &standardError) }
        let allPass = checks.allSatisfy(\.pass)

        if json {
            let rows = checks.map { c -> [String: Any] in
                // JSON has no inf/NaN: a non-finite value (a failure) is written as null.
                ["name": c.name, "metric": c.metric, "value": c.value.isFinite ? c.value : NSNull(), "budget": c.budget, "pass": c.pass]
            }
            print(try jsonLine(["checks": rows, "pass": allPass, "device": openCL.deviceName, "model": model.model]))
        } else {
            print("device: \(openCL.deviceName)")
            print("| check                                                        | metric          |      value |   budget | pass |")
            print("| ------------------------------------------------------------ | --------------- | ---------- | -------- | ---- |")
            for c in checks {
                let numbers = String(format: "%10.3e | %8.1e", c.value, c.budget)
                print("| \(padded(c.name, 60)) | \(padded(c.metric, 15)) | \(numbers) | \(c.pass ? "ok  " : "FAIL") |")
            }
            print("\(checks.filter(\.pass).count) of \(checks.count) checks pass")
        }
        if !allPass { throw ExitCode(1) }
    }

    private func padded(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }

    /// The prompt's tokens; a model without a usable tokenizer gets fixed ids instead.
    private func promptTokens(_ gguf: GGUFFile) throws -> [Int] {
        if let tokenizer = try? loadTokenizer(from: gguf), let ids = try? tokenizer.encode(prompt, addSpecial: true, parseSpecial: false), !ids.isEmpty {
            return ids
        }
        let vocab = try gguf.stringArray("tokenizer.ggml.tokens")?.count ?? 2
        return (0..<24).map { ($0 * 7919 + 1) % vocab }
    }
}
