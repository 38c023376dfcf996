@_spi(Benchmarking) import Perceptron
import Testing

/// A layer shape to test: input of shape `batch + [f]`, `m` outputs.
struct LinearCase: Sendable, CustomTestStringConvertible {
    var batch: [Int]
    var f: Int
    var m: Int
    var bias = true

    var rows: Int { batch.reduce(1, *) }
    var inputShape: [Int] { batch + [f] }
    var outputShape: [Int] { batch + [m] }
    var testDescription: String { "X\(inputShape) W[\(f), \(m)]\(bias ? "" : " no bias")" }

    static let all: [LinearCase] = [
        LinearCase(batch: [1], f: 1, m: 1),
        LinearCase(batch: [7], f: 13, m: 5),
        LinearCase(batch: [37], f: 53, m: 41),
        LinearCase(batch: [31], f: 1, m: 17),
        LinearCase(batch: [17], f: 29, m: 1),
        LinearCase(batch: [0], f: 4, m: 3),
        LinearCase(batch: [], f: 5, m: 3),
        LinearCase(batch: [2, 3], f: 4, m: 5),
        LinearCase(batch: [3, 0, 2], f: 6, m: 2),
        LinearCase(batch: [11], f: 7, m: 9, bias: false),
        LinearCase(batch: [2, 5], f: 3, m: 4, bias: false),
        LinearCase(batch: [129], f: 100, m: 67),
        // Over BLAS.parallelThreshold: split by rows across threads.
        LinearCase(batch: [151], f: 131, m: 117),
        // Over OpenBLAS's own small-matrix limit, under BLAS.smallKernelLimit:
        // Z, ∇W (and ∇X in Double) on the small-matrix kernels, split in two.
        LinearCase(batch: [96], f: 200, m: 160),
        LinearCase(batch: [4, 32], f: 256, m: 256, bias: false),
        LinearCase(batch: [3, 61], f: 127, m: 109, bias: false),
    ]
}

@Suite("Linear against a naive Double reference")
struct LinearReferenceTests {
    @Test("Float", arguments: LinearCase.all)
    func float(_ testCase: LinearCase) throws {
        try check(Float.self, testCase)
    }

    @Test("Double", arguments: LinearCase.all)
    func double(_ testCase: LinearCase) throws {
        try check(Double.self, testCase)
    }

    /// Forward and all three gradients, each against its own naive loop.
    func check<Scalar: BLASScalar>(_: Scalar.Type, _ c: LinearCase) throws {
        var generator = SeededRandomNumberGenerator(seed: UInt64(c.rows * 1_000 + c.f * 10 + c.m))
        let layer = Linear<Scalar>(inputFeatures: c.f, outputFeatures: c.m, bias: c.bias, using: &generator)
        let x = try Tensor(shape: c.inputShape, scalars: randomScalars(c.rows * c.f, as: Scalar.self, using: &generator))
        let g = try Tensor(shape: c.outputShape, scalars: randomScalars(c.rows * c.m, as: Scalar.self, using: &generator))

        let z = try layer(x)
        #expect(z.shape == c.outputShape)
        let (xd, wd, gd) = (x.doubles, layer.weight.doubles, g.doubles)
        expectMatches(z, NaiveLinear.forward(x: xd, w: wd, b: layer.bias?.doubles, n: c.rows, f: c.f, m: c.m), "Z")

        let dx = try layer.backward(g)
        #expect(dx.shape == c.inputShape)
        expectMatches(dx, NaiveLinear.inputGradient(g: gd, w: wd, n: c.rows, f: c.f, m: c.m), "∇X")
        expectMatches(layer.weightGradient, NaiveLinear.weightGradient(x: xd, g: gd, n: c.rows, f: c.f, m: c.m), "∇W")
        if c.bias {
            let db = try #require(layer.biasGradient)
            expectMatches(db, NaiveLinear.biasGradient(g: gd, n: c.rows, m: c.m), "∇b")
        } else {
            #expect(layer.biasGradient == nil)
        }
    }
}

