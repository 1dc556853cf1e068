import LlamaCore
import XCTest
@testable import Experiments

final class ScalingFitTests: XCTestCase {
    /// A grid of (N, D) like a small IsoFLOP sweep, losses from a known law times exp(noise).
    private func synthetic(_ law: ScalingLaw, noise: Double, seed: UInt64) -> [ScalingRun] {
        var rng = SeededRandom(seed: seed, label: "synthetic-scaling")
        var runs: [ScalingRun] = []
        for c in [1e12, 3e12, 1e13, 3e13, 1e14] {
            for n in [2e4, 5e4, 1e5, 2e5, 5e5, 1e6] {
                let d = c / (6 * n)
                // Box–Muller Gaussian noise on log L.
                let u1 = max(rng.nextDouble(), 1e-12), u2 = rng.nextDouble()
                let z = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
                runs.append(ScalingRun(parameters: n, tokens: d, loss: law.loss(parameters: n, tokens: d) * exp(noise * z), budget: c))
            }
        }
        return runs
    }

    func testRecoversKnownLawWithoutNoise() {
        let truth = ScalingLaw(E: 0.4, A: 60, B: 200, alpha: 0.45, beta: 0.35)
        // The optimiser from a coarse grid (the full 4 500-start grid is what the CLI uses; it is slow in debug builds).
        let fit = ScalingFit.fit(synthetic(truth, noise: 0, seed: 1), starts: ScalingFit.coarseGrid())
        XCTAssertEqual(fit.law.alpha, truth.alpha, accuracy: 0.01)
        XCTAssertEqual(fit.law.beta, truth.beta, accuracy: 0.01)
        XCTAssertEqual(fit.law.E, truth.E, accuracy: 0.01)
        XCTAssertEqual(log(fit.law.A), log(truth.A), accuracy: 0.1)
        XCTAssertEqual(log(fit.law.B), log(truth.B), accuracy: 0.1)
        XCTAssertLessThan(fit.objective, 1e-8)
        XCTAssertEqual(fit.initialisations, 32)
        XCTAssertEqual(ScalingFit.chinchillaGrid().count, 4500)
    }

    func testRecoversKnownLawWithSmallNoiseAndBootstrapCoversTruth() {
        let truth = ScalingLaw(E: 0.4, A: 60, B: 200, alpha: 0.45, beta: 0.35)
        let runs = synthetic(truth, noise: 0.005, seed: 2)
        let fit = ScalingFit.fit(runs, starts: ScalingFit.coarseGrid())
        XCTAssertEqual(fit.law.alpha, truth.alpha, accuracy: 0.08)
        XCTAssertEqual(fit.law.beta, truth.beta, accuracy: 0.08)
        XCTAssertEqual(fit.law.E, truth.E, accuracy: 0.05)
        let boot = ScalingFit.bootstrap(runs, full: fit, budgets: [1e13], resamples: 10, seed: 3)
        XCTAssertEqual(boot.resamples, 10)
        XCTAssertLessThanOrEqual(boot.alpha.lower, boot.alpha.estimate + 1e-9)
        XCTAssertGreaterThanOrEqual(boot.alpha.upper, boot.alpha.estimate - 1e-9)
        XCTAssertLessThan(boot.alpha.lower, truth.alpha + 0.05)
        XCTAssertGreaterThan(boot.alpha.upper, truth.alpha - 0.05)
        XCTAssertNotNil(boot.tokensPerParameter[ScalingFit.budgetKey(1e13)])
        // Same seed, same intervals.
        XCTAssertEqual(ScalingFit.bootstrap(runs, full: fit, budgets: [1e13], resamples: 3, seed: 3),
                       ScalingFit.bootstrap(runs, full: fit, budgets: [1e13], resamples: 3, seed: 3))
    }

    func testHuberIsQuadraticThenLinear() {
        let d = 1e-3
        XCTAssertEqual(ScalingFit.huber(0, delta: d), 0)
        XCTAssertEqual(ScalingFit.huber(5e-4, delta: d), 0.5 * 25e-8, accuracy: 1e-15)
        XCTAssertEqual(ScalingFit.huber(-5e-4, delta: d), ScalingFit.huber(5e-4, delta: d))
        XCTAssertEqual(ScalingFit.huber(0.1, delta: d), d * (0.1 - 0.5 * d), accuracy: 1e-15)
        // Continuous at δ, and linear growth beyond it.
        XCTAssertEqual(ScalingFit.huber(d, delta: d), 0.5 * d * d, accuracy: 1e-18)
        XCTAssertEqual(ScalingFit.huber(0.3, delta: d) - ScalingFit.huber(0.2, delta: d), d * 0.1, accuracy: 1e-15)
    }

    func testHuberFitIgnoresAnOutlier() {
        let truth = ScalingLaw(E: 0.5, A: 40, B: 100, alpha: 0.4, beta: 0.3)
        var runs = synthetic(truth, noise: 0, seed: 4)
        runs[7].loss *= 1.5   // one broken run
        let fit = ScalingFit.fit(runs, starts: [ScalingLaw(a: 3, b: 4, e: -0.5, alpha: 0.5, beta: 0.5)] + ScalingFit.coarseGrid())
        XCTAssertEqual(fit.law.alpha, truth.alpha, accuracy: 0.02)
        XCTAssertEqual(fit.law.beta, truth.beta, accuracy: 0.02)
    }

