/// Host-side bookkeeping of the KV cache cells (the data lives in the backend): which position
/// each cell holds and which sequences see it. A shared prompt is stored once and tagged with
/// every sequence that continues it; each sequence's own tokens occupy their own cells.
public struct KVCells {
    public let capacity: Int
    private(set) var positions: [Int32]
    private(set) var owners: [Set<Int>]
    private var freeList: [Int32]
    /// The cells each sequence sees (the inverse of `owners`), so that finding a sequence's
    /// cells costs its own cells, not the whole cache: best-of-N trees and servers keep
    /// thousands of cells with few per sequence.
    private var cellsOf: [Int: Set<Int32>] = [:]

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
            for s in e.sequences { cellsOf[s, default: []].insert(c) }
            return c
        }
    }

    /// Cells row `entry` may attend to: those of one of its sequences at a position ≤ its own.
    /// Cells of the batch itself count (they are stored before attention runs).
    func visible(to entry: BatchEntry) -> [Int32] {
        let seqs = entry.sequences
        let seen = seqs.count == 1 ? (cellsOf[seqs[0]] ?? []) : seqs.reduce(into: Set<Int32>()) { $0.formUnion(cellsOf[$1] ?? []) }
        var out = Array(seen.lazy.filter { self.positions[Int($0)] <= Int32(entry.position) })
        // Position order (then cell order), not allocation order: the sums then do not depend
        // on where cells were allocated, so a sample's tokens are the same in any batch.
        out.sort { (positions[Int($0)], $0) < (positions[Int($1)], $1) }
        return out
    }

    /// Lets `destination` see everything `source` sees (a forked sample sharing a prompt).
    public mutating func copySequence(_ source: Int, to destination: Int) {
        guard let cells = cellsOf[source], source != destination else { return }
        for c in cells { owners[Int(c)].insert(destination) }
        cellsOf[destination, default: []].formUnion(cells)
    }

    /// Drops a sequence; cells nobody sees any more are freed.
    public mutating func removeSequence(_ seq: Int) {
        guard let cells = cellsOf.removeValue(forKey: seq) else { return }
        for c in cells.sorted() {
            owners[Int(c)].remove(seq)
            if owners[Int(c)].isEmpty { free(Int(c)) }
        }
    }

    /// The next position of a sequence (one past its highest), 0 when empty.
    public func nextPosition(of seq: Int) -> Int {
        Int(cellsOf[seq]?.map { positions[Int($0)] }.max() ?? -1) + 1
    }

    public mutating func clear() { self = KVCells(capacity: capacity) }

    private mutating func free(_ c: Int) {
        positions[c] = -1
        freeList.append(Int32(c))
    }
}
