import ArgumentParser
import Foundation
import GGUF
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
        if let sizes = try batchSizes { return try runBatched(sizes) }
        let (gguf, lm) = try backend.load(model.model)
        let limit = min(lm.config.contextLength, lm.cacheCapacity)
        guard d + max(p, n) <= limit else { throw InvalidInput(description: "the test needs \(d + max(p, n)) positions but the context holds \(limit) tokens") }
        // Random but fixed token ids: speed does not depend on which tokens they are.
        var rng = SystemRandomNumberGenerator()
        let vocab = lm.config.vocabSize
        let promptIds = (0..<p).map { _ in Int.random(in: 0..<vocab, using: &rng) }
        let contextIds = (0..<d).map { _ in Int.random(in: 0..<vocab, using: &rng) }
        /// An empty cache, then the depth's context tokens (in prompt-sized batches).
        func fillContext() throws {
            lm.resetCache()
            for start in stride(from: 0, to: d, by: 512) {
                _ = try lm.forward(.prompt(Array(contextIds[start..<min(d, start + 512)]), start: start))
            }
        }

        var results: [[String: Any]] = []
        func measure(_ name: String, prompt: Int, gen: Int, _ body: () throws -> Void) throws {
            let test = d > 0 ? "\(name) @ d\(d)" : name
            try fillContext()
            try body() // warm-up: page in weights, size buffers
            var rates: [Double] = []
            for _ in 0..<r {
                try fillContext()
                let start = Date()
                try body()
                rates.append(Double(prompt + gen) / Date().timeIntervalSince(start))
            }
            let mean = rates.reduce(0, +) / Double(rates.count)
            let sd = rates.count > 1 ? (rates.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rates.count - 1)).squareRoot() : 0
            results.append(["test": test, "n_prompt": prompt, "n_gen": gen, "n_depth": d, "batch": 1, "threads": backend.threadCount,
                            "backend": lm.backendName, "device": lm.deviceName, "tokens_per_second": mean, "stddev": sd,
                            "samples_ts": rates, "model": (model.model as NSString).lastPathComponent,
                            "model_size": gguf.file.size, "model_params": gguf.tensors.reduce(0) { $0 + $1.elementCount }])
            if !json {
                let file = (model.model as NSString).lastPathComponent
                print("| \(pad(file, 28, left: true)) | \(pad(formatBytes(gguf.file.size), 10)) | \(pad(lm.backendName, 6)) | \(pad(String(backend.threadCount), 7)) | \(pad(test, 12)) | \(pad(String(format: "%.2f ± %.2f", mean, sd), 16)) |")
            }
        }

        if !json {
            print("| model                        |       size | backend| threads |         test |              t/s |")
            print("| ---------------------------- | ---------- | ------ | ------- | ------------ | ---------------- |")
        }
        if p > 0 {
            try measure("pp\(p)", prompt: p, gen: 0) {
                _ = try lm.forward(.prompt(promptIds, start: d))
            }
        }
        if n > 0 {
            try measure("tg\(n)", prompt: 0, gen: n) {
                var token = lm.config.vocabSize / 2
                for pos in d..<d + n {
                    let logits = try lm.forward([BatchEntry(token: token, position: pos, wantsLogits: true)])[0]
                    token = argmax(logits)
                }
            }
        }
        // Weights are mapped, not copied: their pages count once they are read, so peak RSS
        // ≈ model + KV cache + activations. F32 K and V for every cell of every layer.
        let kvBytes = 2 * lm.config.layers * lm.cacheCapacity * lm.config.kvDim * MemoryLayout<Float>.size
        let rss = peakResidentBytes()
        results = results.map { $0.merging(["peak_rss_bytes": rss, "kv_bytes": kvBytes]) { _, new in new } }
        if json {
            print(try jsonLine(results))
        } else {
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
