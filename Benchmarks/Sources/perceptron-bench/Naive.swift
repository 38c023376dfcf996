@_spi(Benchmarking) import Perceptron

/// The baseline: the layer's products as plain triple loops over the same
/// contiguous row-major buffers, in the same precision, compiled in release.
///
/// The loop order is the textbook one, i-j-k: each output element is the dot
/// product of a row of the left operand with a column of the right.
enum Naive {
    /// `c ← op(a)·op(b)` (`+ c` when `accumulate`), op(a) `m × k`, op(b) `k × n`.
    static func gemm<Scalar: BLASScalar>(
        transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
        _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>,
        _ c: UnsafeMutablePointer<Scalar>, accumulate: Bool = false
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Scalar = accumulate ? c[i * n + j] : 0
                for p in 0..<k {
                    let left = transposeA ? a[p * m + i] : a[i * k + p]
                    let right = transposeB ? b[j * k + p] : b[p * n + j]
                    sum += left * right
                }
                c[i * n + j] = sum
            }
        }
    }
}

/// A linear layer computed with the naive loops: the benchmark's reference point.
final class NaiveLinear<Scalar: BLASScalar> {
    let n: Int, f: Int, m: Int
    let weight: [Scalar], bias: [Scalar]
    var output: [Scalar], weightGradient: [Scalar], biasGradient: [Scalar], inputGradient: [Scalar]

    init(n: Int, f: Int, m: Int, weight: [Scalar], bias: [Scalar]) {
        (self.n, self.f, self.m) = (n, f, m)
        (self.weight, self.bias) = (weight, bias)
        output = Array(repeating: 0, count: n * m)
        weightGradient = Array(repeating: 0, count: f * m)
        biasGradient = Array(repeating: 0, count: m)
        inputGradient = Array(repeating: 0, count: n * f)
    }

    func forward(_ x: UnsafePointer<Scalar>) {
        let (n, f, m) = (self.n, self.f, self.m)
        output.withUnsafeMutableBufferPointer { z in
            for i in 0..<n { for j in 0..<m { z[i * m + j] = bias[j] } }
            weight.withUnsafeBufferPointer { w in
                Naive.gemm(m: n, n: m, k: f, x, w.baseAddress!, z.baseAddress!, accumulate: true)
            }
        }
    }

    func backward(_ x: UnsafePointer<Scalar>, _ g: UnsafePointer<Scalar>) {
        let (n, f, m) = (self.n, self.f, self.m)
        weightGradient.withUnsafeMutableBufferPointer { dw in
            Naive.gemm(transposeA: true, m: f, n: m, k: n, x, g, dw.baseAddress!)
        }
        biasGradient.withUnsafeMutableBufferPointer { db in
            for j in 0..<m { db[j] = 0 }
            for i in 0..<n { for j in 0..<m { db[j] += g[i * m + j] } }
        }
        inputGradient.withUnsafeMutableBufferPointer { dx in
            weight.withUnsafeBufferPointer { w in
                Naive.gemm(transposeB: true, m: n, n: f, k: m, g, w.baseAddress!, dx.baseAddress!)
            }
        }
    }
}
