// Property tests: the public API over random shapes, right and wrong.
//
// Each property draws a few hundred cases from a SeededRandomNumberGenerator.
// For every call the case works out, independently of the library, what must
// happen: either the reference result (plain loops in Double, with the
// rounding bound of each element) or one exact PerceptronError. Anything else
// is recorded with the property's name, the case's seed and a log of what the
// case did, so that a failure can be replayed with `replayCase(seed:)` below.
// A crash (a trap is a signal, which no test framework survives) prints the
// same, from a signal handler (see `CrashNote`).

import Foundation
@_spi(Benchmarking) import Perceptron
import Synchronization
import Testing

// MARK: - Running a property

/// One case of a property: its seed, its generator, the log of what it did,
/// and its failures.
///
/// A class, so that the helpers below can draw from one generator and append
/// to one log without threading `inout` through every call.
final class PropertyCase {
    let property: String
    let seed: UInt64
    let slot: Int
    var generator: SeededRandomNumberGenerator
    private(set) var log: [String] = []
    private(set) var failures: [String] = []

    init(property: String, seed: UInt64, slot: Int) {
        self.property = property
        self.seed = seed
        self.slot = slot
        self.generator = SeededRandomNumberGenerator(seed: seed)
    }

    /// Appends `step` to the case's log, and publishes the log for the crash handler.
    func note(_ step: String) {
        log.append(step)
        CrashNote.set(slot: slot, summary)
    }

    /// Records that the case went wrong; reported once the case ends.
    func fail(_ problem: String) {
        failures.append(problem)
    }

    /// The property, seed and log: enough to find and replay the case.
    var summary: String {
        "property \"\(property)\", case seed 0x\(String(seed, radix: 16)): " + log.joined(separator: "; ")
    }

    // MARK: Drawing

    func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
    func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &generator) < probability }
    func pick<T>(_ options: [T]) -> T { options[int(0...(options.count - 1))] }

    /// Sizes worth testing: 0, 1, small primes and a few others.
    static let dimensions = [0, 1, 1, 2, 3, 4, 5, 7, 11, 13, 17, 31]

    /// Sizes no tensor of that extent could be allocated with: over OpenBLAS's
    /// 32-bit limit, or making a shape's byte count overflow.
    static let hugeDimensions = [Int(Int32.max) + 1, Int(Int32.max) + 12, 1 << 40, Int.max / 3, Int.max]

    func dimension() -> Int { pick(Self.dimensions) }

    /// A shape of `rank` drawn from ``dimensions``, shrunk until it holds at most `maxCount` scalars.
    func shape(rank: Int, maxCount: Int = 400) -> [Int] {
        var shape = (0..<rank).map { _ in dimension() }
        while shape.reduce(1, *) > maxCount, let largest = shape.indices.max(by: { shape[$0] < shape[$1] }) {
            shape[largest] = pick([1, 2, 3])
        }
        return shape
    }

    /// A shape other than `shape` holding at most 10,000 scalars (so that a
    /// tensor of it can be made, even near a huge empty shape): one axis
    /// resized, dropped or added.
    func wrongShape(near shape: [Int]) -> [Int] {
        for _ in 0..<50 {
            var wrong = shape
            switch int(0...2) {
            case 0 where !wrong.isEmpty:
                let axis = int(0...(wrong.count - 1))
                wrong[axis] = chance(0.5) ? wrong[axis] + int(1...2) : dimension()
            case 1 where !wrong.isEmpty:
                wrong.remove(at: int(0...(wrong.count - 1)))
            default:
                wrong.insert(pick([1, 2, 3]), at: int(0...wrong.count))
            }
            if wrong != shape, case .success(let count) = expectedCount(wrong, Double.self), count <= 10_000 {
                return wrong
            }
        }
        return shape.isEmpty ? [1] : []
    }

    /// Scalars uniform in `range`.
    func uniform<S: BLASScalar>(_ count: Int, _ range: ClosedRange<S> = -1...1) -> [S] {
        (0..<count).map { _ in S.random(in: range, using: &generator) }
    }

    /// Scalars that are mostly ordinary, sometimes large enough to saturate an
    /// exponential, and sometimes special (±0, NaN, ±∞, and when `extremes`,
    /// the largest finite values and the smallest subnormal).
    func edgy<S: BLASScalar>(_ count: Int, extremes: Bool = true) -> [S] {
        var specials: [S] = [0, -0.0, .nan, .infinity, -.infinity]
        if extremes { specials += [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNonzeroMagnitude] }
        return (0..<count).map { _ in
            switch int(0...99) {
            case 0..<84: S.random(in: -4...4, using: &generator)
            case 84..<92: S.random(in: -90...90, using: &generator)
            default: pick(specials)
            }
        }
    }

    // MARK: Checking

    /// Runs `call`, which must throw exactly `expected`, or, when `expected`
    /// is nil, succeed; returns its result when it succeeds as it should.
    @discardableResult
    func outcome<T>(
        _ what: String, throws expected: PerceptronError?, _ call: () throws(PerceptronError) -> T
    ) -> T? {
        note(what)
        do throws(PerceptronError) {
            let value = try call()
            if let expected { fail("\(what) returned a result, but should have thrown \(expected)") }
            return expected == nil ? value : nil
        } catch {
            if error != expected {
                fail("\(what) threw \"\(error)\", but should have \(expected.map { "thrown \"\($0)\"" } ?? "succeeded")")
            }
            return nil
        }
    }

    /// Checks `got` against reference values in Double, each within its own
    /// bound (see ``firstMismatch(_:_:_:)``).
    func expectClose<S: BLASScalar>(_ what: String, _ got: [S], _ expected: [Double], _ bounds: [Double]) {
        if let problem = firstMismatch(got, expected, bounds) { fail("\(what): \(problem)") }
    }

    /// Checks `got` against a Linear-style reference: within `(terms + 2)·ε·Σ|terms|`.
    func expectMatches<S: BLASScalar>(_ what: String, _ got: Tensor<S>, _ reference: Reference) {
        if got.shape != reference.shape { fail("\(what): shape \(got.shape), expected \(reference.shape)") }
        let unit = Double(reference.terms + 2) * Double(S.ulpOfOne)
        expectClose(what, got.scalars, reference.values, reference.magnitudes.map { unit * $0 })
    }

    /// Checks that two results are the same bit for bit.
    func expectIdentical<S: BLASScalar>(_ what: String, _ got: Tensor<S>?, _ expected: Tensor<S>?) {
        guard got?.shape == expected?.shape,
              got?.scalars.map(\.bitPattern) == expected?.scalars.map(\.bitPattern)
        else {
            fail("\(what): \(got.map { "\($0.shape)" } ?? "nil") differs from \(expected.map { "\($0.shape)" } ?? "nil")")
            return
        }
    }
}

extension BLASScalar {
    /// The raw bits, widened: equal bits mean identical values, NaN payloads included.
    var bitPattern: UInt64 {
        if let float = self as? Float { return UInt64(float.bitPattern) }
        return (self as! Double).bitPattern
    }
}

