import Foundation

/// The per-parameter state an optimizer keeps (momentum buffers, moment
/// estimates), matched to a model's parameters by the order in which the model
/// visits them, and checked by name and shape on every step, so that handing
/// an optimizer another model is an error rather than a silent mix-up.
struct OptimizerState<Scalar: BLASScalar> {
    /// How many buffers each parameter needs (1 for SGD's momentum, 2 for Adam's moments).
    let buffersPerParameter: Int
    /// The parameters' names, in the model's order; empty before the first step.
    private(set) var names: [String] = []
    /// `buffersPerParameter` buffers per parameter, in the order of ``names``.
    private(set) var buffers: [Tensor<Scalar>] = []

    init(buffersPerParameter: Int) {
        self.buffersPerParameter = buffersPerParameter
    }

    /// State as a ``Checkpoint`` saved it: `buffers` holds `buffersPerParameter`
    /// tensors per name, checked by the caller against the model's parameters.
    init(buffersPerParameter: Int, names: [String], buffers: [Tensor<Scalar>]) {
        precondition(buffers.count == names.count * buffersPerParameter, "OptimizerState: \(buffers.count) buffers for \(names.count) parameters")
        (self.buffersPerParameter, self.names, self.buffers) = (buffersPerParameter, names, buffers)
    }

    /// Visits each parameter of `model` with pointers to its scalars, its
    /// gradient, its buffers (zero before the first step) and the count.
    ///
    /// `update(parameter, gradient, buffers, count)`: `buffers` points to
    /// `buffersPerParameter` buffer pointers.
    ///
    /// Two passes: the first checks every parameter and changes nothing, so a
    /// step that throws leaves the model and the optimizer as they were; the
    /// second updates.
    mutating func forEachParameter(
        of model: some Layer<Scalar>,
        _ update: (UnsafeMutablePointer<Scalar>, UnsafePointer<Scalar>, UnsafePointer<UnsafeMutablePointer<Scalar>>, Int) -> Void
    ) throws(PerceptronError) {
        if names.isEmpty {
            try adopt(model)
        } else {
            try check(model)
        }
        var index = 0
        try model.forEachParameter { _, value, gradient in
            let count = value.count
            withBufferPointers(from: index * buffersPerParameter) { buffers in
                value.withUnsafeMutableScalars { theta in
                    gradient.withUnsafeScalars { gradient in update(theta, gradient, buffers, count) }
                }
            }
            index += 1
        }
    }

    /// On the first step: records the model's parameter names and makes zeroed buffers.
    private mutating func adopt(_ model: some Layer<Scalar>) throws(PerceptronError) {
        var newNames: [String] = []
        var newBuffers: [Tensor<Scalar>] = []
        let perParameter = buffersPerParameter
        try model.forEachParameter { name, value, gradient throws(PerceptronError) in
            try Self.checkGradient(name, value, gradient)
            newNames.append(name)
            for _ in 0..<perParameter { newBuffers.append(Tensor(shape: value.shape)) }
        }
        (names, buffers) = (newNames, newBuffers)
    }

    /// On later steps: checks that `model` has the parameters the optimizer adopted.
    private func check(_ model: some Layer<Scalar>) throws(PerceptronError) {
        var index = 0
        try model.forEachParameter { name, value, gradient throws(PerceptronError) in
            try Self.checkGradient(name, value, gradient)
            guard index < names.count, names[index] == name else {
                throw .invalidArgument(
                    name: "model", expected: "the model this optimizer was set up for by its first step (parameters \(names))",
                    actual: "a model with parameter \(name) at position \(index)")
            }
            let buffer = buffers[index * buffersPerParameter]
            guard buffer.hasShape(value.shape) else {
                throw .shapeMismatch(what: "parameter \(name)", expected: buffer.shape, actual: value.shape)
            }
            index += 1
        }
        guard index == names.count else {
            throw .invalidArgument(
                name: "model", expected: "the model this optimizer was set up for by its first step (\(names.count) parameters)",
                actual: "a model with \(index) parameters")
        }
    }

    private static func checkGradient(
        _ name: String, _ value: Tensor<Scalar>, _ gradient: Tensor<Scalar>
    ) throws(PerceptronError) {
        guard gradient.hasShape(value.shape) else {
            throw .shapeMismatch(what: "gradient of \(name)", expected: value.shape, actual: gradient.shape)
        }
    }

    /// Calls `body` with pointers to the scalars of the buffers from `first` on, for writing.
    private mutating func withBufferPointers(
        from first: Int, _ body: (UnsafePointer<UnsafeMutablePointer<Scalar>>) -> Void
    ) {
        let second = buffersPerParameter > 1 ? first + 1 : first
        // Through the array's buffer: two writes to elements of `buffers` at
        // once would be overlapping accesses to the array itself.
        buffers.withUnsafeMutableBufferPointer { buffers in
            buffers[first].withUnsafeMutableScalars { a in
                if second == first {
                    Self.pass(a, a, to: body)
                } else {
                    buffers[second].withUnsafeMutableScalars { b in Self.pass(a, b, to: body) }
                }
            }
        }
    }

    /// Calls `body` with a pointer to the two pointers, held in a tuple on
    /// the stack (at most two buffers, Adam's), so that nothing is allocated per step.
    private static func pass(
        _ a: UnsafeMutablePointer<Scalar>, _ b: UnsafeMutablePointer<Scalar>,
        to body: (UnsafePointer<UnsafeMutablePointer<Scalar>>) -> Void
    ) {
        var pair = (a, b)
        withUnsafePointer(to: &pair) { tuple in
            tuple.withMemoryRebound(to: UnsafeMutablePointer<Scalar>.self, capacity: 2) { body($0) }
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
