extension Tensor {
    /// Whether every scalar is finite: no NaN and no infinity.
    ///
    /// Perceptron's arithmetic propagates NaN and infinity as IEEE arithmetic
    /// does rather than stopping on them; this is the cheap check to make
    /// where a non-finite value should stop a computation (a loss, a gradient
    /// before an optimizer step). One pass, no allocation.
    public var isFinite: Bool {
        @_specialize(where Scalar == Float)
        @_specialize(where Scalar == Double)
        get {
            let count = self.count
            return withUnsafeScalars { scalars in
                // `x − x` is 0 for finite x and NaN for NaN or ±∞, and NaN survives the
                // sum: a branch-free test that vectorises.
                var probe: Scalar = 0
                for i in 0..<count { probe += scalars[i] - scalars[i] }
                return probe == 0
            }
        }
    }
}
