import CPUBackend
import Foundation

/// Puts `llamacl bench --json` results next to llama-bench's (`-o json`) for the same models
/// and tests, and draws them on this machine's roofline (`llamacl machine --json`).
public struct PerformanceReport {
    /// One pp or tg measurement: whose, which model file, which test, how fast.
    public struct Row: Sendable {
        public var engine: String, model: String, test: String
        public var prompt: Int, gen: Int, tokensPerSecond: Double, stddev: Double
        public var modelBytes: Double, parameters: Double

        /// Weights are read once per forward call: per token in tg, per batch of P in pp.
        var gbPerSecond: Double { modelBytes * tokensPerSecond / Double(max(prompt, 1)) / 1e9 }
        /// Two operations (multiply, add) per parameter per token; attention is left out.
        var gopsPerSecond: Double { 2 * parameters * tokensPerSecond / 1e9 }
        var intensity: Double { gopsPerSecond / gbPerSecond }
    }

    public let limits: MachineLimits
    public let rows: [Row]
    /// Written beside the table as provenance.json: the machine and bench files read (from `load`).
    public var provenance: Provenance

    public init(limits: MachineLimits, rows: [Row], inputs: [InputFile] = []) throws {
        guard !rows.isEmpty else { throw ExperimentError.invalidTaskParameter(task: "perf-report", reason: "no bench results in the given files") }
        self.limits = limits; self.rows = rows
        // The report runs no model: the bench files record how they were measured, and the
        // machine file the thread count its roofline is for.
        provenance = .current(hyperParameters: ["machine_threads": .integer(limits.threads)], inputs: inputs)
    }

    /// Reads the machine file and each engine's result files.
    public static func load(machine: URL, ours: [URL], llamacpp: [URL]) throws -> PerformanceReport {
        let limits: MachineLimits
        do { limits = try JSONDecoder().decode(MachineLimits.self, from: Data(contentsOf: machine)) } catch {
            throw ExperimentError.fileUnreadable(path: machine.path, reason: "not a `llamacl machine --json` output: \(error)")
        }
        let results = try ours.flatMap { try rows(file: $0, engine: "llamacl") } + llamacpp.flatMap { try rows(file: $0, engine: "llama.cpp") }
        let inputs = try [InputFile(role: "machine", path: machine.path)] + ours.map { try InputFile(role: "bench", path: $0.path) }
            + llamacpp.map { try InputFile(role: "llama-bench", path: $0.path) }
        return try PerformanceReport(limits: limits, rows: results, inputs: inputs)
    }

