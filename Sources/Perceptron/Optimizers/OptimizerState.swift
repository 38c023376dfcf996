import Foundation

/// The per-parameter state an optimizer keeps (momentum buffers, moment
/// estimates) for the one model it adopted on its first step: matched to the
/// model by identity, and to its parameters by the order in which the model
/// visits them, checked by name and shape on every step, so that handing an
/// optimizer another model, even one of the same architecture, is an error
/// rather than a silent mix-up.
struct OptimizerState<Scalar: BLASScalar> {
    /// How many buffers each parameter needs (1 for SGD's momentum, 2 for Adam's moments).
    let buffersPerParameter: Int
    /// The parameters' names, in the model's order; empty before the first step.
    private(set) var names: [String] = []
    /// `buffersPerParameter` buffers per parameter, in the order of ``names``.
    private(set) var buffers: [Tensor<Scalar>] = []
    /// The model the state is for, once there is state. Weak, so that an
    /// optimizer does not keep a model alive; a model that has gone counts as
    /// another (which an `ObjectIdentifier` alone could not tell: a new
    /// object can take a freed one's address).
    private(set) weak var model: AnyObject?

    init(buffersPerParameter: Int) {
        self.buffersPerParameter = buffersPerParameter
    }

    /// State as a ``Checkpoint`` saved it, for `model`, into which it is
    /// restored: `buffers` holds `buffersPerParameter` tensors per name,
    /// checked by the caller against the model's parameters.
    init(buffersPerParameter: Int, names: [String], buffers: [Tensor<Scalar>], for model: some Layer<Scalar>) {
        precondition(buffers.count == names.count * buffersPerParameter, "OptimizerState: \(buffers.count) buffers for \(names.count) parameters")
        (self.buffersPerParameter, self.names, self.buffers) = (buffersPerParameter, names, buffers)
        self.model = model
    }

    /// Whether the state is for `model` itself (not merely one of the same
    /// architecture); `true` before the first step, when it is for none yet.
    func belongs(to model: some Layer<Scalar>) -> Bool {
        names.isEmpty || self.model === model
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

    /// On the first step: records the model and its parameter names, and makes zeroed buffers.
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
        self.model = model
    }

    /// On later steps: checks that `model` is the model the optimizer
    /// adopted, and still has the parameters it had then.
    private func check(_ model: some Layer<Scalar>) throws(PerceptronError) {
        guard belongs(to: model) else {
            throw .invalidArgument(
                name: "model",
                expected: "the model instance this optimizer was set up for by its first step (an optimizer keeps "
                    + "its state for one model: create one optimizer per model)",
                actual: self.model == nil
                    ? "another model instance (the one it was set up for no longer exists)"
                    : "another model instance")
        }
        var index = 0
        try model.forEachParameter { name, value, gradient throws(PerceptronError) in
            try Self.checkGradient(name, value, gradient)
            guard index < names.count, names[index] == name else {
                throw .invalidArgument(
                    name: "model", expected: "a model with the parameters this optimizer was set up for by its first step (\(names))",
                    actual: "one with parameter \(name) at position \(index)")
            }
            let buffer = buffers[index * buffersPerParameter]
            guard buffer.hasShape(value.shape) else {
                throw .shapeMismatch(
                    what: "the optimizer's state for parameter \(name) (set up by its first step)",
                    expected: value.shape, actual: buffer.shape)
            }
            index += 1
        }
        guard index == names.count else {
            throw .invalidArgument(
                name: "model", expected: "a model with the parameters this optimizer was set up for by its first step (\(names.count) parameters)",
                actual: "one with \(index) parameters")
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
