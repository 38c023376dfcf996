import Foundation

/// The per-parameter state an optimizer keeps (momentum buffers, moment
/// estimates), matched to a model's parameters by the order in which the model
/// visits them, and checked by name and shape on every step, so that handing
/// an optimizer another model is an error rather than a silent mix-up.
struct OptimizerState<Scalar: BLASScalar> {
    /// How many buffers each parameter needs (1 for SGD's momentum, 2 for Adam's moments).
    let buffersPerParameter: Int
    private var names: [String] = []
    private var buffers: [Tensor<Scalar>] = []

    init(buffersPerParameter: Int) {
        self.buffersPerParameter = buffersPerParameter
    }

    /// Visits each parameter of `model` with pointers to its scalars, its
    /// gradient, its buffers (zero on the first step) and the count.
    ///
    /// `update(parameter, gradient, buffers, count, isNew)`: `buffers` points to
    /// `buffersPerParameter` buffer pointers.
    mutating func forEachParameter(
        of model: some Layer<Scalar>,
        _ update: (UnsafeMutablePointer<Scalar>, UnsafePointer<Scalar>, UnsafePointer<UnsafeMutablePointer<Scalar>>, Int, Bool) -> Void
    ) throws(PerceptronError) {
        var index = 0
        let firstStep = names.isEmpty
        try model.forEachParameter { name, value, gradient throws(PerceptronError) in
            guard gradient.hasShape(value.shape) else {
                throw .shapeMismatch(what: "gradient of \(name)", expected: value.shape, actual: gradient.shape)
            }
            let isNew = firstStep
            if firstStep {
                names.append(name)
                for _ in 0..<buffersPerParameter { buffers.append(Tensor(shape: value.shape)) }
            } else {
                guard index < names.count, names[index] == name else {
                    throw .invalidArgument(
                        name: "model", expected: "the model this optimizer first stepped (parameters \(names))",
                        actual: "a model with parameter \(name) at position \(index)")
                }
            }
            let first = index * buffersPerParameter
            guard buffers[first].hasShape(value.shape) else {
                throw .shapeMismatch(what: "parameter \(name)", expected: buffers[first].shape, actual: value.shape)
            }
            value.makeUnique()
            try withBufferPointers(from: first) { pointers throws(PerceptronError) in
                update(value.mutableBase, gradient.base, pointers, value.count, isNew)
            }
            index += 1
        }
        guard index == names.count else {
            throw .invalidArgument(
                name: "model", expected: "the model this optimizer first stepped (\(names.count) parameters)",
                actual: "a model with \(index) parameters")
        }
    }

    /// Calls `body` with the mutable base pointers of the buffers from `first` on, on the stack.
    private mutating func withBufferPointers(
        from first: Int, _ body: (UnsafePointer<UnsafeMutablePointer<Scalar>>) throws(PerceptronError) -> Void
    ) throws(PerceptronError) {
        // At most two buffers (Adam), held in a tuple so that nothing is allocated per step.
        for offset in 0..<buffersPerParameter { buffers[first + offset].makeUnique() }
        let a = buffers[first].mutableBase
        let b = buffersPerParameter > 1 ? buffers[first + 1].mutableBase : a
        var pair = (a, b)
        try withUnsafePointer(to: &pair) { tuple throws(PerceptronError) in
            try tuple.withMemoryRebound(to: UnsafeMutablePointer<Scalar>.self, capacity: 2) { pointers throws(PerceptronError) in
                try body(pointers)
            }
        }
    }
}

/// Throws unless `value` is finite and at least `minimum` (and below `limit` when given).
func validate<Scalar: BLASScalar>(
    _ value: Scalar, _ name: String, atLeast minimum: Scalar = 0, below limit: Scalar? = nil
) throws(PerceptronError) {
    let inRange = value.isFinite && value >= minimum && (limit.map { value < $0 } ?? true)
    guard inRange else {
        let range = limit.map { "in \(minimum)..<\($0)" } ?? "finite and ≥ \(minimum)"
        throw .invalidArgument(name: name, expected: range, actual: "\(value)")
    }
}
