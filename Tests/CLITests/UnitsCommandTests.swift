import Foundation
import TestSupport
import XCTest

/// The CLI side of honest units: `train --count-only` prints what a run would process.
final class UnitsCommandTests: XCTestCase {
    func testTrainCountOnlyPrintsTokensAndFLOPs() throws {
        let args = ["train", "--task", "arithmetic", "--digits", "2", "--dim", "16", "--layers", "1", "--heads", "2",
                    "--tokens", "8192", "--batch", "4", "--context", "32", "--held-out", "20", "--count-only"]
        let run = try CLI.run(args)
        XCTAssertTrue(run.succeeded, "\(run)")
        let o = try run.jsonObject()
        XCTAssertEqual(o["tokens_total"] as? Int, 8192)
        let loss = try XCTUnwrap(o["tokens_loss"] as? Int), padding = try XCTUnwrap(o["tokens_padding"] as? Int)
        XCTAssertGreaterThan(loss, 0)
        XCTAssertLessThan(loss + padding, 8192)
        let actual = try XCTUnwrap(o["flops_actual"] as? Double), sixND = try XCTUnwrap(o["flops_6nd"] as? Double)
        XCTAssertGreaterThan(actual, sixND, "the output head and attention are not in 6ND")
        XCTAssertEqual(o["held_out_items"] as? Int, 20)
        XCTAssertEqual(o["held_out_set"] as? String, "fixed")
        // Without --count-only (or --evaluate) a checkpoint path is required.
        let missing = try CLI.run(Array(args.dropLast()))
        XCTAssertFalse(missing.succeeded)
        XCTAssertTrue(missing.stderr.contains("--out"), "\(missing)")
    }
}
