import Foundation
import TestSupport
import XCTest

/// `llamacl exchange-rate` end to end at toy size: two seeds of one cell and one of another,
/// a verifier, sampling, scoring and the report with its provenance.
final class ExchangeRateCommandTests: XCTestCase {
    func testSampleScoreAndReport() throws {
        let dir = try Fixtures.temporaryDirectory()
        let runs = dir.appendingPathComponent("runs"), samples = dir.appendingPathComponent("samples")
        try FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
        func train(_ name: String, task: String = "graded-arithmetic", tokens: Int, seed: Int, summary: URL) throws {
            let run = try CLI.run(["train", "--task", task, "--dim", "16", "--layers", "1", "--heads", "2", "--tokens", "\(tokens)",
                                   "--batch", "8", "--held-out", "12", "--seed", "\(seed)", "--eval-every", "0", "--threads", "1",
                                   "--out", dir.appendingPathComponent("\(name).gguf").path, "--json"], timeout: 300)
            XCTAssertTrue(run.succeeded, "\(run)")
            try Data(run.stdout.utf8).write(to: summary)
        }
        try train("a-s1", tokens: 4096, seed: 1, summary: runs.appendingPathComponent("a-s1.json"))
        try train("a-s2", tokens: 4096, seed: 2, summary: runs.appendingPathComponent("a-s2.json"))
        try train("b-s1", tokens: 8192, seed: 1, summary: runs.appendingPathComponent("b-s1.json"))
        let verifierSummary = dir.appendingPathComponent("verifier.json")
        try train("verifier", task: "verify-graded-arithmetic", tokens: 4096, seed: 1, summary: verifierSummary)
        for name in ["a-s1", "a-s2", "b-s1"] {
            let out = samples.appendingPathComponent(name).path
            let sample = try CLI.run(["exchange-rate", "sample", "-m", dir.appendingPathComponent("\(name).gguf").path, "--problems", "12",
                                      "--n", "8", "--temperatures", "1", "--out", out], timeout: 300)
            XCTAssertTrue(sample.succeeded, "\(sample)")
            let lines = try String(contentsOfFile: out + "/answers-T1.jsonl", encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(lines.count, 12, "one line per problem (none of the 12 repeats)")
            let first = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
            let answers = try XCTUnwrap(first["answers"] as? [[String: Any]])
            XCTAssertEqual(answers.reduce(0) { $0 + ($1["count"] as? Int ?? 0) }, 8)
            // Resuming a finished file samples nothing and leaves it as it was.
            let again = try CLI.run(["exchange-rate", "sample", "-m", dir.appendingPathComponent("\(name).gguf").path, "--problems", "12",
                                     "--n", "8", "--temperatures", "1", "--out", out], timeout: 300)
            XCTAssertTrue(again.succeeded, "\(again)")
            XCTAssertEqual(try String(contentsOfFile: out + "/answers-T1.jsonl", encoding: .utf8).split(separator: "\n").count, 12)
            let score = try CLI.run(["exchange-rate", "score", "--verifier", dir.appendingPathComponent("verifier.gguf").path,
                                     "--samples", out, "--problems", "12", "--temperatures", "1"], timeout: 300)
            XCTAssertTrue(score.succeeded, "\(score)")
        }
        let results = dir.appendingPathComponent("results")
        let report = try CLI.run(["exchange-rate", "report", "--runs", runs.path, "--verifier", verifierSummary.path, "--samples", samples.path,
                                  "--temperatures", "1", "--k", "1,2,4,8", "--replicates", "20", "--out", results.path], timeout: 300)
        XCTAssertTrue(report.succeeded, "\(report)")
        XCTAssertTrue(report.stdout.contains("== T=1 oracle =="), "\(report)")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: results.appendingPathComponent("report.json"))) as? [String: Any])
        XCTAssertEqual(json["models"] as? Int, 3)
        XCTAssertEqual(json["seedsPerCell"] as? [String: Int], ["a": 2, "b": 1])
        let panels = try XCTUnwrap(json["panels"] as? [[String: Any]])
        XCTAssertEqual(panels.compactMap { $0["rule"] as? String }, ["oracle", "majority_vote", "verifier"])
        let provenance = try XCTUnwrap(json["provenance"] as? [String: Any])
        XCTAssertNotNil(provenance["source_revision"])
        XCTAssertEqual((provenance["inputs"] as? [Any])?.count, 4, "the verifier's summary and the three training summaries, hashed")
        for file in ["contours-T1.svg", "accuracy-T1-oracle.svg", "accuracy-T1-verifier.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: results.appendingPathComponent(file).path), file)
        }
        // A checkpoint that held out fewer problems than are evaluated may have trained on some: refused.
        let narrow = dir.appendingPathComponent("narrow.gguf").path
        let trained = try CLI.run(["train", "--task", "graded-arithmetic", "--dim", "16", "--layers", "1", "--heads", "2", "--tokens", "1024",
                                   "--batch", "8", "--held-out", "4", "--eval-every", "0", "--threads", "1", "--out", narrow], timeout: 300)
        XCTAssertTrue(trained.succeeded, "\(trained)")
        let refused = try CLI.run(["exchange-rate", "sample", "-m", narrow, "--problems", "12", "--n", "4", "--temperatures", "1",
                                   "--out", dir.appendingPathComponent("refused").path])
        XCTAssertFalse(refused.succeeded)
        XCTAssertTrue(refused.stderr.contains("held out only 4 problems"), "\(refused)")
        // Bad input: a summary directory with a badly named file is refused by name.
        try Data("{}".utf8).write(to: runs.appendingPathComponent("noseed.json"))
        let bad = try CLI.run(["exchange-rate", "report", "--runs", runs.path, "--samples", samples.path, "--temperatures", "1",
                               "--k", "1,2", "--out", results.path])
        XCTAssertFalse(bad.succeeded)
        XCTAssertTrue(bad.stderr.contains("CELL-sSEED"), "\(bad)")
    }
}
