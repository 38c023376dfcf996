import Foundation

/// How the test set was classified: a confusion matrix, with rows for the
/// true digit and columns for the predicted one.
struct Evaluation {
    /// `counts[truth][prediction]`.
    private(set) var counts: [[Int]]

    init(labels: [Int], predictions: [Int], classes: Int) {
        counts = Array(repeating: Array(repeating: 0, count: classes), count: classes)
        for (truth, prediction) in zip(labels, predictions) { counts[truth][prediction] += 1 }
    }

    var total: Int { counts.joined().reduce(0, +) }
    var correct: Int { counts.indices.map { counts[$0][$0] }.reduce(0, +) }
    var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    /// The matrix, right-aligned, with each class's recall (the diagonal over the row's total):
    ///
    ///     true \ predicted    0   1 …   9   recall
    ///                    0   36   0 …   0  100.0 %
    func confusionMatrixText() -> String {
        let classes = counts.count
        let cell = max(3, String(counts.joined().max() ?? 0).count) + 1
        let label = "true \\ predicted"
        func pad(_ text: String, _ width: Int) -> String {
            String(repeating: " ", count: max(0, width - text.count)) + text
        }
        var lines = [pad(label, label.count) + (0..<classes).map { pad(String($0), cell) }.joined() + "   recall"]
        for truth in 0..<classes {
            let row = counts[truth]
            let rowTotal = row.reduce(0, +)
            let recall = rowTotal == 0 ? "–" : String(format: "%.1f %%", Double(row[truth]) / Double(rowTotal) * 100)
            lines.append(pad(String(truth), label.count) + row.map { pad(String($0), cell) }.joined() + pad(recall, 9))
        }
        return lines.joined(separator: "\n")
    }
}
