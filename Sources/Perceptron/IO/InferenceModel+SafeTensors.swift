import Foundation

extension InferenceModel {
    /// Loads a model for serving straight from a safetensors file that
    /// ``Layer/save(to:)`` wrote: the architecture its metadata records and
    /// the parameters it holds, as ``Sequential/init(contentsOf:)`` rebuilds
    /// them, taken as a snapshot.
    ///
    /// ```swift
    /// try model.save(to: url)                                // after training
    /// let server = try InferenceModel<Float>(contentsOf: url) // in the serving process
    /// let probabilities = try server(batch)
    /// ```
    ///
    /// The result gives the bits the saved model's ``Layer/predict(_:)``
    /// gave with its ``Linear`` layers in float32, in the same scalar
    /// precision: a file of another precision is converted on the way in, so
    /// it gives that precision's rounding instead. A file does not record a
    /// layer's ``Linear/precision``; to serve a model in bfloat16, rebuild it
    /// with ``Sequential/init(contentsOf:)``, set its ``Sequential/precision``
    /// and take ``init(_:kernels:)`` of it. With `kernels: .packedWeights`,
    /// its weights are packed as ``init(_:kernels:)`` packs them (for the
    /// library's kernel, and with the `OneDNN` trait for oneDNN), and the
    /// requests served packed agree with predict to rounding.
    ///
    /// - Throws: every error ``Sequential/init(contentsOf:)`` throws: for a
    ///   file that cannot be read as safetensors, one that records no
    ///   architecture (as files PyTorch writes: build the model in code,
    ///   ``Layer/load(from:)`` the file into it and take ``init(_:kernels:)``
    ///   of it), or one whose architecture or tensors Perceptron cannot
    ///   build; and those of ``init(_:kernels:)`` for `kernels`.
    public init(contentsOf url: URL, kernels: Kernels = .layers) throws(PerceptronError) {
        try self.init(Sequential<Scalar>(contentsOf: url), kernels: kernels)
    }
}