/// The first element of `got` that the reference does not allow, or nil.
///
/// The reference is rounded to `S` first, so that a result which overflows
/// or is NaN in `S` must be exactly that; finite results must be within
/// `bounds[i]` of the reference, plus a few of `S`'s smallest normal numbers
/// for results that underflow.
func firstMismatch<S: BLASScalar>(_ got: [S], _ expected: [Double], _ bounds: [Double]) -> String? {
    guard got.count == expected.count else { return "\(got.count) scalars, expected \(expected.count)" }
    let slack = 4 * Double(S.leastNormalMagnitude)
    for i in 0..<got.count {
        let value = Double(got[i])
        let rounded = Double(S(expected[i]))
        let matches: Bool
        if rounded.isNaN {
            matches = value.isNaN
        } else if rounded.isInfinite {
            // A reference just past the largest finite value may round either way.
            matches = value == rounded || abs(value) == Double(S.greatestFiniteMagnitude)
        } else {
            matches = value.isFinite && abs(value - expected[i]) <= bounds[i] + slack
        }
        if !matches {
            return "element \(i) is \(got[i]), expected \(expected[i]) ± \(bounds[i])"
        }
    }
    return nil
}

/// Cases run by all property tests so far, and how many of those tests have finished.
private let propertyTally = Mutex<(cases: Int, finishedTests: Int)>((0, 0))

/// The number of property tests in ``PropertyTests``: the last to finish prints the total.
private let propertyTestCount = 8

/// Runs `cases` cases of a property, each from its own seed derived from
/// `seed`, and reports every failing case with its seed and log.
///
/// `slot` (0..<CrashNote.slots) is where the case under way is published
/// for the crash handler: one per property, so that properties running in
/// parallel do not overwrite each other's.
func runProperty(
    _ name: String, seed: UInt64, cases: Int, slot: Int,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (PropertyCase) throws -> Void
) {
    CrashNote.install()
    var failed = 0
    for index in 0..<cases {
        let property = PropertyCase(property: name, seed: caseSeed(seed, index), slot: slot)
        do {
            try body(property)
        } catch {
            property.fail("unexpected error \(error)")
        }
        if !property.failures.isEmpty {
            failed += 1
            // A few cases in full are enough to debug; more would bury them.
            if failed <= 3 {
                Issue.record(
                    Comment(rawValue: "\(property.summary)\n  → " + property.failures.joined(separator: "\n  → ")),
                    sourceLocation: sourceLocation)
            }
        }
    }
    CrashNote.clear(slot: slot)
    if failed > 3 { Issue.record(Comment(rawValue: "property \"\(name)\": \(failed) of \(cases) cases failed"), sourceLocation: sourceLocation) }
    let (total, finished) = propertyTally.withLock { tally in
        tally.cases += cases
        tally.finishedTests += 1
        return (tally.cases, tally.finishedTests)
    }
    print("property \"\(name)\": \(cases) cases (base seed 0x\(String(seed, radix: 16)))")
    if finished == propertyTestCount { print("PropertyTests: \(total) property cases in \(finished) properties") }
}

/// The seed of case `index` of a property seeded `seed`: SplitMix64 of their
/// sum, so that neighbouring cases are unrelated.
func caseSeed(_ seed: UInt64, _ index: Int) -> UInt64 {
    var z = seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

// MARK: - Naming the case when the process crashes

/// Fixed buffers holding the case each property is running, and a handler
/// for the signals a crash raises (a Swift trap is SIGILL on x86-64; an
/// abort is SIGABRT) that writes them to standard error and then hands the
/// signal to whichever handler was there before (the runtime's backtracer).
///
/// The buffers are written with plain stores and read only by the handler,
/// with `write(2)`, which is safe in a signal handler; a case is published
/// before every call it makes, so the last line shows the call that crashed.
enum CrashNote {
    static let slots = 8
    static let slotSize = 2048
    static let signals: [Int32] = [SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE]

    nonisolated(unsafe) static let buffer: UnsafeMutablePointer<UInt8> = {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: slots * slotSize)
        buffer.initialize(repeating: 0, count: slots * slotSize)
        return buffer
    }()
    nonisolated(unsafe) static let previous: UnsafeMutablePointer<sigaction> = {
        let previous = UnsafeMutablePointer<sigaction>.allocate(capacity: 64)
        previous.initialize(repeating: sigaction(), count: 64)
        return previous
    }()
    private static let installed = Mutex(false)

    /// Installs the handler once per process.
    static func install() {
        _ = buffer
        _ = previous
        installed.withLock { installed in
            guard !installed else { return }
            installed = true
            for signal in signals {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = { signal in
                    CrashNote.report()
                    // Restore what was there and raise again: it runs as soon as this returns.
                    sigaction(signal, CrashNote.previous + Int(signal), nil)
                    raise(signal)
                }
                sigemptyset(&action.sa_mask)
                sigaction(signal, &action, previous + Int(signal))
            }
        }
    }

    /// Publishes `text` (truncated to the slot) as the case under way in `slot`.
    static func set(slot: Int, _ text: String) {
        let start = buffer + slot * slotSize
        var length = 0
        for byte in text.utf8 where length < slotSize - 1 {
            start[length] = byte
            length += 1
        }
        start[length] = 0
    }

    static func clear(slot: Int) { buffer[slot * slotSize] = 0 }

    /// Writes every published case to standard error; called from the signal handler.
    static func report() {
        for slot in 0..<slots {
            let start = buffer + slot * slotSize
            guard start[0] != 0 else { continue }
            let header: StaticString = "\n*** crashed during a property test, in or after: "
            _ = write(2, header.utf8Start, header.utf8CodeUnitCount)
            var length = 0
            while start[length] != 0 { length += 1 }
            _ = write(2, start, length)
            _ = write(2, "\n", 1)
        }
    }
}

// MARK: - References

/// What validating `shape` must give: scanning the axes in order, the first
/// negative dimension, or the first point where the byte count of the nonzero
/// dimensions exceeds `Int.max`; otherwise the number of scalars.
///
/// Counts in full-width unsigned arithmetic, not the library's signed overflow check.
func expectedCount<S: BLASScalar>(_ shape: [Int], _: S.Type) -> Result<Int, PerceptronError> {
    let stride = UInt(MemoryLayout<S>.stride)
    var bytes = stride
    var hasZero = false
    for (axis, dimension) in shape.enumerated() {
        if dimension < 0 { return .failure(.negativeDimension(shape: shape, axis: axis)) }
        if dimension == 0 {
            hasZero = true
            continue
        }
        let (high, low) = bytes.multipliedFullWidth(by: UInt(dimension))
        if high != 0 || low > UInt(Int.max) { return .failure(.shapeOverflow(shape: shape)) }
        bytes = low
    }
    return .success(hasZero ? 0 : Int(bytes / stride))
}

/// The elementwise activations, and the Double reference of each pass.
enum Activation: CaseIterable {
    case relu, leakyReLU, sigmoid, tanh, softmax

    func make<S: BLASScalar>(_: S.Type, slope: S) -> any Layer<S> {
        switch self {
        case .relu: ReLU<S>()
        case .leakyReLU: LeakyReLU<S>(slope: slope)
        case .sigmoid: Sigmoid<S>()
        case .tanh: Tanh<S>()
        case .softmax: Softmax<S>()
        }
    }

    var name: String {
        switch self {
        case .relu: "ReLU"
        case .leakyReLU: "LeakyReLU"
        case .sigmoid: "Sigmoid"
        case .tanh: "Tanh"
        case .softmax: "Softmax"
        }
    }

