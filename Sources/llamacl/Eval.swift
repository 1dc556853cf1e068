import ArgumentParser
import Experiments
import Foundation
import GGUF
import LlamaCore
import Tokenizers

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the model over a prompt and write the logits of every position.")

    @OptionGroup var model: ModelOption
    @OptionGroup var backend: BackendOptions
    @Option(help: "Prompt text (tokenized as the model's metadata says, BOS included).") var prompt: String?
    @Option(help: "Comma-separated token ids, used verbatim (no BOS added).") var tokens: String?
    @Option(help: "Write logits as a float32 .npy of shape [n_tokens, n_vocab].") var dumpLogits: String?
    @Flag(help: "Print a JSON summary.") var json = false

    func validate() throws {
        guard (prompt == nil) != (tokens == nil) else { throw ValidationError("give exactly one of --prompt or --tokens") }
        if tokens != nil { _ = try tokenIds() }
    }

    /// `--tokens` as ids: every comma-separated item an integer, and at least one.
    func tokenIds() throws -> [Int] { try parseList(tokens ?? "", option: "--tokens", example: "1,2,3") }

    func run() throws {
        let (gguf, lm) = try backend.load(model.model)
        let ids: [Int]
        if tokens != nil {
            ids = try tokenIds()
        } else {
            ids = try loadTokenizer(from: gguf).encode(prompt!, addSpecial: true, parseSpecial: false)
        }
        guard !ids.isEmpty else { throw InvalidInput(description: "the prompt gives no tokens to evaluate") }
        let limit = min(lm.config.contextLength, lm.cacheCapacity)
        guard ids.count <= limit else { throw InvalidInput(description: "the prompt is \(ids.count) tokens long but the context holds \(limit) tokens") }
        let start = Date()
        let rows = try lm.forward(.prompt(ids, allLogits: true))
        let seconds = Date().timeIntervalSince(start)
        if let out = dumpLogits { try NpyWriter.write(rows, to: URL(fileURLWithPath: out)) }
        let top = rows.map { argmax($0) }
        if json {
            print(try jsonLine(["tokens": ids, "n_vocab": lm.config.vocabSize, "top1": top, "seconds": seconds,
                                "backend": lm.backendName, "logits": dumpLogits ?? NSNull()]))
        } else {
            print("evaluated \(ids.count) tokens on \(lm.deviceName) in \(String(format: "%.3f", seconds)) s")
            print("argmax per position: \(top.map(String.init).joined(separator: " "))")
            if let out = dumpLogits { print("logits [\(ids.count), \(lm.config.vocabSize)] written to \(out)") }
        }
    }
}
