import Synchronization

// Which requests an InferenceModel serves from packed weights.
//
// Packing pays only for some models and sizes. Requests of a few rows run on
// the library's own kernel, whose call costs little; larger ones, with the
// OneDNN trait, on oneDNN's matmul, whose call costs more (it gathers its
// arguments into a map on every call, and its code path is long) but whose
// kernel is faster on many rows (without oneDNN's packed weights they keep
// the layers' kernels); and either can lose to OpenBLAS on the layers' own
// kernels for some shapes.
// So a snapshot asked for packed weights is timed, whole, against the same
// model on its layers' own kernels, at a few request sizes, and serves packed
// from the size where packed measured faster at every size timed. Timed
// whole, rather than layer by layer, because a small call measured alone in a
// tight loop runs hot in the caches, and in a model it does not: a packed
// layer that wins alone can lose inside the model.

/// What decides which requests an ``InferenceModel`` serves from packed weights.
enum WeightPacking {
    /// Whether every weight that can be packed is packed (for oneDNN, plain
    /// layouts included) and serves every request it can, without timing
    /// (`BLAS.forcesWeightPacking`): the same route on every CPU and every
    /// run, so that tests reach it anywhere.
    static let isForced = Atomic<Bool>(false)

    /// The request sizes, in rows, the two snapshots are timed at, smallest first.
    static let timedRows = [1, 4, 16, 64, 256]

    /// A size whose slower snapshot takes longer than this per request, in
    /// seconds, is the last one timed: larger ones would make the snapshot
    /// slow to make, and are decided as it is.
    static let longestTimedCall = 2e-3

    /// The calls of each snapshot timed at each size; the fastest counts.
    static let timedCalls = 9

    /// The smallest request size from which the packed snapshot serves, given
    /// both snapshots' times at increasing sizes: the first size from which
    /// packed is faster at every size timed, so that no request takes the
    /// snapshot that measured slower at its size or at a larger one. `nil`
    /// when packed is not faster at the largest size timed.
    static func firstPackedRows(_ timings: [(rows: Int, layers: Double, packed: Double)]) -> Int? {
        var first: Int? = nil
        for timing in timings {
            first = timing.packed < timing.layers ? first ?? timing.rows : nil
        }
        return first
    }

    /// The requests a packed snapshot serves: `from` rows through `through`
    /// (`nil`: no largest).
    struct PackedRows: Equatable {
        var from: Int
        var through: Int?

        /// Whether a request of `rows` rows is served packed.
        func contains(_ rows: Int) -> Bool { rows >= from && rows <= (through ?? Int.max) }
    }

    /// The requests the packed snapshot serves, given both snapshots' times
    /// at increasing sizes, where requests of more than `limit` rows run on
    /// another packed kernel than smaller ones (`nil`: one kernel for all).
    ///
    /// Each kernel's sizes are decided on their own, so that one kernel
    /// losing cannot take away the other's gain, and a kernel no size of
    /// which was timed serves nothing: up to `limit`, ``firstPackedRows(_:)``
    /// of the sizes timed there; past it, packed only from the first size
    /// from which it won at every size timed there. The two join into one
    /// range where both win at the sizes next to `limit`; otherwise the
    /// smaller kernel's range is kept.
    static func packedRows(
        _ timings: [(rows: Int, layers: Double, packed: Double)], kernelChangesAfter limit: Int?
    ) -> PackedRows? {
        guard let limit else { return firstPackedRows(timings).map { PackedRows(from: $0, through: nil) } }
        let small = timings.filter { $0.rows <= limit }, large = timings.filter { $0.rows > limit }
        let largeFrom = firstPackedRows(large)
        guard let smallFrom = firstPackedRows(small) else {
            return largeFrom.map { PackedRows(from: $0, through: nil) }
        }
        return PackedRows(from: smallFrom, through: largeFrom != nil && largeFrom == large.first?.rows ? nil : limit)
    }

    /// The requests `packed` serves rather than `layers` (the same model on
    /// its layers' kernels): when packing is forced, every one from 0 rows
    /// that a packed weight can take; `nil` when packed never measured
    /// faster, or when the model cannot be timed (its input width is unknown,
    /// or a call throws, as a layer in bfloat16 does on a CPU without
    /// bfloat16).
    ///
    /// Where the library's kernel packed, requests of up to its row limit
    /// run on it and larger ones on oneDNN's packed weights; where oneDNN
    /// packed none (on AVX2, or without the trait), larger requests run on the
    /// layers' kernels either way, so they are not timed and not served packed.
    static func packedRows<Scalar>(packed: LayerSnapshot<Scalar>, layers: LayerSnapshot<Scalar>) -> PackedRows? {
        let implementations = packed.packedImplementations
        let limit = implementations.contains { $0 == PanelGEMM.kernelName } ? PanelGEMM.rowLimit : nil
        let packsLarger = packsLargerRequests(implementations)
        if isForced.load(ordering: .relaxed) {
            return PackedRows(from: 0, through: packsLarger ? nil : limit)
        }
        guard let features = layers.inputFeatures, features > 0 else { return nil }
        var timings: [(rows: Int, layers: Double, packed: Double)] = []
        for rows in rowsToTime(kernelChangesAfter: limit, packsLargerRequests: packsLarger) {
            let input = Tensor<Scalar>(shape: [rows, features], repeating: 1 / 2)
            guard let (layersTime, packedTime) = try? fastest(
                { () throws(PerceptronError) in _ = try layers.predict(input) },
                { () throws(PerceptronError) in _ = try packed.predict(input) })
            else { return nil }
            timings.append((rows, layersTime, packedTime))
            if max(layersTime, packedTime) > longestTimedCall { break }
        }
        return packedRows(timings, kernelChangesAfter: limit)
    }

    /// Whether any of a packed snapshot's kernels (`implementations`, as
    /// ``LayerSnapshot/packedImplementations`` lists them) serves requests
    /// past the library's kernel's row limit: only oneDNN's packed weights do.
    static func packsLargerRequests(_ implementations: [String]) -> Bool {
        implementations.contains { $0 != PanelGEMM.kernelName }
    }

    /// The sizes of ``timedRows`` worth timing: all of them, but none past
    /// `limit` when no packed weight serves requests that large.
    static func rowsToTime(kernelChangesAfter limit: Int?, packsLargerRequests: Bool) -> [Int] {
        timedRows.filter { packsLargerRequests || $0 <= (limit ?? .max) }
    }

    /// The fastest of ``timedCalls`` calls of each of `first` and `second`, in
    /// seconds, the two taking turns so that a change in the machine's speed
    /// reaches both, after one untimed call of each.
    private static func fastest(
        _ first: () throws(PerceptronError) -> Void, _ second: () throws(PerceptronError) -> Void
    ) throws(PerceptronError) -> (Double, Double) {
        let clock = ContinuousClock()
        func seconds(_ body: () throws(PerceptronError) -> Void) throws(PerceptronError) -> Double {
            let start = clock.now
            try body()
            let elapsed = (clock.now - start).components
            return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        }
        try first()
        try second()
        var best = (Double.infinity, Double.infinity)
        for _ in 0..<timedCalls {
            best.0 = min(best.0, try seconds(first))
            best.1 = min(best.1, try seconds(second))
        }
        return best
    }
}
