import Foundation
import Perceptron

/// UCI's optical recognition of handwritten digits: 8×8 images of 0…16 gray
/// levels, each with its digit. Two `.npy` files ship in this target's resources.
struct DigitsDataset {
    /// Pixels per sample: an 8×8 image.
    static let featureCount = 64
    /// The digits 0…9.
    static let classCount = 10

    /// The pixels, `[count, featureCount]`, one sample per row.
    var features: Tensor<Float>
    /// The digit (0…9) of each sample.
    var labels: [Int]

    /// The number of samples.
    var count: Int { labels.count }

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

    /// Reads the samples with Perceptron's `.npy` readers: a float32
    /// `[count, 64]` array of pixels, whole numbers in 0…16, and an integer
    /// `[count]` array of labels in 0…9.
    ///
    /// - Throws: `PerceptronError` for a file the reader refuses, and
    ///   ``DatasetError`` naming the file and sample that do not fit.
    init(features featuresURL: URL, labels labelsURL: URL) throws {
        features = try Tensor<Float>(contentsOfNPY: featuresURL)
        labels = try [Int](contentsOfNPY: labelsURL)
        guard features.shape.count == 2, features.shape[1] == Self.featureCount, features.shape[0] > 0 else {
            throw DatasetError("\(featuresURL.path): expected shape [count, \(Self.featureCount)] with count ≥ 1, found \(features.shape)")
        }
        guard labels.count == features.shape[0] else {
            throw DatasetError("\(labelsURL.path): expected \(features.shape[0]) labels, one per sample, found \(labels.count)")
        }
        let pixels = features.scalars
        if let bad = pixels.firstIndex(where: { !(0...16).contains($0) || $0.rounded() != $0 }) {
            throw DatasetError("\(featuresURL.path): sample \(bad / Self.featureCount), pixel \(bad % Self.featureCount + 1) "
                               + "is \(pixels[bad]), not a whole number in 0…16")
        }
        if let bad = labels.firstIndex(where: { !(0..<Self.classCount).contains($0) }) {
            throw DatasetError("\(labelsURL.path): label \(bad) is \(labels[bad]), not a digit 0…9")
        }
    }

    private init(features: Tensor<Float>, labels: [Int]) {
        self.features = features
        self.labels = labels
    }

    /// The samples at `indices`, in that order.
    func subset(_ indices: [Int]) throws(PerceptronError) -> DigitsDataset {
        DigitsDataset(features: try features.gatheringRows(indices), labels: indices.map { labels[$0] })
    }

    /// A stratified split: each class's samples are shuffled with `generator`
    /// and `testFraction` of them (rounded) go to the test set, so both sets
    /// keep the classes in the data set's proportions.
    func stratifiedSplit<G: RandomNumberGenerator>(
        testFraction: Double, using generator: inout G
    ) throws(PerceptronError) -> (train: DigitsDataset, test: DigitsDataset) {
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
        return (try subset(trainIndices.sorted()), try subset(testIndices.sorted()))
    }
}

/// The data file does not hold what the example expects.
struct DatasetError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
