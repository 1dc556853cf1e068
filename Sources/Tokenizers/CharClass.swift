/// The Unicode classes the pre-tokenizer patterns use: \p{L}, \p{N}, \s and \p{P}.
struct CharClass: OptionSet {
    let rawValue: UInt8
    static let letter = CharClass(rawValue: 1)       // \p{L}: Lu Ll Lt Lm Lo
    static let number = CharClass(rawValue: 2)       // \p{N}: Nd Nl No
    static let whitespace = CharClass(rawValue: 4)   // \s: the White_Space property
    static let punctuation = CharClass(rawValue: 8)  // \p{P}: Pc Pd Ps Pe Pi Pf Po

    static let letterNumberSpace: CharClass = [.letter, .number, .whitespace]

    /// ASCII is by far the most common input; look it up instead of asking Unicode properties.
    private static let ascii: [CharClass] = (0..<128).map { compute(Unicode.Scalar(UInt8($0))) }

    static func of(_ value: UInt32) -> CharClass {
        if value < 128 { return ascii[Int(value)] }
        guard let s = Unicode.Scalar(value) else { return [] }
        return compute(s)
    }

    private static func compute(_ s: Unicode.Scalar) -> CharClass {
        var c: CharClass = []
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            c.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            c.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            c.insert(.punctuation)
        default:
            break
        }
        if s.properties.isWhitespace { c.insert(.whitespace) }
        return c
    }
}
