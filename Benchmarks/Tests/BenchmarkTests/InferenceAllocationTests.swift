import CAllocationCounter
@_spi(Benchmarking) import Perceptron
import Testing

/// What a call of an ``InferenceModel`` allocates: its results, exactly as the
/// model's `predict` does, and the same on every call; the snapshot adds
/// nothing per call and keeps nothing from one call to the next.
@Suite("Heap allocations of InferenceModel")
struct InferenceAllocationTests {
    @Test(.needsAllocationCounter, arguments: [1, 32], [false, true])
    func aCallAllocatesWhatPredictDoes(batch: Int, double: Bool) throws {
        if double { try check(Double.self, batch: batch) } else { try check(Float.self, batch: batch) }
    }

    private func check<S: BLASScalar>(_: S.Type, batch: Int) throws {
        var generator = SeededRandomNumberGenerator(seed: 4)
        let model = Sequential<S>([
            Linear(inputFeatures: 64, outputFeatures: 64, using: &generator), ReLU(),
            try Dropout(probability: 0.1, seed: 1),
            Linear(inputFeatures: 64, outputFeatures: 10, using: &generator),
        ])
        let server = try InferenceModel(model)
        let x = Tensor<S>(shape: [batch, 64], randomIn: -1...1, using: &generator)
        _ = try server(x)
        _ = try model.predict(x)
        var served: [UInt64] = []
        var predicted: [UInt64] = []
        for _ in 0..<5 {
            var values: (S, S) = (0, 0)
            served.append(try allocations { values.0 = first(try server(x)) })
            predicted.append(try allocations { values.1 = first(try model.predict(x)) })
            #expect(values.0 == values.1 && values.0.isFinite)
        }
        #expect(served == predicted, "\(S.self) batch \(batch): a call allocates \(served), predict \(predicted)")
        #expect(Set(served).count == 1, "\(S.self) batch \(batch): calls allocate different amounts, \(served)")
        // Each Linear and the ReLU write a new result; the counter must see them.
        #expect(served[0] >= 3, "\(S.self) batch \(batch): \(served[0]) allocations for three new results")
    }

    /// On packed weights, requests of up to 64 rows run on the library's own
    /// kernel, a plain call: a request allocates what predict does. (Packing
    /// is forced, so that every layer is served packed at every size.)
    @Test(.needsAllocationCounter, arguments: [1, 32])
    func aPackedCallAllocatesWhatPredictDoes(batch: Int) throws {
        var generator = SeededRandomNumberGenerator(seed: 5)
        let model = Sequential<Float>([
            Linear(inputFeatures: 64, outputFeatures: 64, using: &generator), ReLU(),
            Linear(inputFeatures: 64, outputFeatures: 10, using: &generator),
        ])
        let saved = BLAS.forcesWeightPacking
        BLAS.forcesWeightPacking = true
        defer { BLAS.forcesWeightPacking = saved }
        let server = try InferenceModel(model, kernels: .packedWeights)
        guard let kernel = BLAS.configuration.packedWeightKernel else {
            // With neither AVX-512F nor AVX2 and FMA the library's kernel is
            // not there to count; forced, oneDNN packs the weights instead, if present.
            #expect(server.packedLayerCount == (BLAS.configuration.oneDNN == nil ? 0 : 2))
            return
        }
        #expect(server.packedImplementations.contains(kernel))
        #expect(server.packedLayerCount == 2)
        let x = Tensor<Float>(shape: [batch, 64], randomIn: -1...1, using: &generator)
        _ = try server(x)
        _ = try model.predict(x)
        var served: [UInt64] = []
        var predicted: [UInt64] = []
        for _ in 0..<5 {
            served.append(try allocations { _ = try server(x) })
            predicted.append(try allocations { _ = try model.predict(x) })
        }
        #expect(served == predicted, "batch \(batch): a packed call allocates \(served), predict \(predicted)")
    }
}
