import Foundation
import Generation
@testable import Serving
import XCTest

/// Request decoding and validation: every malformed or out-of-range field is a 400 naming it.
final class RequestParsingTests: XCTestCase {
    func completion(_ json: String) throws -> CompletionRequest { try CompletionRequest.parse(Data(json.utf8)) }
    func chat(_ json: String) throws -> ChatRequest { try ChatRequest.parse(Data(json.utf8)) }

    /// The APIError `body` throws (fails the test when it does not throw one).
    func apiError(_ body: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> APIError? {
        do { _ = try body() } catch let e as APIError { return e } catch { XCTFail("not an APIError: \(error)", file: file, line: line); return nil }
        XCTFail("no error thrown", file: file, line: line)
        return nil
    }

    func testPromptForms() throws {
        XCTAssertEqual(try completion(#"{"prompt": "hi"}"#).prompt, .text("hi"))
        XCTAssertEqual(try completion(#"{"prompt": ["hi"]}"#).prompt, .text("hi"))
        XCTAssertEqual(try completion(#"{"prompt": [1, 2, 3]}"#).prompt, .tokens([1, 2, 3]))
        XCTAssertEqual(try completion(#"{"prompt": [[4, 5]]}"#).prompt, .tokens([4, 5]))
        XCTAssertEqual(apiError { try self.completion(#"{"prompt": ["a", "b"]}"#) }?.code, "unsupported_parameter")
        XCTAssertEqual(apiError { try self.completion(#"{"max_tokens": 3}"#) }?.code, "missing_required_parameter")
        let wrong = apiError { try self.completion(#"{"prompt": 3}"#) }
        XCTAssertEqual(wrong?.status, 400); XCTAssertEqual(wrong?.param, "prompt"); XCTAssertEqual(wrong?.code, "invalid_type")
        XCTAssertEqual(apiError { try self.completion(#"{"prompt": [1, "x"]}"#) }?.param, "prompt")
        XCTAssertEqual(apiError { try self.completion(#"{"prompt": []}"#) }?.param, "prompt")
    }

    func testDefaultsAreOpenAIs() throws {
        let p = try completion(#"{"prompt": "x"}"#).parameters
        XCTAssertNil(p.maxTokens); XCTAssertEqual(p.n, 1); XCTAssertNil(p.seed); XCTAssertFalse(p.stream)
        XCTAssertEqual(p.sampling, SamplerSettings(temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1))
    }

    func testSamplingFieldsAndExtras() throws {
        let p = try completion(#"{"prompt": "x", "temperature": 0.5, "top_p": 0.9, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.1, "seed": -1, "n": 2.0, "max_tokens": 7}"#).parameters
        XCTAssertEqual(p.sampling.temperature, 0.5); XCTAssertEqual(p.sampling.topP, 0.9); XCTAssertEqual(p.sampling.topK, 40)
        XCTAssertEqual(p.sampling.minP, 0.05); XCTAssertEqual(p.sampling.repeatPenalty, 1.1)
        XCTAssertEqual(p.seed, UInt64.max, "a negative seed keeps its bits")
        XCTAssertEqual(p.n, 2, "2.0 is an integer to JavaScript clients")
        XCTAssertEqual(p.maxTokens, 7)
        XCTAssertEqual(try completion(#"{"prompt": "x", "top_p": 0}"#).parameters.sampling.temperature, 0, "top_p 0 keeps one token: greedy")
        XCTAssertTrue(try completion(#"{"prompt": "x", "ignore_eos": true}"#).parameters.ignoreEOS)
        XCTAssertFalse(try completion(#"{"prompt": "x"}"#).parameters.ignoreEOS)
    }

    func testOutOfRangeAndWrongTypes() {
        for (json, param) in [
            (#"{"prompt": "x", "n": 0}"#, "n"), (#"{"prompt": "x", "n": 33}"#, "n"), (#"{"prompt": "x", "max_tokens": 0}"#, "max_tokens"),
            (#"{"prompt": "x", "temperature": 2.5}"#, "temperature"), (#"{"prompt": "x", "top_p": 1.5}"#, "top_p"),
            (#"{"prompt": "x", "logprobs": 21}"#, "logprobs"), (#"{"prompt": "x", "stop": ["a", "b", "c", "d", "e"]}"#, "stop"),
        ] {
            let e = apiError { try self.completion(json) }
            XCTAssertEqual(e?.status, 400, json); XCTAssertEqual(e?.param, param, json); XCTAssertEqual(e?.type, "invalid_request_error")
        }
        for (json, param) in [
            (#"{"prompt": "x", "max_tokens": "10"}"#, "max_tokens"), (#"{"prompt": "x", "n": 1.5}"#, "n"),
            (#"{"prompt": "x", "temperature": "hot"}"#, "temperature"), (#"{"prompt": "x", "stream": 1}"#, "stream"),
            (#"{"prompt": "x", "stop": 5}"#, "stop"), (#"{"prompt": "x", "stop": ["a", 1]}"#, "stop"), (#"{"prompt": "x", "seed": 1.5}"#, "seed"),
            (#"{"prompt": "x", "stream_options": true}"#, "stream_options"),
        ] {
            let e = apiError { try self.completion(json) }
            XCTAssertEqual(e?.code, "invalid_type", json); XCTAssertEqual(e?.param, param, json)
        }
    }

    func testStopStringOrList() throws {
        XCTAssertEqual(try completion(#"{"prompt": "x", "stop": "\n"}"#).parameters.stop, ["\n"])
        XCTAssertEqual(try completion(#"{"prompt": "x", "stop": ["a", "b"]}"#).parameters.stop, ["a", "b"])
        XCTAssertEqual(try completion(#"{"prompt": "x", "stop": null}"#).parameters.stop, [])
    }

    func testStreamOptionsAndLogprobs() throws {
        let r = try completion(#"{"prompt": "x", "stream": true, "stream_options": {"include_usage": true}, "logprobs": 3}"#)
        XCTAssertTrue(r.parameters.stream); XCTAssertTrue(r.parameters.includeUsage); XCTAssertEqual(r.logprobs, 3)
        XCTAssertEqual(apiError { try self.completion(#"{"prompt": "x", "echo": true, "logprobs": 1}"#) }?.code, "unsupported_parameter")
        XCTAssertTrue(try completion(#"{"prompt": "x", "echo": true}"#).echo)
    }

    func testBodyMustBeUTF8JSONObject() {
        XCTAssertEqual(apiError { try CompletionRequest.parse(Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x7D])) }?.code, "invalid_utf8")
        XCTAssertEqual(apiError { try self.completion(#"{"prompt": "x""#) }?.code, "invalid_json")
        XCTAssertEqual(apiError { try self.completion(#"[1, 2]"#) }?.code, "invalid_json")
        XCTAssertEqual(apiError { try self.completion("") }?.code, "invalid_json")
    }

    /// Fields that would change the answer are refused; harmless unknown ones are ignored.
    func testUnsupportedFieldsThatMatter() throws {
        for (json, param) in [
            (#"{"prompt": "x", "logit_bias": {"5": 100}}"#, "logit_bias"), (#"{"prompt": "x", "suffix": "end"}"#, "suffix"),
            (#"{"prompt": "x", "best_of": 3}"#, "best_of"), (#"{"prompt": "x", "frequency_penalty": 0.5}"#, "frequency_penalty"),
            (#"{"prompt": "x", "presence_penalty": -1}"#, "presence_penalty"), (#"{"prompt": "x", "grammar": "root ::= x"}"#, "grammar"),
        ] {
            let e = apiError { try self.completion(json) }
            XCTAssertEqual(e?.param, param, json); XCTAssertEqual(e?.code, "unsupported_parameter", json)
        }
        XCTAssertNoThrow(try completion(#"{"prompt": "x", "logit_bias": {}, "user": "u", "frequency_penalty": 0, "best_of": 1, "suffix": null, "metadata": {"a": 1}}"#))
        XCTAssertEqual(apiError { try self.chat(#"{"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}"#) }?.param, "tools")
        XCTAssertEqual(apiError { try self.chat(#"{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}"#) }?.param, "response_format")
        XCTAssertNoThrow(try chat(#"{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "text"}, "tool_choice": "none"}"#))
    }

    func testChatMessages() throws {
        let r = try chat(#"""
        {"messages": [{"role": "developer", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                      {"role": "assistant", "content": null}],
         "max_tokens": 5, "max_completion_tokens": 9, "logprobs": true, "top_logprobs": 2}
        """#)
        XCTAssertEqual(r.messages.map(\.role), ["system", "user", "assistant"])
        XCTAssertEqual(r.messages.map(\.content), ["be brief", "ab", ""])
        XCTAssertEqual(r.parameters.maxTokens, 9, "max_completion_tokens wins")
        XCTAssertTrue(r.logprobs); XCTAssertEqual(r.topLogprobs, 2)
        XCTAssertEqual(apiError { try self.chat(#"{"messages": []}"#) }?.param, "messages")
        XCTAssertEqual(apiError { try self.chat(#"{"messages": "hi"}"#) }?.code, "invalid_type")
        XCTAssertEqual(apiError { try self.chat(#"{"messages": [{"role": "tool", "content": "x"}]}"#) }?.param, "messages[0].role")
        XCTAssertEqual(apiError { try self.chat(#"{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}"#) }?.code, "unsupported_parameter")
        XCTAssertEqual(apiError { try self.chat(#"{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2}"#) }?.param, "top_logprobs")
        XCTAssertEqual(apiError { try self.chat(#"{"messages": [{"role": "user", "content": "x"}], "logprobs": 1}"#) }?.code, "invalid_type")
        XCTAssertEqual(apiError { try self.chat(#"{"messages": [{"role": 1, "content": "x"}]}"#) }?.param, "messages[0].role")
    }
}
