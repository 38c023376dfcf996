import Foundation
import Perceptron

/// UCI's optical recognition of handwritten digits: 8×8 images of 0…16 gray
/// levels, each with its digit. Two `.npy` files ship in this target's resources.
struct DigitsDataset {
    /// Pixels per sample: an 8×8 image.
    static let featureCount = 64
    /// The digits 0…9.
    static let classCount = 10

    /// `count × featureCount` pixel values, one sample per row, row-major.
    var features: [Float]
    /// The digit (0…9) of each sample.
    var labels: [Int]

    /// The number of samples.
    var count: Int { labels.count }

    /// The features of sample `index`.
    func sample(_ index: Int) -> ArraySlice<Float> {
        features[index * Self.featureCount..<(index + 1) * Self.featureCount]
    }

    /// The data set bundled with the example: `Resources/digits-features.npy`
    /// and `Resources/digits-labels.npy`, made from the UCI file by
    /// `Resources/make_digits_npy.py`.
    static func bundled() throws -> DigitsDataset {
        try DigitsDataset(features: resource("digits-features"), labels: resource("digits-labels"))
    }

    /// The URL of `name.npy` in this target's resource bundle.
    private static func resource(_ name: String) throws(DatasetError) -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: "npy") else {
            throw DatasetError("\(name).npy is missing from the resource bundle")
        }
        return url
    }

    /// Reads the samples from two `.npy` files with Perceptron's reader: a
    /// float32 `[count, 64]` array of pixels, whole numbers in 0…16, and a
    /// float32 `[count]` array of labels.
    ///
    /// The labels are floats in the file because the reader takes only `<f4`
    /// and `<f8`: each must be an exact whole number in 0…9 before it becomes
    /// an `Int`, so that a fractional or out-of-range value is an error, not a
    /// silently truncated class.
    ///
    /// - Throws: `PerceptronError` for a file the reader refuses, and
    ///   ``DatasetError`` naming the file and sample that do not fit.
    init(features featuresURL: URL, labels labelsURL: URL) throws {
        let pixels = try Tensor<Float>(contentsOfNPY: featuresURL)
        let classes = try Tensor<Float>(contentsOfNPY: labelsURL)
        guard pixels.shape.count == 2, pixels.shape[1] == Self.featureCount, pixels.shape[0] > 0 else {
            throw DatasetError("\(featuresURL.path): expected shape [count, \(Self.featureCount)] with count ≥ 1, found \(pixels.shape)")
        }
        guard classes.shape == [pixels.shape[0]] else {
            throw DatasetError("\(labelsURL.path): expected shape [\(pixels.shape[0])], one label per sample, found \(classes.shape)")
        }
        features = pixels.scalars
        if let bad = features.firstIndex(where: { !Self.isWholeNumber($0, in: 0...16) }) {
            throw DatasetError("\(featuresURL.path): sample \(bad / Self.featureCount), pixel \(bad % Self.featureCount + 1) "
                               + "is \(features[bad]), not a whole number in 0…16")
        }
        let values = classes.scalars
        if let bad = values.firstIndex(where: { !Self.isWholeNumber($0, in: 0...Float(Self.classCount - 1)) }) {
            throw DatasetError("\(labelsURL.path): label \(bad) is \(values[bad]), not a whole number in 0…9")
        }
        labels = values.map { Int($0) }
    }

    /// Whether `value` is an integer within `range` (false for NaN).
    private static func isWholeNumber(_ value: Float, in range: ClosedRange<Float>) -> Bool {
        range.contains(value) && value.rounded() == value
    }

    private init(features: [Float], labels: [Int]) {
        self.features = features
        self.labels = labels
    }

    /// The samples at `indices`, in that order.
    func subset(_ indices: [Int]) -> DigitsDataset {
        var features: [Float] = []
        features.reserveCapacity(indices.count * Self.featureCount)
        for index in indices { features.append(contentsOf: sample(index)) }
        return DigitsDataset(features: features, labels: indices.map { labels[$0] })
    }

    /// A stratified split: each class's samples are shuffled with `generator`
    /// and `testFraction` of them (rounded) go to the test set, so both sets
    /// keep the classes in the data set's proportions.
    func stratifiedSplit<G: RandomNumberGenerator>(
        testFraction: Double, using generator: inout G
    ) -> (train: DigitsDataset, test: DigitsDataset) {
        var trainIndices: [Int] = [], testIndices: [Int] = []
        for digit in 0..<Self.classCount {
            var members = labels.indices.filter { labels[$0] == digit }
            members.shuffle(using: &generator)
            let testCount = Int((Double(members.count) * testFraction).rounded())
            testIndices += members[..<testCount]
            trainIndices += members[testCount...]
        }
        // Grouped by class here; training shuffles every epoch, and the test
        // set's order does not matter, but sorted keeps it in file order.
        return (subset(trainIndices.sorted()), subset(testIndices.sorted()))
    }
}

/// The data file does not hold what the example expects.
struct DatasetError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