    /// `y` and its bound for input `x` whose last dimension is `columns`, in
    /// units of `ε` (the precision's unit roundoff).
    func forward(_ x: [Double], columns: Int, slope: Double, epsilon ε: Double) -> (values: [Double], bounds: [Double]) {
        switch self {
        case .relu:
            return (x.map { $0 < 0 ? 0 : $0 }, x.map { _ in 0 })
        case .leakyReLU:
            let y = x.map { $0 > 0 ? $0 : slope * $0 }
            return (y, y.map { ε * abs($0) })
        case .sigmoid:
            let y = x.map { $0 >= 0 ? 1 / (1 + Foundation.exp(-$0)) : Foundation.exp($0) / (1 + Foundation.exp($0)) }
            return (y, y.map { 4 * ε * abs($0) })
        case .tanh:
            let y = x.map { Foundation.tanh($0) }
            return (y, y.map { 4 * ε * abs($0) })
        case .softmax:
            var y = [Double](repeating: 0, count: x.count), bounds = y
            for start in Swift.stride(from: 0, to: x.count, by: Swift.max(columns, 1)) where columns > 0 {
                let row = x[start..<(start + columns)]
                if row.contains(where: \.isNaN) {
                    for j in row.indices { y[j] = .nan }
                    continue
                }
                let maximum = row.max()!
                let sum = row.map { Foundation.exp($0 - maximum) }.reduce(0, +)
                for j in row.indices {
                    y[j] = Foundation.exp(x[j] - maximum) / sum
                    // x − max is rounded, and the exponential turns that into a relative error.
                    let amplification = (x[j] - maximum).isFinite ? abs(x[j] - maximum) : 0
                    bounds[j] = ε * (Double(columns) + 4 + amplification) * abs(y[j])
                }
            }
            return (y, bounds)
        }
    }

    /// `∂E/∂x` and its bound, from the input, the layer's own output `y` and `g`.
    func backward(
        x: [Double], y: [Double], g: [Double], columns: Int, slope: Double, epsilon ε: Double
    ) -> (values: [Double], bounds: [Double]) {
        let indices = x.indices
        switch self {
        case .relu:
            return (indices.map { x[$0] > 0 ? g[$0] : 0 }, indices.map { _ in 0 })
        case .leakyReLU:
            let dx = indices.map { x[$0] > 0 ? g[$0] : slope * g[$0] }
            return (dx, dx.map { ε * abs($0) })
        case .sigmoid:
            let dx = indices.map { g[$0] * y[$0] * (1 - y[$0]) }
            return (dx, dx.map { 4 * ε * abs($0) })
        case .tanh:
            let dx = indices.map { g[$0] * (1 - y[$0] * y[$0]) }
            return (dx, indices.map { 4 * ε * abs(g[$0]) * (abs(1 - y[$0] * y[$0]) + y[$0] * y[$0]) })
        case .softmax:
            var dx = [Double](repeating: 0, count: x.count), bounds = dx
            for start in Swift.stride(from: 0, to: x.count, by: Swift.max(columns, 1)) where columns > 0 {
                let row = start..<(start + columns)
                let dot = row.map { g[$0] * y[$0] }.reduce(0, +)
                let magnitude = row.map { abs(g[$0] * y[$0]) }.reduce(0, +)
                for j in row {
                    dx[j] = y[j] * (g[j] - dot)
                    bounds[j] = 2 * ε * (Double(columns) + 4) * abs(y[j]) * (abs(g[j]) + magnitude)
                }
            }
            return (dx, bounds)
        }
    }
}

// MARK: - The properties

@Suite("Property tests: random shapes, right and wrong")
struct PropertyTests {
    @Test("Tensor: init, reshape, random, description")
    func tensor() {
        runProperty("Tensor", seed: 0x7E45_0001, cases: 1000, slot: 0) { c in
            if c.chance(0.5) { tensorCase(Float.self, c) } else { tensorCase(Double.self, c) }
        }
    }

    @Test("matmul, and matmul into")
    func matrixProduct() {
        runProperty("matmul", seed: 0x7E45_0002, cases: 600, slot: 1) { c in
            if c.chance(0.5) { matmulCase(Float.self, c) } else { matmulCase(Double.self, c) }
        }
    }

    @Test("Linear: init, forward, backward, accumulate")
    func linear() {
        runProperty("Linear", seed: 0x7E45_0003, cases: 800, slot: 2) { c in
            if c.chance(0.5) { linearCase(Float.self, c) } else { linearCase(Double.self, c) }
        }
    }

    @Test("Activations: forward and backward, special values")
    func activations() {
        runProperty("activations", seed: 0x7E45_0004, cases: 1000, slot: 3) { c in
            if c.chance(0.5) { activationCase(Float.self, c) } else { activationCase(Double.self, c) }
        }
    }

    @Test("Sequential is the composition of its layers")
    func sequential() {
        runProperty("Sequential", seed: 0x7E45_0005, cases: 500, slot: 4) { c in
            if c.chance(0.5) { sequentialCase(Float.self, c) } else { sequentialCase(Double.self, c) }
        }
    }

    @Test("MeanSquaredError")
    func meanSquaredError() {
        runProperty("MeanSquaredError", seed: 0x7E45_0006, cases: 600, slot: 5) { c in
            if c.chance(0.5) { meanSquaredErrorCase(Float.self, c) } else { meanSquaredErrorCase(Double.self, c) }
        }
    }

    @Test("SoftmaxCrossEntropy, labels in and out of range")
    func softmaxCrossEntropy() {
        runProperty("SoftmaxCrossEntropy", seed: 0x7E45_0007, cases: 800, slot: 6) { c in
            if c.chance(0.5) { crossEntropyCase(Float.self, c) } else { crossEntropyCase(Double.self, c) }
        }
    }

    @Test("SGD and Adam, hyperparameters in and out of their domains")
    func optimizers() {
        runProperty("optimizers", seed: 0x7E45_0008, cases: 600, slot: 7) { c in
            try optimizerCase(c)
        }
    }

    /// Replays one case of any property by its seed, printed in a failure
    /// message: set `PERCEPTRON_REPLAY_SEED=0x…` and `PERCEPTRON_REPLAY_PROPERTY`
    /// to the property's name, and run `swift test --filter replayCase`.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PERCEPTRON_REPLAY_SEED"] != nil))
    func replayCase() throws {
        let environment = ProcessInfo.processInfo.environment
        let text = try #require(environment["PERCEPTRON_REPLAY_SEED"])
        let seed = try #require(UInt64(text.hasPrefix("0x") ? String(text.dropFirst(2)) : text, radix: 16))
        let name = environment["PERCEPTRON_REPLAY_PROPERTY"] ?? ""
        let c = PropertyCase(property: name, seed: seed, slot: 0)
        let precision = Float.self
        switch name {
        case "Tensor": c.chance(0.5) ? tensorCase(precision, c) : tensorCase(Double.self, c)
        case "matmul": c.chance(0.5) ? matmulCase(precision, c) : matmulCase(Double.self, c)
        case "Linear": c.chance(0.5) ? linearCase(precision, c) : linearCase(Double.self, c)
        case "activations": c.chance(0.5) ? activationCase(precision, c) : activationCase(Double.self, c)
        case "Sequential": c.chance(0.5) ? sequentialCase(precision, c) : sequentialCase(Double.self, c)
        case "MeanSquaredError": c.chance(0.5) ? meanSquaredErrorCase(precision, c) : meanSquaredErrorCase(Double.self, c)
        case "SoftmaxCrossEntropy": c.chance(0.5) ? crossEntropyCase(precision, c) : crossEntropyCase(Double.self, c)
        case "optimizers": try optimizerCase(c)
        default: Issue.record("unknown property \(name)")
        }
        print(c.summary)
        for failure in c.failures { Issue.record(Comment(rawValue: failure)) }
    }
}

