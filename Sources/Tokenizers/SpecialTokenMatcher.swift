/// A piece of input after special-token matching: raw text (a byte range) or one special token.
enum Fragment: Equatable {
    case text(Range<Int>)
    case token(Int)
}

/// Finds special tokens written literally in the input, with llama.cpp's semantics: candidates
/// are control, user-defined and unknown tokens; without `parseSpecial` only user-defined ones.
/// llama.cpp takes the candidates longest first and, for each, splits every remaining raw-text
/// fragment at its non-overlapping occurrences (left to right). Doing that literally costs one
/// scan of the text per candidate (256 for Llama 3); instead we find all occurrences of all
/// candidates in one pass with a trie, then replay llama.cpp's order on that list.
struct SpecialTokenMatcher {
    private struct Node {
        var children: [UInt8: Int32] = [:]
        var token: Int32 = -1
    }
    private var nodes = [Node()]
    private let lengths: [Int]
    /// Rank of each candidate in llama.cpp's processing order (longest first, then by id).
    private var order: [Int: Int] = [:]
    private var controlOnly: Set<Int> = []

    init(textBytes: [[UInt8]], types: [TokenType]) {
        lengths = textBytes.map(\.count)
        var candidates: [Int] = []
        for (id, t) in types.enumerated() where !textBytes[id].isEmpty {
            switch t {
            case .control, .unknown: candidates.append(id); controlOnly.insert(id)
            case .userDefined: candidates.append(id)
            default: break
            }
        }
        candidates.sort { (textBytes[$0].count, $1) > (textBytes[$1].count, $0) }
        for (rank, id) in candidates.enumerated() {
            order[id] = rank
            insert(textBytes[id], id: id)
        }
    }

    private mutating func insert(_ bytes: [UInt8], id: Int) {
        var node = 0
        for b in bytes {
            if let next = nodes[node].children[b] { node = Int(next); continue }
            nodes.append(Node())
            nodes[node].children[b] = Int32(nodes.count - 1)
            node = nodes.count - 1
        }
        // Duplicate texts: keep the later id, as llama.cpp's text→id map does.
        nodes[node].token = Int32(id)
    }

    var isEmpty: Bool { nodes.count == 1 }

    func split(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        guard !bytes.isEmpty else { return [] }
        guard !isEmpty else { return [.text(0..<bytes.count)] }
        // 1. Every occurrence of every allowed candidate, grouped by candidate.
        var occurrences: [Int: [Int]] = [:]
        for start in bytes.indices {
            var node = 0, pos = start
            while pos < bytes.count, let next = nodes[node].children[bytes[pos]] {
                node = Int(next); pos += 1
                let id = Int(nodes[node].token)
                if id >= 0, parseSpecial || !controlOnly.contains(id) { occurrences[id, default: []].append(start) }
            }
        }
        guard !occurrences.isEmpty else { return [.text(0..<bytes.count)] }
        // 2. Replay llama.cpp: candidates in order; an occurrence is taken when it lies wholly in
        //    still-raw text (which also rules out overlapping an earlier match of the same token).
        var claimed = [Bool](repeating: false, count: bytes.count)
        var matches: [(start: Int, id: Int)] = []
        for id in occurrences.keys.sorted(by: { order[$0]! < order[$1]! }) {
            let len = lengths[id]
            for start in occurrences[id]! where !claimed[start..<start + len].contains(true) {
                for i in start..<start + len { claimed[i] = true }
                matches.append((start, id))
            }
        }
        // 3. Fragments in text order.
        matches.sort { $0.start < $1.start }
        var fragments: [Fragment] = []
        var cursor = 0
        for m in matches {
            if m.start > cursor { fragments.append(.text(cursor..<m.start)) }
            fragments.append(.token(m.id))
            cursor = m.start + lengths[m.id]
        }
        if cursor < bytes.count { fragments.append(.text(cursor..<bytes.count)) }
        return fragments
    }
}