extension ProcessWideBLASSettings {
    @Suite("Parallel GEMM")
    struct ParallelTests {
        /// A product large enough to be split, computed with 1, 2, 3 and 5 threads:
        /// every split (even, uneven, more parts than cores) must match the reference.
        @Test(arguments: [1, 2, 3, 5])
        func rowSplitsMatchTheReference(threads: Int) throws {
            try checkLayer(threads: threads)
        }

        /// The same with the backward products run one after the other, each
        /// split across all the threads, instead of side by side.
        @Test(arguments: [2, 3])
        func backwardProductsInTurnMatchTheReference(threads: Int) throws {
            let saved = BLAS.runsIndependentProductsSideBySide
            defer { BLAS.runsIndependentProductsSideBySide = saved }
            BLAS.runsIndependentProductsSideBySide = false
            #expect(!BLAS.runsIndependentProductsSideBySide)
            try checkLayer(threads: threads)
        }

        /// Forward and backward of a layer over the splitting threshold with
        /// `threads` threads, against loops in Double.
        func checkLayer(threads: Int) throws {
            let saved = BLAS.threadCount
            defer { BLAS.threadCount = saved }
            BLAS.threadCount = threads
            #expect(BLAS.threadCount == threads)
            let c = LinearCase(batch: [157], f: 137, m: 113)
            var generator = SeededRandomNumberGenerator(seed: UInt64(threads))
            let layer = Linear<Double>(inputFeatures: c.f, outputFeatures: c.m, using: &generator)
            let x = Tensor<Double>(shape: c.inputShape, randomIn: -1...1, using: &generator)
            let g = Tensor<Double>(shape: c.outputShape, randomIn: -1...1, using: &generator)
            let z = try layer(x)
            let dx = try layer.backward(g)
            let (xd, wd, gd) = (x.doubles, layer.weight.doubles, g.doubles)
            expectMatches(z, NaiveLinear.forward(x: xd, w: wd, b: layer.bias?.doubles, n: c.rows, f: c.f, m: c.m), "Z")
            expectMatches(dx, NaiveLinear.inputGradient(g: gd, w: wd, n: c.rows, f: c.f, m: c.m), "∇X")
            expectMatches(layer.weightGradient, NaiveLinear.weightGradient(x: xd, g: gd, n: c.rows, f: c.f, m: c.m), "∇W")
        }

        @Test func threadCountBelowOneMeansOne() {
            let saved = BLAS.threadCount
            defer { BLAS.threadCount = saved }
            BLAS.threadCount = 0
            #expect(BLAS.threadCount == 1)
        }
    }
}

@Suite("Linear behaviour")
struct LinearBehaviourTests {
    func makeLayer(f: Int = 3, m: Int = 2, seed: UInt64 = 1) -> Linear<Double> {
        var generator = SeededRandomNumberGenerator(seed: seed)
        return Linear<Double>(inputFeatures: f, outputFeatures: m, using: &generator)
    }

    func input(_ shape: [Int], seed: UInt64) throws -> Tensor<Double> {
        var generator = SeededRandomNumberGenerator(seed: seed)
        return try Tensor(shape: shape, scalars: randomScalars(shape.reduce(1, *), using: &generator))
    }

    @Test func accumulateAddsAndOverwriteReplaces() throws {
        let layer = makeLayer()
        let (x1, g1) = (try input([4, 3], seed: 2), try input([4, 2], seed: 3))
        let (x2, g2) = (try input([5, 3], seed: 4), try input([5, 2], seed: 5))
        let w = layer.weight.doubles

        _ = try layer(x1)
        _ = try layer.backward(g1)
        _ = try layer(x2)
        _ = try layer.backward(g2, accumulate: true)
        let first = NaiveLinear.weightGradient(x: x1.doubles, g: g1.doubles, n: 4, f: 3, m: 2)
        let second = NaiveLinear.weightGradient(x: x2.doubles, g: g2.doubles, n: 5, f: 3, m: 2)
        var sum = first
        sum.values = zip(first.values, second.values).map(+)
        sum.magnitudes = zip(first.magnitudes, second.magnitudes).map(+)
        sum.terms = 9
        expectMatches(layer.weightGradient, sum, "accumulated ∇W")
        let biasSum = zip(
            NaiveLinear.biasGradient(g: g1.doubles, n: 4, m: 2).values,
            NaiveLinear.biasGradient(g: g2.doubles, n: 5, m: 2).values).map(+)
        for (got, expected) in zip(try #require(layer.biasGradient).scalars, biasSum) {
            #expect(abs(got - expected) <= 1e-14)
        }

        // Without accumulate, the next backward replaces both.
        _ = try layer(x2)
        _ = try layer.backward(g2)
        expectMatches(layer.weightGradient, second, "overwritten ∇W")
        #expect(layer.weight.doubles == w, "backward must not change the weight")
    }

