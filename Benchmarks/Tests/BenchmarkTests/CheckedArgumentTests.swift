import ArgumentParser
import CommandLineSupport
import Testing

/// The command-line value types: what each accepts, and that a refused value
/// is a `ValidationError` saying what was expected.
@Suite("Command-line values")
struct CheckedArgumentTests {
    /// The message `parse` throws for `text`, or nil if it parsed.
    func refusal<Value: CheckedArgument>(_: Value.Type, _ text: String) -> String? {
        do {
            _ = try Value.parse(text)
            return nil
        } catch let error as ValidationError {
            return error.message
        } catch {
            return "not a ValidationError: \(error)"
        }
    }

    @Test func countTakesWholeNumbersFromOne() throws {
        #expect(try Count.parse("1").value == 1)
        #expect(try Count.parse("4096").value == 4096)
        for text in ["0", "-3", "1.5", "", " 2", "two", "99999999999999999999"] {
            #expect(refusal(Count.self, text) == "expected a whole number ≥ 1", "\(text)")
        }
    }

    @Test func positiveTakesFiniteNumbersAboveZero() throws {
        #expect(try Positive<Float>.parse("1e-3").value == 1e-3)
        #expect(try Positive<Double>.parse("0.5").value == 0.5)
        for text in ["0", "-0.1", "nan", "inf", "-inf", "", "fast"] {
            #expect(refusal(Positive<Double>.self, text) == "expected a finite number > 0", "\(text)")
        }
    }

    @Test func seedTakesTheWholeUnsignedRange() throws {
        #expect(try UInt64.parse("0") == 0)
        #expect(try UInt64.parse("18446744073709551615") == .max)
        for text in ["-1", "18446744073709551616", "0x10"] {
            #expect(refusal(UInt64.self, text) == "expected a whole number in 0...18446744073709551615", "\(text)")
        }
    }

    @Test func safeTensorsPathsNameAFileOfThatKind() throws {
        for text in ["model.safetensors", ".build/digits.safetensors", "/tmp/a b.safetensors", "../x.y.safetensors"] {
            #expect(try SafeTensorsPath.parse(text).path == text)
        }
        for text in ["", "model", "model.npy", ".safetensors", "dir/.safetensors", "model.safetensors/", "model.safetensors.bak"] {
            #expect(refusal(SafeTensorsPath.self, text) == "expected a file name ending in .safetensors", "\(text)")
        }
    }

    @Test func defaultsShowAsTheyAreTyped() {
        #expect(Count(32).defaultValueDescription == "32")
        #expect(Positive<Float>(1e-3).defaultValueDescription == "0.001")
        #expect(ArgumentHelp("Hidden units.", default: Count(64), valueName: "n").abstract == "Hidden units. (default: 64)")
    }
}
