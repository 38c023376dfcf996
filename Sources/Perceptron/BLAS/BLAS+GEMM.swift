// The single place where Perceptron's sizes meet OpenBLAS's.
//
// OpenBLAS here is built with a 32-bit `blasint`: a size above Int32.max would
// wrap silently inside the library. Every size therefore passes through
// `BLAS.dimension(_:_:)`, which throws before anything reaches C, and the
// routines below take only `Int32`s produced that way.

extension BLAS {
    /// The largest size OpenBLAS accepts: its integers are 32-bit.
    @usableFromInline
    static let maximumDimension = Int(Int32.max)

    /// Converts a size to OpenBLAS's integer type, or throws naming `what` it is.
    @inlinable
    static func dimension(_ value: Int, _ what: @autoclosure () -> String) throws(PerceptronError) -> Int32 {
        guard value >= 0, value <= maximumDimension else {
            throw .dimensionTooLarge(what: what(), value: value, limit: maximumDimension)
        }
        return Int32(truncatingIfNeeded: value)
    }

    /// `C ← α·op(A)·op(B) + β·C` on dense row-major buffers.
    ///
    /// `op(A)` is `m × k` and `op(B)` is `k × n`; each operand is stored
    /// contiguously, so its leading dimension follows from its shape. Empty
    /// products are handled here rather than in OpenBLAS, which rejects a
    /// leading dimension of 0 (an inner size `k = 0` leaves `C ← β·C`).
    /// Large products are split by rows of `C` across threads
    /// (`BLAS+Parallel.swift`).
    @inlinable
    static func gemm<Scalar: BLASScalar>(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int32, n: Int32, k: Int32,
        alpha: Scalar = 1,
        _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>,
        beta: Scalar, _ c: UnsafeMutablePointer<Scalar>
    ) {
        gemm(GEMMOperands(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                          alpha: alpha, a, b, beta: beta, c))
    }

    /// The product `p` describes, as ``gemm(transposeA:transposeB:m:n:k:alpha:_:_:beta:_:)`` computes it.
    @inlinable
    static func gemm<Scalar: BLASScalar>(_ p: GEMMOperands<Scalar>) {
        prepare()
        guard p.m > 0, p.n > 0 else { return }
        guard p.k > 0 else {
            scale(p.c, count: Int(p.m) * Int(p.n), by: p.beta)
            return
        }
        let parts = partCount(m: p.m, n: p.n, k: p.k)
        guard parts > 1 else {
            gemmRows(0..<Int(p.m), of: p)
            return
        }
        runPartitioned(GEMMPartition(p, parts: parts))
    }

    /// Computes two independent products, which may run at the same time.
    ///
    /// With two or more threads and enough work, each product gets half the
    /// threads (on two cores, each runs whole on its own core) rather than
    /// each being split across all of them in turn: a layer's backward pass,
    /// whose `XᵀG` and `GWᵀ` have the same number of multiply-adds, runs this
    /// way. The products must not write memory the other reads or writes.
    @inlinable
    static func gemm<Scalar: BLASScalar>(_ first: GEMMOperands<Scalar>, alongside second: GEMMOperands<Scalar>) {
        prepare()
        guard first.hasWork, second.hasWork,
              let (firstParts, secondParts) = pairedPartCounts(
                  firstMultiplyAdds: first.multiplyAdds, firstRows: first.m,
                  secondMultiplyAdds: second.multiplyAdds, secondRows: second.m)
        else {
            gemm(first)
            gemm(second)
            return
        }
        runPaired(GEMMPartition(first, parts: firstParts), GEMMPartition(second, parts: secondParts))
    }

