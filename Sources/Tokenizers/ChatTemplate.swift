import GGUF

/// One chat turn. `role` is usually "system", "user" or "assistant".
public struct ChatMessage: Equatable, Sendable {
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A chat prompt format. We do not run Jinja: like llama.cpp's built-in templates, a model's
/// `tokenizer.chat_template` is recognised by substrings characteristic of a family and the
/// family's format is rendered in Swift. A template we cannot recognise is an error, never a guess.
public struct ChatTemplate: Equatable, Sendable {
    public enum Family: String, CaseIterable, Sendable {
        case llama2, llama3, chatml, zephyr, phi3
    }

    public let family: Family
    /// Llama 2 variants: `<<SYS>>` system block, `<s>` before later `[INST]`, trimmed content.
    public var llama2SystemBlock = true
    public var llama2BOSInHistory = false
    public var llama2TrimContent = false
    /// Zephyr's end-of-message marker (the template's `eos_token`, usually `</s>`).
    public var zephyrEndMarker = "</s>"
    /// ChatML: the system message the template puts first when the conversation has none
    /// (Qwen 2 and 2.5: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
    /// nil for templates that add none.
    public var defaultSystemMessage: String?

    public init(family: Family) {
        self.family = family
    }

    /// Recognises a Jinja template's family; throws `unrecognizedChatTemplate` otherwise.
    public init(recognizing template: String) throws {
        func has(_ s: String) -> Bool { template.contains(s) }
        if has("<|start_header_id|>") && has("<|end_header_id|>") {
            family = .llama3
        } else if has("<|im_start|>") {
            family = .chatml
            defaultSystemMessage = Self.chatMLDefaultSystemMessage(in: template)
        } else if has("<|user|>") && has("<|end|>") {
            family = .phi3
        } else if has("<|user|>") && (has("</s>") || has("eos_token") || has("<|endoftext|>")) {
            family = .zephyr
            if has("<|endoftext|>") && !has("</s>") { zephyrEndMarker = "<|endoftext|>" }
        } else if has("[INST]") {
            family = .llama2
            llama2SystemBlock = has("<<SYS>>")
            llama2BOSInHistory = has("bos_token +") || has("<s>[INST]")
            llama2TrimContent = has(".strip()") || has("| trim")
        } else {
            let excerpt = template.prefix(80).replacingOccurrences(of: "\n", with: "\\n")
            throw TokenizerError.unrecognizedChatTemplate(excerpt: excerpt.isEmpty ? "(empty)" : "\(excerpt)…")
        }
    }

    /// The template from `tokenizer.chat_template`; `missingChatTemplate` if the model has none.
    public init(gguf: GGUFFile) throws {
        guard let text = try gguf.string("tokenizer.chat_template") else { throw TokenizerError.missingChatTemplate }
        try self.init(recognizing: text)
    }

    /// A family by name (`llama2`, `llama3`, `chatml`, `zephyr`, `phi3`), as a user would pick one.
    public init(named name: String) throws {
        guard let f = Family(rawValue: name.lowercased()) else {
            throw TokenizerError.unknownChatTemplateName(name, supported: Family.allCases.map(\.rawValue))
        }
        self.init(family: f)
    }

    /// The prompt text for `messages`; with `addGenerationPrompt` it ends where the assistant's
    /// reply begins. BOS is not included: the tokenizer adds it.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) -> String {
        var s = ""
        switch family {
        case .llama3:
            for m in messages {
                s += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(trim(m.content))<|eot_id|>"
            }
            if addGenerationPrompt { s += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .chatml:
            if let defaultSystemMessage, messages.first?.role != "system" {
                s += "<|im_start|>system\n\(defaultSystemMessage)<|im_end|>\n"
            }
            for m in messages { s += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { s += "<|im_start|>assistant\n" }
        case .zephyr:
            for m in messages { s += "<|\(m.role)|>\n\(m.content)\(zephyrEndMarker)\n" }
            if addGenerationPrompt { s += "<|assistant|>\n" }
        case .phi3:
            for m in messages { s += "<|\(m.role)|>\n\(m.content)<|end|>\n" }
            if addGenerationPrompt { s += "<|assistant|>\n" }
        case .llama2:
            s = renderLlama2(messages)
        }
        return s
    }

    /// `[INST] <<SYS>>\nsys\n<</SYS>>\n\nuser [/INST]assistant</s>[INST] ...` — the generation
    /// prompt is implicit: the text already ends after `[/INST]`.
    private func renderLlama2(_ messages: [ChatMessage]) -> String {
        var s = "[INST] "
        var insideTurn = true
        for m in messages {
            let content = llama2TrimContent ? trim(m.content) : m.content
            if !insideTurn {
                insideTurn = true
                s += llama2BOSInHistory ? "<s>[INST] " : "[INST] "
            }
            switch m.role {
            case "system":
                s += llama2SystemBlock ? "<<SYS>>\n\(content)\n<</SYS>>\n\n" : "\(content)\n"
            case "user":
                s += "\(content) [/INST]"
            default:
                s += "\(content)</s>"
                insideTurn = false
            }
        }
        return s
    }

    /// The literal system turn a ChatML template writes when the first message is not a system
    /// message: a string literal `'<|im_start|>system\n…<|im_end|>` whose text is a constant (the
    /// turn built from `messages[0]['content']` is not a single literal, so it does not match).
    static func chatMLDefaultSystemMessage(in template: String) -> String? {
        for quote in ["'", "\""] {
            let open = quote + "<|im_start|>system\\n"
            var searchStart = template.startIndex
            while let start = template.range(of: open, range: searchStart..<template.endIndex) {
                searchStart = start.upperBound
                guard let end = template.range(of: "<|im_end|>", range: start.upperBound..<template.endIndex) else { break }
                let literal = template[start.upperBound..<end.lowerBound]
                if literal.contains(quote) || literal.isEmpty { continue }
                return unescapeJinjaString(String(literal))
            }
        }
        return nil
    }

    /// Jinja (Python) string-literal escapes: \n, \t, \\, \' and \".
    static func unescapeJinjaString(_ s: String) -> String {
        var out = ""
        var escaped = false
        for c in s {
            if escaped {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(c)
                }
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }

    private func trim(_ s: String) -> String {
        var scalars = Substring(s).unicodeScalars[...]
        while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() }
        while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}

extension ChatTemplate {
    /// The conversation as prompt tokens: rendered, then tokenized with special tokens parsed
    /// and the tokenizer's BOS added. Templates that spell out BOS themselves (Llama 3's
    /// `<|begin_of_text|>`) would otherwise get a second one, so a doubled BOS is dropped.
    public func encode(_ messages: [ChatMessage], with tokenizer: any Tokenizer, addGenerationPrompt: Bool = true) throws -> [Int] {
        var ids = try tokenizer.encode(render(messages, addGenerationPrompt: addGenerationPrompt), addSpecial: true, parseSpecial: true)
        if ids.count >= 2, let bos = tokenizer.bos, ids[0] == bos, ids[1] == bos { ids.removeFirst() }
        return ids
    }
}
