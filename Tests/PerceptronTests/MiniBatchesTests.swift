import Perceptron
import Testing

/// `n` rows of `width` features whose scalars encode their row: row r holds
/// 100·r + c at column c, so a batch's features say which rows it holds.
func encodedRows(_ n: Int, width: Int = 3) throws -> Tensor<Float> {
    try Tensor(shape: [n, width], scalars: (0..<(n * width)).map { Float(100 * ($0 / width) + $0 % width) })
}

/// The rows a features batch of `encodedRows` holds, checking each row is whole.
func decodedRows(_ features: Tensor<Float>, sourceLocation: SourceLocation = #_sourceLocation) -> [Int] {
    let width = features.shape[1]
    let scalars = features.scalars
    return (0..<features.shape[0]).map { row in
        let index = Int(scalars[row * width]) / 100
        for column in 0..<width {
            #expect(scalars[row * width + column] == Float(100 * index + column), sourceLocation: sourceLocation)
        }
        return index
    }
}

/// One pass's labels, batch by batch, checking that each batch's features hold the rows its labels name.
func pass(_ batches: MiniBatches<Float>, sourceLocation: SourceLocation = #_sourceLocation) -> [[Int]] {
    batches.map { features, labels in
        #expect(features.shape == [labels.count, 3], sourceLocation: sourceLocation)
        #expect(decodedRows(features, sourceLocation: sourceLocation) == labels, sourceLocation: sourceLocation)
        return labels
    }
}

struct BatchingCase: Sendable, CustomTestStringConvertible {
    var rows: Int, batchSize: Int, dropLast: Bool
    var sizes: [Int]
    var testDescription: String { "\(rows) rows by \(batchSize)\(dropLast ? ", dropLast" : "")" }
}

@Suite("MiniBatches")
struct MiniBatchesTests {
    static let cases = [
        BatchingCase(rows: 10, batchSize: 3, dropLast: false, sizes: [3, 3, 3, 1]),
        BatchingCase(rows: 10, batchSize: 3, dropLast: true, sizes: [3, 3, 3]),
        BatchingCase(rows: 12, batchSize: 4, dropLast: false, sizes: [4, 4, 4]),
        BatchingCase(rows: 12, batchSize: 4, dropLast: true, sizes: [4, 4, 4]),
        BatchingCase(rows: 5, batchSize: 8, dropLast: false, sizes: [5]),
        BatchingCase(rows: 5, batchSize: 8, dropLast: true, sizes: []),
        BatchingCase(rows: 7, batchSize: 1, dropLast: false, sizes: [1, 1, 1, 1, 1, 1, 1]),
        BatchingCase(rows: 0, batchSize: 2, dropLast: false, sizes: []),
    ]

