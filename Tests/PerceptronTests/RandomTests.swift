import Foundation
@_spi(Benchmarking) import Perceptron
import Testing

/// One seed of `Fixtures/random/random.json`, from a Python transcription of
/// SplitMix64 and xoshiro256** as their authors publish them.
struct RandomFixture: Decodable, Sendable, CustomTestStringConvertible {
    var seed: String, state: [String], outputs: [String]
    var testDescription: String { "seed \(seed)" }

    static let all: [RandomFixture] = {
        guard let url = Bundle.module.url(forResource: "random", withExtension: "json", subdirectory: "Fixtures/random"),
              let data = try? Data(contentsOf: url),
              let cases = try? JSONDecoder().decode([RandomFixture].self, from: data)
        else { return [] }
        return cases
    }()
}

@Suite("SeededRandomNumberGenerator")
struct RandomTests {
    @Test func fixturesArePresent() {
        #expect(RandomFixture.all.count == 4)
    }

    @Test(arguments: RandomFixture.all)
    func matchesTheReferenceAlgorithm(_ fixture: RandomFixture) throws {
        var generator = SeededRandomNumberGenerator(seed: UInt64(fixture.seed)!)
        #expect(generator.state == fixture.state.map { UInt64($0)! }, "SplitMix64 fills the state")
        for expected in fixture.outputs {
            #expect(generator.next() == UInt64(expected)!)
        }
    }

    @Test func aSavedStateContinuesTheSequence() throws {
        var generator = SeededRandomNumberGenerator(seed: 99)
        for _ in 0..<10 { _ = generator.next() }
        var resumed = try SeededRandomNumberGenerator(state: generator.state)
        for _ in 0..<100 { #expect(resumed.next() == generator.next()) }
    }

    @Test func badStatesThrow() {
        #expect(throws: PerceptronError.invalidArgument(name: "state", expected: "four 64-bit words, not all zero", actual: "[0, 0, 0, 0]")) {
            try SeededRandomNumberGenerator(state: [0, 0, 0, 0])
        }
        #expect(throws: PerceptronError.invalidArgument(name: "state", expected: "four 64-bit words, not all zero", actual: "[1, 2, 3]")) {
            try SeededRandomNumberGenerator(state: [1, 2, 3])
        }
    }
}
