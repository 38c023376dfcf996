/// The mean squared error between a prediction and a target of the same shape:
/// `E = (1/N) Σ (prediction − target)²` over all N elements, as PyTorch's
/// `MSELoss` with its default mean reduction.
///
/// ```swift
/// let loss = MeanSquaredError<Float>()
/// let e = try loss.forward(model(x), target: y)
/// _ = try model.backward(try loss.backward())
/// ```
public final class MeanSquaredError<Scalar: BLASScalar> {
    /// `prediction − target` from the last forward pass; the backward pass scales it in place.
    private var difference: Tensor<Scalar>?
    private var gradient: Tensor<Scalar>?

    /// Creates the loss.
    public init() {}

    /// Returns the mean of the squared differences, keeping them for ``backward()``.
    ///
    /// - Throws: ``PerceptronError/shapeMismatch(what:expected:actual:)`` when
    ///   `target` is not shaped like `prediction`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ prediction: Tensor<Scalar>, target: Tensor<Scalar>) throws(PerceptronError) -> Scalar {
        guard target.hasShape(prediction.shape) else {
            throw .shapeMismatch(what: "MeanSquaredError target", expected: prediction.shape, actual: target.shape)
        }
        var d = try Tensor.reusing(&difference, shape: prediction.shape)
        let count = prediction.count
        let sum = prediction.withUnsafeScalars { p in
            target.withUnsafeScalars { t in
                d.withUnsafeMutableScalars { out in
                    var sum: Scalar = 0
                    for i in 0..<count {
                        out[i] = p[i] - t[i]
                        sum += out[i] * out[i]
                    }
                    return sum
                }
            }
        }
        difference = d
        // The mean of no elements is NaN, as in PyTorch.
        return sum / Scalar(count)
    }

    /// Returns `∂E/∂prediction = 2 (prediction − target) / N` for the last forward pass.
    ///
    /// - Throws: ``PerceptronError/backwardBeforeForward(layer:)`` before any forward pass.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward() throws(PerceptronError) -> Tensor<Scalar> {
        guard let difference else { throw .backwardBeforeForward(layer: "MeanSquaredError") }
        var g = try Tensor.reusing(&gradient, shape: difference.shape)
        let count = difference.count
        let scale = 2 / Scalar(count)
        difference.withUnsafeScalars { d in
            g.withUnsafeMutableScalars { out in
                for i in 0..<count { out[i] = scale * d[i] }
            }
        }
        gradient = g
        return g
    }
}
