import Foundation
@testable import Perceptron
import Testing

@Suite("Standardizer")
struct StandardizerTests {
    /// The reference: mean and population standard deviation per column, by
    /// plain loops in Double (no constant column in these inputs).
    func reference(_ x: [[Double]]) -> (mean: [Double], std: [Double]) {
        let n = Double(x.count)
        let columns = x[0].count
        let mean = (0..<columns).map { c in x.reduce(0) { $0 + $1[c] } / n }
        let std = (0..<columns).map { c in (x.reduce(0) { $0 + ($1[c] - mean[c]) * ($1[c] - mean[c]) } / n).squareRoot() }
        return (mean, std)
    }

    @Test func fitsAndTransformsAsTheFormulaSays() throws {
        let rows: [[Double]] = [[1, 10, -3], [2, 30, -3], [4, 20, -3], [5, 0, -3]]
        let x = try Tensor<Double>(rows)
        let scaler = try Standardizer(fitting: x)
        let (mean, std) = reference(rows)
        #expect(scaler.featureCount == 3)
        #expect(scaler.mean.scalars[0..<2].elementsEqual(mean[0..<2]) { abs($0 - $1) < 1e-15 * max(1, abs($1)) })
        #expect(scaler.mean.scalars[2] == -3)
        #expect(abs(scaler.scale.scalars[0] - std[0]) < 1e-15 && abs(scaler.scale.scalars[1] - std[1]) < 1e-14)
        #expect(scaler.scale.scalars[2] == 1, "a constant column is only centred")
        let y = try scaler.transform(x)
        for (r, row) in rows.enumerated() {
            for c in 0..<2 { #expect(abs(y[r, c] - (row[c] - mean[c]) / std[c]) < 1e-14) }
            #expect(y[r, 2] == 0)
        }
        // A single sample, and samples over two leading axes.
        let one = try scaler.transform(Tensor(shape: [3], scalars: [3, 15, -3]))
        #expect(one.shape == [3] && abs(one[0]) < 1e-15 && abs(one[1]) < 1e-15 && one[2] == 0)
        let cube = try Tensor<Double>(shape: [2, 2, 3], scalars: rows.flatMap { $0 })
        #expect(try scaler.transform(cube).scalars == y.scalars)
        #expect(try Standardizer(fitting: cube).mean.scalars == scaler.mean.scalars)
    }

    @Test func accumulatesInDouble() throws {
        // 100 001 rows of 1e4 + a small spread: in Float, a running sum would lose the spread.
        let n = 100_001
        let values = (0..<n).map { Float(10_000) + Float($0 % 3) * 0.25 }
        let scaler = try Standardizer(fitting: Tensor(shape: [n, 1], scalars: values))
        // Multiples of 1/4 below 2³²: this sum in Double is exact.
        let exactMean = values.reduce(0.0) { $0 + Double($1) } / Double(n)
        #expect(abs(Double(scaler.mean.scalars[0]) - exactMean) <= Double(Float.ulpOfOne) * exactMean)
        let deviations = values.map { Double($0) - exactMean }
        let std = (deviations.reduce(0) { $0 + $1 * $1 } / Double(n)).squareRoot()
        #expect(abs(Double(scaler.scale.scalars[0]) - std) <= 2 * Double(Float.ulpOfOne) * std)
    }

    @Test func saveAndLoadRoundTrip() throws {
        var generator = SeededRandomNumberGenerator(seed: 4)
        let x = Tensor<Float>(shape: [20, 5], randomIn: -3...7, using: &generator)
        let scaler = try Standardizer(fitting: x)
        try withTemporaryDirectory { directory in
            let folder = directory.appendingPathComponent("scaler")
            try scaler.save(to: folder)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["mean.npy", "scale.npy"])
            let loaded = try Standardizer<Float>(contentsOf: folder)
            #expect(loaded.mean.scalarBytes == scaler.mean.scalarBytes)
            #expect(loaded.scale.scalarBytes == scaler.scale.scalarBytes)
            #expect(try loaded.transform(x).scalarBytes == scaler.transform(x).scalarBytes)
            // The files are plain .npy vectors, as np.load reads them.
            #expect(try Tensor<Float>(contentsOfNPY: folder.appendingPathComponent("mean.npy")).shape == [5])
            // The wrong precision names the file.
            let meanPath = folder.appendingPathComponent("mean.npy").path
            #expect(throws: PerceptronError.invalidNPY(path: meanPath, reason: "file holds float32 ('<f4') but Tensor<Double> was requested")) {
                try Standardizer<Double>(contentsOf: folder)
            }
        }
    }

    @Test func loadingChecksTheFiles() throws {
        try withTemporaryDirectory { directory in
            let mean = directory.appendingPathComponent("mean.npy")
            let scale = directory.appendingPathComponent("scale.npy")
            #expect(throws: PerceptronError.fileError(path: mean.path, operation: "open", reason: "No such file or directory (errno 2)")) {
                try Standardizer<Double>(contentsOf: directory)
            }
            try Tensor<Double>(shape: [3], scalars: [1, 2, 3]).writeNPY(to: mean)
            try Tensor<Double>(shape: [2], scalars: [1, 2]).writeNPY(to: scale)
            let shape = #expect(throws: PerceptronError.self) { try Standardizer<Double>(contentsOf: directory) }
            #expect(shape?.description
                == "the scale in \(directory.path) (one entry per feature, as the mean) must have shape [3], but has shape [2]")
            try Tensor<Double>(shape: [3], scalars: [1, 0, 2]).writeNPY(to: scale)
            let zero = #expect(throws: PerceptronError.self) { try Standardizer<Double>(contentsOf: directory) }
            #expect(zero?.description == "scale[1] in \(directory.path) must be finite and > 0, but is 0.0")
            try Tensor<Double>(shape: [1, 3], scalars: [1, 2, 3]).writeNPY(to: mean)
            let rank = #expect(throws: PerceptronError.self) { try Standardizer<Double>(contentsOf: directory) }
            #expect(rank?.description == "the mean in \(directory.path) must be a vector [features], but has shape [1, 3]")
        }
    }

    @Test func fromStatistics() throws {
        let scaler = try Standardizer(mean: Tensor<Float>(shape: [2], scalars: [1, -1]), scale: Tensor(shape: [2], scalars: [2, 4]))
        #expect(try scaler.transform(Tensor([[3, 7]])).scalars == [1, 2])
        #expect(try scaler.inverseTransform(Tensor([[1, 2]])).scalars == [3, 7])
        let nan = #expect(throws: PerceptronError.self) {
            try Standardizer(mean: Tensor<Float>(shape: [2], scalars: [.nan, 0]), scale: Tensor(shape: [2], repeating: 1))
        }
        #expect(nan?.description == "mean[0] must be finite, but is nan")
        #expect(throws: PerceptronError.invalidArgument(name: "scale[0]", expected: "finite and > 0", actual: "-1.0")) {
            try Standardizer(mean: Tensor<Float>(shape: [1]), scale: Tensor(shape: [1], repeating: -1))
        }
    }

    @Test func badInputsThrowNamingExpectedAndActual() throws {
        let scaler = try Standardizer(fitting: Tensor<Float>([[1, 2, 3], [4, 5, 6]]))
        let columns = #expect(throws: PerceptronError.self) { try scaler.transform(Tensor<Float>(shape: [2, 4])) }
        #expect(columns?.description == "input must have 3 features in its last dimension, but has shape [2, 4] (last dimension 4)")
        #expect(throws: PerceptronError.featureMismatch(expected: 3, actual: 2, shape: [5, 2])) {
            try scaler.inverseTransform(Tensor<Float>(shape: [5, 2]))
        }
        let scalar = #expect(throws: PerceptronError.self) { try scaler.transform(Tensor<Float>(shape: [])) }
        #expect(scalar?.description == "the input of Standardizer.transform must be of rank 1 or more ([..., features]), but has shape []")
        let vector = #expect(throws: PerceptronError.self) { try Standardizer(fitting: Tensor<Float>(shape: [4])) }
        #expect(vector?.description
            == "the features a Standardizer is fitted on must be of rank 2 or more ([samples, features]), but has shape [4]")
        let empty = #expect(throws: PerceptronError.self) { try Standardizer(fitting: Tensor<Float>(shape: [0, 3])) }
        #expect(empty?.description == "the features a Standardizer is fitted on must be of at least one row, but is of shape [0, 3]")
        // Zero features is a valid, if empty, standardiser.
        let none = try Standardizer(fitting: Tensor<Float>(shape: [4, 0]))
        let transformed = try none.transform(Tensor<Float>(shape: [2, 0]))
        #expect(none.featureCount == 0 && transformed.shape == [2, 0])
    }

    @Test func nonFiniteDataPropagates() throws {
        let scaler = try Standardizer(fitting: Tensor<Double>([[1, .nan], [3, 2]]))
        #expect(scaler.mean.scalars[0] == 2 && scaler.mean.scalars[1].isNaN && scaler.scale.scalars[1].isNaN)
    }
}
