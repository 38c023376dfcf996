#if canImport(Glibc)
import Glibc
#endif

// The elementary functions activations and losses need, for Float: thin
// wrappers over the C library, so that generic code specialised for Float
// calls `expf`, `logf` and `tanhf` directly.
extension Float {
    /// Calls `expf`; see ``BLASScalar/_exp(_:)``.
    @_transparent
    public static func _exp(_ x: Float) -> Float { expf(x) }

    /// Calls `logf`; see ``BLASScalar/_log(_:)``.
    @_transparent
    public static func _log(_ x: Float) -> Float { logf(x) }

    /// Calls `tanhf`; see ``BLASScalar/_tanh(_:)``.
    @_transparent
    public static func _tanh(_ x: Float) -> Float { tanhf(x) }
}
