/// Splits text into the words BPE merges within, as chosen by `tokenizer.ggml.pre`.
///
/// llama.cpp describes each pre-tokenizer as a list of regexes applied in turn (each splits every
/// piece from the previous one into matches and the text between them). We do the same with
/// hand-written matchers over Unicode scalars: the two big GPT-2 / Llama 3 patterns need
/// lookahead (`\s+(?!\S)`) and Unicode classes, and a direct state machine is both exact and fast.
struct PreTokenizer {
    enum Stage: Equatable {
        /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|
        /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` (Qwen2 is the same with 1 digit).
        case llama3(maxDigits: Int)
        /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        case gpt2
        /// `[\p{P}<extra>]+`
        case punctuationRuns(extra: [UInt32])
        /// `\p{N}+`
        case numberRuns
        /// `\p{N}`
        case singleNumbers
        /// `[0-9][0-9][0-9]`
        case asciiDigitTriples
    }

    let name: String
    let stages: [Stage]
    /// Llama 3 style: a word that is itself a token is emitted whole, without merging.
    let ignoreMerges: Bool
    /// llama.cpp's add-BOS default for this pre-tokenizer (metadata may override it).
    let addsBOSByDefault: Bool

    private static let gpt2Style: [String] = ["gpt2", "gpt-2", "phi-2", "mpt", "olmo"]
    private static let llama3Style: [String] = ["llama-bpe", "llama3", "llama-v3", "falcon3"]
    private static let qwen2Style: [String] = ["qwen2", "deepseek-r1-qwen"]
    private static let digitsThenGPT2: [String] = ["starcoder", "refact", "smollm", "command-r", "codeshell", "exaone", "minerva-7b"]

    static var supportedNames: [String] {
        ["default"] + llama3Style + qwen2Style + gpt2Style + ["falcon"] + digitsThenGPT2
    }

    /// The pre-tokenizer llama.cpp uses for `name`; nil if unsupported.
    init?(name: String) {
        self.name = name
        ignoreMerges = Self.llama3Style.contains(name)
        addsBOSByDefault = ignoreMerges
        if name == "default" {
            stages = [.punctuationRuns(extra: Array("$+<=>^~|".unicodeScalars.map(\.value))), .gpt2,
                      .numberRuns, .asciiDigitTriples]
        } else if name == "falcon" {
            stages = [.punctuationRuns(extra: Array("$+<=>^~|`".unicodeScalars.map(\.value))), .gpt2, .asciiDigitTriples]
        } else if Self.llama3Style.contains(name) {
            stages = [.llama3(maxDigits: 3)]
        } else if Self.qwen2Style.contains(name) {
            stages = [.llama3(maxDigits: 1)]
        } else if Self.gpt2Style.contains(name) {
            stages = [.gpt2]
        } else if Self.digitsThenGPT2.contains(name) {
            stages = [.singleNumbers, .gpt2]
        } else {
            return nil
        }
    }

    /// Byte ranges (into `bytes`) of the words of `bytes[range]`, which must be valid UTF-8.
    func split(_ bytes: [UInt8], _ range: Range<Int>) -> [Range<Int>] {
        let text = ScalarText(bytes, range)
        var pieces = [0..<text.count]
        for stage in stages {
            var next: [Range<Int>] = []
            next.reserveCapacity(pieces.count)
            for piece in pieces { text.split(piece, by: stage, into: &next) }
            pieces = next
        }
        return pieces.map { text.offsets[$0.lowerBound]..<text.offsets[$0.upperBound] }
    }
}

/// Decoded scalars of a piece of text with their classes and byte offsets.
struct ScalarText {
    var scalars: [UInt32] = []
    var classes: [CharClass] = []
    /// Byte offset of each scalar in the original buffer, plus the end offset.
    var offsets: [Int] = []
    var count: Int { scalars.count }

    init(_ bytes: [UInt8], _ range: Range<Int>) {
        scalars.reserveCapacity(range.count)
        var iterator = bytes[range].makeIterator()
        var decoder = UTF8()
        var offset = range.lowerBound
        loop: while true {
            switch decoder.decode(&iterator) {
            case let .scalarValue(s):
                scalars.append(s.value); classes.append(CharClass.of(s.value)); offsets.append(offset)
                offset += UTF8.width(s)
            case .emptyInput: break loop
            case .error: // not reachable for text from a Swift String; keep going byte by byte
                scalars.append(0xFFFD); classes.append([]); offsets.append(offset); offset += 1
            }
        }
        offsets.append(offset)
    }

    func split(_ piece: Range<Int>, by stage: PreTokenizer.Stage, into out: inout [Range<Int>]) {
        switch stage {
        case let .llama3(maxDigits): splitLlama3(piece, maxDigits: maxDigits, into: &out)
        case .gpt2: splitGPT2(piece, into: &out)
        case let .punctuationRuns(extra):
            splitMatches(piece, into: &out) { p, hi in
                var q = p
                while q < hi, classes[q].contains(.punctuation) || extra.contains(scalars[q]) { q += 1 }
                return q
            }
        case .numberRuns:
            splitMatches(piece, into: &out) { p, hi in
                var q = p
                while q < hi, classes[q].contains(.number) { q += 1 }
                return q
            }
        case .singleNumbers:
            splitMatches(piece, into: &out) { p, _ in classes[p].contains(.number) ? p + 1 : p }
        case .asciiDigitTriples:
            splitMatches(piece, into: &out) { p, hi in
                p + 3 <= hi && (p..<p + 3).allSatisfy { (0x30...0x39).contains(scalars[$0]) } ? p + 3 : p
            }
        }
    }

