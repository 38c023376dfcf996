#if OneDNN
import COneDNN
#endif

/// A ``Linear`` layer's weight packed at the snapshot
/// (``InferenceModel/Kernels/packedWeights``): for the library's own kernel,
/// which serves float32 requests of up to ``PanelGEMM/rowLimit`` rows in
/// every build, and, with the `OneDNN` trait, for oneDNN, in float32 for
/// larger requests, and in bfloat16 for a layer in ``Precision/bfloat16``, so
/// that each request takes the precision the layer's own rules give its size.
final class PackedLinear: Sendable {
    /// The float32 weight and bias packed for ``PanelGEMM``, or `nil` on a CPU
    /// with neither AVX-512F nor AVX2 and FMA.
    let panels: PanelGEMM.Weight?
    #if OneDNN
    /// The float32 weight packed, or `nil` where oneDNN reads it fastest as it is.
    let float32: OneDNN.PackedWeight?
    /// The weight rounded to bfloat16 and packed, for a layer in bfloat16 on a
    /// CPU where bfloat16 runs, or `nil`.
    let bfloat16: OneDNN.PackedWeight?
    #endif

    /// Packs `weight` (`[inputFeatures, outputFeatures]`, of a `Float` layer)
    /// with `bias` and, with `roundedWeight`, its bfloat16 rounding; `nil`
    /// when none is worth packing on this CPU.
    init?(weight: Tensor<Float>, bias: Tensor<Float>?, roundedWeight: RoundedWeight?) throws(PerceptronError) {
        // A weight too wide for the kernels' 32-bit sizes is refused, as the layer's own passes refuse it.
        let f = try Kernels.checkedDimension(weight.shape[0], "Linear inputFeatures")
        let m = try Kernels.checkedDimension(weight.shape[1], "Linear outputFeatures")
        panels = weight.withUnsafeScalars { w in
            Tensor.withUnsafeScalars(of: bias) { b in
                PanelGEMM.Weight(weight: w, bias: b, inputFeatures: f, outputFeatures: m)
            }
        }
        #if OneDNN
        let hasBias = bias != nil
        float32 = try weight.withUnsafeScalars { (w) throws(PerceptronError) in
            try OneDNN.PackedWeight.packing(w, inputFeatures: f, outputFeatures: m, type: dnnl_f32, bias: hasBias)
        }
        if let roundedWeight, MixedPrecision.unavailability == nil {
            bfloat16 = try OneDNN.PackedWeight.packing(
                roundedWeight.buffer.contents, inputFeatures: f, outputFeatures: m, type: dnnl_bf16, bias: hasBias)
        } else {
            bfloat16 = nil
        }
        guard panels != nil || float32 != nil || bfloat16 != nil else { return nil }
        #else
        guard panels != nil else { return nil }
        #endif
    }

    /// Whether a weight was packed for a request of `rows` rows in the precision asked for (`inBFloat16`).
    func hasWeight(rows: Int32, inBFloat16: Bool) -> Bool {
        #if OneDNN
        if inBFloat16 { return bfloat16 != nil }
        return float32 != nil || (panels != nil && rows <= PanelGEMM.rowLimit)
        #else
        return !inBFloat16 && panels != nil && rows <= PanelGEMM.rowLimit
        #endif
    }

    /// The kernels the packed weights run on: ``PanelGEMM/kernelName`` and
    /// the oneDNN implementations, such as `brg:avx512_core`.
    var implementations: [String] {
        let library = panels == nil ? [] : [PanelGEMM.kernelName].compactMap { $0 }
        #if OneDNN
        return library + [float32, bfloat16].compactMap { $0?.implementation }
        #else
        return library
        #endif
    }

    /// `z ← input·W + bias` on the packed weight of the precision asked for
    /// (`inBFloat16`: the input is rounded to bfloat16 first): in float32, up
    /// to ``PanelGEMM/rowLimit`` rows on the panels, which hold the bias the
    /// snapshot packed, and on oneDNN's weight above.
    ///
    /// - Returns: `false`, having written nothing, when that precision's
    ///   weight was not packed for this row count or oneDNN cannot take it;
    ///   the caller then runs the layer's own kernels.
    func affine(
        _ input: Tensor<Float>, bias: Tensor<Float>?, rows: Int32, inBFloat16: Bool, into z: inout Tensor<Float>
    ) throws(PerceptronError) -> Bool {
        if !inBFloat16, rows <= PanelGEMM.rowLimit, let panels {
            input.withUnsafeScalars { x in
                z.withUnsafeMutableScalars { z in
                    Kernels.multiply(PanelGEMM.Product(input: x, output: z, m: rows, weight: panels))
                }
            }
            return true
        }
        #if OneDNN
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
        #else
        return false
        #endif
    }
}
