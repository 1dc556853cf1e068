import Foundation
import LlamaCore

/// One verification result: `value` of `metric` against `budget`. For errors (NMSE) a check
/// passes when value ≤ budget; for agreement rates when value ≥ budget (see `higherIsBetter`).
public struct Check: Codable, Equatable, Sendable {
    public let name: String
    public let metric: String
    public let value: Double
    public let budget: Double
    public let pass: Bool

    public init(name: String, metric: String, value: Double, budget: Double, higherIsBetter: Bool = false) {
        self.name = name; self.metric = metric; self.value = value; self.budget = budget
        pass = value.isFinite && (higherIsBetter ? value >= budget : value <= budget)
    }

    /// An NMSE check; a NaN or inf anywhere in `actual` makes the value infinite (a failure).
    public static func nmse(_ name: String, _ actual: [Float], _ reference: [Float], budget: Double) -> Check {
        let value = actual.count == reference.count ? Budget.nmse(actual, reference) : .infinity
        return Check(name: name, metric: "nmse", value: value, budget: budget)
    }
}
