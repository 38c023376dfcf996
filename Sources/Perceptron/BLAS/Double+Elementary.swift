#if canImport(Glibc)
import Glibc
#endif

// The elementary functions activations and losses need, for Double: thin
// wrappers over the C library, so that generic code specialised for Double
// calls `exp`, `log` and `tanh` directly.
extension Double {
    /// Calls `exp`; see ``BLASScalar/_exp(_:)``.
    @_transparent
    public static func _exp(_ x: Double) -> Double { exp(x) }

    /// Calls `log`; see ``BLASScalar/_log(_:)``.
    @_transparent
    public static func _log(_ x: Double) -> Double { log(x) }

    /// Calls `tanh`; see ``BLASScalar/_tanh(_:)``.
    @_transparent
    public static func _tanh(_ x: Double) -> Double { tanh(x) }
}
