import Foundation
import GGUF

/// Byte-level BPE (`tokenizer.ggml.model = gpt2`), matching llama.cpp: the pre-tokenizer splits
/// text into words; each word starts as one symbol per byte and adjacent pairs are merged by
/// merge rank (lowest first, leftmost on ties) as long as some pair has a rank.
final class BPETokenizer: Tokenizer {
    let vocab: Vocabulary
    let preTokenizer: PreTokenizer
    /// Raw bytes → id, for whole-word lookups (Llama 3 `ignore_merges`) and single bytes.
    private let idByBytes: [ArraySlice<UInt8>: Int32]
    private let byteTokens: [Int32]
    /// (left id, right id) packed → (rank, id of the merged token).
    private let merges: [UInt64: (rank: Int32, result: Int32)]
    /// Raw bytes each token stands for (control and unmapped texts: their literal UTF-8).
    private let tokenBytes: [[UInt8]]

    /// Words repeat a lot in real text, so merge results are cached per word.
    private var cache: [ArraySlice<UInt8>: [Int32]] = [:]
    private let cacheLock = NSLock()
    private static let cacheLimit = 100_000

    init(gguf: GGUFFile) throws {
        let preName = try gguf.string("tokenizer.ggml.pre") ?? "default"
        guard let pre = PreTokenizer(name: preName) else {
            throw TokenizerError.unknownPreTokenizer(preName, supported: PreTokenizer.supportedNames)
        }
        preTokenizer = pre
        vocab = try Vocabulary(gguf: gguf, defaultBOS: nil, defaultEOS: nil, defaultUNK: nil,
                               defaultAddBOS: pre.addsBOSByDefault, defaultAddEOS: false)
        let v = vocab
        tokenBytes = v.texts.indices.map { id in
            v.types[id] == .normal ? (ByteLevel.decode(v.texts[id]) ?? v.textBytes[id]) : v.textBytes[id]
        }
        var byBytes: [ArraySlice<UInt8>: Int32] = [:]
        byBytes.reserveCapacity(v.count)
        // Non-normal tokens first so that a normal token with the same bytes wins.
        for id in v.texts.indices where v.types[id] != .normal { byBytes[tokenBytes[id][...]] = Int32(id) }
        for id in v.texts.indices where v.types[id] == .normal { byBytes[tokenBytes[id][...]] = Int32(id) }
        idByBytes = byBytes
        byteTokens = (0...255).map { byBytes[[UInt8($0)][...]] ?? -1 }
        merges = try Self.readMerges(gguf, vocab: v)
    }

    private static func readMerges(_ gguf: GGUFFile, vocab: Vocabulary) throws -> [UInt64: (rank: Int32, result: Int32)] {
        guard let list = try gguf.stringArray("tokenizer.ggml.merges") else { throw TokenizerError.missingMerges }
        var table: [UInt64: (rank: Int32, result: Int32)] = [:]
        table.reserveCapacity(list.count)
        for (rank, merge) in list.enumerated() {
            let bytes = Array(merge.utf8)
            // Split at the first space after the first byte, as llama.cpp does.
            guard bytes.count >= 3, let space = bytes[1...].firstIndex(of: 0x20) else {
                throw TokenizerError.badMerge(index: rank, merge: merge, reason: "expected two tokens separated by a space")
            }
            let left = bytes[..<space], right = bytes[(space + 1)...]
            guard let l = vocab.idByText[left] else {
                throw TokenizerError.badMerge(index: rank, merge: merge, reason: "left part is not a token")
            }
            guard let r = vocab.idByText[right] else {
                throw TokenizerError.badMerge(index: rank, merge: merge, reason: "right part is not a token")
            }
            guard let result = vocab.idByText[(Array(left) + Array(right))[...]] else {
                throw TokenizerError.badMerge(index: rank, merge: merge, reason: "the merged text is not a token")
            }
            let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
            if table[key] == nil { table[key] = (Int32(rank), result) } // first (best) rank wins
        }
        return table
    }

