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
/// // Each request's answer, computed in parallel, in the requests' order
/// // (`requests: [Tensor<Float>]`).
/// let answers = try await withThrowingTaskGroup(of: (Int, Tensor<Float>).self) { group in
///     for (index, request) in requests.enumerated() {
///         group.addTask { (index, try server(request)) }
///     }
///     var answers = [Tensor<Float>?](repeating: nil, count: requests.count)
///     for try await (index, answer) in group { answers[index] = answer }
///     return answers.map { $0! }
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
/// **Packed weights.** With `kernels: .packedWeights`, the snapshot copies each
/// `Float` ``Linear`` layer's weight once into blocked layouts that no request
/// pays to make again, and those layers compute on them with the bias added in
/// the product: requests of up to 64 rows on the library's own kernel
/// (AVX-512F, or AVX2 with FMA; in every build), whose call costs little, and,
/// in a build with the `OneDNN` trait, larger ones through oneDNN's matmul,
/// whose call costs more but whose kernel is faster on many rows (without the
/// trait, larger requests keep the layers' kernels). Packing still pays only
/// for some models and sizes, so the snapshot times the model both ways, whole,
/// at 1, 4, 16, 64 and 256 rows (only up to 64 where no packed weight takes
/// larger requests), deciding up to 64 rows and above it each on its own, and
/// serves requests packed from the size where packed measured faster at every
/// size timed on that side (``packedFromRows``); smaller
/// requests, and every request where packed was never faster, run on the
/// layers' own kernels with predict's bits, and so do requests larger than
/// ``packedThroughRows`` where there is a largest. The packed results agree
/// with ``Layer/predict(_:)`` to float32 rounding rather than bit for bit: the
/// products sum their terms in another order. On a CPU without AVX-512F,
/// oneDNN's kernel reads a plain weight itself (its `gemm:jit`), so only the
/// library's kernel, on AVX2, packs; on a CPU with neither, nothing is packed.
/// ``packedLayerCount`` tells how many layers are served packed (0 when packing
/// never measured faster, or nothing could be packed), and
/// ``BLAS/Configuration/packedWeightKernel`` whether the library's kernel runs
/// on this CPU. The choice is a measurement, made once: two snapshots of one
/// model may choose differently on a busy machine, and each keeps its choice.
/// `perceptron-bench --serve` times the layers, the snapshot as it chose and
/// every layer packed, side by side.
///
/// **Memory.** A call writes each layer's result into a new tensor (a
/// ``Dropout`` passes its input on), as ``Layer/predict(_:)`` does, and keeps
/// none of them: what the caller receives is its own, and nothing is shared
/// between calls. So each call allocates its results, one tensor per layer
/// that computes one; the snapshot itself never grows.
public struct InferenceModel<Scalar: BLASScalar>: Sendable {
    /// The model, as one layer (a ``Sequential`` becomes a sequence of snapshots).
    let root: LayerSnapshot<Scalar>

    /// The model with its weights packed, and the smallest request it serves;
    /// `nil` when nothing was packed or packing never measured faster.
    let packed: (root: LayerSnapshot<Scalar>, rows: WeightPacking.PackedRows)?

    /// The kernels the snapshot was asked to compute its ``Linear`` layers
    /// with; ``packedLayerCount`` and ``packedFromRows`` tell what it serves packed.
    public let kernels: Kernels

    /// How an ``InferenceModel`` computes its ``Linear`` layers.
    public enum Kernels: Sendable, Equatable, CustomStringConvertible {
        /// Each layer's own kernels, as in ``Layer/predict(_:)``, bit for bit: the default.
        case layers
        /// Weights packed once, at the snapshot, for `Float` layers: the
        /// library's own kernel for requests of up to 64 rows, and, with the
        /// `OneDNN` trait, oneDNN's matmul for larger ones, for the request
        /// sizes where that measured faster than the layers' own kernels;
        /// other layers and other requests keep their own kernels. The packed
        /// results agree with ``Layer/predict(_:)`` to float32 rounding (and,
        /// for a layer in ``Precision/bfloat16``, to the same bfloat16
        /// rounding of its operands), not bit for bit.
        case packedWeights

        /// `layers` or `packed weights`.
        public var description: String {
            switch self {
            case .layers: "layers"
            case .packedWeights: "packed weights"
            }
        }
    }

