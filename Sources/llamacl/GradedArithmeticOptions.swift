import ArgumentParser
import Experiments

/// The settings of the graded-arithmetic task, shared by `train`, `best-of-n` and `exchange-rate`.
struct GradedArithmeticOptions: ParsableArguments {
    @Option(help: "Graded arithmetic: the lowest level (digits of both operands).") var minDigits: Int = 2
    @Option(help: "Graded arithmetic: the highest level.") var maxDigits: Int = 5
    @Option(help: "Graded arithmetic: level d has probability ∝ d^(−exponent).") var digitExponent: Double = 1.5
    @Option(help: "Graded arithmetic: operators to draw from.") var gradedOperations: String = "+-"

    var task: GradedArithmeticTask {
        GradedArithmeticTask(minDigits: minDigits, maxDigits: maxDigits, exponent: digitExponent, operations: gradedOperations)
    }
}
