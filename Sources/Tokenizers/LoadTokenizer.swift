import GGUF

/// Builds the tokenizer a GGUF file describes, by `tokenizer.ggml.model`:
/// `llama` → SentencePiece-style, `gpt2` → byte-level BPE. Throws `TokenizerError` (or
/// `GGUFError` for metadata of the wrong type) when the vocabulary is unusable.
public func loadTokenizer(from gguf: GGUFFile) throws -> any Tokenizer {
    guard let model = try gguf.string("tokenizer.ggml.model") else { throw TokenizerError.missingModel }
    switch model {
    case "llama": return try SentencePieceTokenizer(gguf: gguf)
    case "gpt2": return try BPETokenizer(gguf: gguf)
    default: throw TokenizerError.unknownModel(model)
    }
}

/// Convenience: open the file and load its tokenizer.
public func loadTokenizer(path: String) throws -> any Tokenizer {
    try loadTokenizer(from: GGUFFile(path: path))
}
