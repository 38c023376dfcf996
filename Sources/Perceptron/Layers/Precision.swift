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
    /// Each product's error is then bounded by about 2⁻⁸ of the sum of the
    /// terms' magnitudes, rather than float32's 2⁻²⁴ per term; in exchange
    /// a CPU with bfloat16 instructions multiplies faster. It needs the
    /// `OneDNN` trait and such a CPU, and applies to `Float` layers; see
    /// the article "Mixed precision" for which products it speeds up.
    case bfloat16

    /// `float32` or `bfloat16`.
    public var description: String { rawValue }
}

/// A layer with a ``Precision`` of its own, which ``Sequential/precision`` sets.
protocol PrecisionSettable: AnyObject {
    var precision: Precision { get set }
}

extension Linear: PrecisionSettable {}
extension Sequential: PrecisionSettable {}
