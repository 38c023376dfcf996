/// Softmax followed by the cross-entropy with integer class labels, averaged
/// over the batch: `E = −(1/n) Σᵢ log softmax(zᵢ)[labelᵢ]`, as PyTorch's
/// `CrossEntropyLoss` with its default mean reduction.
///
/// Fusing the two is both cheaper and stabler than a ``Softmax`` layer
/// followed by a logarithm: the loss is computed as
/// `log Σⱼ e^(zⱼ − max) − (z_label − max)` (log-sum-exp), finite for any finite
/// logits, and the gradient is simply `(softmax(z) − onehot(label)) / n`.
public final class SoftmaxCrossEntropy<Scalar: BLASScalar> {
    /// The softmax of the last logits, overwritten by the backward pass with the gradient.
    private var probabilities: Tensor<Scalar>?
    private var gradient: Tensor<Scalar>?
    /// The last labels, kept for the backward pass.
    private var labels: [Int] = []

    /// Creates the loss.
    public init() {}

    /// Returns the mean cross-entropy of `logits` (`[n, classes]`) against
    /// `labels` (`n` integers in `0..<classes`).
    ///
    /// - Throws: a rank error unless `logits` is a matrix,
    ///   ``PerceptronError/countMismatch(what:expected:actual:)`` when there
    ///   is not one label per row, and
    ///   ``PerceptronError/labelOutOfRange(index:label:classes:)`` for a label
    ///   outside `0..<classes`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func forward(_ logits: Tensor<Scalar>, labels: [Int]) throws(PerceptronError) -> Scalar {
        guard logits.rank == 2 else {
            throw .rankMismatch(what: "SoftmaxCrossEntropy logits", expected: "a matrix [samples, classes]", shape: logits.shape)
        }
        let (n, classes) = (logits.shape[0], logits.shape[1])
        guard labels.count == n else {
            throw .countMismatch(what: "the number of labels (one per row of logits \(logits.shape))", expected: n, actual: labels.count)
        }
        for index in 0..<n where labels[index] < 0 || labels[index] >= classes {
            throw .labelOutOfRange(index: index, label: labels[index], classes: classes)
        }
        var p = try Tensor.reusing(&probabilities, shape: logits.shape)
        let total = logits.withUnsafeScalars { z in
            p.withUnsafeMutableScalars { y in
                var total: Scalar = 0
                for row in 0..<n {
                    let zRow = z + row * classes
                    let (maximum, sum) = Softmax<Scalar>.normalise(zRow, into: y + row * classes, count: classes)
                    total += Elementary.log(sum) - (zRow[labels[row]] - maximum)
                }
                return total
            }
        }
        probabilities = p
        keep(labels)
        return total / Scalar(n)
    }

    /// Returns `∂E/∂logits = (softmax(logits) − onehot(labels)) / n` for the last forward pass.
    ///
    /// - Throws: ``PerceptronError/backwardBeforeForward(layer:)`` before any forward pass.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward() throws(PerceptronError) -> Tensor<Scalar> {
        guard let probabilities else { throw .backwardBeforeForward(layer: "SoftmaxCrossEntropy") }
        var g = try Tensor.reusing(&gradient, shape: probabilities.shape)
        let (n, classes, count) = (probabilities.shape[0], probabilities.shape[1], probabilities.count)
        let scale = 1 / Scalar(n)
        let labels = self.labels
        probabilities.withUnsafeScalars { p in
            g.withUnsafeMutableScalars { out in
                for i in 0..<count { out[i] = p[i] * scale }
                for row in 0..<n { out[row * classes + labels[row]] -= scale }
            }
        }
        gradient = g
        return g
    }

    /// Copies `labels` into the kept array, in place when the count is
    /// unchanged: keeping a reference to the caller's array instead would make
    /// the caller's next in-place refill copy it.
    private func keep(_ labels: [Int]) {
        if self.labels.count == labels.count {
            for index in 0..<labels.count { self.labels[index] = labels[index] }
        } else {
            self.labels = []
            self.labels.append(contentsOf: labels)
        }
    }

    /// The softmax probabilities of the last forward pass, `[n, classes]`, or nil before it.
    public var lastProbabilities: Tensor<Scalar>? { probabilities }
}
