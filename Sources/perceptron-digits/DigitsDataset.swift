import Foundation

/// UCI's optical recognition of handwritten digits: 8×8 images of 0…16 gray
/// levels, each with its digit. The gzip CSV ships in this target's resources.
struct DigitsDataset {
    static let featureCount = 64
    static let classCount = 10

    /// `count × featureCount` pixel values, one sample per row, row-major.
    var features: [Float]
    /// The digit (0…9) of each sample.
    var labels: [Int]

    var count: Int { labels.count }

    /// The features of sample `index`.
    func sample(_ index: Int) -> ArraySlice<Float> {
        features[index * Self.featureCount..<(index + 1) * Self.featureCount]
    }

    /// The data set bundled with the example (`Resources/digits.csv.gz`).
    static func bundled() throws -> DigitsDataset {
        guard let url = Bundle.module.url(forResource: "digits.csv", withExtension: "gz") else {
            throw DatasetError("digits.csv.gz is missing from the resource bundle")
        }
        let compressed = try [UInt8](Data(contentsOf: url))
        return try DigitsDataset(csv: Gzip.decompress(compressed), source: url.path)
    }

    /// Parses rows of 64 integer pixels in 0…16 followed by a label in 0…9,
    /// comma-separated, no header; blank lines (and a final newline) are allowed.
    ///
    /// - Throws: ``DatasetError`` naming the line and field that do not fit.
    init(csv bytes: [UInt8], source: String) throws(DatasetError) {
        features = []
        labels = []
        features.reserveCapacity(1797 * Self.featureCount)
        labels.reserveCapacity(1797)
        var fields: [Int] = []
        fields.reserveCapacity(Self.featureCount + 1)
        var line = 1
        var value: Int?
        // One pass over the bytes, without building a String per line or field.
        for byte in bytes + [UInt8(ascii: "\n")] {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let digit = Int(byte - UInt8(ascii: "0"))
                let next = (value ?? 0) * 10 + digit
                guard next <= 1_000_000 else { throw DatasetError("\(source):\(line): number too large") }
                value = next
            case UInt8(ascii: ","), UInt8(ascii: "\n"):
                if byte == UInt8(ascii: "\n") && value == nil && fields.isEmpty {
                    line += 1  // a blank line
                    continue
                }
                guard let field = value else {
                    throw DatasetError("\(source):\(line): empty field \(fields.count + 1)")
                }
                fields.append(field)
                value = nil
                if byte == UInt8(ascii: "\n") {
                    try appendRow(fields, line: line, source: source)
                    fields.removeAll(keepingCapacity: true)
                    line += 1
                }
            case UInt8(ascii: "\r"), UInt8(ascii: " "):
                continue
            default:
                throw DatasetError("\(source):\(line): unexpected character \(UnicodeScalar(byte).escaped(asASCII: true))")
            }
        }
        guard !labels.isEmpty else { throw DatasetError("\(source): no rows") }
    }

    private mutating func appendRow(_ fields: [Int], line: Int, source: String) throws(DatasetError) {
        guard fields.count == Self.featureCount + 1 else {
            throw DatasetError("\(source):\(line): expected \(Self.featureCount + 1) fields (64 pixels and a label), found \(fields.count)")
        }
        for (column, pixel) in fields.dropLast().enumerated() {
            guard (0...16).contains(pixel) else {
                throw DatasetError("\(source):\(line): pixel \(column + 1) is \(pixel), outside 0…16")
            }
            features.append(Float(pixel))
        }
        let label = fields[Self.featureCount]
        guard (0..<Self.classCount).contains(label) else {
            throw DatasetError("\(source):\(line): label \(label) is outside 0…9")
        }
        labels.append(label)
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
