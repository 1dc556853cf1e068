import ArgumentParser
import Foundation
import GGUF
import Tokenizers

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Turn text into token ids with a model's (or a vocab-only GGUF's) tokenizer.")

    @OptionGroup var model: ModelOption
    @Option(help: "Text to tokenize.") var text: String?
    @Option(help: "Read the text from a file.") var file: String?
    @Flag(help: "Do not add BOS/EOS.") var noBos = false
    @Flag(help: "Parse special tokens written in the text (e.g. <|eot_id|>).") var special = false
    @Flag(help: "Print {\"ids\": [...]}.") var json = false

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("give exactly one of --text or --file") }
    }

    func run() throws {
        let tokenizer = try loadTokenizer(from: GGUFFile(path: model.model))
        let input = try text ?? readUTF8File(file!)
        let ids = try tokenizer.encode(input, addSpecial: !noBos, parseSpecial: special)
        if json {
            print(try jsonLine(["ids": ids]))
        } else {
            for id in ids { print(String(format: "%6d -> '%@'", id, tokenizer.tokenText(id))) }
            print("\(ids.count) tokens")
        }
    }
}

struct InvalidInput: Error, CustomStringConvertible { let description: String }

/// Reads a file that must be valid UTF-8 (a clear error otherwise, not replacement characters).
func readUTF8File(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else { throw InvalidInput(description: "cannot read '\(path)'") }
    guard let s = String(data: data, encoding: .utf8) else { throw InvalidInput(description: "'\(path)' is not valid UTF-8") }
    return s
}
