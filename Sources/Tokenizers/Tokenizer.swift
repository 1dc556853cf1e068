/// Token types as GGUF stores them in `tokenizer.ggml.token_type` (SentencePiece's numbering).
public enum TokenType: Int, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// Text ⇄ token ids for one model's vocabulary. Built by `loadTokenizer(from:)`.
public protocol Tokenizer: AnyObject {
    /// Number of tokens in the vocabulary (valid ids are `0..<vocabSize`).
    var vocabSize: Int { get }
    var bos: Int? { get }
    var eos: Int? { get }
    /// End-of-turn token (`tokenizer.ggml.eot_token_id`, or found by text such as `<|eot_id|>`).
    var eot: Int? { get }
    /// Every id that ends generation: EOS, EOT, EOM and the known end-of-turn texts.
    var endOfGenerationIds: Set<Int> { get }
    /// Whether `encode(_:addSpecial: true, ...)` adds BOS / EOS (metadata, else llama.cpp's defaults).
    var addsBOS: Bool { get }
    var addsEOS: Bool { get }
    /// True for SentencePiece vocabularies that prepend a space when encoding; decoding then drops
    /// one leading space from the first token (after an optional BOS) so text round-trips.
    var removesLeadingSpace: Bool { get }

    /// Text → ids. `addSpecial` adds BOS/EOS as `addsBOS`/`addsEOS` say; `parseSpecial` lets
    /// control tokens written literally in the text (e.g. `<|eot_id|>`) become single ids.
    /// User-defined tokens are always matched, as in llama.cpp.
    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws -> [Int]
    /// The bytes one token contributes to decoded text. Control and unknown tokens contribute
    /// their literal text only when `renderSpecial` is true, otherwise nothing. Invalid ids give [].
    func pieceBytes(_ id: Int, renderSpecial: Bool) -> [UInt8]
    /// The token's text exactly as stored in the vocabulary ("" for an invalid id).
    func tokenText(_ id: Int) -> String
    func tokenType(_ id: Int) -> TokenType
}

extension Tokenizer {
    public func encode(_ text: String) throws -> [Int] {
        try encode(text, addSpecial: true, parseSpecial: false)
    }

    public func pieceBytes(_ id: Int) -> [UInt8] { pieceBytes(id, renderSpecial: false) }

    public func isEndOfGeneration(_ id: Int) -> Bool { endOfGenerationIds.contains(id) }

    /// Ids → text; the inverse of `encode` for ordinary text. Bytes that do not form valid UTF-8
    /// (e.g. a truncated multi-byte character) become U+FFFD.
    public func decode(_ ids: [Int], renderSpecial: Bool = false) -> String {
        String(decoding: decodeBytes(ids, renderSpecial: renderSpecial), as: UTF8.self)
    }

    /// Ids → raw bytes, dropping the SentencePiece prefix space from the first token after BOS.
    public func decodeBytes(_ ids: [Int], renderSpecial: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for (i, id) in ids.enumerated() {
            var piece = pieceBytes(id, renderSpecial: renderSpecial)
            if stripsSpace(atIndex: i, of: ids), piece.first == 0x20 { piece.removeFirst() }
            out += piece
        }
        return out
    }

    /// Whether token `i` is the one whose leading space the encoder added: the first token,
    /// or the second when the first is BOS.
    func stripsSpace(atIndex i: Int, of ids: [Int]) -> Bool {
        guard removesLeadingSpace else { return false }
        return i == 0 ? ids[0] != bos : (i == 1 && ids[0] == bos)
    }
}
