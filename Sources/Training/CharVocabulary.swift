import GGUF

/// A character-level vocabulary written as an ordinary SentencePiece (`llama`) tokenizer, so
/// our engine and llama.cpp both read it:
///
///     0 <unk>   1 <s>   2 </s>   3... one token per character   then <0x00>...<0xFF>
///
/// Characters are Unicode scalars (SentencePiece splits text into UTF-8 characters); the space
/// is stored as "▁" (U+2581), as SentencePiece escapes it. Control characters such as "\n", and
/// anything not in the alphabet, encode through the 256 byte-fallback tokens, so any text still
/// encodes. With `add_space_prefix = false` and no multi-character tokens, an SPM tokenizer
/// encodes every alphabet character to exactly its own token — `encode` reproduces that here.
public struct CharVocabulary: Equatable, Sendable {
    public static let unknown = 0, bos = 1, eos = 2
    static let spaceMark: Unicode.Scalar = "\u{2581}"

    /// The alphabet, in token order from id 3 (space appears as "▁").
    public let characters: [Unicode.Scalar]
    private let idByScalar: [Unicode.Scalar: Int]

    public init(characters: [Unicode.Scalar]) {
        var seen = Set<Unicode.Scalar>(), list: [Unicode.Scalar] = []
        for c in characters {
            let stored = c == " " ? Self.spaceMark : c
            guard Self.isStorable(stored), seen.insert(stored).inserted else { continue }
            list.append(stored)
        }
        self.characters = list
        var map: [Unicode.Scalar: Int] = [:]
        for (i, c) in list.enumerated() { map[c] = 3 + i }
        idByScalar = map
    }

    /// The alphabet of `texts`: every character that occurs, most frequent first up to
    /// `limit`, then sorted by code point so the vocabulary does not depend on text order.
    public init(coveringTexts texts: [String], limit: Int = 1024) {
        var counts: [Unicode.Scalar: Int] = [:]
        for t in texts { for s in t.unicodeScalars { counts[s == " " ? Self.spaceMark : s, default: 0] += 1 } }
        let kept = counts.filter { Self.isStorable($0.key) }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.value < $1.key.value }
            .prefix(max(0, limit)).map(\.key)
        self.init(characters: kept.sorted { $0.value < $1.value })
    }

    /// Control characters go through byte tokens, as in LLaMA's own vocabulary ("<0x0A>").
    static func isStorable(_ s: Unicode.Scalar) -> Bool {
        !(s.value < 0x20 || (0x7F...0x9F).contains(s.value))
    }

    public var byteBase: Int { 3 + characters.count }
    public var count: Int { byteBase + 256 }

    /// Text → ids exactly as the SPM tokenizer encodes it with this vocabulary (no BOS/EOS).
    public func encode(_ text: String) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(text.unicodeScalars.count)
        for s in text.unicodeScalars {
            let escaped = s == " " ? Self.spaceMark : s
            if let id = idByScalar[escaped] {
                out.append(id)
            } else {
                for b in String(escaped).utf8 { out.append(byteBase + Int(b)) }
            }
        }
        return out
    }

    /// Ids → text; special tokens contribute nothing.
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            if id >= byteBase, id < count {
                bytes.append(UInt8(id - byteBase))
            } else if id >= 3, id < byteBase {
                let c = characters[id - 3]
                bytes += Array(String(c == Self.spaceMark ? " " : c).utf8)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public var tokenTexts: [String] {
        ["<unk>", "<s>", "</s>"] + characters.map { String($0) }
            + (0..<256).map { b in "<0x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true) + ">" }
    }

    /// The `tokenizer.*` metadata of a llama.cpp-compatible SPM vocabulary.
    public var ggufMetadata: [(String, GGUFValue)] {
        let types = [2, 3, 3] + Array(repeating: 1, count: characters.count) + Array(repeating: 6, count: 256)
        let scores = types.enumerated().map { i, t -> Float in t == 1 ? -Float(i) : 0 }
        return [
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", .array(.string, tokenTexts.map { .string($0) })),
            ("tokenizer.ggml.scores", .array(.float32, scores.map { .float32($0) })),
            ("tokenizer.ggml.token_type", .array(.int32, types.map { .int32(Int32($0)) })),
            ("tokenizer.ggml.bos_token_id", .uint32(UInt32(Self.bos))),
            ("tokenizer.ggml.eos_token_id", .uint32(UInt32(Self.eos))),
            ("tokenizer.ggml.unknown_token_id", .uint32(UInt32(Self.unknown))),
            ("tokenizer.ggml.add_bos_token", .bool(true)),
            ("tokenizer.ggml.add_eos_token", .bool(false)),
            ("tokenizer.ggml.add_space_prefix", .bool(false)),
        ]
    }
}
