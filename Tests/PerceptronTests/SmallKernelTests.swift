// OpenBLAS's small-matrix kernels, which Perceptron calls directly for small
// products (BLAS+SmallKernels.swift): found where the library has them, routed
// to by the measured rule, and correct for every transpose and β against
// plain loops in Double. The kernels are called directly here rather than by
// changing BLAS.smallKernelLimit, which is process-wide: the concurrency
// tests compare results bit for bit, and a change of path changes last bits.

import CPerceptronCPU
import Foundation
@testable import Perceptron
import Testing

@Suite("Small-matrix kernels")
struct SmallKernelTests {
    typealias Permit = @convention(c) (Int32, Int32, Int, Int, Int, Float, Float) -> Int32

    /// Whether OpenBLAS itself uses `core`'s small-matrix kernels: its own
    /// permit function accepts a 16³ product. Looked up here independently
    /// of the library's loader.
    static func openBLASUsesSmallKernels(of core: String) -> Bool {
        let core = core.uppercased()
        guard dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sgemm_small_kernel_nn_\(core)") != nil,
              dlsym(UnsafeMutableRawPointer(bitPattern: 0), "dgemm_small_kernel_b0_tt_\(core)") != nil,
              let permit = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sgemm_small_matrix_permit_\(core)")
        else { return false }
        return unsafeBitCast(permit, to: Permit.self)(0, 0, 16, 16, 16, 1, 0) != 0
    }

