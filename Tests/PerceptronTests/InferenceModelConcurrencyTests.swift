// InferenceModel from many tasks at once: every call gives the bits the same
// call gives alone, whether its products run whole, on the worker pool, or in
// parts on the calling thread because another call holds the pool; and a
// model trained in one task while others serve its snapshot reaches none of
// them.
//
// Its name puts it in `make test-sanitize`'s ThreadSanitizer run (the filter
// takes "Concurrency"): `swift test --sanitize=thread --filter InferenceModelConcurrency`.
// It lives in the suite that owns the process-wide BLAS settings, so the
// thread count it sets stays put while it runs (see ConcurrencyTests.swift).

@_spi(Benchmarking) import Perceptron
import Testing

extension ProcessWideBLASSettings {
    @Suite("InferenceModel: many tasks give the sequential results, bit for bit")
    struct InferenceModelConcurrencyTests {
        /// One snapshot per architecture, each with inputs of several shapes and
        /// the outputs a single caller gets for them.
        struct Case: Sendable {
            let name: String
            let server: InferenceModel<Float>
            let inputs: [Tensor<Float>]
            let expected: [[UInt64]]
        }

        /// The cases, with every expected output checked against the model's own predict.
        static func cases() throws -> [Case] {
            try [Architecture.digits, .everyLayer, .nested, .wide].map { architecture in
                let (model, shapes) = try architecture.make(Float.self, seed: 3)
                let server = try InferenceModel(model)
                var g = SeededRandomNumberGenerator(seed: 4)
                let inputs = shapes.map { Tensor<Float>(shape: $0, randomIn: -2...2, using: &g) }
                let expected = try inputs.map { bits(try server($0)) }
                for (input, want) in zip(inputs, expected) {
                    #expect(want == bits(try model.predict(input)), "\(architecture) \(input.shape): differs from predict")
                }
                return Case(name: "\(architecture)", server: server, inputs: inputs, expected: expected)
            } + packedCases()
        }

        /// The digits and wide models on packed weights (forced, so on every
        /// CPU where some packed kernel runs): one caller's outputs are the expected ones.
        static func packedCases() throws -> [Case] {
            guard PackedWeightsTests.packs else { return [] }
            let saved = BLAS.forcesWeightPacking
            defer { BLAS.forcesWeightPacking = saved }
            BLAS.forcesWeightPacking = true
            return try [Architecture.digits, .wide].map { architecture in
                let (model, shapes) = try architecture.make(Float.self, seed: 5)
                let server = try InferenceModel(model, kernels: .packedWeights)
                #expect(server.packedLayerCount == 2)
                var g = SeededRandomNumberGenerator(seed: 6)
                let inputs = shapes.map { Tensor<Float>(shape: $0, randomIn: -2...2, using: &g) }
                return Case(name: "\(architecture), packed", server: server, inputs: inputs,
                            expected: try inputs.map { bits(try server($0)) })
            }
        }

