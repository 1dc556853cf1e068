import ArgumentParser
import Experiments
import Foundation

/// Puts `llamacl bench --json` results next to llama-bench's and on this machine's roofline.
struct PerfReport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perf-report",
        abstract: "Compare bench results with llama-bench's and plot them on the machine's roofline.")

    @Option(help: "`llamacl machine --json` output.") var machine: String
    @Option(parsing: .upToNextOption, help: "`llamacl bench --json` outputs.") var ours: [String]
    @Option(parsing: .upToNextOption, help: "`llama-bench -o json` outputs.") var llamacpp: [String] = []
    @Option(help: "Output directory (table.md, roofline.svg).") var out: String

    func run() throws {
        let report = try PerformanceReport.load(machine: URL(fileURLWithPath: machine), ours: ours.map(URL.init(fileURLWithPath:)),
                                                llamacpp: llamacpp.map(URL.init(fileURLWithPath:)))
        try report.write(to: URL(fileURLWithPath: out))
        print(report.table, terminator: "")
    }
}
