#if OneDNN
import COneDNN

/// A ``Linear`` layer's weight packed for oneDNN at the snapshot
/// (``InferenceModel/Kernels/packedWeights``): in float32, and also in
/// bfloat16 for a layer in ``Precision/bfloat16``, so that each request takes
/// the precision the layer's own rules give its size.
final class PackedLinear: Sendable {
    /// The float32 weight packed, or `nil` where oneDNN reads it fastest as it is.
    let float32: OneDNN.PackedWeight?
    /// The weight rounded to bfloat16 and packed, for a layer in bfloat16 on a
    /// CPU where bfloat16 runs, or `nil`.
    let bfloat16: OneDNN.PackedWeight?

    /// Packs `weight` (`[inputFeatures, outputFeatures]`, of a `Float` layer)
    /// and, with `roundedWeight`, its bfloat16 rounding; `nil` when neither
    /// is worth packing on this CPU.
    init?(weight: Tensor<Float>, hasBias: Bool, roundedWeight: RoundedWeight?) throws(PerceptronError) {
        let (f, m) = (Int32(weight.shape[0]), Int32(weight.shape[1]))
        float32 = try weight.withUnsafeScalars { (w) throws(PerceptronError) in
            try OneDNN.PackedWeight.packing(w, inputFeatures: f, outputFeatures: m, type: dnnl_f32, bias: hasBias)
        }
        if let roundedWeight, MixedPrecision.unavailability == nil {
            bfloat16 = try OneDNN.PackedWeight.packing(
                roundedWeight.buffer.contents, inputFeatures: f, outputFeatures: m, type: dnnl_bf16, bias: hasBias)
        } else {
            bfloat16 = nil
        }
        guard float32 != nil || bfloat16 != nil else { return nil }
    }

    /// Whether the weight of the precision asked for (`inBFloat16`) was packed.
    func hasWeight(inBFloat16: Bool) -> Bool {
        (inBFloat16 ? bfloat16 : float32) != nil
    }

    /// `z ← input·W + bias` on the packed weight of the precision asked for
    /// (`inBFloat16`: the input is rounded to bfloat16 first).
    ///
    /// - Returns: `false`, having written nothing, when that precision's
    ///   weight was not packed or oneDNN cannot take this row count; the
    ///   caller then runs the layer's own kernels.
    func affine(
        _ input: Tensor<Float>, bias: Tensor<Float>?, rows: Int32, inBFloat16: Bool, into z: inout Tensor<Float>
    ) throws(PerceptronError) -> Bool {
        guard let weight = inBFloat16 ? bfloat16 : float32 else { return false }
        let rounded = inBFloat16 ? BFloat16Buffer() : nil
        return try input.withUnsafeScalars { (x) throws(PerceptronError) in
            let operand = rounded.map { UnsafeRawPointer($0.round(x, count: input.count)) } ?? UnsafeRawPointer(x)
            return try z.withUnsafeMutableScalars { (z) throws(PerceptronError) in
                try Tensor.withUnsafeScalars(of: bias) { (b) throws(PerceptronError) in
                    try Kernels.multiply(OneDNN.PackedProduct(input: operand, output: z, bias: b, m: rows, weight: weight))
                }
            }
        }
    }
}
#else
/// Packed weights exist only with the `OneDNN` trait; without it a snapshot has none.
typealias PackedLinear = Never
#endif