    @Test(arguments: cases, [true, false])
    func everyRowOncePerPassInBatchesOfTheRightSizes(_ c: BatchingCase, shuffle: Bool) throws {
        let batches = try MiniBatches(
            features: encodedRows(c.rows), labels: Array(0..<c.rows), batchSize: c.batchSize,
            shuffle: shuffle, dropLast: c.dropLast, seed: 3)
        #expect(batches.batchCount == c.sizes.count)
        #expect(batches.underestimatedCount == c.sizes.count)
        for _ in 0..<3 {
            let labels = pass(batches)
            #expect(labels.map(\.count) == c.sizes)
            let visited = labels.flatMap { $0 }
            #expect(Set(visited).count == visited.count, "a row twice in one pass")
            if c.dropLast {
                #expect(visited.count == c.rows - c.rows % c.batchSize)
            } else {
                #expect(visited.sorted() == Array(0..<c.rows))
            }
            if !shuffle { #expect(visited == Array(0..<visited.count)) }
        }
    }

    @Test func sameSeedSameOrdersAnotherSeedOthers() throws {
        func orders(seed: UInt64) throws -> [[Int]] {
            let batches = try MiniBatches(features: encodedRows(20), labels: Array(0..<20), batchSize: 6, seed: seed)
            return (0..<4).map { _ in pass(batches).flatMap { $0 } }
        }
        let first = try orders(seed: 11)
        #expect(try orders(seed: 11) == first)
        #expect(Set(first).count == 4, "each pass should have a new order")
        #expect(!first.contains(Array(0..<20)))
        let other = try orders(seed: 12)
        #expect(other != first)
        #expect(zip(first, other).allSatisfy { $0 != $1 })
    }

    @Test func batchesNeverChangeOnceHandedOut() throws {
        // One short batch per pass, so that both pairs of buffers are exercised.
        let batches = try MiniBatches(features: encodedRows(11), labels: Array(0..<11), batchSize: 4, seed: 5)
        var held: [(features: Tensor<Float>, labels: [Int], scalars: [Float])] = []
        for epoch in 0..<3 {
            for (index, batch) in batches.enumerated() {
                // Keep the first batch of every pass, and the short last one.
                if index == 0 || batch.labels.count < 4 { held.append((batch.features, batch.labels, batch.features.scalars)) }
                _ = epoch
            }
        }
        // Everything produced later reused buffers where it could, never these.
        for (features, labels, scalars) in held {
            #expect(features.scalars == scalars)
            #expect(decodedRows(features) == labels)
        }
        // Collecting every batch of a pass at once: each is still the rows it named.
        let all = Array(batches)
        #expect(all.count == 3)
        for batch in all { #expect(decodedRows(batch.features) == batch.labels) }
        #expect(all.flatMap(\.labels).sorted() == Array(0..<11))
    }

    @Test func aLiveIteratorKeepsItsOrderWhenAnotherPassStarts() throws {
        let batches = try MiniBatches(features: encodedRows(9), labels: Array(0..<9), batchSize: 2, seed: 8)
        var outer = batches.makeIterator()
        var firstPass: [Int] = []
        let start = outer.next()
        firstPass += try #require(start).labels
        let secondPass = pass(batches).flatMap { $0 }
        while let batch = outer.next() {
            #expect(decodedRows(batch.features) == batch.labels)
            firstPass += batch.labels
        }
        #expect(firstPass.sorted() == Array(0..<9))
        #expect(secondPass.sorted() == Array(0..<9))
        #expect(firstPass != secondPass)
    }

    /// A training loop holds the last batch (the first layer keeps its input
    /// until its next forward pass): the buffers then alternate, two per batch
    /// size, and no new one is made once warm.
    @Test func buffersAreReusedWhileTheLastBatchIsHeld() throws {
        let batches = try MiniBatches(features: encodedRows(11), labels: Array(0..<11), batchSize: 4, seed: 1)
        var heldFeatures: Tensor<Float>?
        var heldLabels: [Int]?
        var featureBuffers: [Int: Set<UnsafeRawPointer>] = [:]
        var labelBuffers: [Int: Set<UnsafeRawPointer>] = [:]
        for _ in 0..<5 {
            for (features, labels) in batches {
                #expect(decodedRows(features) == labels)
                featureBuffers[labels.count, default: []].insert(features.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) })
                labelBuffers[labels.count, default: []].insert(labels.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) })
                (heldFeatures, heldLabels) = (features, labels)
            }
        }
        #expect(heldFeatures != nil && heldLabels != nil)
        #expect(featureBuffers[4]?.count == 2)
        #expect(labelBuffers[4]?.count == 2)
        // The short batch is let go of by the next pass's full batches, so its
        // tensor is reused at once; its label arrays still alternate, two at most.
        #expect(featureBuffers[3]?.count == 1)
        #expect((labelBuffers[3]?.count ?? 0) <= 2)
    }

    @Test func featuresOfRankOneAndThree() throws {
        let vector = try Tensor<Double>(shape: [5], scalars: [0, 1, 2, 3, 4])
        for (features, labels) in try MiniBatches(features: vector, labels: Array(0..<5), batchSize: 2) {
            #expect(features.scalars == labels.map(Double.init))
        }
        let cube = try iota([6, 2, 3], as: Double.self)
        for (features, labels) in try MiniBatches(features: cube, labels: Array(0..<6), batchSize: 4, seed: 9) {
            #expect(features.shape == [labels.count, 2, 3])
            #expect(features.scalars == referenceRows(cube, labels))
        }
    }

    @Test func badArgumentsThrowNamingExpectedAndActual() throws {
        let x = try encodedRows(5)
        let size = #expect(throws: PerceptronError.self) { try MiniBatches(features: x, labels: Array(0..<5), batchSize: 0) }
        #expect(size?.description == "batchSize must be at least 1, but is 0")
        let count = #expect(throws: PerceptronError.self) { try MiniBatches(features: x, labels: [0, 1, 2], batchSize: 2) }
        #expect(count?.description == "the number of labels (one per row of features [5, 3]) must be 5, but is 3")
        let scalar = #expect(throws: PerceptronError.self) {
            try MiniBatches(features: Tensor<Float>(shape: [], repeating: 1), labels: [0], batchSize: 1)
        }
        #expect(scalar?.description == "features must be of rank 1 or more (one row per sample), but has shape []")
        let targets = #expect(throws: PerceptronError.self) {
            try RegressionBatches(features: x, targets: Tensor<Float>(shape: [4, 1]), batchSize: 2)
        }
        #expect(targets?.description == "the rows of targets [4, 1] (one per row of features [5, 3]) must be 5, but is 4")
        let scalarTargets = #expect(throws: PerceptronError.self) {
            try RegressionBatches(features: x, targets: Tensor<Float>(shape: []), batchSize: 2)
        }
        #expect(scalarTargets?.description == "targets must be of rank 1 or more (one row per sample), but has shape []")
    }
}

