import ArgumentParser
import Foundation
import GGUF
import Experiments
import LlamaCore

/// Prompt processing and generation speed, llama-bench style: pp<P> is one batch of P prompt
/// tokens, tg<N> is N single-token steps; each repeated, reported as mean ± sd tokens/s. With
/// `-d D` both run after D tokens of context (llama-bench's `tg32 @ d1024`): filling the cache
/// is not timed, and attention then reads D cached keys and values per step.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure prompt (pp) and generation (tg) tokens/s.")

    @OptionGroup var model: ModelOption
    @OptionGroup var backend: BackendOptions
    @Option(name: [.short, .customLong("n-prompt")], help: "Prompt tokens (0 = skip).") var p: Int = 512
    @Option(name: [.short, .customLong("n-gen")], help: "Generated tokens (0 = skip).") var n: Int = 128
    @Option(name: [.short, .customLong("n-depth")], help: "Context tokens already in the cache when each test starts (not timed).") var d: Int = 0
    @Option(name: [.short, .customLong("repetitions")], help: "Repetitions of each test.") var r: Int = 3
    @Option(help: "Comma-separated batch sizes: B parallel samples of one shared prompt (llama-batched-bench -pps).")
    var batch: String?
    @Flag(help: "Print a JSON array, one object per test.") var json = false

    var batchSizes: [Int]? {
        get throws {
            guard let batch else { return nil }
            let sizes: [Int] = try parseList(batch, option: "--batch", example: "1,4,16")
            if let bad = sizes.first(where: { $0 < 1 }) { throw ValidationError("--batch: \(bad) is not a positive batch size (e.g. 1,4,16)") }
            return sizes
        }
    }

    func validate() throws {
        guard p >= 0, n >= 0, p + n > 0 else { throw ValidationError("-p and -n must be ≥ 0 and not both 0") }
        guard d >= 0 else { throw ValidationError("-d must be ≥ 0") }
        guard r >= 1 else { throw ValidationError("-r must be at least 1") }
        _ = try batchSizes
    }

    func run() throws {
        let sizes = try batchSizes
        let cells = sizes.map { Benchmark.cellsNeeded(prompt: p, gen: n, batches: $0) }
        let (gguf, lm) = try backend.load(model.model, minimumCells: cells)
        let results: [Benchmark.Result]
        do {
            results = try sizes.map { try Benchmark.batched(model: lm, prompt: p, gen: n, batches: $0, repetitions: r) }
                ?? Benchmark.run(model: lm, prompt: p, gen: n, depth: d, repetitions: r)
        } catch let failure as Benchmark.Failure { throw InvalidInput(description: failure.description) }
        // Weights are mapped, not copied: their pages count once they are read, so peak RSS
        // ≈ model + KV cache + activations. F32 K and V for every cell of every layer.
        let kvBytes = 2 * lm.config.layers * lm.cacheCapacity * lm.config.kvDim * MemoryLayout<Float>.size
        let rss = peakResidentBytes()
        let file = (model.model as NSString).lastPathComponent
        let params = gguf.tensors.reduce(0) { $0 + $1.elementCount }
        if json {
            print(try jsonLine(results.map { r -> [String: Any] in
                var o: [String: Any] = ["test": r.test, "n_prompt": r.prompt, "n_gen": r.gen, "n_depth": r.depth, "batch": r.batch,
                                        "threads": backend.threadCount, "backend": lm.backendName, "device": lm.deviceName,
                                        "tokens_per_second": r.mean, "stddev": r.stddev, "samples_ts": r.rates, "model": file,
                                        "model_size": gguf.file.size, "model_params": params, "peak_rss_bytes": rss, "kv_bytes": kvBytes]
                if let tpp = r.promptSeconds, let ttg = r.generationSeconds {
                    o.merge(["n_kv": r.prompt + r.batch * r.gen, "t_pp": tpp, "s_pp": Double(r.prompt) / tpp, "t_tg": ttg, "s_tg": r.mean]) { _, new in new }
                }
                return o
            }))
        } else if sizes != nil {
            print("|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |")
            print("|-------|--------|------|--------|----------|----------|----------|----------|")
            for r in results {
                print(String(format: "| %5d | %6d | %4d | %6d | %8.3f | %8.2f | %8.3f | %8.2f |", r.prompt, r.gen, r.batch, r.prompt + r.batch * r.gen,
                             r.promptSeconds!, Double(r.prompt) / r.promptSeconds!, r.generationSeconds!, r.mean))
            }
        } else {
            print("| model                        |       size | backend| threads |         test |              t/s |")
            print("| ---------------------------- | ---------- | ------ | ------- | ------------ | ---------------- |")
            for r in results {
                print("| \(pad(file, 28, left: true)) | \(pad(formatBytes(gguf.file.size), 10)) | \(pad(lm.backendName, 6)) | \(pad(String(backend.threadCount), 7)) | \(pad(r.test, 12)) | \(pad(String(format: "%.2f ± %.2f", r.mean, r.stddev), 16)) |")
            }
            print("peak RSS \(formatBytes(rss)): model \(formatBytes(gguf.file.size)) (mapped) + KV cache \(formatBytes(kvBytes)) (\(lm.cacheCapacity) cells) + activations")
        }
    }
}

/// The process's peak resident set (getrusage reports KiB on Linux, bytes on macOS).
func peakResidentBytes() -> Int {
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Int(usage.ru_maxrss) * 1024
    #else
    getrusage(RUSAGE_SELF, &usage)
    return Int(usage.ru_maxrss)
    #endif
}
