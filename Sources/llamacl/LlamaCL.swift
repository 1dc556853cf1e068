import ArgumentParser

@main
struct LlamaCL: ParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "llamacl",
        abstract: "LLaMA-family inference and research engine: GGUF models on the CPU or any OpenCL device.",
        version: version,
        subcommands: [Info.self, Tokenize.self, Eval.self, Generate.self, Bench.self, Machine.self, PerfReport.self, Synth.self, Train.self, BestOfNCommand.self, Devices.self, Verify.self, ScalingFitCommand.self, ComputeMatchedCommand.self])
}