    var vocabSize: Int { vocab.count }
    var bos: Int? { vocab.bos }
    var eos: Int? { vocab.eos }
    var eot: Int? { vocab.eot }
    var endOfGenerationIds: Set<Int> { vocab.endOfGeneration }
    var addsBOS: Bool { vocab.addBOS }
    var addsEOS: Bool { vocab.addEOS }
    var removesLeadingSpace: Bool { false }

    func tokenText(_ id: Int) -> String { vocab.isValid(id) ? vocab.texts[id] : "" }
    func tokenType(_ id: Int) -> TokenType { vocab.isValid(id) ? vocab.types[id] : .undefined }

    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) throws -> [Int] {
        let bytes = Array(text.utf8)
        var out: [Int] = []
        if addSpecial, vocab.addBOS, let bos = vocab.bos { out.append(bos) }
        for fragment in vocab.specials.split(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case let .token(id):
                out.append(id)
            case let .text(range):
                for word in preTokenizer.split(bytes, range) {
                    for id in tokenize(word: bytes[word]) { out.append(Int(id)) }
                }
            }
        }
        if addSpecial, vocab.addEOS, let eos = vocab.eos { out.append(eos) }
        return out
    }

    private func tokenize(word: ArraySlice<UInt8>) -> [Int32] {
        if preTokenizer.ignoreMerges, let id = idByBytes[word] { return [id] }
        cacheLock.lock()
        let cached = cache[word]
        cacheLock.unlock()
        if let cached { return cached }
        let ids = merge(Array(word))
        cacheLock.lock()
        if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[ArraySlice(Array(word))] = ids
        cacheLock.unlock()
        return ids
    }

    private struct Candidate {
        var rank: Int32
        var left: Int32
        var right: Int32
        var result: Int32
        var size: Int32
    }

    /// The merge loop for one word. Symbols are a linked list of byte ranges with their token id.
    private func merge(_ word: [UInt8]) -> [Int32] {
        let n = word.count
        var id = word.map { byteTokens[Int($0)] }
        var len = [Int32](repeating: 1, count: n)
        var prev = (0..<n).map { Int32($0) - 1 }
        var next = (0..<n).map { $0 + 1 < n ? Int32($0 + 1) : -1 }

        var queue = BinaryHeap<Candidate> { a, b in a.rank < b.rank || (a.rank == b.rank && a.left < b.left) }
        func addCandidate(_ l: Int32, _ r: Int32) {
            guard l >= 0, r >= 0, id[Int(l)] >= 0, id[Int(r)] >= 0 else { return }
            let key = UInt64(UInt32(id[Int(l)])) << 32 | UInt64(UInt32(id[Int(r)]))
            guard let m = merges[key] else { return }
            queue.push(Candidate(rank: m.rank, left: l, right: r, result: m.result, size: len[Int(l)] + len[Int(r)]))
        }
        for i in 1..<max(n, 1) { addCandidate(Int32(i - 1), Int32(i)) }

        while let c = queue.pop() {
            let l = Int(c.left), r = Int(c.right)
            // Stale: a side was merged away or has grown since the pair was queued.
            guard len[l] > 0, len[r] > 0, len[l] + len[r] == c.size else { continue }
            len[l] += len[r]
            len[r] = 0
            id[l] = c.result
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = c.left }
            addCandidate(prev[l], c.left)
            addCandidate(c.left, next[l])
        }

        var out: [Int32] = []
        var i: Int32 = n > 0 ? 0 : -1
        while i >= 0 {
            // A symbol without an id is a single byte the vocabulary lacks: llama.cpp drops it.
            if id[Int(i)] >= 0 { out.append(id[Int(i)]) }
            i = next[Int(i)]
        }
        return out
    }

    func pieceBytes(_ id: Int, renderSpecial: Bool) -> [UInt8] {
        guard vocab.isValid(id) else { return [] }
        switch vocab.types[id] {
        case .normal, .userDefined: return tokenBytes[id]
        case .control, .unknown: return renderSpecial ? vocab.textBytes[id] : []
        case .byte, .unused, .undefined: return []
        }
    }
}