    /// Rows `rows` of the product `p`: rows of `op(A)` times `op(B)` into
    /// the same rows of `C`. A row of `op(A)` is a row of A (offset `r·k`) or,
    /// transposed, a column of A (offset `r`), with A's leading dimension
    /// unchanged; the whole product is `0..<m`. Sizes are already checked.
    /// Runs on OpenBLAS's small-matrix kernels where those are faster
    /// (`BLAS+SmallKernels.swift`), else through CBLAS.
    @inlinable
    static func gemmRows<Scalar: BLASScalar>(_ rows: Range<Int>, of p: GEMMOperands<Scalar>) {
        let (transposeA, transposeB, m, n, k) = (p.transposeA, p.transposeB, p.m, p.n, p.k)
        let count = Int32(truncatingIfNeeded: rows.count)
        let rowsOfA = p.a + rows.lowerBound * (transposeA ? 1 : Int(k))
        let rowsOfC = p.c + rows.lowerBound * Int(n)
        let (lda, ldb) = (transposeA ? m : k, transposeB ? k : n)
        switch route(Scalar.self, transposeA: transposeA, transposeB: transposeB, m: count, n: n, k: k) {
        case .cblas:
            Scalar._gemm(
                transposeA: transposeA, transposeB: transposeB, m: count, n: n, k: k,
                alpha: p.alpha, a: rowsOfA, lda: lda, b: p.b, ldb: ldb, beta: p.beta, c: rowsOfC, ldc: n)
        case .smallKernel:
            Scalar._gemmSmall(
                transposeA: transposeA, transposeB: transposeB, m: count, n: n, k: k,
                alpha: p.alpha, a: rowsOfA, lda: lda, b: p.b, ldb: ldb, beta: p.beta, c: rowsOfC, ldc: n)
        case let .columnsThenGEMVs(columns, smallKernel):
            gemmWithColumnGEMVs(
                m: count, n: n, k: k, columns: columns, smallKernel: smallKernel,
                alpha: p.alpha, rowsOfA, lda: lda, p.b, beta: p.beta, rowsOfC)
        }
    }

    /// `y ← α·Aᵀx + β·y` for a dense row-major `m × n` matrix `A`: with `x`
    /// all ones, the column sums of `A`. Sizes must already be validated; no
    /// rows leaves `y ← β·y`.
    @inlinable
    static func gemvTransposed<Scalar: BLASScalar>(
        m: Int32, n: Int32, alpha: Scalar = 1,
        _ a: UnsafePointer<Scalar>, _ x: UnsafePointer<Scalar>,
        beta: Scalar, _ y: UnsafeMutablePointer<Scalar>
    ) {
        prepare()
        guard n > 0 else { return }
        guard m > 0 else {
            scale(y, count: Int(n), by: beta)
            return
        }
        Scalar._gemv(transpose: true, m: m, n: n, alpha: alpha, a: a, lda: n, x: x, incx: 1, beta: beta, y: y, incy: 1)
    }

    /// `x ← β·x`, where β = 0 writes zeros even over NaN, as BLAS does.
    @inlinable
    static func scale<Scalar: BLASScalar>(_ x: UnsafeMutablePointer<Scalar>, count: Int, by beta: Scalar) {
        if beta == 0 {
            x.update(repeating: 0, count: count)
        } else if beta != 1 {
            for i in 0..<count { x[i] *= beta }
        }
    }
}

/// The operands of one product `C ← α·op(A)·op(B) + β·C` on dense row-major
/// buffers, with sizes already checked: what the GEMM entry points, the row
/// blocks and the partitions of a split product are described by.
@usableFromInline
struct GEMMOperands<Scalar: BLASScalar> {
    @usableFromInline var transposeA = false, transposeB = false
    @usableFromInline var m: Int32, n: Int32, k: Int32
    @usableFromInline var alpha: Scalar = 1
    @usableFromInline var a: UnsafePointer<Scalar>, b: UnsafePointer<Scalar>
    @usableFromInline var beta: Scalar
    @usableFromInline var c: UnsafeMutablePointer<Scalar>

    @inlinable
    init(transposeA: Bool = false, transposeB: Bool = false, m: Int32, n: Int32, k: Int32,
         alpha: Scalar = 1, _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>,
         beta: Scalar, _ c: UnsafeMutablePointer<Scalar>) {
        (self.transposeA, self.transposeB, self.m, self.n, self.k) = (transposeA, transposeB, m, n, k)
        (self.alpha, self.a, self.b, self.beta, self.c) = (alpha, a, b, beta, c)
    }

    /// Whether OpenBLAS gets to compute it: no size is 0.
    @inlinable
    var hasWork: Bool { m > 0 && n > 0 && k > 0 }

    /// `m·n·k`, in floating point so that it cannot overflow.
    @inlinable
    var multiplyAdds: Double { Double(m) * Double(n) * Double(k) }
}