    func testGradientMatchesFiniteDifferences() {
        let runs = synthetic(ScalingLaw(E: 0.4, A: 60, B: 200, alpha: 0.45, beta: 0.35), noise: 0.01, seed: 5)
        let logN = runs.map { log($0.parameters) }, logD = runs.map { log($0.tokens) }, logL = runs.map { log($0.loss) }
        let p = [3.0, 4.0, -0.8, 0.3, 0.4]
        let (_, g) = ScalingFit.objective(p, logN: logN, logD: logD, logL: logL, delta: 1e-3)
        for j in 0..<5 {
            var up = p, down = p
            up[j] += 1e-6; down[j] -= 1e-6
            let numeric = (ScalingFit.objective(up, logN: logN, logD: logD, logL: logL, delta: 1e-3).value
                           - ScalingFit.objective(down, logN: logN, logD: logD, logL: logL, delta: 1e-3).value) / 2e-6
            XCTAssertEqual(g[j], numeric, accuracy: 1e-5 * max(1, abs(numeric)))
        }
    }

    func testOptimalAllocationFormula() {
        let law = ScalingLaw(E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28)   // Chinchilla's fit
        let c = 5.76e23
        let (n, d) = law.optimal(compute: c)
        XCTAssertEqual(6 * n * d, c, accuracy: c * 1e-9)
        // The optimum minimises L along the IsoFLOP curve: nearby sizes are worse.
        let best = law.loss(parameters: n, tokens: d)
        XCTAssertLessThan(best, law.loss(parameters: n * 1.1, tokens: d / 1.1))
        XCTAssertLessThan(best, law.loss(parameters: n / 1.1, tokens: d * 1.1))
        // Closed form: G = (αA/(βB))^(1/(α+β)), N = G (C/6)^(β/(α+β)).
        let g = pow(0.34 * 406.4 / (0.28 * 410.7), 1 / 0.62)
        XCTAssertEqual(n, g * pow(c / 6, 0.28 / 0.62), accuracy: n * 1e-12)
        XCTAssertEqual(law.parameterExponent, 0.28 / 0.62, accuracy: 1e-12)
        XCTAssertEqual(law.tokensPerParameter(compute: c), d / n, accuracy: 1e-9)
        // Chinchilla's fitted constants at Gopher's budget (5.76e23 FLOPs): G ≈ 1.35, N_opt ≈ 3.2e10.
        XCTAssertEqual(n, 3.2e10, accuracy: 0.1e10)
    }

    func testIsoFLOPParabolaMinimum() {
        // loss = 2 + (log10 N − 5)²: minimum at N = 1e5.
        let runs = [1e4, 3e4, 1e5, 3e5, 1e6].map { ScalingRun(parameters: $0, tokens: 1e12 / (6 * $0), loss: 2 + pow(log10($0) - 5, 2), budget: 1e12) }
        let m = ScalingFit.isoFLOPMinimum(runs, budget: 1e12)
        XCTAssertEqual(m?.parameters ?? 0, 1e5, accuracy: 1)
        XCTAssertEqual(m?.loss ?? 0, 2, accuracy: 1e-9)
        XCTAssertEqual(m?.interior, true)
        XCTAssertNil(ScalingFit.isoFLOPMinimum(Array(runs.prefix(2)), budget: 1e12))
        let p = ScalingFit.powerLaw([(1e12, 1e5), (1e14, 1e6)])
        XCTAssertEqual(p?.exponent ?? 0, 0.5, accuracy: 1e-12)
    }

    func testReadCSVByHeaderNames() throws {
        let csv = "name,budget,parameters,tokens,held_out_loss\nx,1e12,1000,2000,1.5\ny,1e12,3000,4000,\nz,1e13,5000,6000,0.9\n"
        let runs = try ScalingRun.readCSV(csv)
        XCTAssertEqual(runs.count, 2)
        XCTAssertEqual(runs[0], ScalingRun(name: "x", parameters: 1000, tokens: 2000, loss: 1.5, budget: 1e12))
        XCTAssertThrowsError(try ScalingRun.readCSV("a,b\n1,2\n"))
    }

    func testXYPlotIsWellFormedSVG() {
        let plot = XYPlot(title: "t", xLabel: "N", yLabel: "loss", series: [
            .init(name: "a", points: [.init(x: 1e4, y: 1.2), .init(x: 1e5, y: 0.9)]),
            .init(name: "", points: [.init(x: 3e4, y: 1.0)], style: .highlight),
            .init(name: "fit", points: [.init(x: 1e4, y: 1.1, lower: 1.0, upper: 1.2), .init(x: 1e5, y: 0.95, lower: 0.9, upper: 1.0)], style: .dashed),
        ])
        let svg = plot.svg()
        XCTAssertTrue(svg.hasPrefix("<?xml"))
        XCTAssertTrue(svg.contains("stroke-dasharray"))
        XCTAssertTrue(svg.contains(">1e4<"))
        XCTAssertTrue(svg.hasSuffix("</svg>\n"))
        let ticks = XYPlot.ticks(lo: 0, hi: 1, log: false)
        XCTAssertEqual(ticks.count, 6)
        for (t, want) in zip(ticks, [0, 0.2, 0.4, 0.6, 0.8, 1.0]) { XCTAssertEqual(t, want, accuracy: 1e-9) }
    }
}