    @Test func zeroGradientsClearsBoth() throws {
        let layer = makeLayer()
        _ = try layer(try input([4, 3], seed: 2))
        _ = try layer.backward(try input([4, 2], seed: 3))
        #expect(layer.weightGradient.scalars.contains { $0 != 0 })
        let kept = layer.weightGradient
        layer.zeroGradients()
        #expect(layer.weightGradient.scalars.allSatisfy { $0 == 0 })
        #expect(try #require(layer.biasGradient).scalars.allSatisfy { $0 == 0 })
        #expect(kept.scalars.contains { $0 != 0 }, "a gradient read before zeroing keeps its values")
    }

    @Test func outputsHeldByTheCallerAreNeverOverwritten() throws {
        let layer = makeLayer()
        let (x1, x2) = (try input([4, 3], seed: 2), try input([4, 3], seed: 3))
        let z1 = try layer(x1)
        let copy = z1.scalars
        let dx1 = try layer.backward(try input([4, 2], seed: 4))
        let dxCopy = dx1.scalars
        let z2 = try layer(x2)
        _ = try layer.backward(try input([4, 2], seed: 5))
        #expect(z1.scalars == copy, "the first output must survive the second forward pass")
        #expect(dx1.scalars == dxCopy, "the first input gradient must survive the second backward pass")
        #expect(z2.scalars != copy)
    }

