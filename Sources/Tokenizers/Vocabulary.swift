import GGUF

/// What every tokenizer model shares: token texts and types, scores, special ids and the
/// matcher for special tokens written literally in the text. Read and validated from GGUF.
struct Vocabulary {
    let texts: [String]
    /// UTF-8 of each text, kept so lookups compare bytes: Swift `String` equality uses
    /// canonical equivalence, which would conflate distinct tokens such as "é" and "e\u{301}".
    let textBytes: [[UInt8]]
    let types: [TokenType]
    let scores: [Float]
    /// Text bytes → id. Like llama.cpp, a later duplicate text wins.
    let idByText: [ArraySlice<UInt8>: Int32]
    var bos: Int?
    var eos: Int?
    var unk: Int?
    var eot: Int?
    var eom: Int?
    var endOfGeneration: Set<Int>
    var addBOS: Bool
    var addEOS: Bool
    let specials: SpecialTokenMatcher

    var count: Int { texts.count }

    /// Texts llama.cpp treats as end of turn when no id is given (first present wins for EOT).
    static let endOfTurnTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                 "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>"]

    /// Reads tokens, types and scores, and the special ids. `defaults` gives model-specific
    /// fallbacks for absent keys (SentencePiece: BOS 1, EOS 2, UNK 0; adds BOS).
    init(gguf: GGUFFile, defaultBOS: Int?, defaultEOS: Int?, defaultUNK: Int?,
         defaultAddBOS: Bool, defaultAddEOS: Bool) throws {
        guard let texts = try gguf.stringArray("tokenizer.ggml.tokens") else { throw TokenizerError.missingTokens }
        guard !texts.isEmpty else { throw TokenizerError.emptyVocabulary }
        let n = texts.count
        self.texts = texts
        textBytes = texts.map { Array($0.utf8) }

        if let raw = try gguf.intArray("tokenizer.ggml.token_type") {
            guard raw.count == n else { throw TokenizerError.lengthMismatch(key: "tokenizer.ggml.token_type", count: raw.count, tokens: n) }
            types = try raw.enumerated().map { id, t in
                guard let type = TokenType(rawValue: t) else { throw TokenizerError.badTokenType(id: id, type: t) }
                return type
            }
        } else {
            types = Array(repeating: .normal, count: n)
        }
        if let s = try gguf.floatArray("tokenizer.ggml.scores") {
            guard s.count == n else { throw TokenizerError.lengthMismatch(key: "tokenizer.ggml.scores", count: s.count, tokens: n) }
            scores = s
        } else {
            scores = Array(repeating: 0, count: n)
        }
        var index: [ArraySlice<UInt8>: Int32] = [:]
        index.reserveCapacity(n)
        for (id, bytes) in textBytes.enumerated() { index[bytes[...]] = Int32(id) }
        idByText = index

        func specialId(_ suffix: String, _ fallback: Int?) throws -> Int? {
            let key = "tokenizer.ggml.\(suffix)"
            guard let id = try gguf.int(key) else { return fallback.flatMap { $0 < n ? $0 : nil } }
            guard id >= 0, id < n else { throw TokenizerError.specialTokenOutOfRange(key: key, id: id, vocabSize: n) }
            return id
        }
        bos = try specialId("bos_token_id", defaultBOS)
        eos = try specialId("eos_token_id", defaultEOS)
        unk = try specialId("unknown_token_id", defaultUNK)
        _ = try specialId("padding_token_id", nil) // validated only
        addBOS = try gguf.bool("tokenizer.ggml.add_bos_token") ?? defaultAddBOS
        addEOS = try gguf.bool("tokenizer.ggml.add_eos_token") ?? defaultAddEOS

        func lookup(_ text: String) -> Int? { index[Array(text.utf8)[...]].map(Int.init) }
        eot = try specialId("eot_token_id", nil) ?? Self.endOfTurnTexts.lazy.compactMap(lookup).first
        eom = try specialId("eom_token_id", nil) ?? lookup("<|eom_id|>")
        var eog = Set((Self.endOfTurnTexts + ["<|eom_id|>"]).compactMap(lookup))
        for id in [eos, eot, eom] { if let id { eog.insert(id) } }
        endOfGeneration = eog
        specials = SpecialTokenMatcher(textBytes: textBytes, types: types)
    }

    func isValid(_ id: Int) -> Bool { id >= 0 && id < texts.count }
}
