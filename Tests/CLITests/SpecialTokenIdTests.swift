import Foundation
import TestSupport
import XCTest

/// A model whose BOS or EOS id is outside its vocabulary is refused by every command that
/// reads the model (info and eval included, which load no tokenizer): one clear error naming
/// the key, a non-zero exit.
final class SpecialTokenIdTests: XCTestCase {
    func testBOSOrEOSOutsideTheVocabulary() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try CLIFixtures.synthesize([], in: dir)   // a vocabulary of 600
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: model)))
        for key in ["tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"] {
            // the metadata entry: u64 key length, key, u32 type (uint32 = 4), u32 value
            let name = Array(key.utf8)
            let needle = withUnsafeBytes(of: UInt64(name.count).littleEndian, Array.init) + name
            var bytes = original
            let at = try XCTUnwrap((0...(bytes.count - needle.count)).first { bytes[$0..<$0 + needle.count].elementsEqual(needle) })
            XCTAssertEqual(bytes[at + needle.count], 4, "\(key) is a uint32")
            let value = at + needle.count + 4
            withUnsafeBytes(of: UInt32(600).littleEndian) { bytes.replaceSubrange(value..<value + 4, with: $0) }
            let path = dir.appendingPathComponent("bad-\(key).gguf").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            for command in [["info", "-m", path], ["info", "-m", path, "--json"],
                            ["eval", "-m", path, "--tokens", "1,2", "--dump-logits", dir.appendingPathComponent("x.npy").path],
                            ["generate", "-m", path, "-p", "hi", "-n", "2"], ["tokenize", "-m", path, "--text", "hi"]] {
                try CLI.fails(command, mentioning: [key, "600"])
            }
        }
    }
}
