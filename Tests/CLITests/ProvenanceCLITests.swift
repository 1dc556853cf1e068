import Foundation
import TestSupport
import XCTest

/// The binary's result files carry the provenance block with its own command line: a tiny
/// `train --json` and a best-of-n run on the checkpoint it wrote.
final class ProvenanceCLITests: XCTestCase {
    func testTrainAndBestOfNRecordTheirCommandLines() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = dir.appendingPathComponent("m.gguf").path
        let trainArguments = ["train", "--task", "arithmetic", "--digits", "1", "--operations", "+", "--dim", "16", "--layers", "1",
                              "--heads", "2", "--tokens", "2048", "--batch", "4", "--context", "32", "--problems", "50", "--held-out", "10",
                              "--threads", "1", "--seed", "3", "--json", "-o", checkpoint]
        let train = try CLI.ok(trainArguments, timeout: 120)
        let trained = assertProvenanceBlock(try train.jsonObject()["provenance"], "train --json")
        XCTAssertEqual((trained?["command"] as? [String])?.dropFirst().map { $0 }, trainArguments)
        XCTAssertEqual(trained?["threads"] as? Int, 1)
        XCTAssertEqual((trained?["seeds"] as? [String: Any])?["training"] as? Int, 3)

        let out = dir.appendingPathComponent("bon").path
        let bonArguments = ["best-of-n", "-m", checkpoint, "--task", "arithmetic", "--digits", "1", "--operations", "+", "--problems", "3",
                            "--n", "2", "--max-tokens", "4", "--threads", "1", "--quiet", "--out", out]
        let run = try CLI.ok(bonArguments, timeout: 120)
        XCTAssertTrue(run.stdout.contains("batch invariance: 4 of 4 samples"), "\(run)")
        for file in ["run.json", "summary.json"] {
            let json = try jsonObject(at: URL(fileURLWithPath: out).appendingPathComponent(file))
            let block = assertProvenanceBlock(json["provenance"], file)
            XCTAssertEqual((block?["command"] as? [String])?.dropFirst().map { $0 }, bonArguments, file)
            XCTAssertEqual(block?["threads"] as? Int, 1, file)
            let model = (block?["inputs"] as? [[String: Any]])?.first
            XCTAssertEqual(model?["path"] as? String, checkpoint, file)
        }
    }
}