// MARK: Tensor

/// One Tensor API call with a random, often invalid, shape.
func tensorCase<S: BLASScalar>(_: S.Type, _ c: PropertyCase) {
    c.note("\(S.self)")
    /// A shape that is valid and small, or (when `invalid`) has a negative or huge dimension.
    func anyShape(invalid: Bool) -> [Int] {
        var shape = c.shape(rank: c.int(0...4))
        guard invalid else { return shape }
        let axis = c.int(0...shape.count)
        shape.insert(c.chance(0.5) ? -c.int(1...3) : c.pick(PropertyCase.hugeDimensions), at: axis)
        if c.chance(0.3) { shape.insert(c.pick(PropertyCase.hugeDimensions + [-1]), at: c.int(0...shape.count)) }
        return shape
    }

    switch c.int(0...5) {
    case 0:  // init(shape:scalars:)
        let shape = anyShape(invalid: c.chance(0.3))
        let count = expectedCount(shape, S.self)
        let given = (try? count.get()).map { $0 <= 5_000 ? $0 : 3 } ?? c.int(0...4)
        let scalars: [S] = c.edgy(c.chance(0.7) ? given : max(0, given + c.pick([-2, -1, 1, 3])))
        var expected: PerceptronError?
        switch count {
        case .failure(let error): expected = error
        case .success(let n) where n != scalars.count:
            expected = .scalarCountMismatch(shape: shape, expected: n, actual: scalars.count)
        default: break
        }
        if let t = c.outcome("Tensor(shape: \(shape), scalars: \(scalars.count))", throws: expected, { () throws(PerceptronError) in
            try Tensor<S>(shape: shape, scalars: scalars)
        }) {
            if t.shape != shape || t.scalars.map(\.bitPattern) != scalars.map(\.bitPattern) {
                c.fail("Tensor(shape:scalars:) holds \(t.shape) \(t.scalars), not what it was given")
            }
        }
    case 1:  // init(validatingShape:repeating:); never a valid shape too large to allocate
        var shape = anyShape(invalid: c.chance(0.4))
        if case .success(let n) = expectedCount(shape, S.self), n > 5_000 { shape = [2, 3] }
        let value: S = c.edgy(1)[0]
        let expected: PerceptronError? = if case .failure(let error) = expectedCount(shape, S.self) { error } else { nil }
        if let t = c.outcome("Tensor(validatingShape: \(shape), repeating: \(value))", throws: expected, { () throws(PerceptronError) in
            try Tensor<S>(validatingShape: shape, repeating: value)
        }) {
            if t.shape != shape || !t.scalars.allSatisfy({ $0.bitPattern == value.bitPattern }) {
                c.fail("Tensor(validatingShape:repeating:) is not \(shape) filled with \(value)")
            }
        }
    case 2:  // init(_ rows:)
        let columns = c.dimension()
        var rows: [[S]] = (0..<c.int(0...5)).map { _ in c.uniform(columns) }
        if !rows.isEmpty && c.chance(0.4) {
            let row = c.int(0...(rows.count - 1))
            let length = c.pick([0, 1, 2, columns + 1].filter { $0 != columns })
            rows[row] = c.uniform(length)
        }
        let width = rows.first?.count ?? 0
        let expected = rows.indices.first { rows[$0].count != width }
            .map { PerceptronError.raggedRows(row: $0, expected: width, actual: rows[$0].count) }
        if let t = c.outcome("Tensor(rows: \(rows.map(\.count)))", throws: expected, { () throws(PerceptronError) in
            try Tensor<S>(rows)
        }) {
            if t.shape != [rows.count, width] || t.scalars != rows.flatMap({ $0 }) {
                c.fail("Tensor(rows) is \(t.shape), not the rows it was given")
            }
        }
    case 3:  // reshaped(to:), and copy-on-write through the shared storage
        let shape = c.shape(rank: c.int(0...4))
        let source = Tensor<S>(shape: shape, randomIn: -1...1, using: &c.generator)
        let target: [Int]
        if c.chance(0.6) {
            target = factorisation(of: source.count, rank: c.int(0...4), c)
        } else {
            target = c.chance(0.5) ? c.wrongShape(near: shape) : anyShape(invalid: true)
        }
        var expected: PerceptronError?
        switch expectedCount(target, S.self) {
        case .failure(let error): expected = error
        case .success(let n) where n != source.count:
            expected = .scalarCountMismatch(shape: target, expected: n, actual: source.count)
        default: break
        }
        if var view = c.outcome("\(shape).reshaped(to: \(target))", throws: expected, { () throws(PerceptronError) in
            try source.reshaped(to: target)
        }) {
            let before = source.scalars
            if view.shape != target || view.scalars != before { c.fail("reshaped(to:) changed the scalars or the shape") }
            view.withUnsafeMutableBufferPointer { buffer in
                for i in buffer.indices { buffer[i] += 1 }
            }
            if source.scalars != before { c.fail("writing to a reshaped copy changed the original") }
        }
    case 4:  // init(shape:randomIn:using:): in range, and reproducible
        let shape = c.shape(rank: c.int(0...4))
        let low = S.random(in: -3...0, using: &c.generator), high = low + S.random(in: 0...3, using: &c.generator)
        c.note("Tensor(shape: \(shape), randomIn: \(low)...\(high))")
        let seed = c.generator.next()
        var first = SeededRandomNumberGenerator(seed: seed), second = SeededRandomNumberGenerator(seed: seed)
        let a = Tensor<S>(shape: shape, randomIn: low...high, using: &first)
        let b = Tensor<S>(shape: shape, randomIn: low...high, using: &second)
        if a.shape != shape || !a.scalars.allSatisfy({ (low...high).contains($0) }) { c.fail("random tensor out of range") }
        if a != b { c.fail("the same seed gave different random tensors") }
    default:  // description never traps, whatever the shape, and summarises large tensors
        let shape = c.chance(0.2) ? [c.pick([1001, 2003]), c.pick([0, 1, 2])] : c.shape(rank: c.int(0...4))
        c.note("description of \(shape)")
        let t = Tensor<S>(shape: shape, repeating: c.edgy(1)[0])
        let text = t.description
        if !text.hasPrefix("Tensor<\(S.self)>(shape: \(shape), ") { c.fail("description \(text.prefix(80))") }
        if t.count > 1000 && !text.contains("...") { c.fail("a tensor of \(t.count) scalars is not summarised") }
    }
}

/// A random shape of `rank` (at least 1 when `count` is not 1) whose dimensions multiply to `count`.
func factorisation(of count: Int, rank: Int, _ c: PropertyCase) -> [Int] {
    if count == 0 {
        var shape = c.shape(rank: max(rank, 1))
        shape[c.int(0...(shape.count - 1))] = 0
        return shape
    }
    guard rank > 0 else { return count == 1 ? [] : [count] }
    var remaining = count
    var shape: [Int] = []
    for _ in 0..<(rank - 1) {
        let divisors = (1...remaining).filter { remaining % $0 == 0 }
        let d = c.pick(divisors)
        shape.append(d)
        remaining /= d
    }
    shape.insert(remaining, at: c.int(0...shape.count))
    return shape
}

// MARK: matmul