    @Test func pytorchInitialisationBounds() {
        for (f, m) in [(4, 300), (100, 50), (1, 64)] {
            let layer = makeLayer(f: f, m: m, seed: UInt64(f))
            let bound = 1 / Double(f).squareRoot()
            let all = layer.weight.scalars + layer.bias!.scalars
            #expect(all.allSatisfy { abs($0) <= bound })
            // The draws must spread over the interval, not sit at one value.
            #expect(all.max()! > bound / 2 && all.min()! < -bound / 2)
            #expect(layer.weight.shape == [f, m] && layer.bias!.shape == [m])
        }
        var a = SeededRandomNumberGenerator(seed: 9)
        var b = SeededRandomNumberGenerator(seed: 9)
        #expect(Linear<Float>(inputFeatures: 5, outputFeatures: 4, using: &a).weight
            == Linear<Float>(inputFeatures: 5, outputFeatures: 4, using: &b).weight)
    }

    @Test func initWithParameters() throws {
        let w = try Tensor<Float>([[1, 2], [3, 4], [5, 6]])
        let layer = try Linear(weight: w, bias: Tensor(shape: [2], scalars: [10, 20]))
        #expect(layer.inputFeatures == 3 && layer.outputFeatures == 2)
        let z = try layer(Tensor(shape: [3], scalars: [1, 1, 1]))
        #expect(z == (try Tensor(shape: [2], scalars: [19, 32])))
    }

    @Test func errorsNameExpectedAndActual() throws {
        let layer = makeLayer()
        #expect(throws: PerceptronError.backwardBeforeForward(layer: "Linear")) {
            try layer.backward(Tensor(shape: [1, 2]))
        }
        let wrongFeatures = #expect(throws: PerceptronError.self) { try layer(Tensor(shape: [4, 5])) }
        #expect(wrongFeatures == .featureMismatch(expected: 3, actual: 5, shape: [4, 5]))
        #expect(wrongFeatures?.description == "input must have 3 features in its last dimension, but has shape [4, 5] (last dimension 5)")
        #expect(throws: PerceptronError.rankMismatch(
            what: "Linear input", expected: "of rank 1 or more, with 3 features last", shape: [])) {
            try layer(Tensor(shape: []))
        }

        _ = try layer(Tensor(shape: [4, 3]))
        let wrongGradient = #expect(throws: PerceptronError.self) { try layer.backward(Tensor(shape: [4, 3])) }
        #expect(wrongGradient == .shapeMismatch(what: "Linear output gradient", expected: [4, 2], actual: [4, 3]))
        #expect(wrongGradient?.description == "Linear output gradient must have shape [4, 2], but has shape [4, 3]")

        #expect(throws: PerceptronError.rankMismatch(
            what: "Linear weight", expected: "a matrix [inputFeatures, outputFeatures]", shape: [6])) {
            try Linear(weight: Tensor<Float>(shape: [6]), bias: nil)
        }
        #expect(throws: PerceptronError.shapeMismatch(what: "Linear bias", expected: [2], actual: [3])) {
            try Linear(weight: Tensor<Float>(shape: [3, 2]), bias: Tensor(shape: [3]))
        }

        layer.weight = Tensor(shape: [2, 3])
        #expect(throws: PerceptronError.shapeMismatch(what: "Linear weight", expected: [3, 2], actual: [2, 3])) {
            try layer(Tensor(shape: [4, 3]))
        }
        layer.weight = Tensor(shape: [3, 2])
        layer.bias = Tensor(shape: [1, 2])
        #expect(throws: PerceptronError.shapeMismatch(what: "Linear bias", expected: [2], actual: [1, 2])) {
            try layer(Tensor(shape: [4, 3]))
        }
    }

    @Test func dimensionsOverInt32AreRefusedBeforeBLAS() throws {
        // An empty tensor can have a huge batch dimension without any memory:
        // the batch size still reaches BLAS as M, so it must be refused.
        let layer = Linear<Float>(inputFeatures: 0, outputFeatures: 2)
        let huge = Int(Int32.max) + 1
        let error = #expect(throws: PerceptronError.self) { try layer(Tensor(shape: [huge, 0])) }
        #expect(error == .dimensionTooLarge(what: "Linear batch size (rows of X)", value: huge, limit: Int(Int32.max)))
        #expect(error?.description == "Linear batch size (rows of X) is \(huge), but OpenBLAS accepts sizes up to 2147483647 (32-bit BLAS integers)")

        // A feature count over the limit, with no memory behind it either.
        let wide = Linear<Float>(inputFeatures: huge, outputFeatures: 0)
        let wideError = #expect(throws: PerceptronError.self) { try wide(Tensor(shape: [0, huge])) }
        #expect(wideError == .dimensionTooLarge(what: "Linear inputFeatures", value: huge, limit: Int(Int32.max)))
    }

    @Test func zeroFeatureLayerOutputsTheBias() throws {
        let layer = try Linear(weight: Tensor<Double>(shape: [0, 3]), bias: Tensor(shape: [3], scalars: [1, 2, 3]))
        let z = try layer(Tensor(shape: [2, 0]))
        #expect(z == (try Tensor([[1, 2, 3], [1, 2, 3]])))
        let dx = try layer.backward(Tensor(shape: [2, 3], repeating: 1))
        #expect(dx.shape == [2, 0])
        #expect(layer.biasGradient == (try Tensor(shape: [3], scalars: [2, 2, 2])))
    }

    @Test func nanAndInfinityPropagate() throws {
        let layer = try Linear(weight: Tensor<Float>([[1, 0], [0, 1]]), bias: nil)
        let z = try layer(Tensor([[.nan, 1], [.infinity, 2]]))
        #expect(z[0, 0].isNaN && z[0, 1].isNaN)   // NaN·0 is NaN
        #expect(z[1, 0] == .infinity && z[1, 1].isNaN)   // ∞·0 is NaN
    }
}
