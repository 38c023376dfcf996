/// A fast random number generator that gives the same sequence for the same
/// seed, on every platform and run: for reproducible initialisation, shuffling
/// and tests.
///
/// The algorithm is xoshiro256** (Blackman and Vigna), whose 256-bit state is
/// filled from the seed by SplitMix64, as its authors recommend. It is not
/// cryptographically secure.
///
/// ```swift
/// var generator = SeededRandomNumberGenerator(seed: 42)
/// let layer = Linear<Float>(inputFeatures: 4, outputFeatures: 2, using: &generator)
/// ```
public struct SeededRandomNumberGenerator: RandomNumberGenerator, Sendable {
    private var stateWords: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a generator whose sequence is determined by `seed`.
    public init(seed: UInt64) {
        var splitMix = seed
        func next() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        // SplitMix64 never yields four zeros in a row, the one state xoshiro must avoid.
        stateWords = (next(), next(), next(), next())
    }

    /// Creates a generator that continues exactly where the one whose
    /// ``state`` this is left off: for resuming a run from a checkpoint.
    ///
    /// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)``
    ///   unless `state` holds four words, not all zero (the one state
    ///   xoshiro256** cannot leave).
    public init(state: [UInt64]) throws(PerceptronError) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else {
            throw .invalidArgument(
                name: "state", expected: "four 64-bit words, not all zero", actual: "\(state)")
        }
        stateWords = (state[0], state[1], state[2], state[3])
    }

    /// The generator's whole state, four words: saved and passed to
    /// ``init(state:)``, it gives the same numbers from here on.
    public var state: [UInt64] {
        [stateWords.0, stateWords.1, stateWords.2, stateWords.3]
    }

    /// Returns the next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotateLeft(stateWords.1 &* 5, 7) &* 9
        let t = stateWords.1 << 17
        stateWords.2 ^= stateWords.0
        stateWords.3 ^= stateWords.1
        stateWords.1 ^= stateWords.2
        stateWords.0 ^= stateWords.3
        stateWords.2 ^= t
        stateWords.3 = rotateLeft(stateWords.3, 45)
        return result
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
