/// Everything that can be wrong when building a tokenizer from GGUF metadata or choosing a chat
/// template. Each case names the key or value at fault so a user can tell which file is broken.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case missingModel
    case unknownModel(String)
    case missingTokens
    case emptyVocabulary
    case lengthMismatch(key: String, count: Int, tokens: Int)
    case badTokenType(id: Int, type: Int)
    case specialTokenOutOfRange(key: String, id: Int, vocabSize: Int)
    case unknownPreTokenizer(String, supported: [String])
    case missingMerges
    case badMerge(index: Int, merge: String, reason: String)
    case missingByteToken(UInt8)
    case metadata(String)
    case missingChatTemplate
    case unrecognizedChatTemplate(excerpt: String)
    case unknownChatTemplateName(String, supported: [String])

    public var description: String {
        switch self {
        case .missingModel:
            return "tokenizer.ggml.model is missing: this GGUF has no tokenizer"
        case let .unknownModel(m):
            return "unsupported tokenizer.ggml.model '\(m)' (supported: llama (SentencePiece), gpt2 (byte-level BPE))"
        case .missingTokens:
            return "tokenizer.ggml.tokens is missing"
        case .emptyVocabulary:
            return "tokenizer.ggml.tokens is empty"
        case let .lengthMismatch(key, count, tokens):
            return "\(key) has \(count) entries but tokenizer.ggml.tokens has \(tokens)"
        case let .badTokenType(id, type):
            return "token \(id) has unknown token type \(type) (expected 0...6)"
        case let .specialTokenOutOfRange(key, id, size):
            return "\(key) = \(id) is outside the vocabulary (0..<\(size))"
        case let .unknownPreTokenizer(pre, supported):
            return "unsupported tokenizer.ggml.pre '\(pre)' (supported: \(supported.joined(separator: ", ")))"
        case .missingMerges:
            return "tokenizer.ggml.merges is missing (required by the gpt2 BPE tokenizer)"
        case let .badMerge(index, merge, reason):
            return "tokenizer.ggml.merges[\(index)] '\(merge)': \(reason)"
        case let .missingByteToken(b):
            return "the vocabulary has no token for byte 0x\(String(b, radix: 16, uppercase: true)) (needed for byte fallback)"
        case let .metadata(message):
            return "bad tokenizer metadata: \(message)"
        case .missingChatTemplate:
            return "the model has no chat template (tokenizer.chat_template is missing); pass one explicitly"
        case let .unrecognizedChatTemplate(excerpt):
            return "unrecognised chat template (supported families: llama2 [INST], llama3 <|start_header_id|>, "
                + "chatml <|im_start|>, zephyr <|user|>…</s>, phi3 <|user|>…<|end|>); template starts: \(excerpt)"
        case let .unknownChatTemplateName(name, supported):
            return "unknown chat template name '\(name)' (supported: \(supported.joined(separator: ", ")))"
        }
    }
}