    /// Regex-split semantics: leftmost non-empty matches (`matchEnd(p, hi)` returns p for none)
    /// and the text between them all become pieces.
    private func splitMatches(_ piece: Range<Int>, into out: inout [Range<Int>], matchEnd: (Int, Int) -> Int) {
        var gapStart = piece.lowerBound, p = piece.lowerBound
        while p < piece.upperBound {
            let end = matchEnd(p, piece.upperBound)
            if end > p {
                if gapStart < p { out.append(gapStart..<p) }
                out.append(p..<end)
                p = end; gapStart = end
            } else {
                p += 1
            }
        }
        if gapStart < piece.upperBound { out.append(gapStart..<piece.upperBound) }
    }

    private static let cr: UInt32 = 0x0D, lf: UInt32 = 0x0A, space: UInt32 = 0x20, apostrophe: UInt32 = 0x27

    /// `'s|'t|'re|'ve|'m|'ll|'d` at `p` (optionally ASCII case-insensitive): the match length or 0.
    private func contraction(at p: Int, _ hi: Int, ignoreCase: Bool) -> Int {
        guard scalars[p] == Self.apostrophe, p + 1 < hi else { return 0 }
        func lower(_ i: Int) -> UInt32 {
            let c = scalars[i]
            return ignoreCase && (0x41...0x5A).contains(c) ? c + 0x20 : c
        }
        let a = lower(p + 1)
        if "stmd".unicodeScalars.contains(where: { $0.value == a }) { return 2 }
        guard p + 2 < hi else { return 0 }
        let b = lower(p + 2)
        for pair in ["re", "ve", "ll"] {
            let s = Array(pair.unicodeScalars)
            if a == s[0].value && b == s[1].value { return 3 }
        }
        return 0
    }

    /// Length of the whitespace run at `p` and the end of its last \r or \n (nil if none).
    private func whitespaceRun(at p: Int, _ hi: Int) -> (count: Int, endOfLastNewline: Int?) {
        var n = 0
        var lastNewline: Int?
        while p + n < hi, classes[p + n].contains(.whitespace) {
            if scalars[p + n] == Self.cr || scalars[p + n] == Self.lf { lastNewline = p + n + 1 }
            n += 1
        }
        return (n, lastNewline)
    }

    private func isOther(_ i: Int, _ hi: Int) -> Bool {
        i < hi && classes[i].isDisjoint(with: .letterNumberSpace)
    }

    private func splitLlama3(_ piece: Range<Int>, maxDigits: Int, into out: inout [Range<Int>]) {
        let hi = piece.upperBound
        var p = piece.lowerBound
        func emit(_ end: Int) { out.append(p..<end); p = end }
        while p < hi {
            let c = scalars[p], k = classes[p]
            let n = contraction(at: p, hi, ignoreCase: true)
            if n > 0 { emit(p + n); continue }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if c != Self.cr, c != Self.lf, !k.contains(.number),
               k.contains(.letter) || (p + 1 < hi && classes[p + 1].contains(.letter)) {
                var q = p + 1
                while q < hi, classes[q].contains(.letter) { q += 1 }
                emit(q); continue
            }
            // \p{N}{1,maxDigits}, repeated
            if k.contains(.number) {
                while p < hi, classes[p].contains(.number) {
                    var q = p
                    while q < hi, q - p < maxDigits, classes[q].contains(.number) { q += 1 }
                    emit(q)
                }
                continue
            }
            //  ?[^\s\p{L}\p{N}]+[\r\n]*
            let first = c == Self.space ? p + 1 : p
            if isOther(first, hi) {
                var q = first
                while isOther(q, hi) { q += 1 }
                while q < hi, scalars[q] == Self.cr || scalars[q] == Self.lf { q += 1 }
                emit(q); continue
            }
            let run = whitespaceRun(at: p, hi)
            if let end = run.endOfLastNewline { emit(end); continue }         // \s*[\r\n]+
            if run.count > 1 && p + run.count < hi { emit(p + run.count - 1); continue } // \s+(?!\S)
            if run.count > 0 { emit(p + run.count); continue }                 // \s+
            emit(p + 1)
        }
    }

    private func splitGPT2(_ piece: Range<Int>, into out: inout [Range<Int>]) {
        let hi = piece.upperBound
        var p = piece.lowerBound
        func emit(_ end: Int) { out.append(p..<end); p = end }
        while p < hi {
            let n = contraction(at: p, hi, ignoreCase: false)
            if n > 0 { emit(p + n); continue }
            // " ?" then a run of letters, numbers or other (not space/letter/number) characters
            let first = scalars[p] == Self.space ? p + 1 : p
            if first < hi {
                let k = classes[first]
                let runClass: CharClass? = k.contains(.letter) ? .letter : k.contains(.number) ? .number
                    : k.isDisjoint(with: .letterNumberSpace) ? [] : nil
                if let runClass {
                    var q = first
                    if runClass.isEmpty {
                        while isOther(q, hi) { q += 1 }
                    } else {
                        while q < hi, classes[q].contains(runClass) { q += 1 }
                    }
                    emit(q); continue
                }
            }
            let run = whitespaceRun(at: p, hi)
            if run.count > 1 && p + run.count < hi { emit(p + run.count - 1); continue } // \s+(?!\S)
            if run.count > 0 { emit(p + run.count); continue }                 // \s+
            emit(p + 1)
        }
    }
}
