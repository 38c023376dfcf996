/// The safetensors element types that ``SafeTensors`` reads, and how each
/// becomes a `Float` or a `Double`.
///
/// Every conversion is exact but one: F16 and BF16 values are all exactly
/// representable in `Float` and `Double`, and F32 in `Double`; F64 read as
/// `Float` rounds to the nearest `Float` (ties to even), as `Float(_:)` does.
enum SafeTensorsDType: String, CaseIterable, Sendable {
    /// IEEE 754 binary64, little-endian.
    case f64 = "F64"
    /// IEEE 754 binary32, little-endian.
    case f32 = "F32"
    /// IEEE 754 binary16, little-endian.
    case f16 = "F16"
    /// bfloat16: the top 16 bits of a binary32, little-endian.
    case bf16 = "BF16"

    /// The bytes of one element.
    var size: Int {
        switch self {
        case .f64: return 8
        case .f32: return 4
        case .f16, .bf16: return 2
        }
    }

    /// The dtype ``SafeTensors`` writes for `Scalar`: F32 for `Float`, F64
    /// for `Double` (the only two ``BLASScalar`` types, told apart by size).
    static func of<Scalar: BLASScalar>(_: Scalar.Type) -> SafeTensorsDType {
        MemoryLayout<Scalar>.size == 4 ? .f32 : .f64
    }

    /// The other dtypes the format defines, which a `Tensor` cannot hold:
    /// named in messages as the format's but unsupported, not as unknown.
    static let unsupportedFormatDTypes: Set<String> = [
        "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2",
        "I16", "U16", "I32", "U32", "I64", "U64", "C64",
    ]

    /// The accepted dtype names, for messages: `"F32", "F64", "F16" or "BF16"`.
    static let acceptedList = "\"F32\", \"F64\", \"F16\" or \"BF16\""

    // MARK: - Decoding

    /// Fills `destination` with the `count` little-endian elements of this
    /// dtype in `source`, converted to `Scalar`. `source` must hold exactly
    /// `count × size` bytes, at any alignment.
    func decode<Scalar: BLASScalar>(
        _ source: UnsafeRawBufferPointer, into destination: UnsafeMutablePointer<Scalar>, count: Int
    ) {
        precondition(source.count == count * size, "SafeTensorsDType.decode: \(source.count) bytes for \(count) elements")
        guard count > 0, let base = source.baseAddress else { return }
        let raw = UnsafeMutableRawPointer(destination)
        if MemoryLayout<Scalar>.size == 4 {
            decode(base, into: raw.assumingMemoryBound(to: Float.self), count: count)
        } else {
            decode(base, into: raw.assumingMemoryBound(to: Double.self), count: count)
        }
    }

    private func decode(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .f32:
            #if _endian(little)
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
            #else
            for i in 0..<count { destination[i] = Float(bitPattern: Self.load(source, i, as: UInt32.self)) }
            #endif
        case .f64:
            for i in 0..<count { destination[i] = Float(Double(bitPattern: Self.load(source, i, as: UInt64.self))) }
        case .f16:
            for i in 0..<count { destination[i] = Self.float(fromHalf: Self.load(source, i, as: UInt16.self)) }
        case .bf16:
            for i in 0..<count { destination[i] = Float(bitPattern: UInt32(Self.load(source, i, as: UInt16.self)) << 16) }
        }
    }

    private func decode(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Double>, count: Int) {
        switch self {
        case .f64:
            #if _endian(little)
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 8)
            #else
            for i in 0..<count { destination[i] = Double(bitPattern: Self.load(source, i, as: UInt64.self)) }
            #endif
        case .f32:
            for i in 0..<count { destination[i] = Double(Float(bitPattern: Self.load(source, i, as: UInt32.self))) }
        case .f16:
            for i in 0..<count { destination[i] = Double(Self.float(fromHalf: Self.load(source, i, as: UInt16.self))) }
        case .bf16:
            for i in 0..<count {
                destination[i] = Double(Float(bitPattern: UInt32(Self.load(source, i, as: UInt16.self)) << 16))
            }
        }
    }

    /// The `index`-th little-endian `T` at `source`, which may be unaligned.
    @inline(__always)
    private static func load<T: FixedWidthInteger>(_ source: UnsafeRawPointer, _ index: Int, as _: T.Type) -> T {
        T(littleEndian: source.loadUnaligned(fromByteOffset: index * MemoryLayout<T>.size, as: T.self))
    }

    /// The binary16 value with bits `half`, exactly, as a `Float`: computed
    /// from the bits rather than through `Float16`, which not every platform
    /// Swift runs on provides. Infinities keep their sign, NaNs their sign and
    /// payload (shifted into the wider significand, as hardware conversion does).
    static func float(fromHalf half: UInt16) -> Float {
        let sign = UInt32(half & 0x8000) << 16
        let exponent = UInt32(half >> 10) & 0x1F
        let significand = UInt32(half & 0x3FF)
        switch exponent {
        case 0x1F:
            return Float(bitPattern: sign | 0x7F80_0000 | significand << 13)
        case 0:
            // Zero or subnormal: significand × 2⁻²⁴, exact in Float.
            let magnitude = Float(significand) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        default:
            // Rebias the exponent from 15 to 127.
            return Float(bitPattern: sign | (exponent + 112) << 23 | significand << 13)
        }
    }
}
