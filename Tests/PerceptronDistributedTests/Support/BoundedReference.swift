// The independent reference for data-parallel training: the scenario's MLP
// (Linear, ReLU, Linear, ReLU, Linear, mean squared error) computed with
// plain loops in Double, each value carried with a rounding bound.
//
// The bound. Every computed value here is a sum of products of the inputs,
// so a classic argument bounds its Float error, whatever order the sums are
// taken in: if a value is computed through at most N roundings on any path
// from the inputs (a product adds its operands' depths plus 1; a sum of k
// terms adds k − 1 to the deepest term), then
//
//     |computed − exact| ≤ γ_N · magnitude,   γ_N = Nε / (1 − Nε),
//
// where the magnitude is the same computation on the absolute values of
// every input, with no cancellation. ReLU keeps the bound if it selects the
// same elements as the exact computation, which holds when every
// pre-activation is farther from 0 than its own bound; the reference checks
// that too.
//
// What differs between one process and K. One process sums a weight
// gradient's B per-sample terms in one order; K processes sum each part's
// b_r terms, multiply by b_r, add the K partial sums and divide by B: at most
// b_max + K + 1 roundings where one process has B. The bound below counts the
// larger of the two, so it holds for both computations, and so bounds what
// changing the order of summation can change.

import Foundation

/// A matrix of exact values (to Double's precision), their magnitudes (the
/// computation on absolute values) and the rounding depth of the computation.
struct Bounded {
    var rows: Int
    var columns: Int
    var value: [Double]
    var magnitude: [Double]
    var depth: Int

    /// An input taken as exact: the magnitude is its absolute value, the depth 0.
    init(rows: Int, columns: Int, exact value: [Double]) {
        precondition(value.count == rows * columns)
        self.rows = rows
        self.columns = columns
        self.value = value
        magnitude = value.map(abs)
        self.depth = 0
    }

    init(rows: Int, columns: Int, value: [Double], magnitude: [Double], depth: Int) {
        self.rows = rows
        self.columns = columns
        self.value = value
        self.magnitude = magnitude
        self.depth = depth
    }

    /// `a · b`, each of its sums of `a.columns` products.
    static func product(_ a: Bounded, _ b: Bounded) -> Bounded {
        precondition(a.columns == b.rows)
        var result = Bounded(
            rows: a.rows, columns: b.columns, value: .init(repeating: 0, count: a.rows * b.columns),
            magnitude: .init(repeating: 0, count: a.rows * b.columns), depth: a.depth + b.depth + a.columns)
        for i in 0..<a.rows {
            for k in 0..<a.columns {
                let (x, xm) = (a.value[i * a.columns + k], a.magnitude[i * a.columns + k])
                for j in 0..<b.columns {
                    result.value[i * b.columns + j] += x * b.value[k * b.columns + j]
                    result.magnitude[i * b.columns + j] += xm * b.magnitude[k * b.columns + j]
                }
            }
        }
        return result
    }

    /// The transpose (exact).
    var transposed: Bounded {
        var result = Bounded(rows: columns, columns: rows, value: value, magnitude: magnitude, depth: depth)
        for i in 0..<rows {
            for j in 0..<columns {
                result.value[j * rows + i] = value[i * columns + j]
                result.magnitude[j * rows + i] = magnitude[i * columns + j]
            }
        }
        return result
    }

    /// Each row plus `bias` (one row).
    func addingRow(_ bias: Bounded) -> Bounded {
        var result = self
        for i in 0..<rows {
            for j in 0..<columns {
                result.value[i * columns + j] += bias.value[j]
                result.magnitude[i * columns + j] += bias.magnitude[j]
            }
        }
        result.depth = max(depth, bias.depth) + 1
        return result
    }

    /// `self − exact`.
    func subtracting(exact other: [Double]) -> Bounded {
        var result = self
        for i in value.indices {
            result.value[i] -= other[i]
            result.magnitude[i] += abs(other[i])
        }
        result.depth += 1
        return result
    }

    /// `c · self`, for a constant `c` that is itself rounded once.
    func scaled(by c: Double) -> Bounded {
        Bounded(rows: rows, columns: columns, value: value.map { c * $0 }, magnitude: magnitude.map { abs(c) * $0 }, depth: depth + 2)
    }

    /// The elements where `selector` is positive (ReLU, and its backward pass).
    func masked(by selector: Bounded) -> Bounded {
        var result = self
        for i in value.indices where !(selector.value[i] > 0) {
            result.value[i] = 0
            result.magnitude[i] = 0
        }
        return result
    }

