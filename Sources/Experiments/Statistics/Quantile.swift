/// The one quantile of LlamaCL's statistics: linear interpolation between order statistics
/// (R's type 7, NumPy's default) on sorted data; NaN for no data.
public func quantile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let h = Double(sorted.count - 1) * p
    let lo = Int(h.rounded(.down))
    let hi = min(lo + 1, sorted.count - 1)
    return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
}

/// The median of unsorted values (NaN for none).
public func median(_ values: [Double]) -> Double { quantile(values.sorted(), 0.5) }