        /// 16 tasks share each snapshot and call it again and again, over every
        /// input in turn, at 1, 2 and 3 threads: the wide model's first product
        /// is split that many ways, on the pool or by a caller that found it busy.
        @Test(arguments: [1, 2, 3])
        func sixteenTasksShareOneSnapshot(threads: Int) async throws {
            let saved = BLAS.threadCount
            defer { BLAS.threadCount = saved }
            BLAS.threadCount = threads
            let cases = try Self.cases()
            let rounds = 25
            let mismatches = try await withThrowingTaskGroup(of: [String].self) { group in
                for task in 0..<16 {
                    group.addTask {
                        var found: [String] = []
                        for round in 0..<rounds {
                            // Each task starts at a different case, so different work overlaps.
                            for offset in 0..<cases.count {
                                let c = cases[(task + offset) % cases.count]
                                for index in c.inputs.indices where bits(try c.server(c.inputs[index])) != c.expected[index] {
                                    found.append("task \(task), round \(round): \(c.name) input \(c.inputs[index].shape)")
                                }
                            }
                        }
                        return found
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(mismatches.isEmpty, "\(threads) threads, \(mismatches.count) calls differ from sequential use: \(mismatches.prefix(5))")
        }

        /// The example of the "Serving a model" article, as printed there: each
        /// request's answer, in order, is the model's predict for it.
        @Test func theArticlesServer() async throws {
            let (model, _) = try Architecture.digits.make(Float.self, seed: 12)

            // After training: one snapshot, shared by every request.
            let server = try InferenceModel(model)

            /// The model's answer to each request, computed in parallel, in the requests' order.
            func answers(to requests: [Tensor<Float>]) async throws -> [Tensor<Float>] {
                try await withThrowingTaskGroup(of: (Int, Tensor<Float>).self) { group in
                    for (index, request) in requests.enumerated() {
                        group.addTask { (index, try server(request)) }
                    }
                    var answers = [Tensor<Float>?](repeating: nil, count: requests.count)
                    for try await (index, answer) in group { answers[index] = answer }
                    return answers.map { $0! }
                }
            }

            var g = SeededRandomNumberGenerator(seed: 13)
            let requests = (0..<48).map { index in
                Tensor<Float>(shape: index.isMultiple(of: 3) ? [32, 64] : [64], randomIn: -2...2, using: &g)
            }
            let got = try await answers(to: requests)
            #expect(got.count == requests.count)
            for (request, answer) in zip(requests, got) {
                #expect(bits(answer) == bits(try model.predict(request)), "the answer to a request of shape \(request.shape)")
            }
        }

        /// One task trains the model (forward, backward, Adam, every parameter
        /// written in place) while 15 others serve its snapshot: the servers
        /// keep getting the snapshot's outputs, and the model does move.
        @Test func trainingTheModelWhileItsSnapshotServes() async throws {
            var g = SeededRandomNumberGenerator(seed: 8)
            let model = Sequential<Float>([
                Linear(inputFeatures: 64, outputFeatures: 64, using: &g), ReLU(),
                LayerNorm(features: 64), Linear(inputFeatures: 64, outputFeatures: 10, using: &g),
            ])
            let x = Tensor<Float>(shape: [32, 64], randomIn: -1...1, using: &g)
            let labels = (0..<32).map { $0 % 10 }
            let server = try InferenceModel(model)
            let expected = bits(try server(x))
            let before = bits(try model.predict(x))
            #expect(expected == before)
            // From here on only the training task uses the model.
            let trainee = HandedOver(model: model)

            let results = try await withThrowingTaskGroup(of: (served: Int, mismatches: Int, trained: [UInt64]?).self) { group in
                group.addTask {
                    let model = trainee.model
                    let loss = SoftmaxCrossEntropy<Float>()
                    let adam = Adam<Float>(learningRate: 0.01)
                    for _ in 0..<50 {
                        _ = try loss.forward(model(x), labels: labels)
                        _ = try model.backward(loss.backward())
                        try adam.step(model)
                    }
                    return (0, 0, bits(try model.predict(x)))
                }
                for _ in 0..<15 {
                    group.addTask {
                        var mismatches = 0
                        for _ in 0..<200 where bits(try server(x)) != expected { mismatches += 1 }
                        return (200, mismatches, nil)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.reduce(0) { $0 + $1.served } == 15 * 200)
            #expect(results.reduce(0) { $0 + $1.mismatches } == 0, "a server saw the training task's changes")
            let trained = try #require(results.compactMap(\.trained).first)
            #expect(trained != before, "training did not change the model, so the test shows nothing")
            #expect(bits(try server(x)) == expected)
        }
    }
}

/// A model handed to one task, which alone uses it from then on: what
/// `sending` says, for a value the compiler cannot follow into a task group.
private final class HandedOver: @unchecked Sendable {
    let model: Sequential<Float>
    init(model: Sequential<Float>) { self.model = model }
}
