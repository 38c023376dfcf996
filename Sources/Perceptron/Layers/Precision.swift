/// The arithmetic a layer's matrix products use.
///
/// Tensors, parameters and gradients stay float32 in every precision: a
/// precision says only how the products inside a layer are computed, as
/// PyTorch's CPU autocast does.
public enum Precision: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// float32 operands, float32 accumulation: the default, and exact to
    /// float32's rounding.
    case float32

    /// bfloat16 operands (float32 rounded to nearest, ties to even, keeping 8
    /// bits of significand), float32 accumulation and result.
    ///
    /// Each product's error is then bounded by about 2·2⁻⁸ of the sum of the
    /// terms' magnitudes (each term's two operands rounded), rather than
    /// float32's 2⁻²⁴ per term, while its terms are normal float32 numbers;
    /// in exchange a CPU with bfloat16 instructions multiplies faster. It needs the
    /// `OneDNN` trait and such a CPU, and applies to `Float` layers; see
    /// the article "Mixed precision" for which products it speeds up.
    case bfloat16

    /// Whether a `Float` layer's passes run in this precision in this process
    /// rather than throwing.
    ///
    /// Always `true` for ``float32``. For ``bfloat16``, `true` where the
    /// library was built with its `OneDNN` trait, oneDNN started, and the
    /// instruction set it reports has bfloat16 instructions: exactly where a
    /// `Linear<Float>` pass in bfloat16 does not throw
    /// ``PerceptronError/precisionUnavailable(what:reason:)``, whose reason
    /// says what is missing (``unavailability`` gives it beforehand). A
    /// `Linear<Double>` refuses bfloat16 whatever this says. Check it before
    /// setting a `Float` model's precision, on a machine that may lack
    /// bfloat16:
    ///
    /// ```swift
    /// model.precision = Precision.bfloat16.isAvailable ? .bfloat16 : .float32
    /// ```
    ///
    /// It does not say whether a layer computes in bfloat16 on a given batch:
    /// products too small for bfloat16 to pay stay in float32, and on a CPU
    /// where it never pays (``BLAS/OneDNNConfiguration/bfloat16Threshold`` is
    /// `nil`: AVX512_BF16 on Intel cores without AMX) all of them do;
    /// ``Linear/computesInBFloat16(rows:)`` says.
    public var isAvailable: Bool { unavailability == nil }

    /// Why a `Float` layer's passes cannot run in this precision in this
    /// process, or `nil` where they can (``isAvailable``): the reason a
    /// pass's ``PerceptronError/precisionUnavailable(what:reason:)`` gives,
    /// such as how to enable the `OneDNN` trait in a build without it, for a
    /// program to print before it falls back to ``float32``.
    public var unavailability: String? {
        switch self {
        case .float32: nil
        case .bfloat16: MixedPrecision.unavailability
        }
    }

    /// `float32` or `bfloat16`.
    public var description: String { rawValue }
}

/// A layer with a ``Precision`` of its own, which ``Sequential/precision`` sets.
protocol PrecisionSettable: AnyObject {
    var precision: Precision { get set }
}

extension Linear: PrecisionSettable {}
extension Sequential: PrecisionSettable {}
