import ArgumentParser
@testable import perceptron_bench
import Testing

/// perceptron-bench's command line for `--serve`: what it selects, its
/// defaults, and the combinations it refuses, each with the message a user sees.
@Suite("perceptron-bench --serve options")
struct BenchOptionsTests {
    /// The message argument parser prints for `arguments`, or nil if they parse.
    func refusal(_ arguments: [String]) -> String? {
        do {
            _ = try Options.parse(arguments)
            return nil
        } catch {
            return Options.message(for: error)
        }
    }

    @Test func serveSelectsTheModeWithItsDefaults() throws {
        let options = try Options.parse(["--serve"])
        #expect(options.mode == .serve)
        #expect(options.serveRounds == 5)
        #expect(options.serveWindow == 0.5)
        #expect(options.dtype == .float)
        #expect(options.jsonPath == nil)

        let quick = try Options.parse(["--serve", "--quick"])
        #expect(quick.serveRounds == 2)
        #expect(quick.serveWindow == 0.2)
    }

    @Test func roundsWindowPrecisionAndJSONAreTaken() throws {
        let options = try Options.parse(["--serve", "--rounds", "3", "--window", "0.25", "--dtype", "double", "--json", "out.json"])
        #expect(options.mode == .serve)
        #expect(options.serveRounds == 3)
        #expect(options.serveWindow == 0.25)
        #expect(options.dtype == .double)
        #expect(options.jsonPath == "out.json")
        // --quick shortens only the defaults, never what was asked for.
        let quick = try Options.parse(["--serve", "--quick", "--rounds", "7"])
        #expect(quick.serveRounds == 7)
        #expect(quick.serveWindow == 0.2)
    }

    @Test func roundsAndWindowNeedServe() {
        for arguments in [["--rounds", "3"], ["--window", "1"], ["--steps", "--rounds", "2"], ["--peak", "--window", "0.5"],
                          ["--widths", "8,4"]] {
            #expect(refusal(arguments) == "--rounds, --window and --widths need --serve", "\(arguments)")
        }
    }

    @Test func widthsNameTheServedModel() throws {
        #expect(try Options.parse(["--serve"]).serveWidths == [64, 64, 10])
        #expect(try Options.parse(["--serve", "--widths", "784,256,256,10"]).serveWidths == [784, 256, 256, 10])
        for bad in ["64", "64,,10", "64,0,10", "a,b"] {
            #expect(refusal(["--serve", "--widths", bad])
                    == "The value '\(bad)' is invalid for '--widths <w0,w1,…>': expected two or more whole numbers ≥ 1 as W0,W1,…, such as 784,256,256,10",
                    "\(bad)")
        }
    }

    @Test func badValuesSayWhatWasExpected() {
        #expect(refusal(["--serve", "--rounds", "0"])
                == "The value '0' is invalid for '--rounds <n>': expected a whole number ≥ 1")
        #expect(refusal(["--serve", "--window", "0"])
                == "The value '0' is invalid for '--window <seconds>': expected a finite number > 0")
        #expect(refusal(["--serve", "--window", "inf"])
                == "The value 'inf' is invalid for '--window <seconds>': expected a finite number > 0")
    }

    @Test func serveCombinesWithNoOtherMode() {
        #expect(refusal(["--serve", "--vs-raw"]) == "--vs-raw times layer steps; it does not apply to --serve")
        #expect(refusal(["--serve", "--soak", "5"]) == "--soak runs instead of the benchmark; it does not combine with --serve")
        #expect(refusal(["--serve", "--steps"]) == "Value to be set with flag '--steps' had already been set with flag '--serve'")
    }
}
