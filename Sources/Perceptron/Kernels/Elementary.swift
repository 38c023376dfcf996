#if canImport(Glibc)
import Glibc
#endif

// The elementary functions activations and losses need, from the C library.
// Generic code calls these; specialised for Float or Double, the type
// comparison folds away and each compiles to `expf`, `exp` and so on.

/// `eˣ`, `log x`, `log(1 + x)`, `tanh x` and `erf x` for either scalar type.
enum Elementary {
    /// `eˣ`.
    @_transparent
    static func exp<Scalar: BLASScalar>(_ x: Scalar) -> Scalar {
        if Scalar.self == Float.self { return cast(expf(cast(x))) }
        return cast(Glibc.exp(cast(x) as Double))
    }

    /// The natural logarithm.
    @_transparent
    static func log<Scalar: BLASScalar>(_ x: Scalar) -> Scalar {
        if Scalar.self == Float.self { return cast(logf(cast(x))) }
        return cast(Glibc.log(cast(x) as Double))
    }

    /// `log(1 + x)`, accurate for small `x`, where `log(1 + x)` would lose
    /// the digits of `x` to the rounding of `1 + x`.
    @_transparent
    static func log1p<Scalar: BLASScalar>(_ x: Scalar) -> Scalar {
        if Scalar.self == Float.self { return cast(log1pf(cast(x))) }
        return cast(Glibc.log1p(cast(x) as Double))
    }

    /// The hyperbolic tangent.
    @_transparent
    static func tanh<Scalar: BLASScalar>(_ x: Scalar) -> Scalar {
        if Scalar.self == Float.self { return cast(tanhf(cast(x))) }
        return cast(Glibc.tanh(cast(x) as Double))
    }

    /// The error function, `erf x = (2/√π) ∫₀ˣ e^(−t²) dt`.
    @_transparent
    static func erf<Scalar: BLASScalar>(_ x: Scalar) -> Scalar {
        if Scalar.self == Float.self { return cast(erff(cast(x))) }
        return cast(Glibc.erf(cast(x) as Double))
    }

    /// `x` as the scalar type of the same size: Float for Float, Double for Double.
    @_transparent
    static func cast<From: BLASScalar, To: BLASScalar>(_ x: From) -> To {
        guard MemoryLayout<From>.size == MemoryLayout<To>.size else { OpenBLAS.unsupported(From.self) }
        return unsafeBitCast(x, to: To.self)
    }
}
