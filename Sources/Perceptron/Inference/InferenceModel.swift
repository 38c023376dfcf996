/// An immutable, `Sendable` snapshot of a trained model for serving: one
/// instance answers any number of tasks at once, with the results of the
/// model's ``Layer/predict(_:)``, bit for bit.
///
/// Layers keep state between passes and so are not `Sendable`; a server that
/// answers requests in parallel would otherwise need a model per task. A
/// snapshot keeps only the model's structure and parameters, which no call
/// writes:
///
/// ```swift
/// let server = try InferenceModel(model)            // after training
/// try await withThrowingTaskGroup(of: Void.self) { group in
///     for request in requests {
///         group.addTask { try reply(to: request, with: server(request.input)) }
///     }
///     try await group.waitForAll()
/// }
/// ```
///
/// <doc:ServingAModel> shows a server, and what to expect of one.
///
/// It takes ``Linear``, ``LayerNorm``, every activation (``ReLU``,
/// ``LeakyReLU``, ``Sigmoid``, ``Tanh``, ``Softmax``, ``GELU``, ``SiLU``),
/// ``Dropout`` (the identity, as in ``Layer/predict(_:)``) and ``Sequential``,
/// nested to any depth.
///
/// **A snapshot, not a view.** The parameters are taken as they are when the
/// snapshot is made. It shares their buffers with the model (copy-on-write,
/// so taking it copies nothing), and no later change to the model reaches
/// it: a write in place (an optimizer step, ``Layer/loadParameters(_:)``)
/// copies the parameter first, once, and an assignment replaces the model's
/// tensor, not the snapshot's. To serve newer parameters, make a new snapshot.
///
/// **The same results.** Each call runs the checks and kernels of the layers'
/// own ``Layer/predict(_:)``, on the same sizes, so it gives the same bits and
/// throws the same errors, wherever it runs. That holds under concurrency too:
/// a product large enough to be split across threads (``BLAS/threadCount``)
/// is split the same way whether its caller gets the worker threads or, while
/// another call holds them, runs every part itself.
///
/// **Memory.** A call writes each layer's result into a new tensor (a
/// ``Dropout`` passes its input on), as ``Layer/predict(_:)`` does, and keeps
/// none of them: what the caller receives is its own, and nothing is shared
/// between calls. So each call allocates its results, one tensor per layer
/// that computes one; the snapshot itself never grows.
public struct InferenceModel<Scalar: BLASScalar>: Sendable {
    /// The model, as one layer (a ``Sequential`` becomes a sequence of snapshots).
    let root: LayerSnapshot<Scalar>

    /// Takes a snapshot of `model`'s structure and parameters as they are now.
    ///
    /// - Throws: ``PerceptronError/unsupportedLayer(type:operation:supported:)``
    ///   naming a layer of any other type (your own, say), inside
    ///   ``PerceptronError/inLayer(index:type:error:)`` for each ``Sequential``
    ///   around it, so the message says where it stands:
    ///   `layer 2 (Residual): InferenceModel cannot take a layer of type Residual; …`.
    ///   A ``Linear`` or ``LayerNorm`` whose parameter was replaced by a tensor
    ///   of the wrong shape throws the shape error its own passes would.
    public init(_ model: some Layer<Scalar>) throws(PerceptronError) {
        root = try LayerSnapshot(model)
    }

    /// The model's output for `input`: what the model's ``Layer/predict(_:)``
    /// gave for it when the snapshot was made, bit for bit.
    ///
    /// Safe to call from any number of tasks or threads at once.
    ///
    /// - Throws: the errors the model's own ``Layer/predict(_:)`` throws for
    ///   `input`, with the same messages: for example
    ///   ``PerceptronError/featureMismatch(expected:actual:shape:)`` inside
    ///   ``PerceptronError/inLayer(index:type:error:)`` for an input whose
    ///   last dimension is not the first layer's input features.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func callAsFunction(_ input: Tensor<Scalar>) throws(PerceptronError) -> Tensor<Scalar> {
        try root.predict(input)
    }
}
