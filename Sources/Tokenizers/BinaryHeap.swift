/// A minimal binary max-heap. Both merge loops (SentencePiece bigrams, BPE ranks) pop the best
/// candidate and push at most two new ones per merge, so a heap keeps them O(n log n) where a
/// rescan of all pairs per merge would be quadratic on long inputs without spaces.
struct BinaryHeap<Element> {
    private var items: [Element] = []
    /// `comesFirst(a, b)` is true when `a` should be popped before `b`.
    private let comesFirst: (Element, Element) -> Bool

    init(comesFirst: @escaping (Element, Element) -> Bool) {
        self.comesFirst = comesFirst
    }

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }

    mutating func reserveCapacity(_ n: Int) { items.reserveCapacity(n) }

    mutating func push(_ element: Element) {
        items.append(element)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard comesFirst(items[child], items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < items.count, comesFirst(items[left], items[best]) { best = left }
                if right < items.count, comesFirst(items[right], items[best]) { best = right }
                if best == parent { break }
                items.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}