    /// Where OpenBLAS has real small-matrix kernels for the running kernel
    /// (Debian 12's has them for SkylakeX), the set-up must have found them
    /// and their self-check must have passed; elsewhere they must be off.
    @Test func inUseWhereOpenBLASUsesThem() {
        let configuration = BLAS.configuration
        #expect(configuration.smallMatrixKernels == Self.openBLASUsesSmallKernels(of: configuration.coreName),
                "\(configuration)")
        #expect(configuration.description.hasSuffix(", small-matrix kernels") == configuration.smallMatrixKernels)
    }

    /// Every core of a DYNAMIC_ARCH build exports small-matrix kernels, most of
    /// them plain C loops: the loader must accept only the ones OpenBLAS uses.
    @Test(arguments: ["Prescott", "Sandybridge", "Haswell", "Zen", "SkylakeX", "Cooperlake", "NoSuchCore", ""])
    func onlyCoresOpenBLASUsesThemForArePermitted(core: String) {
        #expect(perceptron_small_kernels_permitted(core) == Self.openBLASUsesSmallKernels(of: core))
        if ["Prescott", "Sandybridge", "Haswell", "Zen", "NoSuchCore", ""].contains(core) {
            #expect(!perceptron_small_kernels_permitted(core), "\(core)'s small kernels are not OpenBLAS's choice")
        }
    }

    struct Route: Sendable, CustomTestStringConvertible {
        var double: Bool, transposeA: Bool, transposeB: Bool
        var m: Int32, n: Int32, k: Int32
        var expected: Bool
        var testDescription: String {
            "\(double ? "Double" : "Float") \(transposeA ? "T" : "N")\(transposeB ? "T" : "N") \(m)×\(n)×\(k)"
        }
    }

    /// The routing rule, with the default limit (2²³ multiply-adds).
    static let routes: [Route] = [
        Route(double: false, transposeA: false, transposeB: false, m: 64, n: 256, k: 256, expected: true),
        Route(double: false, transposeA: false, transposeB: false, m: 128, n: 256, k: 256, expected: true),  // = 2²³
        Route(double: false, transposeA: false, transposeB: false, m: 129, n: 256, k: 256, expected: false), // over
        // NN: C's row length must fill whole vectors, or the kernel allocates.
        Route(double: false, transposeA: false, transposeB: false, m: 64, n: 250, k: 256, expected: false),
        Route(double: false, transposeA: false, transposeB: false, m: 64, n: 248, k: 256, expected: false),
        Route(double: true, transposeA: false, transposeB: false, m: 64, n: 248, k: 256, expected: true),
        Route(double: true, transposeA: false, transposeB: false, m: 64, n: 250, k: 256, expected: false),
        // TN (∇W = XᵀG) at any row length.
        Route(double: false, transposeA: true, transposeB: false, m: 256, n: 250, k: 64, expected: true),
        // NT (∇X = GWᵀ): measured slower for Float, faster for Double.
        Route(double: false, transposeA: false, transposeB: true, m: 64, n: 256, k: 256, expected: false),
        Route(double: true, transposeA: false, transposeB: true, m: 64, n: 256, k: 256, expected: true),
        Route(double: true, transposeA: true, transposeB: true, m: 2000, n: 2000, k: 2000, expected: false),
        // TT: never, as in OpenBLAS's own rule.
        Route(double: true, transposeA: true, transposeB: true, m: 64, n: 64, k: 64, expected: false),
    ]

    @Test(arguments: routes)
    func routing(_ route: Route) {
        BLAS.prepare()
        let chosen = route.double
            ? BLAS.prefersSmallKernel(Double.self, transposeA: route.transposeA, transposeB: route.transposeB,
                                      m: route.m, n: route.n, k: route.k)
            : BLAS.prefersSmallKernel(Float.self, transposeA: route.transposeA, transposeB: route.transposeB,
                                      m: route.m, n: route.n, k: route.k)
        // Without the kernels nothing goes there.
        #expect(chosen == (route.expected && BLAS.configuration.smallMatrixKernels))
    }

    @Test func selfCheckPasses() throws {
        try #require(BLAS.configuration.smallMatrixKernels, "no small-matrix kernels for \(BLAS.configuration.coreName)")
        #expect(KernelSelection.selfCheck(Float.self, small: true))
        #expect(KernelSelection.selfCheck(Double.self, small: true))
    }

    struct Product: Sendable, CustomTestStringConvertible {
        var transposeA: Bool, transposeB: Bool
        var m: Int, n: Int, k: Int
        var beta: Double
        var testDescription: String {
            "\(transposeA ? "T" : "N")\(transposeB ? "T" : "N") \(m)×\(n)×\(k) β=\(beta)"
        }
    }

    /// Every transpose and β, at layer-like sizes between OpenBLAS's own
    /// small-matrix limit (10⁶) and Perceptron's (2²³), and at remainders of
    /// the kernels' vector widths.
    static let products: [Product] = [false, true].flatMap { transposeA in
        [false, true].flatMap { transposeB in
            [(64, 256, 256, 0.0), (96, 160, 200, 1.0), (33, 48, 1000, 0.0), (200, 64, 77, 1.0), (5, 3, 700, 0.0)]
                .map { Product(transposeA: transposeA, transposeB: transposeB, m: $0.0, n: $0.1, k: $0.2, beta: $0.3) }
        }
    }

    @Test("Float", arguments: products)
    func floatProducts(_ product: Product) throws {
        try check(Float.self, product)
    }

    @Test("Double", arguments: products)
    func doubleProducts(_ product: Product) throws {
        try check(Double.self, product)
    }

    /// `C ← op(A)·op(B) + β·C` on the small kernel, against loops in Double.
    func check<Scalar: BLASScalar>(_: Scalar.Type, _ p: Product) throws {
        try #require(BLAS.configuration.smallMatrixKernels, "no small-matrix kernels for \(BLAS.configuration.coreName)")
        var generator = SeededRandomNumberGenerator(seed: UInt64(p.m * 1_000_003 + p.n * 1_009 + p.k))
        let a: [Scalar] = randomScalars(p.m * p.k, using: &generator)
        let b: [Scalar] = randomScalars(p.k * p.n, using: &generator)
        let c0: [Scalar] = randomScalars(p.m * p.n, using: &generator)
        let beta = Scalar(p.beta)
        // β = 0 must not read C: start from NaN.
        var c = beta == 0 ? [Scalar](repeating: .nan, count: p.m * p.n) : c0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    Scalar._gemmSmall(
                        transposeA: p.transposeA, transposeB: p.transposeB,
                        m: Int32(p.m), n: Int32(p.n), k: Int32(p.k),
                        alpha: 1, a: a.baseAddress!, lda: Int32(p.transposeA ? p.m : p.k),
                        b: b.baseAddress!, ldb: Int32(p.transposeB ? p.k : p.n),
                        beta: beta, c: c.baseAddress!, ldc: Int32(p.n))
                }
            }
        }
        var values = [Double](repeating: 0, count: p.m * p.n)
        var magnitudes = values
        for i in 0..<p.m {
            for j in 0..<p.n {
                var sum = p.beta * Double(c0[i * p.n + j])
                var magnitude = abs(sum)
                for q in 0..<p.k {
                    let left = Double(p.transposeA ? a[q * p.m + i] : a[i * p.k + q])
                    let right = Double(p.transposeB ? b[j * p.k + q] : b[q * p.n + j])
                    sum += left * right
                    magnitude += abs(left * right)
                }
                (values[i * p.n + j], magnitudes[i * p.n + j]) = (sum, magnitude)
            }
        }
        let reference = Reference(shape: [p.m, p.n], values: values, magnitudes: magnitudes, terms: p.k + 1)
        let error = normalisedError(c, reference)
        #expect(error <= 1, "normalised error \(error) exceeds the rounding bound")
    }
}