func matmulCase<S: BLASScalar>(_: S.Type, _ c: PropertyCase) {
    let (m, k, n) = (c.dimension(), c.dimension(), c.dimension())
    var aShape = [m, k], bShape = [k, n]
    switch c.int(0...9) {
    case 0: aShape = c.shape(rank: c.pick([0, 1, 3]))
    case 1: bShape = c.shape(rank: c.pick([0, 1, 3, 4]))
    case 2: bShape[0] = k + c.int(1...3)
    case 3:
        // Empty operands with a dimension over OpenBLAS's limit: refused before any allocation.
        let huge = c.pick(PropertyCase.hugeDimensions.filter { $0 < Int.max / 8 })
        (aShape, bShape) = c.pick([([huge, 0], [0, n]), ([0, huge], [huge, 0]), ([m, 0], [0, huge])])
    default: break
    }
    c.note("\(S.self) \(aShape) · \(bShape)")
    let a = try! Tensor<S>(shape: aShape, scalars: c.uniform(aShape.reduce(1, *)))
    let b = try! Tensor<S>(shape: bShape, scalars: c.uniform(bShape.reduce(1, *)))

    var expected: PerceptronError?
    if aShape.count != 2 {
        expected = .rankMismatch(what: "matmul left operand", expected: "a matrix", shape: aShape)
    } else if bShape.count != 2 {
        expected = .rankMismatch(what: "matmul right operand", expected: "a matrix", shape: bShape)
    } else if aShape[1] != bShape[0] {
        expected = .shapeMismatch(what: "matmul right operand", expected: [aShape[1], bShape[1]], actual: bShape)
    } else {
        let limit = Int(Int32.max)
        for (size, what) in [(aShape[0], "matmul rows of a"), (aShape[1], "matmul columns of a"), (bShape[1], "matmul columns of b")]
        where expected == nil && size > limit {
            expected = .dimensionTooLarge(what: what, value: size, limit: limit)
        }
    }
    let product = c.outcome("matmul", throws: expected) { () throws(PerceptronError) in try matmul(a, b) }
    guard let product else { return }
    let reference = NaiveLinear.forward(x: a.doubles, w: b.doubles, b: nil, n: m, f: k, m: n)
    c.expectMatches("a·b", product, Reference(shape: [m, n], values: reference.values, magnitudes: reference.magnitudes, terms: k))

    // Into a result of the right or a wrong shape, accumulating or not; a copy the caller kept must not change.
    let resultShape = c.chance(0.7) ? [m, n] : c.wrongShape(near: [m, n])
    var result = Tensor<S>(shape: resultShape, randomIn: -1...1, using: &c.generator)
    let kept = result
    let keptScalars = kept.scalars
    let accumulate = c.chance(0.5)
    let intoError: PerceptronError? = resultShape == [m, n]
        ? nil : .shapeMismatch(what: "matmul result", expected: [m, n], actual: resultShape)
    c.outcome("matmul into \(resultShape), accumulate \(accumulate)", throws: intoError) { () throws(PerceptronError) in
        try matmul(a, b, into: &result, accumulate: accumulate)
    }
    if kept.scalars != keptScalars { c.fail("matmul(into:) changed a copy of its result held elsewhere") }
    if intoError != nil && result.scalars != keptScalars { c.fail("a refused matmul(into:) changed its result") }
    if intoError == nil {
        var expectedResult = reference
        if accumulate {
            expectedResult.values = zip(reference.values, kept.doubles).map(+)
            expectedResult.magnitudes = zip(reference.magnitudes, kept.doubles).map { $0 + abs($1) }
        }
        c.expectMatches("a·b into", result, Reference(shape: [m, n], values: expectedResult.values, magnitudes: expectedResult.magnitudes, terms: k + 1))
    }
}

// MARK: Linear

func linearCase<S: BLASScalar>(_: S.Type, _ c: PropertyCase) {
    let (f, m, hasBias) = (c.dimension(), c.dimension(), c.chance(0.7))
    c.note("\(S.self) Linear(\(f) → \(m)\(hasBias ? "" : ", no bias"))")

    // Sometimes the other initialiser, with parameters of random, possibly wrong, shapes.
    if c.chance(0.15) {
        let weightShape = c.chance(0.6) ? [f, m] : c.shape(rank: c.pick([0, 1, 3]))
        let biasShape: [Int]? = c.chance(0.3) ? nil : (c.chance(0.6) ? [weightShape.last ?? 0] : c.wrongShape(near: [m]))
        let expected: PerceptronError? =
            if weightShape.count != 2 {
                .rankMismatch(what: "Linear weight", expected: "a matrix [inputFeatures, outputFeatures]", shape: weightShape)
            } else if let biasShape, biasShape != [weightShape[1]] {
                .shapeMismatch(what: "Linear bias", expected: [weightShape[1]], actual: biasShape)
            } else { nil }
        let layer = c.outcome("Linear(weight: \(weightShape), bias: \(biasShape.map { "\($0)" } ?? "nil"))", throws: expected) {
            () throws(PerceptronError) in
            try Linear<S>(weight: Tensor(shape: weightShape), bias: biasShape.map { Tensor(shape: $0) })
        }
        if let layer, layer.inputFeatures != weightShape[0] || layer.outputFeatures != weightShape[1] {
            c.fail("Linear(weight:bias:) has \(layer.inputFeatures) → \(layer.outputFeatures)")
        }
        return
    }

    let layer = Linear<S>(inputFeatures: f, outputFeatures: m, bias: hasBias, using: &c.generator)
    var parameterError: PerceptronError?
    if c.chance(0.08) {
        let wrong = c.wrongShape(near: [f, m])
        layer.weight = Tensor(shape: wrong)
        parameterError = .shapeMismatch(what: "Linear weight", expected: [f, m], actual: wrong)
        c.note("weight replaced by \(wrong)")
    } else if hasBias && c.chance(0.08) {
        let wrong = c.wrongShape(near: [m])
        layer.bias = Tensor(shape: wrong)
        parameterError = .shapeMismatch(what: "Linear bias", expected: [m], actual: wrong)
        c.note("bias replaced by \(wrong)")
    }
    if c.chance(0.1) {
        c.outcome("backward before forward", throws: .backwardBeforeForward(layer: "Linear")) { () throws(PerceptronError) in
            try layer.backward(Tensor(shape: [m]))
        }
    }

    // The stored gradients, as references: zero until the first backward pass.
    var weightGradient = Reference(shape: [f, m], values: .init(repeating: 0, count: f * m), magnitudes: .init(repeating: 0, count: f * m), terms: 0)
    var biasGradient = Reference(shape: [m], values: .init(repeating: 0, count: m), magnitudes: .init(repeating: 0, count: m), terms: 0)

    for pass in 0..<c.int(1...3) {
        var batch = c.shape(rank: c.int(0...3), maxCount: max(1, 600 / max(f, m, 1)))
        if c.chance(0.05) { batch = [c.pick(PropertyCase.hugeDimensions.filter { $0 < Int.max / 64 }), 0] }
        if f == 0 && c.chance(0.1) { batch = [Int(Int32.max) + c.pick([1, 12])] }
        var inputShape = batch + [f]
        if c.chance(0.15) { inputShape = c.chance(0.3) ? [] : c.wrongShape(near: inputShape) }
        let rows = inputShape.dropLast().reduce(1, *)
        let x = try! Tensor<S>(shape: inputShape, scalars: c.uniform(inputShape.reduce(1, *)))

        let expected: PerceptronError? =
            if inputShape.isEmpty {
                .rankMismatch(what: "Linear input", expected: "of rank 1 or more, with \(f) features last", shape: inputShape)
            } else if inputShape.last != f {
                .featureMismatch(expected: f, actual: inputShape.last!, shape: inputShape)
            } else if let parameterError {
                parameterError
            } else if rows > Int(Int32.max) {
                .dimensionTooLarge(what: "Linear batch size (rows of X)", value: rows, limit: Int(Int32.max))
            } else { nil }
        let z = c.outcome("pass \(pass): forward \(inputShape)", throws: expected) { () throws(PerceptronError) in try layer(x) }
        guard let z else {
            if pass == 0 {
                c.outcome("backward after a failed forward", throws: .backwardBeforeForward(layer: "Linear")) { () throws(PerceptronError) in
                    try layer.backward(Tensor(shape: [m]))
                }
            }
            return
        }
        let outputShape = Array(inputShape.dropLast()) + [m]
        let (xd, wd) = (x.doubles, layer.weight.doubles)
        var forward = NaiveLinear.forward(x: xd, w: wd, b: layer.bias?.doubles, n: rows, f: f, m: m)
        forward.shape = outputShape
        c.expectMatches("Z", z, forward)

        let gShape = c.chance(0.85) ? outputShape : c.wrongShape(near: outputShape)
        let g = try! Tensor<S>(shape: gShape, scalars: c.uniform(gShape.reduce(1, *)))
        let accumulate = c.chance(0.5)
        let gError: PerceptronError? = gShape == outputShape
            ? nil : .shapeMismatch(what: "Linear output gradient", expected: outputShape, actual: gShape)
        let dx = c.outcome("backward \(gShape), accumulate \(accumulate)", throws: gError) { () throws(PerceptronError) in
            try layer.backward(g, accumulate: accumulate)
        }
        guard let dx else { continue }
        let gd = g.doubles
        var inputGradient = NaiveLinear.inputGradient(g: gd, w: wd, n: rows, f: f, m: m)
        inputGradient.shape = inputShape
        c.expectMatches("∇X", dx, inputGradient)
        let newWeight = NaiveLinear.weightGradient(x: xd, g: gd, n: rows, f: f, m: m)
        let newBias = NaiveLinear.biasGradient(g: gd, n: rows, m: m)
        weightGradient = accumulate ? sum(weightGradient, newWeight) : newWeight
        biasGradient = accumulate ? sum(biasGradient, newBias) : newBias
        c.expectMatches("∇W", layer.weightGradient, weightGradient)
        if hasBias {
            if let db = layer.biasGradient { c.expectMatches("∇b", db, biasGradient) } else { c.fail("no bias gradient") }
        } else if layer.biasGradient != nil {
            c.fail("a layer without bias has a bias gradient")
        }
        if c.chance(0.2) {
            // The seed's contract: the kept X serves any number of backward passes.
            let again = c.outcome("second backward", throws: nil) { () throws(PerceptronError) in try layer.backward(g) }
            c.expectIdentical("∇X of the second backward", again ?? dx, dx)
            (weightGradient, biasGradient) = (newWeight, newBias)
            c.expectMatches("∇W of the second backward", layer.weightGradient, weightGradient)
            if hasBias, let db = layer.biasGradient { c.expectMatches("∇b of the second backward", db, biasGradient) }
        }
    }
}

