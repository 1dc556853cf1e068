import LlamaCore
import XCTest
@testable import Experiments

/// The scaling fit says what it knows: a parameter the runs pin down gets an interval that covers
/// the truth; one they do not (a ridge) is reported as not identified, with no interval.
final class IdentifiabilityTests: XCTestCase {
    /// Runs on an IsoFLOP-like grid, losses from `loss(N, D)` times exp(noise · Gaussian).
    private func runs(noise: Double, seed: UInt64, _ loss: (Double, Double) -> Double) -> [ScalingRun] {
        var rng = SeededRandom(seed: seed, label: "identifiability-test")
        var out: [ScalingRun] = []
        for c in [1e12, 3e12, 1e13, 3e13, 1e14] {
            for n in [2e4, 5e4, 1e5, 2e5, 5e5, 1e6] {
                let d = c / (6 * n)
                let u1 = max(rng.nextDouble(), 1e-12), u2 = rng.nextDouble()
                let z = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
                out.append(ScalingRun(parameters: n, tokens: d, loss: loss(n, d) * exp(noise * z), budget: c))
            }
        }
        return out
    }

    private func judge(_ p: Identifiability.Parameter, _ runs: [ScalingRun]) -> Identifiability.Report {
        let full = ScalingFit.fit(runs, starts: ScalingFit.coarseGrid())
        let laws = ScalingFit.bootstrapLaws(runs, full: full, resamples: 12, seed: 5)
        let profile = Identifiability.profile(p, runs: runs, full: full, points: 17)
        return Identifiability.judge(p, profile: profile, estimate: p.value(of: full.law), runs: runs, full: full,
                                     replicates: laws.map { p.value(of: $0) }, confidence: 0.95)
    }

    func testWellPosedLawGivesIntervalsCoveringTheTruth() {
        let truth = ScalingLaw(E: 0.4, A: 60, B: 200, alpha: 0.45, beta: 0.35)
        let data = runs(noise: 0.005, seed: 2) { truth.loss(parameters: $0, tokens: $1) }
        for (p, value) in [(Identifiability.Parameter.alpha, 0.45), (.beta, 0.35)] {
            let r = judge(p, data)
            XCTAssertTrue(r.identified, "\(p): \(r.why)")
            let i = r.interval ?? [.nan, .nan]
            XCTAssertLessThan(i[0], value, "\(p) interval \(i)")
            XCTAssertGreaterThan(i[1], value, "\(p) interval \(i)")
            XCTAssertLessThan(i[1] - i[0], 0.5, "\(p) interval \(i) is informative")
            XCTAssertNotNil(r.bootstrapInterval)
        }
    }

    /// The audit's situation: loss depends on D only, except that the smallest model is worse.
    /// The fit explains that with a huge α (an indicator of the smallest N), and α can grow
    /// without limit along the ridge: not identified, no interval.
    func testRidgeReportsAlphaAsNotIdentified() {
        let data = runs(noise: 0.005, seed: 3) { n, d in 0.3 + 200 / pow(d, 0.35) + (n < 3e4 ? 0.3 : 0) }
        let r = judge(.alpha, data)
        XCTAssertFalse(r.identified, "α was judged identified: \(r.interval ?? [])")
        XCTAssertNil(r.interval)
        XCTAssertNil(r.bootstrapInterval)
        XCTAssertNil(r.profile.upper, "the profile stays under the threshold up to the scan bound")
        XCTAssertTrue(r.why.contains("no upper limit"), r.why)
        XCTAssertTrue(r.why.contains("indicator"), r.why)
        // β is still pinned down by the D dependence (to within 0.01 of the truth, 0.35).
        let b = judge(.beta, data)
        XCTAssertTrue(b.identified, b.why)
        XCTAssertEqual(b.estimate, 0.35, accuracy: 0.01)
        XCTAssertLessThan(b.interval.map { $0[1] - $0[0] } ?? .nan, 0.05)
    }

    /// With no N dependence at all, the N term has nothing to fit: flat in α everywhere.
    func testNoDependenceOnNIsFlat() {
        let data = runs(noise: 0.005, seed: 4) { _, d in 0.3 + 200 / pow(d, 0.35) }
        let r = judge(.alpha, data)
        XCTAssertFalse(r.identified)
        XCTAssertNil(r.interval)
    }

    /// fit.json: per-parameter entries, and no interval where the parameter is not identified.
    func testReportWritesIdentifiabilityIntoFitJSON() throws {
        let data = runs(noise: 0.005, seed: 3) { n, d in 0.3 + 200 / pow(d, 0.35) + (n < 3e4 ? 0.3 : 0) }
        let report = try ScalingReport(runs: data, options: .init(resamples: 8, seed: 1, starts: ScalingFit.coarseGrid(), profilePoints: 9))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llamacl-ident-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try report.write(to: dir)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("fit.json"))) as? [String: Any])
        let alpha = try XCTUnwrap((json["parameters"] as? [String: Any])?["alpha"] as? [String: Any])
        XCTAssertEqual(alpha["identified"] as? Bool, false)
        XCTAssertTrue(alpha["interval"] is NSNull)
        XCTAssertFalse((alpha["why"] as? String ?? "").isEmpty)
        XCTAssertTrue((json["intervals"] as? [String: Any])?["alpha"] is NSNull)
        let optimal = try XCTUnwrap((json["compute_optimal"] as? [[String: Any]])?.first?["tokens_per_parameter"] as? [String: Any])
        XCTAssertTrue(optimal["lower"] is NSNull, "the allocation depends on α: no interval")
        XCTAssertFalse(report.allocationIdentified)
    }
}
