/// The binary cross-entropy of a sigmoid, computed from the logits and
/// averaged over all elements: for logits `z` and targets `t` in `[0, 1]`,
/// `E = (1/N) Σ −[t·log σ(z) + (1 − t)·log(1 − σ(z))]` over the `N` elements;
/// PyTorch's `BCEWithLogitsLoss()` with its default mean reduction (no
/// `weight`, no `pos_weight`).
///
/// ```swift
/// let loss = BinaryCrossEntropyWithLogits<Float>()
/// let e = try loss.forward(model(x), targets: y)     // y: the model output's shape, in 0...1
/// _ = try model.backward(try loss.backward())
/// ```
///
/// Fusing the sigmoid into the loss is stabler than a ``Sigmoid`` layer
/// followed by logarithms: each term is computed as
/// `max(z, 0) − z·t + log(1 + e^(−|z|))`, whose exponential is at most 1, so
/// it is finite for any finite logit (`±10⁴` included), and the gradient is
/// simply `(σ(z) − t) / N`. Targets between 0 and 1 (soft labels) are allowed;
/// unlike PyTorch, which computes a meaningless loss for them, targets outside
/// `0...1` or NaN are refused.
public final class BinaryCrossEntropyWithLogits<Scalar: BLASScalar>: Loss {
    /// `σ(z) − t` from the last forward pass; the backward pass scales it into ``gradient``.
    private var difference: Tensor<Scalar>?
    private var gradient: Tensor<Scalar>?

    /// Creates the loss.
    public init() {}

    /// Returns the mean binary cross-entropy of `logits` (any shape) against
    /// `targets` (the same shape, each in `0...1`), keeping `σ(z) − t` for
    /// ``backward()``.
    ///
    /// The mean of no elements is NaN, as in PyTorch. A NaN logit gives a NaN loss.
    ///
    /// - Throws: ``PerceptronError/shapeMismatch(what:expected:actual:)`` when
    ///   `targets` is not shaped like `logits`, and
    ///   ``PerceptronError/invalidArgument(name:expected:actual:)`` naming the
    ///   first target outside `0...1` (or NaN) and its position in row-major order.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ logits: Tensor<Scalar>, targets: Tensor<Scalar>) throws(PerceptronError) -> Scalar {
        guard targets.hasShape(logits.shape) else {
            throw .shapeMismatch(what: "BinaryCrossEntropyWithLogits targets", expected: logits.shape, actual: targets.shape)
        }
        let count = logits.count
        // Checked before anything is written, so that a refused call leaves the last forward pass intact.
        let invalid = targets.withUnsafeScalars { t in
            for i in 0..<count where !(t[i] >= 0 && t[i] <= 1) { return i }
            return -1
        }
        if invalid >= 0 {
            throw .invalidArgument(
                name: "targets", expected: "in 0...1", actual: "\(targets.withUnsafeScalars { $0[invalid] }) at position \(invalid)")
        }
        var d = try Tensor.reusing(&difference, shape: logits.shape)
        let sum = logits.withUnsafeScalars { z in
            targets.withUnsafeScalars { t in
                d.withUnsafeMutableScalars { d in
                    var sum: Scalar = 0
                    for i in 0..<count {
                        let (z, t) = (z[i], t[i])
                        // `z > 0 ? z : 0`, not max(z, 0): a NaN logit must reach the loss.
                        let positivePart: Scalar = z > 0 ? z : 0
                        sum += positivePart - z * t + Elementary.log1p(Elementary.exp(-z.magnitude))
                        d[i] = Sigmoid<Scalar>.sigmoid(z) - t
                    }
                    return sum
                }
            }
        }
        difference = d
        return sum / Scalar(count)
    }

    /// The same as ``forward(_:targets:)``: `target` holds one target in `0...1` per logit.
    public func forward(_ logits: Tensor<Scalar>, target: Tensor<Scalar>) throws(PerceptronError) -> Scalar {
        try forward(logits, targets: target)
    }

    /// Returns `∂E/∂z = (σ(z) − t) / N` for the last forward pass, shaped like its logits.
    ///
    /// - Throws: ``PerceptronError/backwardBeforeForward(layer:)`` before any forward pass.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward() throws(PerceptronError) -> Tensor<Scalar> {
        guard let difference else { throw .backwardBeforeForward(layer: "BinaryCrossEntropyWithLogits") }
        var g = try Tensor.reusing(&gradient, shape: difference.shape)
        let count = difference.count
        let scale = 1 / Scalar(count)
        difference.withUnsafeScalars { d in
            g.withUnsafeMutableScalars { out in
                for i in 0..<count { out[i] = scale * d[i] }
            }
        }
        gradient = g
        return g
    }
}
