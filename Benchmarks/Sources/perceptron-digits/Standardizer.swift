/// Per-feature standardisation, `(x − mean) / std`, with the statistics of
/// one data set (the training split) applied to any other, as scikit-learn's
/// `StandardScaler` does: population standard deviation, and a feature that
/// never varies is only centred (divided by 1), not divided by zero.
struct Standardizer {
    var mean: [Float]
    var scale: [Float]

    /// Measures each feature's mean and standard deviation over `data`, in `Double`.
    init(fitting data: DigitsDataset) {
        let width = DigitsDataset.featureCount
        var sum = [Double](repeating: 0, count: width)
        var sumOfSquares = [Double](repeating: 0, count: width)
        for row in 0..<data.count {
            for (column, value) in data.sample(row).enumerated() {
                sum[column] += Double(value)
            }
        }
        let n = Double(data.count)
        let mean = sum.map { $0 / n }
        // Two passes: squares of deviations, not E[x²] − E[x]², which cancels badly.
        for row in 0..<data.count {
            for (column, value) in data.sample(row).enumerated() {
                let deviation = Double(value) - mean[column]
                sumOfSquares[column] += deviation * deviation
            }
        }
        self.mean = mean.map { Float($0) }
        scale = sumOfSquares.map { squares in
            let std = (squares / n).squareRoot()
            return std > 0 ? Float(std) : 1
        }
    }

    /// Standardises every sample of `data` in place.
    func apply(to data: inout DigitsDataset) {
        let width = DigitsDataset.featureCount
        data.features.withUnsafeMutableBufferPointer { features in
            for index in features.indices {
                let column = index % width
                features[index] = (features[index] - mean[column]) / scale[column]
            }
        }
    }
}
