/// Exact arithmetic for the Countdown verifier: fractions of Int64 with overflow checks, and a
/// small recursive-descent parser for expressions over integers with + − × ÷ and parentheses.

/// A reduced fraction with a positive denominator. Every operation reports overflow instead of
/// trapping, so a hostile expression is simply wrong rather than a crash.
public struct Rational: Equatable, CustomStringConvertible {
    public let numerator: Int64
    public let denominator: Int64

    public enum Failure: Error { case overflow, divisionByZero }

    public init(_ value: Int64) { numerator = value; denominator = 1 }

    public init(_ numerator: Int64, _ denominator: Int64) throws {
        guard denominator != 0 else { throw Failure.divisionByZero }
        // Int64.min has no positive counterpart, so it cannot be normalised.
        guard numerator != .min, denominator != .min else { throw Failure.overflow }
        let g = Rational.gcd(Swift.abs(numerator), Swift.abs(denominator))
        let sign: Int64 = denominator < 0 ? -1 : 1
        self.numerator = sign * numerator / g
        self.denominator = sign * denominator / g
    }

    public var isInteger: Bool { denominator == 1 }
    public var description: String { isInteger ? "\(numerator)" : "\(numerator)/\(denominator)" }

    static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a == 0 ? 1 : a
    }

    private static func mul(_ a: Int64, _ b: Int64) throws -> Int64 {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        if o { throw Failure.overflow }
        return r
    }

    private static func add(_ a: Int64, _ b: Int64) throws -> Int64 {
        let (r, o) = a.addingReportingOverflow(b)
        if o { throw Failure.overflow }
        return r
    }

    public func adding(_ o: Rational) throws -> Rational {
        // a/b + c/d over lcm(b, d) keeps intermediate values small.
        let g = Rational.gcd(denominator, o.denominator)
        let left = try Rational.mul(numerator, o.denominator / g)
        let right = try Rational.mul(o.numerator, denominator / g)
        return try Rational(try Rational.add(left, right), try Rational.mul(denominator, o.denominator / g))
    }

    public func subtracting(_ o: Rational) throws -> Rational {
        guard o.numerator != .min else { throw Failure.overflow }
        return try adding(Rational(-o.numerator, o.denominator))
    }

    public func multiplying(_ o: Rational) throws -> Rational {
        // Cross-cancel first so the products only overflow when the result really does.
        let g1 = Rational.gcd(Swift.abs(numerator), o.denominator)
        let g2 = Rational.gcd(Swift.abs(o.numerator), denominator)
        return try Rational(try Rational.mul(numerator / g1, o.numerator / g2),
                            try Rational.mul(denominator / g2, o.denominator / g1))
    }

    public func dividing(by o: Rational) throws -> Rational {
        guard o.numerator != 0 else { throw Failure.divisionByZero }
        return try multiplying(Rational(o.denominator, o.numerator))
    }
}

/// A parsed arithmetic expression.
public indirect enum ArithmeticExpression: Equatable {
    case number(Int64)
    case binary(Character, ArithmeticExpression, ArithmeticExpression)

    /// The integer literals, left to right.
    public var literals: [Int64] {
        switch self {
        case let .number(n): return [n]
        case let .binary(_, l, r): return l.literals + r.literals
        }
    }

    public func evaluate() throws -> Rational {
        switch self {
        case let .number(n): return Rational(n)
        case let .binary(op, l, r):
            let a = try l.evaluate(), b = try r.evaluate()
            switch op {
            case "+": return try a.adding(b)
            case "-": return try a.subtracting(b)
            case "*": return try a.multiplying(b)
            default: return try a.dividing(by: b)
            }
        }
    }

    public enum ParseError: Error, Equatable { case unexpected(String), tooDeep, numberTooLarge, empty }

    /// Grammar (whitespace anywhere between tokens):
    ///
    ///     expr   := term (("+" | "-" | "−") term)*
    ///     term   := factor (("*" | "×" | "/" | "÷") factor)*
    ///     factor := integer | "(" expr ")"
    ///
    /// There is no unary minus: Countdown builds numbers only from the given ones.
    /// Nesting is limited so hostile input cannot exhaust the stack.
    public static func parse(_ text: String) throws -> ArithmeticExpression {
        var parser = Parser(chars: Array(text))
        parser.skipSpace()
        guard !parser.atEnd else { throw ParseError.empty }
        let e = try parser.expression(depth: 0)
        parser.skipSpace()
        guard parser.atEnd else { throw ParseError.unexpected(String(parser.chars[parser.pos])) }
        return e
    }

    private struct Parser {
        static let maxDepth = 64
        let chars: [Character]
        var pos = 0

        var atEnd: Bool { pos >= chars.count }

        mutating func skipSpace() { while pos < chars.count, chars[pos].isWhitespace { pos += 1 } }

        mutating func peekOperator(_ table: [Character: Character]) -> Character? {
            skipSpace()
            guard pos < chars.count, let op = table[chars[pos]] else { return nil }
            pos += 1
            return op
        }

        mutating func expression(depth: Int) throws -> ArithmeticExpression {
            var left = try term(depth: depth)
            while let op = peekOperator(["+": "+", "-": "-", "\u{2212}": "-"]) {
                left = .binary(op, left, try term(depth: depth))
            }
            return left
        }

        mutating func term(depth: Int) throws -> ArithmeticExpression {
            var left = try factor(depth: depth)
            while let op = peekOperator(["*": "*", "×": "*", "/": "/", "÷": "/"]) {
                left = .binary(op, left, try factor(depth: depth))
            }
            return left
        }

        mutating func factor(depth: Int) throws -> ArithmeticExpression {
            skipSpace()
            guard pos < chars.count else { throw ParseError.unexpected("end of input") }
            if chars[pos] == "(" {
                guard depth < Parser.maxDepth else { throw ParseError.tooDeep }
                pos += 1
                let inner = try expression(depth: depth + 1)
                skipSpace()
                guard pos < chars.count, chars[pos] == ")" else {
                    throw ParseError.unexpected(pos < chars.count ? String(chars[pos]) : "end of input")
                }
                pos += 1
                return inner
            }
            var value: Int64 = 0
            let start = pos
            while pos < chars.count, chars[pos].isASCII, let digit = chars[pos].wholeNumberValue {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(digit))
                if o1 || o2 { throw ParseError.numberTooLarge }
                value = a
                pos += 1
            }
            guard pos > start else { throw ParseError.unexpected(String(chars[pos])) }
            return .number(value)
        }
    }
}
