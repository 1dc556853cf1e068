import GGUF

/// SentencePiece-style tokenizer (`tokenizer.ggml.model = llama`), matching llama.cpp's SPM
/// tokenizer: spaces become U+2581 (with one prepended at the start of text), then adjacent
/// symbols are merged greedily by the score of the token they form, best score first and
/// leftmost on ties; what never forms a token falls back to `<0xXX>` byte tokens.
final class SentencePieceTokenizer: Tokenizer {
    let vocab: Vocabulary
    let addSpacePrefix: Bool
    /// Token id for each byte value (`<0xXX>`, else the one-byte text), nil when absent.
    private let byteTokens: [Int?]

    /// U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space.
    static let spaceMark: [UInt8] = [0xE2, 0x96, 0x81]

    init(gguf: GGUFFile) throws {
        vocab = try Vocabulary(gguf: gguf, defaultBOS: 1, defaultEOS: 2, defaultUNK: 0,
                               defaultAddBOS: true, defaultAddEOS: false)
        addSpacePrefix = try gguf.bool("tokenizer.ggml.add_space_prefix") ?? true
        let v = vocab
        byteTokens = (0...255).map { (b: Int) -> Int? in
            let hex = "<0x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true) + ">"
            if let id = v.idByText[Array(hex.utf8)[...]] { return Int(id) }
            return v.idByText[[UInt8(b)][...]].map(Int.init)
        }
    }

    var vocabSize: Int { vocab.count }
    var bos: Int? { vocab.bos }
    var eos: Int? { vocab.eos }
    var eot: Int? { vocab.eot }
    var endOfGenerationIds: Set<Int> { vocab.endOfGeneration }
    var addsBOS: Bool { vocab.addBOS }
    var addsEOS: Bool { vocab.addEOS }
    var removesLeadingSpace: Bool { addSpacePrefix }

    func tokenText(_ id: Int) -> String { vocab.isValid(id) ? vocab.texts[id] : "" }
    func tokenType(_ id: Int) -> TokenType { vocab.isValid(id) ? vocab.types[id] : .undefined }

    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws -> [Int] {
        let bytes = Array(text.utf8)
        var out: [Int] = []
        if addSpecial, vocab.addBOS, let bos = vocab.bos { out.append(bos) }
        // llama.cpp prefixes a space to raw text at the start and after every special token.
        var afterSpecial = true
        for fragment in vocab.specials.split(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case let .token(id):
                out.append(id)
                afterSpecial = true
            case let .text(range):
                var escaped: [UInt8] = []
                escaped.reserveCapacity(range.count + 3)
                if addSpacePrefix && afterSpecial { escaped += Self.spaceMark }
                for b in bytes[range] {
                    if b == 0x20 { escaped += Self.spaceMark } else { escaped.append(b) }
                }
                try tokenize(escaped, into: &out)
                afterSpecial = false
            }
        }
        if addSpecial, vocab.addEOS, let eos = vocab.eos { out.append(eos) }
        return out
    }

    private struct Bigram {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32
    }

    /// The bigram merge over UTF-8 characters of already-escaped text.
    private func tokenize(_ text: [UInt8], into out: inout [Int]) throws {
        guard !text.isEmpty else { return }
        // Symbols form a doubly linked list over byte ranges; a merged-away symbol has len 0.
        var start: [Int32] = [], len: [Int32] = [], prev: [Int32] = [], next: [Int32] = []
        var offset = 0
        while offset < text.count {
            let n = min(utf8Length(leadByte: text[offset]), text.count - offset)
            prev.append(Int32(start.count) - 1)
            start.append(Int32(offset)); len.append(Int32(n))
            offset += n
            next.append(offset == text.count ? -1 : Int32(start.count))
        }

        var queue = BinaryHeap<Bigram> { a, b in
            a.score > b.score || (a.score == b.score && a.left < b.left)
        }
        queue.reserveCapacity(start.count)
        func tryAddBigram(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let lo = Int(start[Int(left)]), size = Int(len[Int(left)] + len[Int(right)])
            guard let id = vocab.idByText[text[lo..<lo + size]] else { return }
            queue.push(Bigram(score: vocab.scores[Int(id)], left: left, right: right, size: Int32(size)))
        }
        for i in 1..<start.count { tryAddBigram(Int32(i - 1), Int32(i)) }

        while let bigram = queue.pop() {
            let l = Int(bigram.left), r = Int(bigram.right)
            // Stale entry: one side was merged away or grew since this pair was queued.
            guard len[l] > 0, len[r] > 0, len[l] + len[r] == bigram.size else { continue }
            len[l] += len[r]
            len[r] = 0
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = bigram.left }
            tryAddBigram(prev[l], bigram.left)
            tryAddBigram(bigram.left, next[l])
        }

        var i: Int32 = 0
        while i != -1 {
            let lo = Int(start[Int(i)]), hi = lo + Int(len[Int(i)])
            if let id = vocab.idByText[text[lo..<hi]] {
                out.append(Int(id))
            } else {
                // Only single characters can be missing (merges always form tokens).
                for b in text[lo..<hi] {
                    guard let id = byteTokens[Int(b)] else { throw TokenizerError.missingByteToken(b) }
                    out.append(id)
                }
            }
            i = next[Int(i)]
        }
    }

    func pieceBytes(_ id: Int, renderSpecial: Bool) -> [UInt8] {
        guard vocab.isValid(id) else { return [] }
        let text = vocab.textBytes[id]
        switch vocab.types[id] {
        case .normal:
            return unescapeSpaces(text)
        case .byte:
            // "<0xXX>"
            guard text.count == 6, let b = UInt8(String(decoding: text[3..<5], as: UTF8.self), radix: 16) else { return text }
            return [b]
        case .userDefined:
            return text
        case .control, .unknown:
            return renderSpecial ? text : []
        case .unused, .undefined:
            return []
        }
    }

    private func unescapeSpaces(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == 0xE2, i + 2 < text.count, text[i + 1] == 0x96, text[i + 2] == 0x81 {
                out.append(0x20); i += 3
            } else {
                out.append(text[i]); i += 1
            }
        }
        return out
    }
}

/// Length of a UTF-8 sequence from its first byte (1 for continuation or invalid bytes, as
/// llama.cpp's `unicode_len_utf8` does, so malformed input still advances).
func utf8Length(leadByte b: UInt8) -> Int {
    switch b {
    case 0xF0...0xFF: return 4
    case 0xE0...0xEF: return 3
    case 0xC0...0xDF: return 2
    default: return 1
    }
}
