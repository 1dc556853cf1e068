/// Decodes ids one at a time for streaming output. Tokens often end inside a UTF-8 character
/// (byte-fallback tokens, or BPE tokens splitting an emoji), so each `push` returns only the
/// text that is complete so far and holds back a trailing incomplete character until the
/// tokens that finish it arrive. The concatenated outputs equal `decode` of all ids.
public struct StreamingDecoder {
    public let tokenizer: any Tokenizer
    public let renderSpecial: Bool
    private var pending: [UInt8] = []
    /// How many ids have been pushed; the SentencePiece prefix space is stripped from the
    /// first token (or the second when the first is BOS), exactly as `decode` does.
    private var pushed = 0
    private var firstWasBOS = false

    public init(tokenizer: any Tokenizer, renderSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// Adds one id; returns the newly completed text (possibly empty).
    public mutating func push(_ id: Int) -> String {
        var piece = tokenizer.pieceBytes(id, renderSpecial: renderSpecial)
        if tokenizer.removesLeadingSpace, piece.first == 0x20 {
            let isFirstContent = pushed == 0 ? id != tokenizer.bos : (pushed == 1 && firstWasBOS)
            if isFirstContent { piece.removeFirst() }
        }
        if pushed == 0 { firstWasBOS = id == tokenizer.bos }
        pushed += 1
        pending += piece
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Adds several ids; returns the newly completed text.
    public mutating func push<S: Sequence>(contentsOf ids: S) -> String where S.Element == Int {
        ids.reduce(into: "") { $0 += push($1) }
    }

    /// Returns whatever is held back (an unfinished character becomes U+FFFD) and resets it.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Bytes held back waiting for the rest of a character.
    public var pendingByteCount: Int { pending.count }

    /// Length of `bytes` without a trailing sequence that is a valid-so-far but unfinished
    /// UTF-8 character. Anything else (complete or already invalid) can be emitted now.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        // A character is at most 4 bytes, so its lead byte is among the last 4.
        var i = bytes.count - 1
        while i >= 0, i >= bytes.count - 4 {
            let b = bytes[i]
            if b & 0xC0 != 0x80 { // a lead (or ASCII) byte
                let need = utf8Length(leadByte: b)
                let have = bytes.count - i
                let validLead = (0xC2...0xF4).contains(b)
                return validLead && have < need && secondByteAllowed(b, bytes, i) ? i : bytes.count
            }
            i -= 1
        }
        return bytes.count
    }

    /// Some lead bytes restrict the second byte (no overlong forms, surrogates or > U+10FFFF);
    /// a sequence that already broke that rule is invalid and need not be held back.
    private static func secondByteAllowed(_ lead: UInt8, _ bytes: [UInt8], _ i: Int) -> Bool {
        guard i + 1 < bytes.count else { return true }
        let second = bytes[i + 1]
        switch lead {
        case 0xE0: return second >= 0xA0
        case 0xED: return second <= 0x9F
        case 0xF0: return second >= 0x90
        case 0xF4: return second <= 0x8F
        default: return true
        }
    }
}
