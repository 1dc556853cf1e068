import ArgumentParser
import Foundation
import LlamaCore

extension Bench {
    /// llama-batched-bench with a shared prompt: PP prompt tokens processed once, then B
    /// sequences forked from it generate TG tokens each, one batch of B per step.
    /// S_PP = PP / T_PP, S_TG = B·TG / T_TG (aggregate generated tokens/s).
    func runBatched(_ sizes: [Int]) throws {
        let needed = p + (sizes.max() ?? 1) * n
        let (gguf, lm) = try backend.load(model.model, minimumCells: needed)
        let limit = min(lm.config.contextLength, lm.cacheCapacity)
        guard p + n <= lm.config.contextLength, needed <= lm.cacheCapacity else {
            throw InvalidInput(description: "the test needs \(p + n) positions and \(needed) cache cells; the context holds \(limit) tokens")
        }
        guard p > 0, n > 0 else { throw ValidationError("batched bench needs -p > 0 and -n > 0") }
        var rng = SystemRandomNumberGenerator()
        let prompt = (0..<p).map { _ in Int.random(in: 0..<lm.config.vocabSize, using: &rng) }

        func once(_ b: Int) throws -> (tpp: Double, ttg: Double) {
            lm.resetCache()
            let t0 = Date()
            let last = try lm.forward(.prompt(prompt, sequence: 0)).last!
            let tpp = Date().timeIntervalSince(t0)
            for s in 1...b { lm.copySequence(0, to: s) }
            var tokens = [Int](repeating: argmax(last), count: b)
            let t1 = Date()
            for step in 0..<n {
                let entries = (0..<b).map { BatchEntry(token: tokens[$0], position: p + step, sequence: $0 + 1, wantsLogits: true) }
                let logits = try lm.forward(entries)
                tokens = logits.map { argmax($0) }
            }
            return (tpp, Date().timeIntervalSince(t1))
        }

        var results: [[String: Any]] = []
        if !json {
            print("|    PP |     TG |    B |   N_KV |   T_PP s | S_PP t/s |   T_TG s | S_TG t/s |")
            print("|-------|--------|------|--------|----------|----------|----------|----------|")
        }
        _ = try once(1) // warm-up
        for b in sizes {
            var tpps: [Double] = [], ttgs: [Double] = []
            for _ in 0..<r {
                let t = try once(b)
                tpps.append(t.tpp); ttgs.append(t.ttg)
            }
            let tpp = tpps.reduce(0, +) / Double(r), ttg = ttgs.reduce(0, +) / Double(r)
            let rates = ttgs.map { Double(b * n) / $0 }
            let mean = rates.reduce(0, +) / Double(r)
            let sd = r > 1 ? (rates.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(r - 1)).squareRoot() : 0
            results.append(["test": "pp\(p)+tg\(n)x\(b)", "n_prompt": p, "n_gen": n, "batch": b, "threads": backend.threadCount,
                            "backend": lm.backendName, "device": lm.deviceName, "n_kv": p + b * n,
                            "t_pp": tpp, "s_pp": Double(p) / tpp, "t_tg": ttg, "s_tg": mean,
                            "tokens_per_second": mean, "stddev": sd, "model": (model.model as NSString).lastPathComponent,
                            "model_size": gguf.file.size])
            if !json {
                print(String(format: "| %5d | %6d | %4d | %6d | %8.3f | %8.2f | %8.3f | %8.2f |", p, n, b, p + b * n, tpp, Double(p) / tpp, ttg, mean))
            }
        }
        if json { print(try jsonLine(results)) }
    }
}