/// Two accumulated references: values and magnitudes add, and so do the terms.
func sum(_ a: Reference, _ b: Reference) -> Reference {
    Reference(
        shape: b.shape, values: zip(a.values, b.values).map(+),
        magnitudes: zip(a.magnitudes, b.magnitudes).map(+), terms: a.terms + b.terms + 1)
}

// MARK: Activations

func activationCase<S: BLASScalar>(_: S.Type, _ c: PropertyCase) {
    let kind = c.pick(Activation.allCases)
    let slope: S = c.pick([0, 0.01, 0.2, 1, 3, -0.5])
    let layer = kind.make(S.self, slope: slope)
    let ε = Double(S.ulpOfOne)
    c.note("\(S.self) \(kind.name)\(kind == .leakyReLU ? "(slope: \(slope))" : "")")

    if c.chance(0.1) {
        c.outcome("backward before forward", throws: .backwardBeforeForward(layer: kind.name)) { () throws(PerceptronError) in
            try layer.backward(Tensor(shape: [2]))
        }
    }
    for pass in 0..<c.int(1...2) {
        var shape = c.shape(rank: c.int(0...4))
        if c.chance(0.05) { shape = [0, c.pick(PropertyCase.hugeDimensions.filter { $0 < Int.max / 8 })] }
        let x = try! Tensor<S>(shape: shape, scalars: c.edgy(shape.reduce(1, *)))
        let columns = shape.last ?? 1
        let expected: PerceptronError? = kind == .softmax && shape.isEmpty
            ? .rankMismatch(what: "Softmax input", expected: "of rank 1 or more", shape: []) : nil
        guard let y = c.outcome("pass \(pass): forward \(shape)", throws: expected, { () throws(PerceptronError) in try layer(x) })
        else { return }
        let xd = x.doubles
        let reference = kind.forward(xd, columns: columns, slope: Double(slope), epsilon: ε)
        if y.shape != shape { c.fail("output shape \(y.shape), expected \(shape)") }
        c.expectClose("y", y.scalars, reference.values, reference.bounds)

        // Gradients without the largest finite values: an intermediate that
        // overflows in the precision but not in Double is IEEE behaviour, not an error.
        let gShape = c.chance(0.85) ? shape : c.wrongShape(near: shape)
        let g = try! Tensor<S>(shape: gShape, scalars: c.edgy(gShape.reduce(1, *), extremes: false))
        let gError: PerceptronError? = gShape == shape
            ? nil : .shapeMismatch(what: "\(kind.name) output gradient", expected: shape, actual: gShape)
        guard let dx = c.outcome("backward \(gShape)", throws: gError, { () throws(PerceptronError) in try layer.backward(g) })
        else { continue }
        let derivative = kind.backward(x: xd, y: y.doubles, g: g.doubles, columns: columns, slope: Double(slope), epsilon: ε)
        if dx.shape != shape { c.fail("input gradient shape \(dx.shape), expected \(shape)") }
        c.expectClose("∂E/∂x", dx.scalars, derivative.values, derivative.bounds)
        if c.chance(0.2) {
            // The kept input and output serve any number of backward passes.
            let again = c.outcome("second backward", throws: nil) { () throws(PerceptronError) in try layer.backward(g) }
            c.expectIdentical("∂E/∂x of the second backward", again ?? dx, dx)
        }
    }
}

// MARK: Sequential

/// A layer of a random network, described so that it can be built twice alike.
enum LayerSpec {
    case linear(Int, Int, bias: Bool)
    case activation(Activation)
}

