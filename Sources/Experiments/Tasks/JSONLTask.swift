import LlamaCore
import Foundation

/// Problems read from a JSON Lines file, one object per line:
///
///     {"prompt": "Q: What is 2+2?\nA:", "answer": 4}
///
/// `answer` may be a string or a number. Blank lines are skipped; a problem's id is its
/// 0-based position among the records.
///
/// Answer extraction: with `answerPattern`, the first match of that regular expression in the
/// generated text (its first capture group, if the group took part in the match, else the whole
/// match). Without one, the first number in the text (e.g. "-1,234.5"), else the first
/// non-blank line: most JSONL benchmarks have numeric answers, and a free-text answer usually
/// comes on the first line.
///
/// Verification: when both answers read as numbers (commas ignored) they are compared as
/// numbers, so "4", "4.0" and "+4" all match 4; otherwise the whitespace-trimmed strings must be
/// equal.
public struct JSONLTask: ExperimentTask {
    public let path: String
    public var dataFiles: [String] { [path] }
    public let answerPattern: String?
    /// All records in file order.
    public let records: [Problem]
    /// The first 12 hex digits of the file's SHA-256.
    public let contentHash: String
    private let regex: NSRegularExpression?

    static let defaultNumberPattern = "[-+\u{2212}]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\\.[0-9]+)?"
    private static let numberRegex = try! NSRegularExpression(pattern: defaultNumberPattern)

    public init(path: String, answerPattern: String? = nil) throws {
        self.path = path
        self.answerPattern = answerPattern
        if let answerPattern {
            do {
                regex = try NSRegularExpression(pattern: answerPattern)
            } catch {
                throw ExperimentError.invalidRegex(pattern: answerPattern, reason: "does not compile")
            }
        } else {
            regex = nil
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "unreadable" : "no such file"
            throw ExperimentError.fileUnreadable(path: path, reason: reason)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw ExperimentError.invalidUTF8(path: path) }
        // Part of the task's name, so a run cannot be resumed or merged against an edited file.
        contentHash = String(FileHash.sha256(data).prefix(12))
        records = try Self.parse(text, path: path)
        guard !records.isEmpty else { throw ExperimentError.emptyFile(path: path) }
    }

    public var name: String {
        "jsonl(\(URL(fileURLWithPath: path).lastPathComponent)@\(contentHash)" + (answerPattern.map { ",pattern=\($0)" } ?? "") + ")"
    }

    private struct Record: Decodable {
        let prompt: String
        let answer: String

        enum CodingKeys: String, CodingKey { case prompt, answer }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            prompt = try c.decode(String.self, forKey: .prompt)
            if let s = try? c.decode(String.self, forKey: .answer) {
                answer = s
            } else if let i = try? c.decode(Int64.self, forKey: .answer) {
                answer = String(i)
            } else if let d = try? c.decode(Double.self, forKey: .answer) {
                answer = String(d)
            } else {
                // Rethrows keyNotFound when missing, typeMismatch otherwise.
                _ = try c.decode(String.self, forKey: .answer)
                answer = ""
            }
        }
    }

    static func parse(_ text: String, path: String) throws -> [Problem] {
        var problems: [Problem] = []
        let decoder = JSONDecoder()
        // Split on "\n" only (a "\r" before it is stripped): other Unicode line breaks may be
        // content inside a JSON string.
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy(\.isWhitespace) { continue }
            do {
                let record = try decoder.decode(Record.self, from: Data(line.utf8))
                problems.append(Problem(id: problems.count, prompt: record.prompt, answer: record.answer))
            } catch let DecodingError.keyNotFound(key, _) {
                throw ExperimentError.invalidJSONLine(path: path, line: lineNumber, reason: "missing \"\(key.stringValue)\"")
            } catch let DecodingError.typeMismatch(_, context) {
                let reason = context.codingPath.isEmpty
                    ? "not a JSON object"
                    : "\"\(context.codingPath[0].stringValue)\" must be a " + (context.codingPath[0].stringValue == "prompt" ? "string" : "string or number")
                throw ExperimentError.invalidJSONLine(path: path, line: lineNumber, reason: reason)
            } catch let DecodingError.valueNotFound(_, context) {
                let field = context.codingPath.first?.stringValue ?? "value"
                throw ExperimentError.invalidJSONLine(path: path, line: lineNumber, reason: "\"\(field)\" is null")
            } catch {
                throw ExperimentError.invalidJSONLine(path: path, line: lineNumber, reason: "not valid JSON")
            }
        }
        return problems
    }

    /// A seeded random subset of `count` records (all of them, in file order, when count equals
    /// the number of records), returned in id order. Asking for more than the file holds is an
    /// error rather than a silently smaller run.
    public func problems(count: Int, seed: UInt64) throws -> [Problem] {
        guard count >= 0 else {
            throw ExperimentError.invalidTaskParameter(task: name, reason: "problem count must not be negative, got \(count)")
        }
        guard count <= records.count else {
            throw ExperimentError.notEnoughProblems(task: name, requested: count, available: records.count)
        }
        if count == records.count { return records }
        var rng = SeededRandom(seed: seed, label: "jsonl-subset")
        return rng.subset(of: records.count, size: count).map { records[$0] }
    }

    public func extractAnswer(from generated: String) -> String? {
        if let regex { return AnswerText.firstMatch(regex, in: generated) }
        if let number = AnswerText.firstMatch(Self.numberRegex, in: generated) { return number }
        return AnswerText.firstNonEmptyLine(generated)
    }

    public func isCorrect(extracted: String?, problem: Problem) -> Bool {
        guard let extracted else { return false }
        if let a = Self.number(extracted), let b = Self.number(problem.answer) { return a == b }
        return extracted.trimmingCharacters(in: .whitespacesAndNewlines) == problem.answer.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A decimal number, commas and a leading "+" allowed. Exact as `Decimal`, so "0.1" equals
    /// "0.10" without binary rounding surprises.
    static func number(_ text: String) -> Decimal? {
        var s = text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: ",", with: "")
        s = s.replacingOccurrences(of: "\u{2212}", with: "-")
        if s.hasPrefix("+") { s.removeFirst() }
        guard !s.isEmpty, s.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-" || $0 == "e" || $0 == "E") }),
              let d = Decimal(string: s, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        // Decimal(string:) accepts a valid prefix ("12-3" → 12); require the whole text to be a number.
        guard Double(s) != nil else { return nil }
        return d
    }
}
