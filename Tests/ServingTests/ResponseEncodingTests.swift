import Foundation
import Generation
@testable import Serving
import XCTest

/// Responses in OpenAI's shapes, with `null` where OpenAI sends null.
final class ResponseEncodingTests: XCTestCase {
    let header = ResponseHeader(id: "cmpl-1", created: 7, model: "m", systemFingerprint: "fp")

    func object(_ v: JSONValue) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: ResponseEncoder.data(v)) as? [String: Any])
    }

    func testFinishReasons() {
        XCTAssertEqual(openAIFinishReason(.endOfGeneration), "stop")
        XCTAssertEqual(openAIFinishReason(.stopString), "stop")
        XCTAssertEqual(openAIFinishReason(.maxTokens), "length")
        XCTAssertEqual(openAIFinishReason(.contextFull), "length")
    }

    func testCompletionWithoutLogprobs() throws {
        let o = try object(ResponseEncoder.completion(header, choices: [ChoiceContent(index: 0, text: "hi", finishReason: "stop")], logprobs: false,
                                                      usage: Usage(promptTokens: 3, completionTokens: 2)))
        XCTAssertEqual(o["object"] as? String, "text_completion"); XCTAssertEqual(o["id"] as? String, "cmpl-1")
        XCTAssertEqual(o["system_fingerprint"] as? String, "fp")
        let choice = try XCTUnwrap((o["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(choice["text"] as? String, "hi"); XCTAssertEqual(choice["finish_reason"] as? String, "stop")
        XCTAssertTrue(choice["logprobs"] is NSNull, "logprobs is null, not absent")
        XCTAssertEqual(o["usage"] as? [String: Int], ["prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5])
    }

    func testCompletionLogprobsShape() throws {
        let t1 = TokenLogprob(token: 5, text: " a", bytes: [32, 97], logprob: -0.5, top: [.init(text: " a", bytes: [32, 97], logprob: -0.5), .init(text: "b", bytes: [98], logprob: -1)])
        let t2 = TokenLogprob(token: 6, text: "cd", bytes: [99, 100], logprob: -2, top: [])
        let o = try object(ResponseEncoder.completion(header, choices: [ChoiceContent(index: 0, text: " acd", tokens: [t1, t2])], logprobs: true,
                                                      textOffsets: [0: 10], usage: nil))
        let choice = try XCTUnwrap((o["choices"] as? [[String: Any]])?.first)
        XCTAssertTrue(choice["finish_reason"] is NSNull)
        let lp = try XCTUnwrap(choice["logprobs"] as? [String: Any])
        XCTAssertEqual(lp["tokens"] as? [String], [" a", "cd"])
        XCTAssertEqual(lp["token_logprobs"] as? [Double], [-0.5, -2])
        XCTAssertEqual(lp["text_offset"] as? [Int], [10, 12])
        XCTAssertEqual(lp["top_logprobs"] as? [[String: Double]], [[" a": -0.5, "b": -1], [:]])
        XCTAssertNil(o["usage"])
    }

    func testChatResponseAndChunks() throws {
        let t = TokenLogprob(token: 5, text: "x", bytes: [120], logprob: -0.25, top: [.init(text: "x", bytes: [120], logprob: -0.25)])
        let o = try object(ResponseEncoder.chat(header, choices: [ChoiceContent(index: 0, text: "x", tokens: [t], finishReason: "length")], logprobs: true,
                                                usage: Usage(promptTokens: 1, completionTokens: 1)))
        XCTAssertEqual(o["object"] as? String, "chat.completion")
        let choice = try XCTUnwrap((o["choices"] as? [[String: Any]])?.first)
        XCTAssertEqual(choice["message"] as? NSDictionary, ["role": "assistant", "content": "x", "refusal": NSNull()])
        let content = try XCTUnwrap((choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]])
        XCTAssertEqual(content.first?["token"] as? String, "x"); XCTAssertEqual(content.first?["bytes"] as? [Int], [120])
        XCTAssertEqual((content.first?["top_logprobs"] as? [[String: Any]])?.count, 1)

        let first = try object(ResponseEncoder.chatChunk(header, choices: [ChoiceContent(index: 0, text: "")], firstChunk: [0], logprobs: false))
        XCTAssertEqual(first["object"] as? String, "chat.completion.chunk")
        XCTAssertEqual((first["choices"] as? [[String: Any]])?.first?["delta"] as? [String: String], ["role": "assistant", "content": ""])
        let last = try object(ResponseEncoder.chatChunk(header, choices: [ChoiceContent(index: 0, text: "", finishReason: "stop")], logprobs: false))
        XCTAssertEqual((last["choices"] as? [[String: Any]])?.first?["delta"] as? [String: String], [:])
        let usage = try object(ResponseEncoder.usageChunk(header, object: "chat.completion.chunk", usage: Usage(promptTokens: 2, completionTokens: 3)))
        XCTAssertEqual((usage["choices"] as? [Any])?.count, 0)
        XCTAssertEqual((usage["usage"] as? [String: Int])?["total_tokens"], 5)
    }

    func testErrorShape() throws {
        let e = APIError.invalid("bad", param: "n")
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: e.jsonBody) as? [String: [String: Any]])
        XCTAssertEqual(o["error"]?["message"] as? String, "bad"); XCTAssertEqual(o["error"]?["type"] as? String, "invalid_request_error")
        XCTAssertEqual(o["error"]?["param"] as? String, "n"); XCTAssertTrue(o["error"]?["code"] is NSNull)
        XCTAssertEqual(APIError.overloaded("x").status, 429); XCTAssertEqual(APIError.unauthorized("x").status, 401)
        XCTAssertEqual(APIError.tooLarge(limit: 10).status, 413); XCTAssertEqual(APIError.notFound("x").status, 404)
    }

    func testMetricsText() {
        let m = Metrics()
        m.countHTTP(endpoint: "/v1/completions", status: 200)
        m.observeTTFT(0.2)
        m.publish(generated: 5, waiting: 1, running: 2, sequences: 3, cellsInUse: 40, cellsTotal: 256)
        let text = m.render()
        for line in ["llamacl_http_requests_total{endpoint=\"/v1/completions\",code=\"200\"} 1", "llamacl_generated_tokens_total 5",
                     "llamacl_requests_waiting 1", "llamacl_requests_running 2", "llamacl_kv_cells_in_use 40", "llamacl_kv_cells_total 256",
                     "llamacl_time_to_first_token_seconds_bucket{le=\"0.25\"} 1", "llamacl_time_to_first_token_seconds_bucket{le=\"0.1\"} 0",
                     "llamacl_time_to_first_token_seconds_count 1", "# TYPE llamacl_generated_tokens_per_second gauge"] {
            XCTAssertTrue(text.contains(line + "\n"), line)
        }
    }

    func testTopIndices() {
        XCTAssertEqual(TokenLogprobs.topIndices([0.1, 3, -1, 3, 2], 3), [1, 3, 4], "largest first, ties by id")
        XCTAssertEqual(TokenLogprobs.topIndices([1, 2], 5), [1, 0])
        XCTAssertEqual(TokenLogprobs.topIndices([1, 2], 0), [])
    }
}
