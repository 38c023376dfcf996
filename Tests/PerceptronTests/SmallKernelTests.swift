// OpenBLAS's small-matrix kernels, which Perceptron calls directly for small
// products (Kernels/OpenBLAS/SmallKernels.swift): found where the library has them, routed
// to by the measured rule, and correct for every transpose and β against
// plain loops in Double. The kernels are called directly here rather than by
// changing BLAS.smallKernelLimit, which is process-wide: the concurrency
// tests compare results bit for bit, and a change of path changes last bits.

import CPerceptronCPU
import Foundation
@_spi(Benchmarking) @testable import Perceptron
import Testing

extension Trait where Self == ConditionTrait {
    /// Runs a test only where the small-matrix kernels are in use (SkylakeX or
    /// Cooperlake with an OpenBLAS built with them, as Debian 12's is).
    static var needsSmallKernels: Self {
        .enabled(if: BLAS.configuration.usesSmallMatrixKernels,
                 "this OpenBLAS kernel has no small-matrix kernels that OpenBLAS itself uses")
    }
}

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
        #expect(configuration.usesSmallMatrixKernels == Self.openBLASUsesSmallKernels(of: configuration.coreName),
                "\(configuration)")
        // OpenBLAS's part of the line, before oneDNN's in a build with the OneDNN trait.
        let openBLAS = configuration.description.split(separator: ";")[0]
        #expect(openBLAS.hasSuffix(", small-matrix kernels") == configuration.usesSmallMatrixKernels)
    }

    /// Every core of a DYNAMIC_ARCH build exports small-matrix kernels, most of
    /// them plain C loops: the loader must accept only the ones OpenBLAS uses.
    @Test(arguments: ["Prescott", "Sandybridge", "Haswell", "Zen", "SkylakeX", "Cooperlake", "NoSuchCore", ""])
    func onlyCoresOpenBLASUsesThemForArePermitted(core: String) {
        #expect(perceptron_small_kernels_permitted(core) == Self.openBLASUsesSmallKernels(of: core))
        if ["Prescott", "Sandybridge", "Haswell", "Zen", "NoSuchCore", ""].contains(core) {
            #expect(!perceptron_small_kernels_permitted(core), "\(core)'s small kernels are not OpenBLAS's choice")
        }
        // Debian 12's OpenBLAS 0.3.21 has real ones for SkylakeX.
        if core == "SkylakeX", BLAS.configuration.version == "0.3.21",
           BLAS.configuration.buildConfiguration.contains("DYNAMIC_ARCH") {
            #expect(perceptron_small_kernels_permitted(core))
        }
    }

    struct Route: Sendable, CustomTestStringConvertible {
        var double: Bool, transposeA: Bool, transposeB: Bool
        var m: Int32, n: Int32, k: Int32
        var expected: SmallKernels.Route
        var testDescription: String {
            "\(double ? "Double" : "Float") \(transposeA ? "T" : "N")\(transposeB ? "T" : "N") \(m)×\(n)×\(k)"
        }
    }

    /// The routing rule, with the default limit (2²³ multiply-adds).
    static let routes: [Route] = [
        Route(double: false, transposeA: false, transposeB: false, m: 64, n: 256, k: 256, expected: .smallKernel),
        Route(double: false, transposeA: false, transposeB: false, m: 128, n: 256, k: 256, expected: .smallKernel), // = 2²³
        Route(double: false, transposeA: false, transposeB: false, m: 129, n: 256, k: 256, expected: .cblas),      // over
        // NN with C's rows not filling whole vectors: the kernel would allocate for the remainder.
        Route(double: false, transposeA: false, transposeB: false, m: 64, n: 250, k: 256,
              expected: .columnsThenGEMVs(columns: 240, smallKernel: true)),
        Route(double: false, transposeA: false, transposeB: false, m: 64, n: 10, k: 64,
              expected: .columnsThenGEMVs(columns: 0, smallKernel: true)),
        Route(double: true, transposeA: false, transposeB: false, m: 64, n: 248, k: 256, expected: .smallKernel),
        Route(double: true, transposeA: false, transposeB: false, m: 64, n: 250, k: 256,
              expected: .columnsThenGEMVs(columns: 248, smallKernel: true)),
        // … over the limit, OpenBLAS's packed path, which does not allocate, except up to 10⁶.
        Route(double: false, transposeA: false, transposeB: false, m: 8192, n: 10, k: 784, expected: .cblas),
        // TN (∇W = XᵀG) at any row length.
        Route(double: false, transposeA: true, transposeB: false, m: 256, n: 250, k: 64, expected: .smallKernel),
        Route(double: false, transposeA: true, transposeB: false, m: 1000, n: 1000, k: 64, expected: .cblas),
        // NT (∇X = GWᵀ): measured slower for Float; for Double only with k ≥ 32.
        Route(double: false, transposeA: false, transposeB: true, m: 64, n: 256, k: 256, expected: .cblas),
        Route(double: true, transposeA: false, transposeB: true, m: 64, n: 256, k: 256, expected: .smallKernel),
        Route(double: true, transposeA: false, transposeB: true, m: 64, n: 256, k: 10, expected: .cblas),
        // TT: never, as in OpenBLAS's own rule.
        Route(double: true, transposeA: true, transposeB: true, m: 64, n: 64, k: 64, expected: .cblas),
    ]

    @Test(.needsSmallKernels, arguments: routes)
    func routing(_ route: Route) {
        let chosen = route.double
            ? SmallKernels.route(Double.self, transposeA: route.transposeA, transposeB: route.transposeB,
                         m: route.m, n: route.n, k: route.k)
            : SmallKernels.route(Float.self, transposeA: route.transposeA, transposeB: route.transposeB,
                         m: route.m, n: route.n, k: route.k)
        #expect(chosen == route.expected)
    }

    /// Without the kernels in use, everything goes through CBLAS.
    @Test func everythingThroughCBLASWithoutTheKernels() {
        guard !BLAS.configuration.usesSmallMatrixKernels else { return }
        for route in Self.routes {
            #expect(SmallKernels.route(Float.self, transposeA: route.transposeA, transposeB: route.transposeB,
                               m: route.m, n: route.n, k: route.k) == .cblas)
        }
    }

    @Test(.needsSmallKernels) func selfCheckPasses() {
        #expect(KernelSelector.selfCheck(Float.self, small: true))
        #expect(KernelSelector.selfCheck(Double.self, small: true))
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

    @Test("Float", .needsSmallKernels, arguments: products)
    func floatProducts(_ product: Product) throws {
        try check(Float.self, product)
    }

    @Test("Double", .needsSmallKernels, arguments: products)
    func doubleProducts(_ product: Product) throws {
        try check(Double.self, product)
    }

    /// NN products whose rows of C do not fill whole vectors, through the
    /// library's GEMM: leading columns on the kernel (or CBLAS over the
    /// limit, up to 10⁶), the rest one GEMV each; with β = 0 over NaN.
    static let remainders: [Product] = [
        (33, 100, 70, 0.0), (33, 100, 70, 1.0), (5, 10, 64, 0.0), (40, 36, 1000, 1.0), (3, 7, 5, 0.0), (129, 250, 256, 0.0),
    ].map { Product(transposeA: false, transposeB: false, m: $0.0, n: $0.1, k: $0.2, beta: $0.3) }

    @Test("NN remainders, Float", arguments: remainders)
    func floatRemainders(_ product: Product) throws {
        try check(Float.self, product, throughLibrary: true)
    }

    @Test("NN remainders, Double", arguments: remainders)
    func doubleRemainders(_ product: Product) throws {
        try check(Double.self, product, throughLibrary: true)
    }

    /// `C ← op(A)·op(B) + β·C` on the small kernel (or, `throughLibrary`,
    /// through `Kernels.multiply` and whatever route it takes), against loops in Double.
    func check<Scalar: BLASScalar>(_: Scalar.Type, _ p: Product, throughLibrary: Bool = false) throws {
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
                    let product = MatrixProduct(
                        transposeA: p.transposeA, transposeB: p.transposeB,
                        m: Int32(p.m), n: Int32(p.n), k: Int32(p.k),
                        a.baseAddress!, b.baseAddress!, beta: beta, c.baseAddress!)
                    if throughLibrary {
                        Kernels.multiply(product)
                    } else {
                        OpenBLAS.gemm(product, small: true)
                    }
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
