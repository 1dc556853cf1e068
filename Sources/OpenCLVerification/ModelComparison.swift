import CPUBackend
import GGUF
import LlamaCore
import OpenCLBackend

/// The whole model on OpenCL against the CPU: every layer's hidden state, the prompt's logits,
/// top-1 agreement per position, and a greedy continuation that must agree token by token.
public enum ModelComparison {
    /// A row counts as agreeing when the argmaxes are equal, or when the CPU's logits for the two
    /// choices are within this fraction of the row's largest |logit| (an exact tie in all but
    /// rounding, which no budget can order).
    public static let nearTie: Float = 1e-5

    public static func run(gguf: GGUFFile, openCL: OpenCLBackend, prompt fullPrompt: [Int], generate requested: Int = 8,
                           cpu: CPUBackend = CPUBackend(mode: .fast), progress: ((String) -> Void)? = nil) throws -> [Check] {
        let config = try ModelConfig(gguf: gguf)
        guard !fullPrompt.isEmpty else { throw ModelError.invalidBatch("verify needs a non-empty prompt") }
        // Small-context models (e.g. trained ones with a 64-token context) get a shortened prompt
        // and continuation, so the check runs inside the context instead of failing.
        let prompt = Array(fullPrompt.prefix(max(1, min(fullPrompt.count, config.contextLength - requested))))
        let generate = max(0, min(requested, config.contextLength - prompt.count))
        let cells = min(config.contextLength, prompt.count + generate + 1)
        try openCL.checkFits(gguf: gguf, config: config, cacheCells: cells)

        progress?("CPU (\(cpu.deviceName))")
        let reference = try Transformer(gguf: gguf, backend: cpu, cacheCells: cells)
        let cpuRun = try observe(reference, prompt: prompt, generate: generate)
        progress?("OpenCL (\(openCL.deviceName))")
        let candidate = try Transformer(gguf: gguf, backend: openCL, cacheCells: cells)
        let clRun = try observe(candidate, prompt: prompt, generate: generate)

        var checks: [Check] = []
        for (l, (a, r)) in zip(clRun.layers, cpuRun.layers).enumerated() {
            checks.append(.nmse("layer \(l) hidden state", a, r, budget: Budget.openCLModel))
        }
        let vocab = config.vocabSize
        checks.append(.nmse("logits \(prompt.count)×\(vocab)", clRun.logits.flatMap { $0 }, cpuRun.logits.flatMap { $0 }, budget: Budget.openCLModel))
        let agreeing = zip(clRun.logits, cpuRun.logits).filter { agrees($0, $1) }.count
        checks.append(Check(name: "top-1 agreement over \(prompt.count) positions", metric: "fraction",
                            value: Double(agreeing) / Double(prompt.count), budget: 1, higherIsBetter: true))
        if generate > 0 {
            let same = zip(clRun.greedy, cpuRun.greedy).prefix { $0 == $1 }.count
            checks.append(Check(name: "greedy continuation, \(generate) tokens", metric: "matching tokens",
                                value: Double(same), budget: Double(generate), higherIsBetter: true))
        }
        return checks
    }

    struct Run {
        var layers: [[Float]] = []
        var logits: [[Float]] = []
        var greedy: [Int] = []
    }

    /// Hidden states after each layer and logits of the prompt, then `generate` greedy tokens.
    static func observe<B: Backend>(_ model: Transformer<B>, prompt: [Int], generate: Int) throws -> Run {
        var run = Run()
        model.layerObserver = { _, hidden in run.layers.append(hidden) }
        run.logits = try model.forward(.prompt(prompt, allLogits: true))
        model.layerObserver = nil
        var last = run.logits[run.logits.count - 1]
        for i in 0..<generate {
            let next = argmax(last)
            run.greedy.append(next)
            if i + 1 < generate { last = try model.forward([BatchEntry(token: next, position: prompt.count + i, wantsLogits: true)])[0] }
        }
        return run
    }


    static func agrees(_ candidate: [Float], _ reference: [Float]) -> Bool {
        let a = argmax(candidate), r = argmax(reference)
        if a == r { return true }
        let scale = reference.map(abs).max() ?? 0
        return reference[r] - reference[a] <= nearTie * scale
    }
}
