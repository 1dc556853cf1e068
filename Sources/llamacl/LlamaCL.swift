import ArgumentParser
import BuildInfo

@main
struct LlamaCL: ParsableCommand {
    /// The release and the source revision of this build (what result files record).
    static let version = BuildInfo.engineVersion
    static let configuration = CommandConfiguration(
        commandName: "llamacl",
        abstract: "LLaMA-family inference and research engine: GGUF models on the CPU or any OpenCL device.",
        version: version,
        subcommands: [Info.self, Tokenize.self, Eval.self, Generate.self, Bench.self, Machine.self, PerfReport.self, Synth.self, Train.self, BestOfNCommand.self, Devices.self, Verify.self, ScalingFitCommand.self, ComputeMatchedCommand.self, ExchangeRateCommand.self, Serve.self])
}