    /// How many ``Linear`` layers compute on packed weights, for the requests
    /// of ``packedFromRows`` through ``packedThroughRows`` rows: 0 unless the
    /// snapshot was made with ``Kernels/packedWeights`` on a CPU where weights
    /// can be packed (``BLAS/Configuration/packedWeightKernel``, and with the
    /// `OneDNN` trait ``BLAS/OneDNNConfiguration/packsInferenceWeights``) and
    /// packing measured faster for some request size.
    public var packedLayerCount: Int { packed?.root.packedLayerCount ?? 0 }

    /// The smallest request, in rows, served from packed weights, or `nil`
    /// when every request runs on the layers' own kernels.
    public var packedFromRows: Int? { packed?.rows.from }

    /// The largest request, in rows, served from packed weights, or `nil`
    /// when there is no largest (or none is served packed): requests of
    /// ``packedFromRows`` through this many rows are served packed.
    ///
    /// Requests of a few rows and larger ones run on different packed
    /// kernels, each timed on its own; where the larger requests' kernel
    /// measured slower than the layers' own, the packed requests end at the
    /// smaller ones' limit.
    public var packedThroughRows: Int? { packed?.rows.through }

    /// The kernel each packed weight runs on, in the model's order: for each
    /// layer, `perceptron:avx512f` or `perceptron:avx2` (the library's kernel,
    /// for requests of a few rows, on the instructions it runs on here) and
    /// oneDNN's implementations, such as `brg:avx512_core` (a layer in bfloat16
    /// has one for float32 and one for bfloat16).
    @_spi(Benchmarking)
    public var packedImplementations: [String] { packed?.root.packedImplementations ?? [] }

    /// Takes a snapshot of `model`'s structure and parameters as they are now.
    ///
    /// - Parameters:
    ///   - model: the trained model.
    ///   - kernels: ``Kernels/layers`` (the default) for the results of the
    ///     model's ``Layer/predict(_:)`` bit for bit, ``Kernels/packedWeights``
    ///     to serve its `Float` ``Linear`` layers from weights packed once: for
    ///     the library's own kernel (requests of a few rows) and, with the
    ///     `OneDNN` trait, for oneDNN.
    /// - Throws: ``PerceptronError/unsupportedLayer(type:operation:supported:)``
    ///   naming a layer of any other type (your own, say), inside
    ///   ``PerceptronError/inLayer(index:type:error:)`` for each ``Sequential``
    ///   around it, so the message says where it stands:
    ///   `layer 2 (Residual): InferenceModel cannot take a layer of type Residual; …`.
    ///   A ``Linear`` or ``LayerNorm`` whose parameter was replaced by a tensor
    ///   of the wrong shape throws the shape error its own passes would.
    ///   ``PerceptronError/invalidArgument(name:expected:actual:)`` for
    ///   ``Kernels/packedWeights`` with a model of `Double` (the packed
    ///   kernels are float32 only),
    ///   ``PerceptronError/dimensionTooLarge(what:value:limit:)`` for a weight
    ///   to pack with more than `Int32.max` rows or columns, as the layer's
    ///   own passes refuse it, and
    ///   ``PerceptronError/backendFailure(backend:reason:)`` if oneDNN fails
    ///   to pack a weight. A layer in ``Precision/bfloat16`` on a CPU where
    ///   bfloat16 cannot run is taken, as its model is: each call then throws
    ///   ``PerceptronError/precisionUnavailable(what:reason:)``, as the
    ///   model's ``Layer/predict(_:)`` does (``Precision/isAvailable`` tells
    ///   beforehand, in any build).
    public init(_ model: some Layer<Scalar>, kernels: Kernels = .layers) throws(PerceptronError) {
        if kernels == .packedWeights, Scalar.self != Float.self {
            throw .invalidArgument(
                name: "kernels", expected: ".layers for an InferenceModel<\(Scalar.self)> "
                    + "(packed weights are for Float: the library's packed kernel and oneDNN's matmul have no \(Scalar.self))",
                actual: ".packedWeights")
        }
        root = try LayerSnapshot(model)
        self.kernels = kernels
        var packed: (root: LayerSnapshot<Scalar>, rows: WeightPacking.PackedRows)? = nil
        if kernels == .packedWeights {
            let packedRoot = try root.packingWeights()
            if packedRoot.packedLayerCount > 0, let rows = WeightPacking.packedRows(packed: packedRoot, layers: root) {
                packed = (packedRoot, rows)
            }
        }
        self.packed = packed
    }

    /// The model's output for `input`: what the model's ``Layer/predict(_:)``
    /// gave for it when the snapshot was made, bit for bit (or, for a request
    /// served from packed weights, to float32 rounding).
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
        if let packed, input.rank > 0, packed.rows.contains(input.leadingCount) {
            return try packed.root.predict(input)
        }
        return try root.predict(input)
    }
}
