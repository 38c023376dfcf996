/// The example's configuration, stated once for perceptron-moons and for the
/// test that holds it to its accuracy.
public enum MoonsDefaults {
    /// Points generated, training and held-out together.
    public static let samples = 1000
    /// The standard deviation of the noise on each coordinate, as in
    /// scikit-learn's examples of `make_moons`.
    public static let noise = 0.2
    /// Units in each of the two hidden layers.
    public static let hidden = 16

    /// The points held out of `samples`: a fifth, rounded, and at least 1.
    public static func heldOutCount(of samples: Int) -> Int {
        max(1, Int((Double(samples) / 5).rounded()))
    }
}
