// The compute boundary.
//
// Layers, losses and optimizers never call C. They describe a product once,
// as a `MatrixProduct`, and hand it to `Kernels`, which
//
//   1. runs the one-time set-up of the backend (`OpenBLAS.setUp`: kernel
//      selection, the small-matrix kernels, taking over threading),
//   2. answers empty products itself (BLAS rejects a leading dimension of 0),
//   3. splits a large product by rows of C across the worker pool, or runs
//      two independent products side by side (`Threads/`),
//   4. and gives each piece to the backend (`OpenBLAS/`), which picks the C
//      routine that computes it.
//
// Sizes reach C only as `Int32`s made by `checkedDimension`: OpenBLAS here is
// built with a 32-bit `blasint`, and a larger size would wrap inside it.
//
// A second backend conforms to `ComputeBackend` and is chosen here, per
// product; nothing above this file changes. With the OneDNN trait, oneDNN is
// such a backend, for mixed-precision products (bfloat16 operands, float32
// result): `computeWhole` sends each product to the backend of its types.

/// A library that computes products on dense row-major buffers, on the calling thread.
protocol ComputeBackend {
    /// Computes `product` whole; every size is at least 1.
    static func multiply<Scalar: BLASScalar>(_ product: MatrixProduct<Scalar>)

    /// Computes `product`; both sizes are at least 1.
    static func multiply<Scalar: BLASScalar>(_ product: MatrixVectorProduct<Scalar>)
}

/// The library's only way to compute: every product from every layer passes through here.
enum Kernels {
    /// The largest size a product may have: BLAS integers are 32-bit.
    static let maximumDimension = Int(Int32.max)

    /// `value` as a BLAS integer, or an error naming `what` it is.
    static func checkedDimension(_ value: Int, _ what: @autoclosure () -> String) throws(PerceptronError) -> Int32 {
        guard value >= 0, value <= maximumDimension else {
            throw .dimensionTooLarge(what: what(), value: value, limit: maximumDimension)
        }
        return Int32(truncatingIfNeeded: value)
    }

    /// Computes `product`, split across the worker pool when it is large enough.
    ///
    /// An inner size of 0 leaves `C ← β·C`; no rows or columns leave nothing to do.
    static func multiply<Scalar: BLASScalar>(_ product: MatrixProduct<Scalar>) {
        OpenBLAS.setUp()
        split(product)
    }

    /// Computes two independent products, at the same time where there are threads for both.
    ///
    /// The products must not write memory the other reads or writes. A
    /// layer's `XᵀG` and `GWᵀ` are such a pair, and have the same number of
    /// multiply-adds: each gets half the threads, so on two cores each runs
    /// whole on its own core, with none of the packing a split product repeats.
    static func multiply<Scalar: BLASScalar>(_ first: MatrixProduct<Scalar>, alongside second: MatrixProduct<Scalar>) {
        OpenBLAS.setUp()
        split(first, alongside: second)
    }

    /// Runs `product` on the calling thread or, when large enough, in row
    /// blocks across the worker pool; the backend's set-up has run.
    static func split<Operand, Result>(_ product: StridedProduct<Operand, Result>) {
        guard product.m > 0, product.n > 0 else { return }
        guard product.k > 0 else {
            scaleRows(of: product)
            return
        }
        splitRows(product)
    }

    /// Runs a non-empty `product` on the calling thread or, when large
    /// enough, in row blocks across the worker pool.
    static func splitRows<Product: RowSplittableProduct>(_ product: Product) {
        let parts = ProductSplit.partCount(rows: product.splitExtent, multiplyAdds: product.splitWork)
        guard parts > 1 else {
            product.computeWhole()
            return
        }
        withUnsafePointer(to: product) { product in
            WorkerPool.shared.run(RowBlocks(product, parts: parts))
        }
    }

    /// Runs two independent products side by side on the pool, or one after the other.
    static func split<Operand, Result>(
        _ first: StridedProduct<Operand, Result>, alongside second: StridedProduct<Operand, Result>
    ) {
        guard first.hasWork, second.hasWork,
              let (firstParts, secondParts) = ProductSplit.pairedPartCounts(
                  firstRows: first.splitExtent, secondRows: second.splitExtent,
                  multiplyAdds: first.splitWork + second.splitWork)
        else {
            split(first)
            split(second)
            return
        }
        var pair = (first, second)
        withUnsafePointer(to: &pair) { pair in
            pair.withMemoryRebound(to: StridedProduct<Operand, Result>.self, capacity: 2) { products in
                WorkerPool.shared.run(RowBlocks(products, parts: firstParts, then: secondParts))
            }
        }
    }

    /// Computes `product` whole on the calling thread, on the backend of its
    /// types: OpenBLAS for `Float` or `Double` throughout, oneDNN for
    /// bfloat16 operands into `Float`. Specialisation folds the comparisons away.
    @inline(__always)
    static func computeWhole<Operand, Result>(_ product: StridedProduct<Operand, Result>) {
        if Operand.self == Result.self, Result.self == Float.self {
            OpenBLAS.multiply(unsafeBitCast(product, to: MatrixProduct<Float>.self))
        } else if Operand.self == Result.self, Result.self == Double.self {
            OpenBLAS.multiply(unsafeBitCast(product, to: MatrixProduct<Double>.self))
        } else if Operand.self == UInt16.self, Result.self == Float.self {
            multiplyMixed(unsafeBitCast(product, to: MixedPrecisionProduct.self))
        } else {
            OpenBLAS.unsupported(Operand.self)
        }
    }