func sequentialCase<S: BLASScalar>(_: S.Type, _ c: PropertyCase) {
    // A chain of Linear layers with activations between; sometimes a wrong width.
    var specs: [LayerSpec] = []
    var width = c.dimension()
    let inputWidth = width
    for _ in 0..<c.int(0...4) {
        if c.chance(0.6) {
            let next = c.dimension()
            let from = c.chance(0.1) ? width + c.int(1...2) : width
            specs.append(.linear(from, next, bias: c.chance(0.7)))
            width = next
        } else {
            specs.append(.activation(c.pick(Activation.allCases)))
        }
    }
    let layerSeed = c.generator.next()
    func build() -> [any Layer<S>] {
        var generator = SeededRandomNumberGenerator(seed: layerSeed)
        return specs.map { spec in
            switch spec {
            case let .linear(f, m, bias): Linear<S>(inputFeatures: f, outputFeatures: m, bias: bias, using: &generator)
            case let .activation(kind): kind.make(S.self, slope: 0.1)
            }
        }
    }
    let description = specs.map { spec -> String in
        switch spec {
        case let .linear(f, m, bias): "Linear(\(f)→\(m)\(bias ? "" : ", no bias"))"
        case let .activation(kind): kind.name
        }
    }
    c.note("\(S.self) Sequential[\(description.joined(separator: ", "))]")
    let model = Sequential<S>(build())
    let twins = build()

    var shape = c.shape(rank: c.int(0...2), maxCount: 20) + [inputWidth]
    if c.chance(0.1) { shape = c.wrongShape(near: shape) }
    let x = try! Tensor<S>(shape: shape, scalars: c.uniform(shape.reduce(1, *), -2...2))

    // The reference: the twin layers applied one by one, stopping at the first error.
    var expectedOutput: Tensor<S>? = x
    var expectedError: PerceptronError?
    for (index, layer) in twins.enumerated() where expectedError == nil {
        do throws(PerceptronError) {
            expectedOutput = try layer.forward(expectedOutput!)
        } catch {
            // Sequential names the layer: its position and its type without generic arguments.
            let type = String(String(describing: Swift.type(of: layer)).prefix { $0 != "<" })
            expectedError = .inLayer(index: index, type: type, error: error)
            expectedOutput = nil
        }
    }
    guard let y = c.outcome("forward \(shape)", throws: expectedError, { () throws(PerceptronError) in try model(x) }) else { return }
    c.expectIdentical("output", y, expectedOutput)

    let g = try! Tensor<S>(shape: y.shape, scalars: c.uniform(y.count))
    var expectedGradient = g
    for layer in twins.reversed() { expectedGradient = try! layer.backward(expectedGradient) }
    guard let dx = c.outcome("backward", throws: nil, { () throws(PerceptronError) in try model.backward(g) }) else { return }
    c.expectIdentical("input gradient", dx, expectedGradient)

    var names: [String] = [], gradients: [Tensor<S>] = []
    try? model.forEachParameter { name, _, gradient in
        names.append(name)
        gradients.append(gradient)
    }
    var expectedNames: [String] = [], expectedGradients: [Tensor<S>] = []
    for (index, layer) in twins.enumerated() {
        try? layer.forEachParameter { name, _, gradient in
            expectedNames.append("\(index).\(name)")
            expectedGradients.append(gradient)
        }
    }
    if names != expectedNames { c.fail("parameter names \(names), expected \(expectedNames)") }
    for (index, (got, expected)) in zip(gradients, expectedGradients).enumerated() {
        c.expectIdentical("gradient of \(names[index])", got, expected)
    }
}

// MARK: Losses

func meanSquaredErrorCase<S: BLASScalar>(_: S.Type, _ c: PropertyCase) {
    let loss = MeanSquaredError<S>()
    let ε = Double(S.ulpOfOne)
    c.note("\(S.self)")
    if c.chance(0.1) {
        c.outcome("backward before forward", throws: .backwardBeforeForward(layer: "MeanSquaredError")) { () throws(PerceptronError) in
            try loss.backward()
        }
    }
    let shape = c.shape(rank: c.int(0...4))
    let targetShape = c.chance(0.8) ? shape : c.wrongShape(near: shape)
    // Moderate values, with an occasional NaN or infinity: a square that overflows in Float is IEEE, not an error.
    func values(_ count: Int) -> [S] {
        (0..<count).map { _ in c.chance(0.03) ? c.pick([.nan, .infinity, -.infinity]) : S.random(in: -10...10, using: &c.generator) }
    }
    let prediction = try! Tensor<S>(shape: shape, scalars: values(shape.reduce(1, *)))
    let target = try! Tensor<S>(shape: targetShape, scalars: values(targetShape.reduce(1, *)))
    let expected: PerceptronError? = targetShape == shape
        ? nil : .shapeMismatch(what: "MeanSquaredError target", expected: shape, actual: targetShape)
    guard let value = c.outcome("forward \(shape) against \(targetShape)", throws: expected, { () throws(PerceptronError) in
        try loss.forward(prediction, target: target)
    }) else { return }
    let d = zip(prediction.doubles, target.doubles).map { $0 - $1 }
    let n = Double(d.count)
    let squares = d.map { $0 * $0 }.reduce(0, +)
    // The mean of no elements is NaN, as in PyTorch.
    c.expectClose("E", [value], [squares / n], [Double(d.count + 4) * ε * squares / n])
    guard let g = c.outcome("backward", throws: nil, { () throws(PerceptronError) in try loss.backward() }) else { return }
    if g.shape != shape { c.fail("gradient shape \(g.shape)") }
    let gradient = d.map { 2 * $0 / n }
    c.expectClose("∂E/∂prediction", g.scalars, gradient, gradient.map { 4 * ε * abs($0) })
}

func crossEntropyCase<S: BLASScalar>(_: S.Type, _ c: PropertyCase) {
    let loss = SoftmaxCrossEntropy<S>()
    let ε = Double(S.ulpOfOne)
    if c.chance(0.1) {
        c.outcome("backward before forward", throws: .backwardBeforeForward(layer: "SoftmaxCrossEntropy")) { () throws(PerceptronError) in
            try loss.backward()
        }
    }
    var shape = [c.dimension(), c.dimension()]
    if c.chance(0.1) { shape = c.shape(rank: c.pick([0, 1, 3])) }
    let rows = shape.count == 2 ? shape[0] : c.int(0...3)
    let classes = shape.count == 2 ? shape[1] : 3
    var labels = (0..<rows).map { _ in classes > 0 ? c.int(0...(classes - 1)) : 0 }
    if c.chance(0.15) { labels.append(contentsOf: (0..<c.int(1...2)).map { _ in 0 }) }
    else if c.chance(0.1) && !labels.isEmpty { labels.removeLast() }
    if !labels.isEmpty && c.chance(0.2) {
        labels[c.int(0...(labels.count - 1))] = c.pick([-1, classes, classes + 7, Int.min, Int.max])
    }
    c.note("\(S.self) logits \(shape), labels \(labels)")
    let logits = try! Tensor<S>(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in
        c.chance(0.02) ? S.nan : (c.chance(0.1) ? S.random(in: -60...60, using: &c.generator) : S.random(in: -8...8, using: &c.generator))
    })

    var expected: PerceptronError?
    if shape.count != 2 {
        expected = .rankMismatch(what: "SoftmaxCrossEntropy logits", expected: "a matrix [samples, classes]", shape: shape)
    } else if labels.count != rows {
        expected = .countMismatch(what: "the number of labels (one per row of logits \(shape))", expected: rows, actual: labels.count)
    } else if let bad = labels.indices.first(where: { labels[$0] < 0 || labels[$0] >= classes }) {
        expected = .labelOutOfRange(index: bad, label: labels[bad], classes: classes)
    }
    guard let value = c.outcome("forward", throws: expected, { () throws(PerceptronError) in try loss.forward(logits, labels: labels) })
    else { return }

    // The reference: log-sum-exp per row, in Double; NaN anywhere in a row makes that row NaN.
    let z = logits.doubles
    var total = 0.0, magnitude = 0.0
    var gradient = [Double](repeating: 0, count: z.count), bounds = gradient
    for row in 0..<rows {
        let r = (row * classes)..<((row + 1) * classes)
        let maximum = z[r].contains(where: \.isNaN) ? .nan : z[r].max()!
        let sum = z[r].map { Foundation.exp($0 - maximum) }.reduce(0, +)
        let term = Foundation.log(sum) - (z[r.lowerBound + labels[row]] - maximum)
        total += term
        // The + 1: the sum is at least 1, and its rounding is an absolute error in its logarithm.
        magnitude += abs(Foundation.log(sum)) + abs(z[r.lowerBound + labels[row]] - maximum) + 1
        for j in r {
            let p = Foundation.exp(z[j] - maximum) / sum
            gradient[j] = (p - (j - r.lowerBound == labels[row] ? 1 : 0)) / Double(rows)
            bounds[j] = ε * (Double(classes) + 8 + abs(z[j] - maximum)) * (abs(p) + 1) / Double(rows)
        }
    }
    // An empty batch's mean is NaN, as in PyTorch.
    c.expectClose("E", [value], [total / Double(rows)], [ε * Double(classes + rows + 8) * magnitude / Double(max(rows, 1))])
    guard let g = c.outcome("backward", throws: nil, { () throws(PerceptronError) in try loss.backward() }) else { return }
    if g.shape != shape { c.fail("gradient shape \(g.shape)") }
    c.expectClose("∂E/∂logits", g.scalars, gradient, bounds)
}

