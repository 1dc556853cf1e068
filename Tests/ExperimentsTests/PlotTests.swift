import XCTest
import TestSupport
@testable import Experiments
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Collects element names and text, failing on any XML error.
private final class XMLCollector: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var text = ""
    var dataNames: [String] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(name)
        if let n = attributes["data-name"] { dataNames.append(n) }
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
}

private func parseXML(_ svg: String) -> XMLCollector? {
    let parser = XMLParser(data: Data(svg.utf8))
    let collector = XMLCollector()
    parser.delegate = collector
    return parser.parse() ? collector : nil
}

final class SVGPlotTests: XCTestCase {
    func testWellFormedWithSeriesLegendAndTitle() throws {
        let plot = LinePlot(title: "Accuracy <vs> k & more", xLabel: "samples k", yLabel: "accuracy", series: [
            .init(name: "majority \"vote\"", points: [.init(x: 1, y: 0.2, lower: 0.1, upper: 0.3), .init(x: 4, y: 0.5, lower: 0.4, upper: 0.6),
                                                     .init(x: 16, y: 0.7, lower: 0.6, upper: 0.8)]),
            .init(name: "oracle", points: [.init(x: 1, y: 0.2), .init(x: 16, y: 1.2)]),   // y clamps into [0, 1]
        ])
        let svg = plot.svg()
        let xml = try XCTUnwrap(parseXML(svg), "SVG is not well-formed XML")
        XCTAssertEqual(xml.elements.first, "svg")
        XCTAssertEqual(xml.dataNames, ["majority \"vote\"", "oracle"])
        XCTAssertTrue(xml.text.contains("Accuracy <vs> k & more"))
        XCTAssertTrue(xml.text.contains("samples k") && xml.text.contains("accuracy"))
        for tick in ["1", "4", "16", "0.0", "0.5", "1.0"] { XCTAssertTrue(svg.contains(">\(tick)</text>"), tick) }
        XCTAssertEqual(xml.elements.filter { $0 == "polyline" }.count, 2)
        XCTAssertEqual(xml.elements.filter { $0 == "polygon" }.count, 1)   // only the first series has intervals
        XCTAssertFalse(svg.contains("nan") || svg.contains("inf"))
    }

    func testDegenerateInputsStillWellFormed() {
        let single = LinePlot(title: "one", xLabel: "k", yLabel: "y", series: [.init(name: "s", points: [.init(x: 1, y: 0.5, lower: 0.4, upper: 0.6)])])
        XCTAssertNotNil(parseXML(single.svg()))
        let empty = LinePlot(title: "none\u{1}", xLabel: "k", yLabel: "y", series: [])
        XCTAssertNotNil(parseXML(empty.svg()))
    }

    func testRunPlots() throws {
        let samples = syntheticSamples(problems: 6, n: 8)
        let summary = try Summary.compute(samples: samples, parameters: runParameters(problems: 6), options: SummaryOptions(bootstrapResamples: 100))
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Plots.write(summary, to: dir)
        let coverage = try String(contentsOf: dir.appendingPathComponent("coverage.svg"), encoding: .utf8)
        let accuracy = try String(contentsOf: dir.appendingPathComponent("accuracy.svg"), encoding: .utf8)
        XCTAssertEqual(parseXML(coverage)?.dataNames, ["pass@k (unbiased)", "coverage (first k)"])
        XCTAssertEqual(parseXML(accuracy)?.dataNames, SelectionRule.standard.map(\.rawValue))
        for k in ["1", "2", "4", "8"] { XCTAssertTrue(accuracy.contains(">\(k)</text>"), k) }
    }
}

final class ProgressBarTests: XCTestCase {
    func testRender() {
        XCTAssertEqual(ProgressBar.render(done: 12, total: 64, tokensPerSecond: 3.2, elapsed: 15),
                       "[#.........] 12/64 samples 3.2 tok/s ETA 1m05s")
        XCTAssertEqual(ProgressBar.render(done: 32, total: 64, elapsed: 10), "[#####.....] 32/64 samples ETA 10s")
        XCTAssertEqual(ProgressBar.render(done: 0, total: 64, elapsed: 0), "[..........] 0/64 samples")
        XCTAssertEqual(ProgressBar.render(done: 64, total: 64, unit: "problems", elapsed: 7384), "[##########] 64/64 problems done in 2h03m")
        XCTAssertEqual(ProgressBar.render(done: 5, total: 0, elapsed: 1), "[..........] 5/0 samples")
        XCTAssertEqual(ProgressBar.render(done: 99, total: 10, elapsed: 1, width: 4), "[####] 99/10 samples done in 1s")
    }

    func testDuration() {
        XCTAssertEqual(ProgressBar.duration(45), "45s")
        XCTAssertEqual(ProgressBar.duration(65), "1m05s")
        XCTAssertEqual(ProgressBar.duration(3600), "1h00m")
        XCTAssertEqual(ProgressBar.duration(.infinity), "?")
        XCTAssertEqual(ProgressBar.duration(-1), "?")
    }

    func testPrinterIsQuietWhenAsked() {
        let printer = ProgressPrinter(total: 10, quiet: true)
        XCTAssertFalse(printer.enabled)
        printer.update(done: 5)
        printer.finish()
    }
}