    /// Writes table.md, roofline.svg and provenance.json into `directory`.
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try provenance.write(into: directory)
        try ResultStore.writeAtomically(Data(table.utf8), to: directory.appendingPathComponent("table.md"))
        try ResultStore.writeAtomically(Data(roofline().svg().utf8), to: directory.appendingPathComponent("roofline.svg"))
    }

    public static func rows(file url: URL, engine: String) throws -> [Row] {
        let file = url.path
        guard let data = try? Data(contentsOf: url), let items = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw ExperimentError.fileUnreadable(path: file, reason: "expected a JSON array of bench results")
        }
        return try items.map { item in
            func number(_ keys: String...) throws -> Double {
                for key in keys { if let v = item[key] as? NSNumber { return v.doubleValue } }
                throw ExperimentError.corruptResults(path: file, line: 1, reason: "a result lacks \(keys.joined(separator: " / "))")
            }
            let path = (item["model"] as? String) ?? (item["model_filename"] as? String) ?? "?"
            let prompt = Int(try number("n_prompt")), gen = Int(try number("n_gen"))
            // tests after D tokens of context (bench -d, llama-bench -d) are named as llama-bench names them
            let depth = (item["n_depth"] as? NSNumber)?.intValue ?? 0
            let test = (prompt > 0 ? "pp\(prompt)" : "tg\(gen)") + (depth > 0 ? " @ d\(depth)" : "")
            return Row(engine: engine, model: (path as NSString).lastPathComponent, test: test,
                       prompt: prompt, gen: gen, tokensPerSecond: try number("tokens_per_second", "avg_ts"),
                       stddev: try number("stddev", "stddev_ts"), modelBytes: try number("model_size"),
                       parameters: try number("model_params", "model_n_params"))
        }
    }

    /// One line per (model, test). Several results of one engine for the same test are rounds of
    /// a run that alternated the engines (run.sh): the table gives each engine's median and the
    /// median (and range) of the per-round ratios, which a shared machine's drift affects least.
    public var table: String {
        var lines = [
            String(format: "Machine: %d threads, read bandwidth %.1f GB/s, F32 FMA %.0f GFLOP/s, int8 dot %.0f GOP/s.", limits.threads, limits.readGBPerSecond, limits.f32GFLOPs, limits.int8GOPs),
            "",
            "| model | test | rounds | llamacl t/s | llama.cpp t/s | ratio (range) | llamacl achieved | of the roof |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        var keys: [String] = []
        for row in rows where row.engine == "llamacl" && !keys.contains(row.model + " " + row.test) { keys.append(row.model + " " + row.test) }
        for key in keys {
            let ours = rows.filter { $0.engine == "llamacl" && $0.model + " " + $0.test == key }
            let theirs = rows.filter { $0.engine == "llama.cpp" && $0.model + " " + $0.test == key }
            var row = ours[0]
            row.tokensPerSecond = median(ours.map(\.tokensPerSecond))
            let ratio: String, reference: String
            if theirs.isEmpty {
                (ratio, reference) = ("–", "–")
            } else {
                // round i of ours against round i of theirs (the engines alternated round by round)
                let ratios = zip(ours, theirs).map { $0.tokensPerSecond / $1.tokensPerSecond }
                ratio = ratios.count > 1 ? String(format: "%.2f× (%.2f–%.2f)", median(ratios), ratios.min()!, ratios.max()!) : String(format: "%.2f×", ratios[0])
                reference = String(format: "%.2f", median(theirs.map(\.tokensPerSecond)))
            }
            // generation is bounded by reading the weights, prompts by arithmetic (8-bit dots, or F32 FMAs for F16/F32 files)
            let achieved: String, share: Double
            if row.prompt > 1 {
                let float = row.model.contains("F16") || row.model.contains("F32")
                achieved = String(format: "%.0f GOP/s", row.gopsPerSecond)
                share = row.gopsPerSecond / (float ? limits.f32GFLOPs : limits.int8GOPs)
            } else {
                achieved = String(format: "%.1f GB/s", row.gbPerSecond)
                share = row.gbPerSecond / limits.readGBPerSecond
            }
            lines.append(String(format: "| %@ | %@ | %d | %.2f | %@ | %@ | %@ | %.0f%% |", row.model, row.test, ours.count, row.tokensPerSecond,
                                reference, ratio, achieved, 100 * share))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func roofline() -> XYPlot {
        let intensities = rows.map(\.intensity)
        let lo = max(0.1, (intensities.min() ?? 1) / 4), hi = max(lo * 10, (intensities.max() ?? 100) * 4)
        let xs = stride(from: log10(lo), through: log10(hi), by: (log10(hi) - log10(lo)) / 40).map { pow(10, $0) }
        func roof(_ name: String, peak: Double, colour: Int) -> XYPlot.Series {
            .init(name: name, points: xs.map { LinePlot.Point(x: $0, y: min(limits.readGBPerSecond * $0, peak)) }, style: .line, colour: colour)
        }
        func points(_ engine: String, colour: Int) -> XYPlot.Series {
            .init(name: engine, points: rows.filter { $0.engine == engine }.map { LinePlot.Point(x: $0.intensity, y: $0.gopsPerSecond) }, style: .points, colour: colour)
        }
        var plot = XYPlot(
            title: String(format: "Roofline, %d threads: %.1f GB/s read", limits.threads, limits.readGBPerSecond),
            xLabel: "operations per weight byte (2 · parameters · tokens per forward / model bytes)",
            yLabel: "GOP/s (2 · parameters · tokens/s)",
            series: [roof(String(format: "int8 dot roof (%.0f GOP/s)", limits.int8GOPs), peak: limits.int8GOPs, colour: 0),
                     roof(String(format: "F32 FMA roof (%.0f GFLOP/s)", limits.f32GFLOPs), peak: limits.f32GFLOPs, colour: 1),
                     points("llamacl", colour: 2), points("llama.cpp", colour: 3)],
            logX: true, logY: true)
        plot.legendRight = false
        return plot
    }
}
