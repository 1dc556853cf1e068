import GGUF
import TestSupport
import XCTest
@testable import Tokenizers

final class ChatTemplateTests: XCTestCase {
    let conversation = [ChatMessage(role: "system", content: "Be brief."),
                        ChatMessage(role: "user", content: "Hi"),
                        ChatMessage(role: "assistant", content: "Hello!"),
                        ChatMessage(role: "user", content: "Bye")]

    // Characteristic excerpts of the real Jinja templates.
    static let llama2 = "{% if messages[0]['role'] == 'system' %}...{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
        + "{% elif message['role'] == 'system' %}{{ '<<SYS>>\\n' + content.strip() + '\\n<</SYS>>\\n\\n' }}"
    static let llama3 = "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
        + "+ message['content'] | trim + '<|eot_id|>' %}"
    static let chatml = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    static let zephyr = "{% if message['role'] == 'user' %}\n{{ '<|user|>\\n' + message['content'] + eos_token }}"
    static let phi3 = "{% if message['role'] == 'user' %}{{'<|user|>' + '\\n' + message['content'] + '<|end|>' + '\\n' + '<|assistant|>' + '\\n'}}"

    func testRecognition() throws {
        XCTAssertEqual(try ChatTemplate(recognizing: Self.llama2).family, .llama2)
        XCTAssertEqual(try ChatTemplate(recognizing: Self.llama3).family, .llama3)
        XCTAssertEqual(try ChatTemplate(recognizing: Self.chatml).family, .chatml)
        XCTAssertEqual(try ChatTemplate(recognizing: Self.zephyr).family, .zephyr)
        XCTAssertEqual(try ChatTemplate(recognizing: Self.phi3).family, .phi3)
        XCTAssertEqual(try ChatTemplate(named: "ChatML").family, .chatml)
    }

    func testUnrecognisedAndMissingTemplatesAreErrors() throws {
        XCTAssertThrowsError(try ChatTemplate(recognizing: "{{ messages | tojson }}")) { error in
            guard case .unrecognizedChatTemplate = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertTrue(String(describing: error).contains("tojson"))
        }
        XCTAssertThrowsError(try ChatTemplate(named: "vicuna")) { error in
            guard case .unknownChatTemplateName = error as? TokenizerError else { return XCTFail("\(error)") }
        }
        let gguf = try GGUFFile(path: Fixtures.require("tokenizer/ggml-vocab-llama-spm.gguf"))
        XCTAssertThrowsError(try ChatTemplate(gguf: gguf)) { XCTAssertEqual($0 as? TokenizerError, .missingChatTemplate) }
    }

    func testTemplateFromGGUF() throws {
        var b = VocabBuilder(model: "llama", tokens: ["a"])
        b.writer.set("tokenizer.chat_template", Self.chatml)
        XCTAssertEqual(try ChatTemplate(gguf: b.file()).family, .chatml)
    }

    func testLlama2() throws {
        let t = try ChatTemplate(recognizing: Self.llama2)
        XCTAssertEqual(t.render(conversation),
                       "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]Hello!</s><s>[INST] Bye [/INST]")
        var plain = ChatTemplate(family: .llama2)
        plain.llama2SystemBlock = false
        XCTAssertEqual(plain.render(conversation), "[INST] Be brief.\nHi [/INST]Hello!</s>[INST] Bye [/INST]")
    }

    func testLlama3() {
        XCTAssertEqual(ChatTemplate(family: .llama3).render(conversation),
                       "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                       + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                       + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                       + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                       + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(ChatTemplate(family: .llama3).render([ChatMessage(role: "user", content: " x \n")], addGenerationPrompt: false),
                       "<|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>", "content is trimmed")
    }

    func testChatML() {
        XCTAssertEqual(ChatTemplate(family: .chatml).render(conversation),
                       "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                       + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n")
    }

    func testZephyr() throws {
        XCTAssertEqual(try ChatTemplate(recognizing: Self.zephyr).render(Array(conversation.prefix(2))),
                       "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\n")
    }

    func testPhi3() {
        XCTAssertEqual(ChatTemplate(family: .phi3).render(Array(conversation.prefix(2))),
                       "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n")
        XCTAssertEqual(ChatTemplate(family: .phi3).render(Array(conversation.prefix(2)), addGenerationPrompt: false),
                       "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n")
    }
}

/// ChatML with a template-supplied default system message (Qwen 2 / 2.5), against jinja2's
/// rendering of the real template (`QwenChatTemplateCases`, generated from the model's GGUF).
final class QwenChatTemplateTests: XCTestCase {
    func testDefaultSystemMessageIsFoundInTheTemplate() throws {
        let t = try ChatTemplate(recognizing: QwenChatTemplateCases.template)
        XCTAssertEqual(t.family, .chatml)
        XCTAssertEqual(t.defaultSystemMessage, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
        XCTAssertNil(try ChatTemplate(recognizing: ChatTemplateTests.chatml).defaultSystemMessage, "plain ChatML adds none")
        let qwen2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
            + "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
            + "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
        XCTAssertEqual(try ChatTemplate(recognizing: qwen2).defaultSystemMessage, "You are a helpful assistant.")
    }

    func testRenderingMatchesJinja2() throws {
        let t = try ChatTemplate(recognizing: QwenChatTemplateCases.template)
        for (i, c) in QwenChatTemplateCases.cases.enumerated() {
            XCTAssertEqual(t.render(c.messages, addGenerationPrompt: c.addGenerationPrompt), c.expected, "case \(i)")
        }
    }

    func testTheModelsOwnTemplate() throws {
        let gguf = try GGUFFile(path: Models.require(Models.qwenCoder05B))
        XCTAssertEqual(try gguf.string("tokenizer.chat_template"), QwenChatTemplateCases.template)
        let t = try ChatTemplate(gguf: gguf)
        for c in QwenChatTemplateCases.cases {
            XCTAssertEqual(t.render(c.messages, addGenerationPrompt: c.addGenerationPrompt), c.expected)
        }
    }
}
