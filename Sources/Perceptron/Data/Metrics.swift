// Predicted classes and accuracy, from a classifier's logits.

extension Tensor {
    /// The index of the largest scalar along the last dimension, for every
    /// position of the others: numpy's `np.argmax(x, axis=-1)`, PyTorch's
    /// `x.argmax(dim=-1)`, flattened.
    ///
    /// For logits `[n, classes]` this is the `n` predicted classes. For shape
    /// `[a, b, c]` it is `a·b` indices in row-major order; for a vector `[c]`,
    /// one index; for a rank-0 tensor, `[0]`, as numpy gives.
    ///
    /// Ties go to the first index. A NaN counts as larger than anything, as in
    /// numpy: a row with a NaN gives the index of its first NaN. A tensor
    /// with no rows gives `[]`.
    ///
    /// An empty last dimension with rows (shape `[3, 0]`) has no largest
    /// entry: numpy raises, and this traps with a message saying so, as a
    /// subscript out of range does. ``accuracy(logits:labels:)`` throws instead.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func argmax() -> [Int] {
        guard let columns = shape.last else { return [0] }
        let rows = leadingCount
        guard rows > 0 else { return [] }
        guard columns > 0 else {
            fatalError("Tensor.argmax: shape \(shape) has an empty last dimension, so no row has a largest entry")
        }
        return withUnsafeScalars { x in
            (0..<rows).map { row in Self.indexOfMaximum(x + row * columns, count: columns) }
        }
    }

    /// The index of the first NaN among `count ≥ 1` scalars, or else of the
    /// first largest one.
    static func indexOfMaximum(_ x: UnsafePointer<Scalar>, count: Int) -> Int {
        if x[0].isNaN { return 0 }
        var best = 0
        for i in 1..<count {
            if x[i].isNaN { return i }
            if x[i] > x[best] { best = i }
        }
        return best
    }
}

/// The fraction of rows of `logits` whose largest entry is at their label:
/// `(logits.argmax(-1) == labels).mean()` in numpy or PyTorch, scikit-learn's
/// `accuracy_score(labels, logits.argmax(-1))`.
///
/// `logits` is `[n, classes]`, as a classifier outputs it (probabilities do
/// as well: softmax keeps the largest entry); ties and NaN are resolved as by
/// ``Tensor/argmax()``. A single column, `[n, 1]`, is a binary classifier's
/// logit, as ``BinaryCrossEntropyWithLogits`` trains it: the prediction is
/// class 1 where the logit is positive and 0 elsewhere (NaN included), and
/// the labels are 0 or 1. Allocates nothing.
///
/// - Throws: ``PerceptronError/rankMismatch(what:expected:shape:)`` unless
///   `logits` is a matrix,
///   ``PerceptronError/invalidArgument(name:expected:actual:)`` when it has no
///   rows (the fraction would be 0/0) or no classes,
///   ``PerceptronError/countMismatch(what:expected:actual:)`` unless there is
///   one label per row, and ``PerceptronError/labelOutOfRange(index:label:classes:)``
///   for a label outside `0..<classes`, which no prediction could match.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func accuracy<Scalar: BLASScalar>(logits: Tensor<Scalar>, labels: [Int]) throws(PerceptronError) -> Double {
    guard logits.rank == 2 else {
        throw .rankMismatch(what: "accuracy logits", expected: "a matrix [samples, classes]", shape: logits.shape)
    }
    let (n, classes) = (logits.shape[0], logits.shape[1])
    guard n > 0, classes > 0 else {
        throw .invalidArgument(
            name: "accuracy logits", expected: "of at least one row and one class", actual: "of shape \(logits.shape)")
    }
    guard labels.count == n else {
        throw .countMismatch(what: "the number of labels (one per row of logits \(logits.shape))", expected: n, actual: labels.count)
    }
    // One logit per row stands for two classes.
    let labelCount = classes == 1 ? 2 : classes
    for index in 0..<n where labels[index] < 0 || labels[index] >= labelCount {
        throw .labelOutOfRange(index: index, label: labels[index], classes: labelCount)
    }
    let correct = logits.withUnsafeScalars { x in
        var correct = 0
        for row in 0..<n {
            let predicted = classes == 1
                ? (x[row] > 0 ? 1 : 0)
                : Tensor<Scalar>.indexOfMaximum(x + row * classes, count: classes)
            if predicted == labels[row] { correct += 1 }
        }
        return correct
    }
    return Double(correct) / Double(n)
}
