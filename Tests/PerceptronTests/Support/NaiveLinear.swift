@_spi(Benchmarking) import Perceptron

/// A reference result computed independently of OpenBLAS: plain loops
/// accumulated in Double, with the sum of the absolute values of each
/// element's terms, which bounds its rounding error.
struct Reference {
    var shape: [Int]
    var values: [Double]
    /// Σ|terms| per element: `|got − value| ≤ tolerance · magnitude` is the
    /// normalised error test, meaningful in both precisions.
    var magnitudes: [Double]
    /// How many products each element sums (the inner dimension).
    var terms: Int
}

/// The seed's formulas written as the textbook loops, in Double.
enum NaiveLinear {
    /// `Z = XW + b`: X is n×f, W is f×m.
    static func forward(x: [Double], w: [Double], b: [Double]?, n: Int, f: Int, m: Int) -> Reference {
        var values = [Double](repeating: 0, count: n * m)
        var magnitudes = values
        for i in 0..<n {
            for j in 0..<m {
                var sum = b?[j] ?? 0
                var magnitude = abs(sum)
                for k in 0..<f {
                    let term = x[i * f + k] * w[k * m + j]
                    sum += term
                    magnitude += abs(term)
                }
                values[i * m + j] = sum
                magnitudes[i * m + j] = magnitude
            }
        }
        return Reference(shape: [n, m], values: values, magnitudes: magnitudes, terms: f + 1)
    }

    /// `∇W = XᵀG`: f×m, each element a sum over the n samples.
    static func weightGradient(x: [Double], g: [Double], n: Int, f: Int, m: Int) -> Reference {
        var values = [Double](repeating: 0, count: f * m)
        var magnitudes = values
        for k in 0..<f {
            for j in 0..<m {
                for i in 0..<n {
                    let term = x[i * f + k] * g[i * m + j]
                    values[k * m + j] += term
                    magnitudes[k * m + j] += abs(term)
                }
            }
        }
        return Reference(shape: [f, m], values: values, magnitudes: magnitudes, terms: n)
    }

    /// `∇b`: the column sums of G.
    static func biasGradient(g: [Double], n: Int, m: Int) -> Reference {
        var values = [Double](repeating: 0, count: m)
        var magnitudes = values
        for i in 0..<n {
            for j in 0..<m {
                values[j] += g[i * m + j]
                magnitudes[j] += abs(g[i * m + j])
            }
        }
        return Reference(shape: [m], values: values, magnitudes: magnitudes, terms: n)
    }

    /// `∇X = GWᵀ`: n×f, each element a sum over the m outputs.
    static func inputGradient(g: [Double], w: [Double], n: Int, f: Int, m: Int) -> Reference {
        var values = [Double](repeating: 0, count: n * f)
        var magnitudes = values
        for i in 0..<n {
            for k in 0..<f {
                for j in 0..<m {
                    let term = g[i * m + j] * w[k * m + j]
                    values[i * f + k] += term
                    magnitudes[i * f + k] += abs(term)
                }
            }
        }
        return Reference(shape: [n, f], values: values, magnitudes: magnitudes, terms: m)
    }
}
