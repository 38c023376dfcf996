// The command-line value types that perceptron-bench and perceptron-digits
// share: values with a rule beyond their Swift type, parsed by argument parser
// and refused with an error that says what was expected.

import ArgumentParser
import Perceptron

/// A command-line value with a rule beyond its type, such as "a whole number
/// ≥ 1": `init?(argument:)` parses it and returns nil when the rule is broken.
///
/// Declare an option of such a type with `transform: T.parse`. Argument
/// parser's own message for a failed `init?(argument:)` names the option and
/// the value that came but not what was expected; `parse` adds that:
///
///     Error: The value '0' is invalid for '--threads <n>': expected a whole number ≥ 1
public protocol CheckedArgument: ExpressibleByArgument, CustomStringConvertible, Sendable {
    /// What the rule asks for, completing "expected …": `a whole number ≥ 1`.
    static var expectation: String { get }
}

extension CheckedArgument {
    /// The value `text` stands for; for `@Option(transform:)`.
    ///
    /// - Throws: a `ValidationError` saying what was expected, which argument
    ///   parser reports after the option's name and the value that came.
    @Sendable
    public static func parse(_ text: String) throws -> Self {
        guard let value = Self(argument: text) else { throw ValidationError("expected \(expectation)") }
        return value
    }

    /// The value as it would be typed, for help and messages.
    public var defaultValueDescription: String { description }
}

extension ArgumentHelp {
    /// Help for an option that has a default and is parsed with a transform,
    /// for which argument parser shows no default itself: appended here as it
    /// would show it.
    public init(_ abstract: String, default value: some CustomStringConvertible, valueName: String) {
        self.init("\(abstract) (default: \(value))", valueName: valueName)
    }
}

/// A whole number ≥ 1: a count of threads, epochs, samples or units, or a size.
public struct Count: CheckedArgument, Hashable {
    /// The number, at least 1.
    public let value: Int

    /// `value`, which must be at least 1 (a default written in code).
    public init(_ value: Int) {
        precondition(value >= 1, "a Count is at least 1, not \(value)")
        self.value = value
    }

    /// Parses decimal digits of a number ≥ 1; nil for anything else.
    public init?(argument: String) {
        guard let value = Int(argument), value >= 1 else { return nil }
        self.value = value
    }

    /// The rule, for the error that refuses a value.
    public static let expectation = "a whole number ≥ 1"

    /// The number in decimal, as it is typed.
    public var description: String { String(value) }
}

/// A whole number ≥ 0: a threshold that 0 turns off.
public struct NonNegative: CheckedArgument, Hashable {
    /// The number, at least 0.
    public let value: Int

    /// Parses decimal digits of a number ≥ 0; nil for anything else.
    public init?(argument: String) {
        guard let value = Int(argument), value >= 0 else { return nil }
        self.value = value
    }

    /// The rule, for the error that refuses a value.
    public static let expectation = "a whole number ≥ 0"

    /// The number in decimal, as it is typed.
    public var description: String { String(value) }
}

/// A finite number > 0: a duration or a learning rate.
public struct Positive<Value: BinaryFloatingPoint & LosslessStringConvertible & Sendable>: CheckedArgument {
    /// The number, finite and greater than 0.
    public let value: Value

    /// `value`, which must be finite and greater than 0 (a default written in code).
    public init(_ value: Value) {
        precondition(value.isFinite && value > 0, "a Positive is finite and > 0, not \(value)")
        self.value = value
    }

    /// Parses a decimal or scientific number that is finite and > 0; nil for anything else.
    public init?(argument: String) {
        guard let value = Value(argument), value.isFinite, value > 0 else { return nil }
        self.value = value
    }

    /// The rule, for the error that refuses a value.
    public static var expectation: String { "a finite number > 0" }

    /// The number as Swift prints it (`0.001`), which parses back to the same value.
    public var description: String { value.description }
}

/// Any unsigned 64-bit whole number: a seed.
extension UInt64: CheckedArgument {
    /// The whole range, for the error that refuses a value.
    public static var expectation: String { "a whole number in 0...\(UInt64.max)" }
}

/// The path of a safetensors file: a file name ending in `.safetensors`, so
/// that a model is never written over a file of another kind by a mistyped
/// option, and what is saved is recognisable to the tools that read it.
public struct SafeTensorsPath: CheckedArgument, Hashable {
    /// The path, as typed.
    public let path: String

    /// Parses a path whose last component is a name (more than the
    /// extension) ending in `.safetensors`; nil for anything else.
    public init?(argument: String) {
        let name = argument.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        guard name.hasSuffix(".safetensors"), name.count > ".safetensors".count else { return nil }
        self.path = argument
    }

    /// The rule, for the error that refuses a value.
    public static let expectation = "a file name ending in .safetensors"

    /// The path as it is typed.
    public var description: String { path }
}

/// `--precision float32|bfloat16`, as ``Precision`` spells its cases, or `fp32|bf16` for short.
extension Precision: @retroactive ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "float32", "fp32": self = .float32
        case "bfloat16", "bf16": self = .bfloat16
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["float32", "bfloat16", "fp32", "bf16"] }
}
