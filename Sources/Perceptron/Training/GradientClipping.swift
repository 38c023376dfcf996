/// Scales every parameter gradient of `model` in place so that their global
/// L2 norm is at most `maxNorm`, and returns the norm before clipping, as
/// PyTorch's `torch.nn.utils.clip_grad_norm_` does.
///
/// The norm is `√(Σ g²)` over every element of every gradient
/// ``Layer/forEachParameter(_:)`` visits, summed in Double. When it exceeds
/// `maxNorm`, each gradient is multiplied by `maxNorm / (norm + 10⁻⁶)`, the
/// same coefficient PyTorch uses; otherwise the gradients are left as they
/// are. Call it between the backward pass and the optimizer's step:
///
/// ```swift
/// _ = try model.backward(try loss.backward())
/// let norm = try clipGradientNorm(model, maxNorm: 1)
/// try optimizer.step(model)
/// ```
///
/// A norm that is not finite (a gradient holds NaN or infinity) is returned
/// as it is and the gradients are left untouched: check the result before
/// stepping, as scaling by a coefficient of 0 or NaN would only hide it.
///
/// - Throws: ``PerceptronError/invalidArgument(name:expected:actual:)`` when
///   `maxNorm` is negative or not finite.
@discardableResult
public func clipGradientNorm<Scalar: BLASScalar>(
    _ model: some Layer<Scalar>, maxNorm: Scalar
) throws(PerceptronError) -> Scalar {
    try validate(maxNorm, "maxNorm")
    var sumOfSquares = 0.0
    try model.forEachParameter { _, _, gradient in sumOfSquares += squaredNorm(gradient) }
    let norm = sumOfSquares.squareRoot()
    let coefficient = Double(maxNorm) / (norm + 1e-6)
    guard norm.isFinite, coefficient < 1 else { return Scalar(norm) }
    let scale = Scalar(coefficient)
    try model.forEachParameter { _, _, gradient in
        let count = gradient.count
        gradient.withUnsafeMutableScalars { Kernels.scale($0, count: count, by: scale) }
    }
    return Scalar(norm)
}

/// `Σ g²` over the scalars of `gradient`, in Double. Compiled for Float and
/// Double: the caller is generic over the model too, so only this loop can be
/// specialised, and unspecialised it would run tens of times slower.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func squaredNorm<Scalar: BLASScalar>(_ gradient: Tensor<Scalar>) -> Double {
    let count = gradient.count
    return gradient.withUnsafeScalars { g in
        var sum = 0.0
        for i in 0..<count { sum += Double(g[i]) * Double(g[i]) }
        return sum
    }
}