@Suite("RegressionBatches")
struct RegressionBatchesTests {
    @Test(arguments: [false, true])
    func targetsAreTheRowsOfTheFeatures(_ dropLast: Bool) throws {
        let x = try encodedRows(13)
        // Target row r is (r, −r): it must travel with feature row r.
        let targetRows: [[Float]] = (0..<13).map { (row: Int) -> [Float] in [Float(row), -Float(row)] }
        let y = try Tensor<Float>(targetRows)
        let batches = try RegressionBatches(features: x, targets: y, batchSize: 5, dropLast: dropLast, seed: 4)
        #expect(batches.batchCount == (dropLast ? 2 : 3))
        var orders: [[Int]] = []
        var held: [(Tensor<Float>, Tensor<Float>, [Float], [Float])] = []
        for _ in 0..<3 {
            var order: [Int] = []
            for (features, targets) in batches {
                let rows = decodedRows(features)
                #expect(targets.shape == [rows.count, 2])
                let expected: [Float] = rows.flatMap { (row: Int) -> [Float] in [Float(row), -Float(row)] }
                #expect(targets.scalars == expected)
                order += rows
                held.append((features, targets, features.scalars, targets.scalars))
            }
            #expect(Set(order).count == order.count)
            #expect(order.count == (dropLast ? 10 : 13))
            orders.append(order)
        }
        #expect(Set(orders).count == 3)
        for (features, targets, f, t) in held {
            #expect(features.scalars == f && targets.scalars == t)
        }
    }

    @Test func sameSeedGivesTheOrdersOfMiniBatches() throws {
        // One order code for both: the same seed visits the rows in the same order.
        let x = try encodedRows(17)
        let regression = try RegressionBatches(features: x, targets: x, batchSize: 4, seed: 21)
        let classification = try MiniBatches(features: x, labels: Array(0..<17), batchSize: 4, seed: 21)
        for _ in 0..<3 {
            let a = regression.flatMap { decodedRows($0.features) }
            let b = pass(classification).flatMap { $0 }
            #expect(a == b)
        }
    }
}