    /// `y ← α·Aᵀ·1 + β·y`: the column sums of the `m × n` matrix `a`, scaled
    /// and added to `y`. `ones` must hold at least `m` ones. No rows leaves `y ← β·y`.
    static func addColumnSums<Scalar: BLASScalar>(
        of a: UnsafePointer<Scalar>, rows m: Int32, columns n: Int32, ones: UnsafePointer<Scalar>,
        beta: Scalar, into y: UnsafeMutablePointer<Scalar>
    ) {
        OpenBLAS.setUp()
        guard n > 0 else { return }
        guard m > 0 else {
            scale(y, count: Int(n), by: beta)
            return
        }
        OpenBLAS.multiply(MatrixVectorProduct(
            transpose: true, m: m, n: n, a: a, lda: n, x: ones, beta: beta, y: y))
    }

    /// `x ← β·x`, where β = 0 writes zeros even over NaN, as BLAS does.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func scale<Scalar: BLASScalar>(_ x: UnsafeMutablePointer<Scalar>, count: Int, by beta: Scalar) {
        if beta == 0 {
            x.update(repeating: 0, count: count)
        } else if beta != 1 {
            for i in 0..<count { x[i] *= beta }
        }
    }

    /// `C ← β·C` (plus the bias, if the product has one) for a product with no inner dimension.
    private static func scaleRows<Operand, Result>(of product: StridedProduct<Operand, Result>) {
        for row in 0..<Int(product.m) {
            let c = product.c + row * Int(product.ldc)
            scale(c, count: Int(product.n), by: product.beta)
            if let bias = product.bias {
                for j in 0..<Int(product.n) { c[j] += bias[j] }
            }
        }
    }
}

/// A product whose result can be computed a block of rows at a time, each
/// block apart from the others: what ``Kernels`` splits across the worker pool.
protocol RowSplittableProduct {
    /// The rows of the result.
    var m: Int32 { get }
    /// How many blocks the product can be split into (``m`` unless it splits otherwise).
    var splitExtent: Int32 { get }
    /// The work that decides whether splitting pays: the multiply-adds of
    /// the whole product, in float32 on OpenBLAS, or what a product on
    /// another backend is worth in those.
    var splitWork: Double { get }
    /// Rows `rows` of the product: the same rows of its left operand, into the same rows of the result.
    func rows(_ rows: Range<Int>) -> Self
    /// Part `part` of `parts` nearly equal blocks, each computed apart from the others.
    func block(_ part: Int, of parts: Int) -> Self
    /// Computes the product whole on the calling thread, on its backend.
    func computeWhole()
}

extension RowSplittableProduct {
    /// How many blocks the product can be split into: its rows.
    var splitExtent: Int32 { m }

    /// Part `part` of `parts` nearly equal row blocks (empty when `parts` exceeds `m`).
    func block(_ part: Int, of parts: Int) -> Self {
        rows((Int(m) * part / parts)..<(Int(m) * (part + 1) / parts))
    }
}

extension StridedProduct: RowSplittableProduct {
    /// The multiply-adds, or for a bfloat16 product the fraction
    /// ``ProductSplit/mixedPrecisionFactor(on:)`` gives on its backend: its
    /// arithmetic is faster, so it splits later.
    var splitWork: Double {
        guard let bfloat16Backend else { return multiplyAdds }
        return multiplyAdds / Double(ProductSplit.mixedPrecisionFactor(on: bfloat16Backend))
    }

    func computeWhole() { Kernels.computeWhole(self) }

    /// Whether the product splits by columns of C rather than by rows: a
    /// bfloat16 product on Perceptron's kernel with more columns than rows.
    /// Each block packs the part of `op(B)` it multiplies, so split by rows
    /// every thread would pack all of `op(B)`; split by columns, each packs
    /// its share, and reads all of `A`, the smaller operand. The bits do not
    /// change: each value of C is computed alike in any block. A product that
    /// rounds `A` as it reads it (``unroundedA``) splits by rows, so that
    /// each value of `A` is rounded once, by one thread.
    var splitsByColumns: Bool {
        bfloat16Backend == .perceptron && n > m && unroundedA == nil
    }

    var splitExtent: Int32 { splitsByColumns ? n : m }

    func block(_ part: Int, of parts: Int) -> Self {
        let extent = Int(splitExtent)
        let range = (extent * part / parts)..<(extent * (part + 1) / parts)
        return splitsByColumns ? columns(range) : rows(range)
    }
}

/// One product split into blocks (of rows, or of columns where it
/// ``StridedProduct/splitsByColumns``), or two side by side, as a job for the
/// worker pool: three words, pointing at the products on the caller's stack.
struct RowBlocks<Product: RowSplittableProduct>: PoolJob {
    /// The product, or the first of two consecutive ones.
    let products: UnsafePointer<Product>
    /// The row blocks of the first product and of the second (0 when there is none).
    let firstParts: Int, secondParts: Int

    /// The first product in `firstParts` blocks, then, if `secondParts` is
    /// not 0, the product after it in memory in `secondParts` blocks.
    init(_ products: UnsafePointer<Product>, parts firstParts: Int, then secondParts: Int = 0) {
        (self.products, self.firstParts, self.secondParts) = (products, firstParts, secondParts)
    }

    var parts: Int { firstParts + secondParts }

    func run(part: Int) {
        if part < firstParts {
            products[0].block(part, of: firstParts).computeWhole()
        } else {
            products[1].block(part - firstParts, of: secondParts).computeWhole()
        }
    }
}