// MARK: Optimizers

/// A few steps of SGD or Adam on a small model, with hyperparameters drawn
/// from inside and outside their domains, against PyTorch's update rules in
/// Double; the optimizers run in Double too, so a few units of rounding per
/// step separate them.
func optimizerCase(_ c: PropertyCase) throws {
    let ordinary: [Double] = [0, 1e-3, 0.1, 0.5, 0.9]
    let bad: [Double] = [-1e-3, -1, .nan, .infinity, -.infinity]
    func draw(_ good: [Double], _ wrong: [Double]) -> Double { c.chance(0.12) ? c.pick(wrong) : c.pick(good) }
    let useAdam = c.chance(0.5)

    var generator = SeededRandomNumberGenerator(seed: c.generator.next())
    let widths = (0...c.int(1...2)).map { _ in c.pick([1, 2, 3, 5]) }
    let layers: [any Layer<Double>] = (1..<widths.count).map {
        Linear<Double>(inputFeatures: widths[$0 - 1], outputFeatures: widths[$0], bias: c.chance(0.7), using: &generator)
    }
    let model = Sequential<Double>(layers)
    let loss = MeanSquaredError<Double>()
    let x = Tensor<Double>(shape: [4, widths[0]], randomIn: -1...1, using: &generator)
    let y = Tensor<Double>(shape: [4, widths.last!], randomIn: -1...1, using: &generator)

    // The reference state: parameters by name, and the optimizer's buffers.
    var parameters: [String: [Double]] = [:]
    var first: [String: [Double]] = [:], second: [String: [Double]] = [:]
    try model.forEachParameter { name, value, _ in parameters[name] = value.scalars }

    var expected: PerceptronError?
    func check(_ value: Double, _ name: String, below limit: Double? = nil) {
        guard expected == nil else { return }
        let inRange = value.isFinite && value >= 0 && (limit.map { value < $0 } ?? true)
        if !inRange {
            expected = .invalidArgument(
                name: name, expected: limit.map { "in 0.0..<\($0)" } ?? "finite and ≥ 0.0", actual: "\(value)")
        }
    }
    let step: () throws(PerceptronError) -> Void
    let update: (inout [Double], [Double], String, Int) -> Void
    if useAdam {
        let (lr, beta1, beta2) = (draw(ordinary + [1], bad), draw([0, 0.5, 0.9], bad + [1, 1.5]), draw([0, 0.9, 0.999], bad + [1, 2]))
        let (epsilon, decay, decoupled) = (draw([1e-8, 1e-3, 0.1], bad), draw([0, 0, 1e-2, 0.1], bad), c.chance(0.5))
        c.note("Adam(lr \(lr), β \(beta1), \(beta2), ε \(epsilon), decay \(decay), decoupled \(decoupled)) on widths \(widths)")
        check(lr, "learningRate"); check(beta1, "beta1", below: 1); check(beta2, "beta2", below: 1)
        check(epsilon, "epsilon"); check(decay, "weightDecay")
        let adam = Adam<Double>(
            learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: decay, decoupledWeightDecay: decoupled)
        step = { () throws(PerceptronError) in try adam.step(model) }
        update = { theta, gradient, name, t in
            var m = first[name] ?? .init(repeating: 0, count: theta.count)
            var v = second[name] ?? m
            for i in theta.indices {
                var g = gradient[i]
                if decoupled { theta[i] *= 1 - lr * decay } else { g += decay * theta[i] }
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                let mHat = m[i] / (1 - Foundation.pow(beta1, Double(t)))
                let vHat = v[i] / (1 - Foundation.pow(beta2, Double(t)))
                theta[i] -= lr * mHat / (vHat.squareRoot() + epsilon)
            }
            (first[name], second[name]) = (m, v)
        }
    } else {
        let (lr, momentum, decay) = (draw(ordinary + [1], bad), draw(ordinary + [0, 0], bad), draw([0, 0, 1e-2], bad))
        let nesterov = c.chance(0.3)
        c.note("SGD(lr \(lr), momentum \(momentum), decay \(decay), nesterov \(nesterov)) on widths \(widths)")
        check(lr, "learningRate"); check(momentum, "momentum"); check(decay, "weightDecay")
        if expected == nil && nesterov && momentum == 0 {
            expected = .invalidArgument(name: "momentum", expected: "> 0 with Nesterov momentum", actual: "0")
        }
        let sgd = SGD<Double>(learningRate: lr, momentum: momentum, weightDecay: decay, nesterov: nesterov)
        step = { () throws(PerceptronError) in try sgd.step(model) }
        update = { theta, gradient, name, _ in
            var buffer = first[name]
            for i in theta.indices {
                let g = gradient[i] + decay * theta[i]
                var direction = g
                if momentum != 0 {
                    let b = buffer.map { momentum * $0[i] + g } ?? g
                    if buffer == nil { buffer = .init(repeating: 0, count: theta.count) }
                    buffer![i] = b
                    direction = nesterov ? g + momentum * b : b
                }
                theta[i] -= lr * direction
            }
            first[name] = buffer
        }
    }

    let steps = c.int(1...3)
    for t in 1...steps {
        _ = try loss.forward(model(x), target: y)
        _ = try model.backward(loss.backward())
        var gradients: [String: [Double]] = [:]
        try model.forEachParameter { name, _, gradient in gradients[name] = gradient.scalars }
        c.outcome("step \(t)", throws: expected) { () throws(PerceptronError) in try step() }
        if expected != nil {
            // A refused step changes nothing.
            try model.forEachParameter { name, value, _ in
                if value.scalars != parameters[name] { c.fail("a refused step changed \(name)") }
            }
            return
        }
        let before = parameters
        for name in parameters.keys { update(&parameters[name]!, gradients[name]!, name, t) }
        try model.forEachParameter { name, value, _ in
            let reference = parameters[name]!
            // A few roundings of the parameter and of its update, which the reference may order differently.
            let bounds = zip(reference, before[name]!).map { 16 * Double.ulpOfOne * (abs($0) + abs($0 - $1)) }
            c.expectClose("\(name) after step \(t)", value.scalars, reference, bounds)
            // Keep the library's value so that rounding does not compound between steps.
            parameters[name] = value.scalars
        }
    }
}
