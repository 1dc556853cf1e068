import ArgumentParser
import Foundation
import GGUF
import Experiments
import LlamaCore
import OpenCLBackend

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
    @Flag(help: "Also count, per prompt and per decoded token: backend ops, kernel launches, host synchronisations, bytes to and from the device, and (OpenCL) device time per kernel.")
    var profile = false
    @Flag(help: "Also time the sampler alone: microseconds per draw over the model's own logits (one vocabulary-sized row), greedy and with top-k / top-p.")
    var sampler = false

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
        // Driver profiling events must be asked for when the queue is made (CL_QUEUE_PROFILING_ENABLE).
        if profile { setenv(OpenCLBackend.profilingEnvironmentKey, "1", 1) }
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
        let profiles = profile ? try DecodeProfile.measure(model: lm, prompt: p, gen: n, depth: d) : []
        let params = gguf.tensors.reduce(0) { $0 + $1.elementCount }
        let samplerResults = sampler ? try SamplerBenchmark.run(logits: realisticLogits(lm)) : []
        if json {
            print(try jsonLine(results.map { r -> [String: Any] in
                var o: [String: Any] = ["test": r.test, "n_prompt": r.prompt, "n_gen": r.gen, "n_depth": r.depth, "batch": r.batch,
                                        "threads": backend.threadCount, "backend": lm.backendName, "device": lm.deviceName,
                                        "tokens_per_second": r.mean, "stddev": r.stddev, "samples_ts": r.rates, "model": file,
                                        "model_size": gguf.file.size, "model_params": params, "peak_rss_bytes": rss, "kv_bytes": kvBytes]
                if let tpp = r.promptSeconds, let ttg = r.generationSeconds {
                    o.merge(["n_kv": r.prompt + r.batch * r.gen, "t_pp": tpp, "s_pp": Double(r.prompt) / tpp, "t_tg": ttg, "s_tg": r.mean]) { _, new in new }
                }
                if let m = profiles.first(where: { $0.test == r.test }) { o["profile"] = m.json }
                return o
            } + samplerResults.map { s -> [String: Any] in
                ["test": "sampler: \(s.name)", "vocab": lm.config.vocabSize, "microseconds_per_draw": s.median, "samples_us": s.microseconds, "model": file]
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
            for m in profiles { print(m.text) }
            for s in samplerResults {
                print(String(format: "sampler, %d-entry vocabulary, %@: %.0f µs per draw (median of %d)", lm.config.vocabSize, s.name, s.median, s.microseconds.count))
            }
            print("peak RSS \(formatBytes(rss)): model \(formatBytes(gguf.file.size)) (mapped) + KV cache \(formatBytes(kvBytes)) (\(lm.cacheCapacity) cells) + activations")
        }
    }
}

/// The last row of logits after a short prompt: the model's own distribution, which decides how
/// many tokens survive top-p (uniform random numbers would not).
func realisticLogits(_ model: any LanguageModel) throws -> [Float] {
    model.resetCache()
    let prompt = (0..<16).map { ($0 * 7919 + 13) % model.config.vocabSize }
    defer { model.resetCache() }
    return try model.forward(.prompt(prompt)).last ?? []
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

/// `bench --profile`: the backend's counters over one prompt pass and over greedy decode steps
/// (through `forwardArgmax`, as greedy generation runs), divided per prompt token and per
/// decoded token. Counted by the backend's runtime, so they are what the device was asked to do.
struct DecodeProfile {
    let test: String
    /// What the counts are divided by: prompt tokens, or decoded tokens.
    let tokens: Int
    let layers: Int
    let profile: BackendProfile

    /// pp`prompt` once, and `gen` (at most 32) greedy steps after `depth` tokens of context
    /// (at least one, so attention has something to read). Tests the bench did not run are skipped.
    static func measure(model: any LanguageModel, prompt: Int, gen: Int, depth: Int) throws -> [DecodeProfile] {
        let vocab = model.config.vocabSize, layers = model.config.layers
        var rng = SystemRandomNumberGenerator()
        var out: [DecodeProfile] = []
        if prompt > 0 {
            model.resetCache()
            if depth > 0 { _ = try model.forward(.prompt((0..<depth).map { _ in Int.random(in: 0..<vocab, using: &rng) })) }
            model.resetProfile()
            _ = try model.forward(.prompt((0..<prompt).map { _ in Int.random(in: 0..<vocab, using: &rng) }, start: depth))
            out.append(DecodeProfile(test: depth > 0 ? "pp\(prompt) @ d\(depth)" : "pp\(prompt)", tokens: prompt, layers: layers, profile: model.profile))
        }
        if gen > 0 {
            let context = max(depth, 1), steps = min(gen, 32)
            model.resetCache()
            var token = try model.forwardArgmax(.prompt((0..<context).map { _ in Int.random(in: 0..<vocab, using: &rng) }))[0]
            model.resetProfile()
            for pos in context..<context + steps {
                token = try model.forwardArgmax([BatchEntry(token: token, position: pos, wantsLogits: true)])[0]
            }
            out.append(DecodeProfile(test: depth > 0 ? "tg\(gen) @ d\(depth)" : "tg\(gen)", tokens: steps, layers: layers, profile: model.profile))
        }
        model.resetCache()
        return out
    }

    var unit: String { test.hasPrefix("pp") ? "prompt token" : "decoded token" }

    var text: String {
        let p = profile, n = Double(tokens)
        var lines = [String(format: "profile %@ (per %@, over %d): %.1f ops, %.1f launches (%.2f per layer), %.2f host syncs, %.0f B to device, %.0f B from device",
                            test, unit, tokens, Double(p.ops) / n, Double(p.launches) / n, Double(p.launches) / n / Double(layers),
                            Double(p.hostSyncs) / n, Double(p.bytesToDevice) / n, Double(p.bytesFromDevice) / n)]
        if !p.kernelTimes.isEmpty { lines.append("  device time per \(unit), by kernel:") }
        let total = p.kernelTimes.values.reduce(0) { $0 + $1.seconds }
        for (name, t) in p.kernelTimes.sorted(by: { $0.value.seconds > $1.value.seconds }) {
            lines.append("  " + pad(name, 24, left: true) + String(format: " %9.1f us  %5.1f%%  %5.1f launches", t.seconds / n * 1e6,
                                                                               100 * t.seconds / max(total, 1e-30), Double(t.count) / n))
        }
        return lines.joined(separator: "\n")
    }

    var json: [String: Any] {
        let p = profile, n = Double(tokens)
        return ["per": unit, "tokens": tokens, "ops": Double(p.ops) / n, "launches": Double(p.launches) / n,
                "launches_per_layer": Double(p.launches) / n / Double(layers), "host_syncs": Double(p.hostSyncs) / n,
                "bytes_to_device": Double(p.bytesToDevice) / n, "bytes_from_device": Double(p.bytesFromDevice) / n,
                "kernel_seconds": Dictionary(uniqueKeysWithValues: p.kernelTimes.map { ($0.key, $0.value.seconds / n) })]
    }
}
