@_spi(Benchmarking) import Perceptron
import Testing

/// The raw bits of every scalar, and the shape: equal means identical, NaN payloads included.
func bits<Scalar: BLASScalar>(_ tensor: Tensor<Scalar>) -> [UInt64] {
    tensor.scalars.map(\.bitPattern) + tensor.shape.map { UInt64(bitPattern: Int64($0)) }
}

/// Every parameter gradient a layer visits, by name, as raw bits.
func gradientBits<Scalar: BLASScalar>(_ layer: some Layer<Scalar>) -> [String: [UInt64]] {
    var result: [String: [UInt64]] = [:]
    try? layer.forEachParameter { name, _, gradient in result[name] = bits(gradient) }
    return result
}

/// The `Layer` contract, checked on a fresh layer from `make`:
///
/// - `predict` gives `forward`'s output bit for bit (unless `predictIsIdentity`,
///   for dropout, where it must return its input itself);
/// - a `predict` on other data between `forward` and `backward` changes no
///   gradient, and `backward` repeated gives the first result bit for bit;
/// - after `releaseCaches()`, `backward` throws `backwardBeforeForward(layer: name)`;
/// - a gradient of the wrong shape throws `shapeMismatch` naming the layer.
func checkLayerContract<Scalar: BLASScalar>(
    _ name: String, _ make: () -> any Layer<Scalar>, shape: [Int], predictIsIdentity: Bool = false,
    seed: UInt64 = 11, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    var generator = SeededRandomNumberGenerator(seed: seed)
    let x = Tensor<Scalar>(shape: shape, randomIn: -2...2, using: &generator)
    let other = Tensor<Scalar>(shape: shape, randomIn: -3...3, using: &generator)
    let g = Tensor<Scalar>(shape: shape, randomIn: -1...1, using: &generator)

    // predict against forward, on a layer of its own so that nothing else has run on it.
    let fresh = make()
    let y = try fresh.forward(x)
    let p = try fresh.predict(x)
    if predictIsIdentity {
        #expect(bits(p) == bits(x), "\(name): predict is not the identity", sourceLocation: sourceLocation)
        let same = x.withUnsafeBufferPointer { a in p.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress } }
        #expect(same, "\(name): predict copied its input", sourceLocation: sourceLocation)
    } else {
        #expect(bits(p) == bits(y), "\(name): predict differs from forward", sourceLocation: sourceLocation)
    }

    // The reference: forward, backward, with nothing in between.
    let reference = make()
    _ = try reference.forward(x)
    let referenceInput = bits(try reference.backward(g))
    let referenceParameters = gradientBits(reference)

    let layer = make()
    _ = try layer.forward(x)
    _ = try layer.predict(other)
    _ = try layer.predict(other)
    #expect(bits(try layer.backward(g)) == referenceInput, "\(name): predict changed ∂E/∂x", sourceLocation: sourceLocation)
    #expect(gradientBits(layer) == referenceParameters, "\(name): predict changed a parameter gradient",
            sourceLocation: sourceLocation)
    for _ in 0..<2 {
        #expect(bits(try layer.backward(g)) == referenceInput, "\(name): a repeated backward differs",
                sourceLocation: sourceLocation)
        #expect(gradientBits(layer) == referenceParameters, "\(name): a repeated backward changed a parameter gradient",
                sourceLocation: sourceLocation)
    }

    var wrong = shape
    wrong[wrong.count - 1] += 1
    let error = #expect(throws: PerceptronError.self, sourceLocation: sourceLocation) {
        try layer.backward(Tensor(shape: wrong), accumulate: false)
    }
    #expect(error == .shapeMismatch(what: "\(name) output gradient", expected: shape, actual: wrong),
            sourceLocation: sourceLocation)
    #expect(error?.description == "\(name) output gradient must have shape \(shape), but has shape \(wrong)",
            sourceLocation: sourceLocation)

    layer.releaseCaches()
    #expect(throws: PerceptronError.backwardBeforeForward(layer: name), sourceLocation: sourceLocation) {
        try layer.backward(g, accumulate: false)
    }
    #expect(throws: PerceptronError.backwardBeforeForward(layer: name), sourceLocation: sourceLocation) {
        try make().backward(g, accumulate: false)
    }
}
