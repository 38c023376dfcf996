/// One product `C ← α·op(A)·op(B) + β·C` on row-major buffers: the single
/// description of a product, from the layer that asks for it to the backend
/// that computes it.
///
/// `op(A)` is `m × k` and `op(B)` is `k × n`; `lda`, `ldb` and `ldc` are the
/// row lengths of the buffers as stored (for a transposed operand, of the
/// untransposed matrix). Sizes are `Int32` because that is what OpenBLAS
/// takes: they come from ``Kernels/checkedDimension(_:_:)``, which refuses
/// anything larger, so nothing here can wrap.
///
/// The operands and the result may be of different types: a float32 product
/// is a ``MatrixProduct`` (both `Float`), a mixed-precision one a
/// ``MixedPrecisionProduct`` (bfloat16 operands, float32 result).
///
/// A mixed-precision product may also add a `bias` row to every row of `C`,
/// which oneDNN does as it writes each result. A float32 layer broadcasts its
/// bias into `C` and multiplies with β = 1 instead, since OpenBLAS has no bias;
/// OpenBLAS refuses a product that carries one.
struct StridedProduct<Operand, Result: BLASScalar> {
    var transposeA = false, transposeB = false
    var m: Int32, n: Int32, k: Int32
    var alpha: Result = 1
    var a: UnsafePointer<Operand>, lda: Int32
    var b: UnsafePointer<Operand>, ldb: Int32
    var beta: Result
    var c: UnsafeMutablePointer<Result>, ldc: Int32
    /// `n` values added to every row of `C` after the product, or `nil`.
    var bias: UnsafePointer<Result>? = nil
    /// For a bfloat16 product of an untransposed `A` on Perceptron's own
    /// kernel: `A` in float32, which the kernel rounds into `a` (writable
    /// memory, then) a block at a time as it multiplies, so that `A` is read
    /// from memory once, while other blocks compute. `nil` otherwise.
    var unroundedA: UnsafePointer<Result>? = nil
    /// For a bfloat16 product, the kernel that computes it (`nil` for a
    /// float product). It is read once from the process-wide setting, when
    /// the product is made, and every rule after that asks the product: how
    /// it splits, which backend prepares and runs each block. So all blocks
    /// of one product, on every thread, take the same route, even if
    /// `BLAS.bfloat16Backend` changes while it runs.
    let bfloat16Backend: BLAS.BFloat16Backend?

    /// A product of contiguous operands, whose leading dimensions follow from
    /// their shapes; a bfloat16 one runs on `bfloat16Backend`, or where it is
    /// `nil` on the kernel in force now (``MixedPrecision/backend``).
    init(
        transposeA: Bool = false, transposeB: Bool = false, m: Int32, n: Int32, k: Int32,
        alpha: Result = 1, _ a: UnsafePointer<Operand>, _ b: UnsafePointer<Operand>,
        beta: Result, _ c: UnsafeMutablePointer<Result>, bias: UnsafePointer<Result>? = nil,
        bfloat16Backend: BLAS.BFloat16Backend? = nil
    ) {
        (self.transposeA, self.transposeB, self.m, self.n, self.k) = (transposeA, transposeB, m, n, k)
        (self.alpha, self.a, self.b, self.beta, self.c, self.bias) = (alpha, a, b, beta, c, bias)
        (lda, ldb, ldc) = (transposeA ? m : k, transposeB ? k : n, n)
        self.bfloat16Backend = Operand.self == UInt16.self ? bfloat16Backend ?? MixedPrecision.backend : nil
    }

    /// Whether a backend gets to compute anything: no size is 0.
    var hasWork: Bool { m > 0 && n > 0 && k > 0 }

    /// `m·n·k`, in floating point so that it cannot overflow.
    var multiplyAdds: Double { Double(m) * Double(n) * Double(k) }

    /// Rows `rows` of the product: the same rows of `op(A)` times all of
    /// `op(B)`, into the same rows of `C`. A row of `op(A)` is a row of `A`
    /// or, transposed, a column of `A`; leading dimensions are unchanged.
    func rows(_ rows: Range<Int>) -> Self {
        var part = self
        part.m = Int32(truncatingIfNeeded: rows.count)
        part.a = a + rows.lowerBound * (transposeA ? 1 : Int(lda))
        part.unroundedA = unroundedA.map { $0 + rows.lowerBound * Int(lda) }
        part.c = c + rows.lowerBound * Int(ldc)
        return part
    }

    /// Columns `columns` of the product: all of `op(A)` times the same
    /// columns of `op(B)`, into the same columns of `C` (and of the bias).
    /// A column of `op(B)` is a column of `B` or, transposed, a row of `B`.
    func columns(_ columns: Range<Int>) -> Self {
        var part = self
        part.n = Int32(truncatingIfNeeded: columns.count)
        part.b = b + columns.lowerBound * (transposeB ? Int(ldb) : 1)
        part.c = c + columns.lowerBound
        part.bias = bias.map { $0 + columns.lowerBound }
        return part
    }

    /// The leading `columns` columns of `op(B)` and `C` (and of the bias).
    func leadingColumns(_ columns: Int32) -> Self {
        var part = self
        part.n = columns
        return part
    }

}

/// A product whose operands and result are all `Scalar`: what OpenBLAS computes.
typealias MatrixProduct<Scalar: BLASScalar> = StridedProduct<Scalar, Scalar>

/// A product of bfloat16 operands (their bit patterns) into a float32 result,
/// accumulated in float32: what the mixed-precision backend computes.
typealias MixedPrecisionProduct = StridedProduct<UInt16, Float>

extension StridedProduct where Operand == Result, Operand: BLASScalar {
    /// The same product viewed with `Other` as its scalar type, which must be `Scalar` itself.
    ///
    /// This is how generic code reaches the `s` and `d` routines of BLAS
    /// without putting them on ``BLASScalar``: the caller has just compared
    /// the two types, and specialisation folds the comparison away.
    func reinterpreted<Other: BLASScalar>(as _: Other.Type) -> MatrixProduct<Other> {
        precondition(Other.self == Operand.self, "MatrixProduct: \(Operand.self) is not \(Other.self)")
        return unsafeBitCast(self, to: MatrixProduct<Other>.self)
    }
}

/// One product `y ← α·op(A)·x + β·y` for a row-major `m × n` matrix `A` with
/// row length `lda`, and vectors read every `incx` and written every `incy` scalars.
struct MatrixVectorProduct<Scalar: BLASScalar> {
    var transpose: Bool
    var m: Int32, n: Int32
    var alpha: Scalar = 1
    var a: UnsafePointer<Scalar>, lda: Int32
    var x: UnsafePointer<Scalar>, incx: Int32 = 1
    var beta: Scalar
    var y: UnsafeMutablePointer<Scalar>, incy: Int32 = 1

    /// The same product viewed with `Other` as its scalar type; see ``MatrixProduct/reinterpreted(as:)``.
    func reinterpreted<Other: BLASScalar>(as _: Other.Type) -> MatrixVectorProduct<Other> {
        precondition(Other.self == Scalar.self, "MatrixVectorProduct: \(Scalar.self) is not \(Other.self)")
        return unsafeBitCast(self, to: MatrixVectorProduct<Other>.self)
    }
}