    /// The column sums, as one row: `rows` terms each.
    var columnSums: Bounded {
        var result = Bounded(
            rows: 1, columns: columns, value: .init(repeating: 0, count: columns),
            magnitude: .init(repeating: 0, count: columns), depth: depth + rows - 1)
        for i in 0..<rows {
            for j in 0..<columns {
                result.value[j] += value[i * columns + j]
                result.magnitude[j] += magnitude[i * columns + j]
            }
        }
        return result
    }

    /// γ_N for Float plus γ_N for Double (the reference's own rounding, which
    /// the magnitudes bound in the same way): the bound on |Float − reference|
    /// per unit of magnitude.
    var tolerance: Double {
        let n = Double(depth)
        let float = n * Double(Float.ulpOfOne / 2), double = n * Double.ulpOfOne / 2
        precondition(float < 0.5, "a depth of \(depth) roundings leaves no bound")
        return float / (1 - float) + double / (1 - double)
    }
}

/// The scenario's MLP: its gradient on a batch, with bounds, as one process
/// or K processes compute it.
struct BoundedMLP {
    /// The weights and biases in `forEachParameter` order: `0.weight` [f, h],
    /// `0.bias` [h], `2.weight`, `2.bias`, `4.weight`, `4.bias`.
    var parameters: [(name: String, rows: Int, columns: Int, scalars: [Double])]

    /// A pre-activation too close to 0 for the bound to decide ReLU's choice.
    struct UndecidedReLU: Error, CustomStringConvertible {
        var layer: Int
        var value: Double
        var bound: Double
        var description: String {
            "a pre-activation of layer \(layer) is \(value), within its rounding bound \(bound) of 0: "
                + "the bound does not apply (another seed would)"
        }
    }

    /// The gradient of the mean squared error on the batch `x` [B, f], `y`
    /// [B, m], by parameter name, bounded for one process and for processes
    /// whose parts of the batch have the sizes `parts` (one element: one process).
    func gradient(x: [Double], y: [Double], rows: Int, parts: [Int]) throws -> [String: Bounded] {
        func parameter(_ index: Int) -> Bounded {
            let p = parameters[index]
            return Bounded(rows: p.rows, columns: p.columns, exact: p.scalars)
        }
        let (w1, b1, w2, b2, w3, b3) = (parameter(0), parameter(1), parameter(2), parameter(3), parameter(4), parameter(5))
        let input = Bounded(rows: rows, columns: w1.rows, exact: x)
        let z1 = Bounded.product(input, w1).addingRow(b1)
        try Self.checkDecided(z1, layer: 0)
        let a1 = z1.masked(by: z1)
        let z2 = Bounded.product(a1, w2).addingRow(b2)
        try Self.checkDecided(z2, layer: 2)
        let a2 = z2.masked(by: z2)
        let z3 = Bounded.product(a2, w3).addingRow(b3)
        // ∂E/∂z3 = 2 (z3 − y) / (B·m): one rounding for the constant, one for the product.
        let g3 = z3.subtracting(exact: y).scaled(by: 2 / Double(rows * z3.columns))
        let g2 = Bounded.product(g3, w3.transposed).masked(by: z2)
        let g1 = Bounded.product(g2, w2.transposed).masked(by: z1)

        // A sum over the batch's rows: B − 1 additions for one process;
        // b_max − 1, then ×b_r, K − 1 additions and ÷B for K of them.
        let processes = parts.count
        let extra = processes > 1 ? max(0, (parts.max() ?? 0) + processes + 1 - rows) : 0
        func overRows(_ a: Bounded) -> Bounded {
            var a = a
            a.depth += extra
            return a
        }
        return [
            "0.weight": overRows(Bounded.product(input.transposed, g1)), "0.bias": overRows(g1.columnSums),
            "2.weight": overRows(Bounded.product(a1.transposed, g2)), "2.bias": overRows(g2.columnSums),
            "4.weight": overRows(Bounded.product(a2.transposed, g3)), "4.bias": overRows(g3.columnSums),
        ]
    }

    /// Throws if an element of `z` is within its bound of 0.
    private static func checkDecided(_ z: Bounded, layer: Int) throws {
        for i in z.value.indices {
            let bound = z.tolerance * z.magnitude[i]
            if abs(z.value[i]) <= bound { throw UndecidedReLU(layer: layer, value: z.value[i], bound: bound) }
        }
    }
}
