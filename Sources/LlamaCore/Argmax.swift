/// The index of the largest value, the first one on ties: greedy decoding, top-1 checks and
/// benchmarks all pick tokens with this one function, so they agree on ties.
public func argmax(_ x: [Float]) -> Int {
    precondition(!x.isEmpty, "argmax of an empty array")
    var best = 0
    for i in x.indices where x[i] > x[best] { best = i }
    return best
}
