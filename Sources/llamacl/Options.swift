import ArgumentParser
import CPUBackend
import Foundation
import GGUF
import LlamaCore
import OpenCLBackend
import Tokenizers

struct ModelOption: ParsableArguments {
    @Option(name: [.short, .customLong("model")], help: "Path to a GGUF model file.")
    var model: String
}

enum BackendKind: String, ExpressibleByArgument, CaseIterable { case cpu, reference, opencl }

/// How the CPU backend multiplies quantized weights.
enum ActivationPrecision: String, ExpressibleByArgument, CaseIterable { case q8, f32 }

struct BackendOptions: ParsableArguments {
    @Option(help: "Where to run: cpu (fast CPU paths), reference (the plain CPU oracle loops) or opencl.")
    var backend: BackendKind = .cpu

    @Option(help: "OpenCL device: an index or a name substring from `llamacl devices` (default: $LLAMACL_DEVICE, else the first GPU).")
    var device: String?

    @Option(help: "CPU products with Q4_0, Q8_0, Q4_K or Q6_K weights: q8 rounds activations to 8 bits per block and uses integer dot products, as llama.cpp does (fast); f32 keeps activations in F32 and follows the float64 reference.")
    var activations: ActivationPrecision = .q8

    @Option(name: [.short, .customLong("threads")], help: "CPU threads (default: the CPUs this process may use: SLURM_CPUS_PER_TASK or the affinity mask).")
    var threads: Int?

    @Option(help: "KV cache cells (default: the model's context, at most 4096).")
    var cacheCells: Int?

    func validate() throws {
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1, got \(t)") }
        if let c = cacheCells, c < 1 { throw ValidationError("--cache-cells must be at least 1, got \(c)") }
    }

    var threadCount: Int { threads ?? AvailableCPUs.count }

    /// Opens the file and loads the model onto the chosen backend.
    /// `minimumCells` raises the KV cache to what a batched run needs (unless --cache-cells is given).
    func load(_ path: String, minimumCells: Int? = nil) throws -> (GGUFFile, any LanguageModel) {
        let cacheCells = self.cacheCells ?? minimumCells
        let gguf = try GGUFFile(path: path)
        switch backend {
        case .cpu, .reference:
            let mode: CPUBackend.Mode = backend == .reference ? .reference : (activations == .q8 ? .quantized : .fast)
            let cpu = CPUBackend(mode: mode, threads: threadCount)
            return (gguf, try Transformer(gguf: gguf, backend: cpu, cacheCells: cacheCells))
        case .opencl:
            let openCL = try OpenCLBackend(options: .init(device: device))
            let config = try ModelConfig(gguf: gguf)
            let cells = cacheCells ?? min(config.contextLength, 4096)
            // Refuse before uploading anything when the device cannot hold the model.
            try openCL.checkFits(gguf: gguf, config: config, cacheCells: cells)
            return (gguf, try Transformer(gguf: gguf, backend: openCL, cacheCells: cells))
        }
    }
}

/// The one parser of comma-separated option values ("1,2,4"): every item must parse, and
/// there must be at least one; a bad item is named in the error, never dropped.
func parseList<T: LosslessStringConvertible>(_ text: String, option: String, example: String) throws -> [T] {
    let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard !(items.count == 1 && items[0].isEmpty) else { throw ValidationError("\(option): no values given (e.g. \(example))") }
    return try items.map {
        guard let value = T($0) else { throw ValidationError("\(option): '\($0)' is not a valid value (e.g. \(example))") }
        return value
    }
}

/// Pads to a column width (String(format:) does not pad %@ on Linux).
func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return left ? s + fill : fill + s
}

/// Human-readable byte counts.
func formatBytes(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n), i = 0
    while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
    return i == 0 ? "\(n) B" : String(format: "%.2f %@", v, units[i])
}

/// One-line JSON from Foundation objects, keys sorted for stable output.
func jsonLine(_ object: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}

/// Standard error, for progress and diagnostics that must not mix with piped output.
var standardError = FileHandle.standardError
extension FileHandle: @retroactive TextOutputStream {
    public func write(_ string: String) { write(Data(string.utf8)) }
}

var stderrIsTerminal: Bool { isatty(fileno(stderr)) != 0 }
