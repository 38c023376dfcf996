/// Checks a layer's backward pass against central finite differences, in Double.
///
/// The check builds the scalar `E = Σ cᵢ yᵢ` from the layer's output `y` and
/// fixed random weights `c`, so that `∂E/∂y = c`; it runs one backward pass
/// with `c` and compares `∂E/∂input` and every parameter gradient with
/// `(E(v + h) − E(v − h)) / 2h`, perturbing one scalar at a time.
///
/// ```swift
/// let layer = Sequential<Double>([Linear(inputFeatures: 3, outputFeatures: 4), Tanh()])
/// let result = try GradientCheck.check(layer, input: x)
/// assert(result.maximumError < 1e-6, "\(result)")
/// ```
///
/// Each error is `|analytic − numeric| / max(1, |analytic|, |numeric|)`:
/// relative for large gradients, absolute for small ones. With the default
/// step, a correct layer with smooth activations gives about 1e-9; a
/// kink (ReLU at 0) within `step` of an input gives a large error there.
public enum GradientCheck {
    /// The largest errors found.
    public struct Result: Sendable, CustomStringConvertible {
        /// The largest error over the elements of `∂E/∂input`.
        public var inputError: Double
        /// The largest error over each parameter's elements, by parameter name.
        public var parameterErrors: [String: Double]

        /// The largest error of all.
        public var maximumError: Double {
            parameterErrors.values.reduce(inputError, max)
        }

        /// Every error, largest first in each group.
        public var description: String {
            let parameters = parameterErrors.sorted { $0.key < $1.key }
                .map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            return "input: \(inputError)" + (parameters.isEmpty ? "" : ", \(parameters)")
        }
    }

    /// Compares `layer`'s gradients at `input` with central differences of step `step`.
    ///
    /// The layer's parameters are perturbed and restored; its stored
    /// gradients are left as the analytic ones.
    public static func check(
        _ layer: some Layer<Double>, input: Tensor<Double>, step: Double = 1e-6, seed: UInt64 = 0
    ) throws(PerceptronError) -> Result {
        var generator = SeededRandomNumberGenerator(seed: seed)
        let output = try layer.forward(input)
        let weights = Tensor<Double>(shape: output.shape, randomIn: -1...1, using: &generator)
        let inputGradient = try layer.backward(weights, accumulate: false).scalars
        var analytic: [(String, [Double])] = []
        try layer.forEachParameter { name, _, gradient in analytic.append((name, gradient.scalars)) }

        func loss(_ x: Tensor<Double>) throws(PerceptronError) -> Double {
            let y = try layer.forward(x)
            var sum = 0.0
            for (value, weight) in zip(y.scalars, weights.scalars) { sum += value * weight }
            return sum
        }
        func error(_ a: Double, _ n: Double) -> Double {
            abs(a - n) / max(1, abs(a), abs(n))
        }

        var x = input
        var inputError = 0.0
        for position in 0..<x.count {
            let original = x.scalars[position]
            x.withUnsafeMutableBufferPointer { $0[position] = original + step }
            let plus = try loss(x)
            x.withUnsafeMutableBufferPointer { $0[position] = original - step }
            let minus = try loss(x)
            x.withUnsafeMutableBufferPointer { $0[position] = original }
            inputError = max(inputError, error(inputGradient[position], (plus - minus) / (2 * step)))
        }

        var parameterErrors: [String: Double] = [:]
        for (index, (name, gradient)) in analytic.enumerated() {
            var worst = 0.0
            for position in gradient.indices {
                var original = 0.0
                try setParameter(of: layer, index: index, position: position) { original = $0; return $0 + step }
                let plus = try loss(input)
                try setParameter(of: layer, index: index, position: position) { _ in original - step }
                let minus = try loss(input)
                try setParameter(of: layer, index: index, position: position) { _ in original }
                worst = max(worst, error(gradient[position], (plus - minus) / (2 * step)))
            }
            parameterErrors[name] = worst
        }
        // Leave the analytic gradients in place, as documented.
        _ = try layer.forward(input)
        _ = try layer.backward(weights, accumulate: false)
        return Result(inputError: inputError, parameterErrors: parameterErrors)
    }

    /// Replaces one scalar of the `index`-th parameter with `change(old)`.
    ///
    /// The change happens inside the visit, the forward pass after it: the
    /// visit holds exclusive access to the parameter.
    private static func setParameter(
        of layer: some Layer<Double>, index: Int, position: Int, _ change: (Double) -> Double
    ) throws(PerceptronError) {
        var current = 0
        try layer.forEachParameter { _, value, _ in
            if current == index {
                value.withUnsafeMutableBufferPointer { $0[position] = change($0[position]) }
            }
            current += 1
        }
    }
}
