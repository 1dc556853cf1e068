/// Host-side bookkeeping of the KV cache cells (the data lives in the backend): which position
/// each cell holds and which sequences see it. A shared prompt is stored once and tagged with
/// every sequence that continues it; each sequence's own tokens occupy their own cells.
public struct KVCells {
    public let capacity: Int
    private(set) var positions: [Int32]
    private(set) var owners: [Set<Int>]
    private var freeList: [Int32]

    public init(capacity: Int) {
        self.capacity = capacity
        positions = Array(repeating: -1, count: capacity)
        owners = Array(repeating: [], count: capacity)
        freeList = (0..<Int32(capacity)).reversed().map { $0 }
    }

    public var usedCount: Int { capacity - freeList.count }
    public var freeCount: Int { freeList.count }

    /// Claims one cell per entry and returns their indices.
    mutating func place(_ entries: [BatchEntry]) throws -> [Int32] {
        guard entries.count <= freeList.count else { throw ModelError.cacheFull(needed: entries.count, free: freeList.count) }
        return entries.map { e in
            let c = freeList.removeLast()
            positions[Int(c)] = Int32(e.position)
            owners[Int(c)] = Set(e.sequences)
            return c
        }
    }

    /// Cells row `entry` may attend to: those of one of its sequences at a position ≤ its own.
    /// Cells of the batch itself count (they are stored before attention runs).
    func visible(to entry: BatchEntry) -> [Int32] {
        var out: [Int32] = []
        let seqs = entry.sequences
        for c in 0..<capacity where positions[c] >= 0 && positions[c] <= Int32(entry.position) {
            if seqs.count == 1 ? owners[c].contains(seqs[0]) : !owners[c].isDisjoint(with: seqs) { out.append(Int32(c)) }
        }
        // Position order, not cell order: the sums then do not depend on where cells were
        // allocated, so a sample's tokens are the same in any batch.
        out.sort { positions[Int($0)] < positions[Int($1)] }
        return out
    }

    /// Lets `destination` see everything `source` sees (a forked sample sharing a prompt).
    public mutating func copySequence(_ source: Int, to destination: Int) {
        for c in 0..<capacity where owners[c].contains(source) { owners[c].insert(destination) }
    }

    /// Drops a sequence; cells nobody sees any more are freed.
    public mutating func removeSequence(_ seq: Int) {
        for c in 0..<capacity where owners[c].contains(seq) {
            owners[c].remove(seq)
            if owners[c].isEmpty { free(c) }
        }
    }

    /// The next position of a sequence (one past its highest), 0 when empty.
    public func nextPosition(of seq: Int) -> Int {
        var p: Int32 = -1
        for c in 0..<capacity where owners[c].contains(seq) { p = max(p, positions[c]) }
        return Int(p) + 1
    }

    public mutating func clear() { self = KVCells(capacity: capacity) }

    private mutating func free(_ c: Int) {
        positions[c] = -1
        freeList.append(Int32(c))
    }
}
